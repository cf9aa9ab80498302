// Checks the KEDA objects of rendered overlays (JSON lists from
// k8s_render.py) against @kubernetes-models/keda, whose validators are
// generated from KEDA's API types: types and required fields by those
// validators; unknown fields (a misspelt `cooldownPeriod` that KEDA would
// ignore) from the same package's type declarations; and that every
// ScaledObject's Deployment and TriggerAuthentication exist in the render.
//   node keda_check.mjs NODE_MODULES FILE.json...
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [modules, ...files] = process.argv.slice(2);
const dir = join(modules, "@kubernetes-models/keda/keda.sh/v1alpha1");
const kinds = ["ScaledObject", "TriggerAuthentication"];
const models = {};
for (const kind of kinds) {
  models[kind] = (await import(pathToFileURL(join(dir, `${kind}.js`)).href))[kind];
}

// The fields of the interface declared in FILE.d.ts, each with the
// declaration file of its type when that type is KEDA's own.
const declared = new Map();
function fieldsOf(file) {
  if (declared.has(file)) return declared.get(file);
  const text = readFileSync(join(dir, `${file}.d.ts`), "utf8");
  const imports = new Map();
  for (const m of text.matchAll(/import \{ (\w+) \} from "\.\/(\w+)\.js";/g)) imports.set(m[1], m[2]);
  let fields = null;
  const alias = text.match(/export type I\w+ = (\w+);/);
  const body = text.match(/export interface I\w+(?: extends [\w, ]+)? \{\n([\s\S]*?)\n\}/);
  if (alias && imports.has(alias[1])) {
    fields = fieldsOf(imports.get(alias[1]));
  } else if (body) {
    fields = new Map();
    // One field a line at this indentation; a map's `{` spans lines (a leaf).
    for (const m of body[1].matchAll(/^ {4}"(\w+)"\??: (.*?);?$/gm)) {
      const type = m[2].replace(/^Array<(\w+)>$/, "$1");
      fields.set(m[1], imports.get(type) ?? null);
    }
  }
  declared.set(file, fields);
  return fields;
}

function unknownFields(value, file, path, errors) {
  const fields = fieldsOf(file);
  if (!fields || value === null || typeof value !== "object") return;
  for (const item of Array.isArray(value) ? value : [value]) {
    for (const [key, child] of Object.entries(item)) {
      if (!fields.has(key)) errors.push(`${path}.${key}: not a field of ${file}`);
      else if (fields.get(key)) unknownFields(child, fields.get(key), `${path}.${key}`, errors);
    }
  }
}

let checked = 0;
const errors = [];
// The declarations are read by pattern: fail loudly if the pattern no longer fits.
for (const kind of kinds) {
  if (!fieldsOf(kind)?.get("spec")) errors.push(`cannot read the fields of ${kind} from ${dir}`);
}
for (const file of files) {
  const objects = JSON.parse(readFileSync(file, "utf8"));
  const named = (kind, name) => objects.some((o) => o.kind === kind && o.metadata?.name === name);
  for (const o of objects) {
    if (!o.apiVersion?.startsWith("keda.sh/")) continue;
    const where = `${file}: ${o.kind}/${o.metadata?.name}`;
    if (!kinds.includes(o.kind) || o.apiVersion !== "keda.sh/v1alpha1") {
      errors.push(`${where}: unexpected KEDA kind or version ${o.apiVersion}`);
      continue;
    }
    checked++;
    try {
      new models[o.kind](o).validate();
    } catch (e) {
      errors.push(`${where}: ${e.message}`);
    }
    const found = [];
    unknownFields(o, o.kind, "", found);
    errors.push(...found.map((f) => `${where}: ${f}`));
    if (o.kind === "ScaledObject") {
      const target = o.spec?.scaleTargetRef?.name;
      if (!named("Deployment", target)) errors.push(`${where}: no Deployment ${target}`);
      for (const t of o.spec?.triggers ?? []) {
        const auth = t.authenticationRef?.name;
        if (auth && !named("TriggerAuthentication", auth)) errors.push(`${where}: no TriggerAuthentication ${auth}`);
      }
    }
  }
}
for (const e of errors) console.error(`keda: ${e}`);
if (errors.length) process.exit(1);
console.log(`  ${checked} KEDA objects valid`);
