// Voxline's studio: the people who ordered a dub review it and fix it.
// Reads the public API with the tenant's key (kept in this tab only): the
// jobs, a job's languages, each language's lines and files. Edits go back
// through PUT .../segments, and the re-render is watched live on the job's
// event stream. Every value goes into the page as text, never as markup.
"use strict";

const TOKEN_KEY = "voxline.studioToken";

const state = {
  token: sessionStorage.getItem(TOKEN_KEY) || "",
  job: null,
  language: null,
  lines: [],
  // Line id -> the fields changed and not yet saved.
  changes: new Map(),
  // Line id -> seconds of speech, from the task's synthesis manifest.
  spoken: new Map(),
  unclear: new Set(),
  listening: "dub",
  stopAt: null,
  watching: null,
};

function seconds(value) {
  return Number(value).toFixed(2);
}

function size(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function notice(text, kind = "info") {
  const box = $("notice");
  box.textContent = text;
  box.className = `notice ${kind}`;
  box.hidden = !text;
}

// ---- the API ----------------------------------------------------------------

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(path, options = {}) {
  const headers = { authorization: `Bearer ${state.token}` };
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(path, {
    method: options.method || "GET",
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok) {
    const message = body && body.error ? body.error.message : `${response.status} ${response.statusText}`;
    throw new ApiError(response.status, message);
  }
  return { status: response.status, body };
}

// ---- signing in -------------------------------------------------------------

async function connect() {
  try {
    await loadJobs();
    sessionStorage.setItem(TOKEN_KEY, state.token);
    $("login").hidden = true;
    $("app").hidden = false;
    $("sign-out").hidden = false;
    $("status").textContent = "Signed in";
    $("login-error").textContent = "";
  } catch (e) {
    state.token = "";
    sessionStorage.removeItem(TOKEN_KEY);
    $("login-error").textContent =
      e.status === 401 ? "That key was not accepted: check it and try again." : e.message;
  }
}

function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  location.reload();
}

// ---- the jobs ---------------------------------------------------------------

async function loadJobs() {
  const { body } = await api("/v1/jobs?limit=50");
  const rows = body.jobs
    .filter((j) => j.kind === "dub")
    .map((j) =>
      el(
        "tr",
        { "data-job": j.id, class: state.job && state.job.id === j.id ? "chosen" : null },
        el("td", { text: new Date(j.created_at).toLocaleString() }),
        el("td", {}, el("button", { type: "button", class: "link", text: j.id, onclick: () => openJob(j.id) })),
        el("td", { text: j.target_languages.join(", ") }),
        el("td", {}, el("span", { class: `pill ${j.status}`, text: j.status })),
      ),
    );
  const tbody = $("jobs").querySelector("tbody");
  tbody.replaceChildren(...rows);
  if (rows.length === 0) {
    tbody.append(el("tr", {}, el("td", { colspan: 4, class: "muted", text: "No dubs yet." })));
  }
}

async function openJob(id, language) {
  const { body } = await api(`/v1/jobs/${id}`);
  state.job = body;
  const languages = body.tasks.map((t) => t.language);
  state.language = languages.includes(language) ? language : languages[0];
  $("review").hidden = false;
  $("review-title").textContent = `Review ${body.id}`;
  $("languages").replaceChildren(
    ...body.tasks.map((t) =>
      el("button", {
        type: "button",
        class: "tab",
        "data-language": t.language,
        "aria-pressed": String(t.language === state.language),
        text: `${t.language_name} · ${t.status}`,
        onclick: () => openJob(id, t.language),
      }),
    ),
  );
  await loadJobs();
  await loadTask();
}

function task() {
  return state.job.tasks.find((t) => t.language === state.language);
}

function artifact(kind) {
  return task().artifacts.find((a) => a.kind === kind);
}

async function loadTask() {
  const t = task();
  state.changes.clear();
  state.spoken.clear();
  state.unclear = new Set(((t.stats || {}).intelligibility || {}).unclear_lines || []);
  const synthesis = artifact("synthesis");
  if (synthesis) {
    const manifest = await (await fetch(synthesis.download_url)).json();
    for (const line of manifest.segments) state.spoken.set(line.id, line.duration);
  }
  if (t.status === "completed") {
    const { body } = await api(`/v1/jobs/${state.job.id}/tasks/${state.language}/segments`);
    state.lines = body.segments;
  } else {
    state.lines = [];
  }
  drawLines();
  drawDownloads();
  listen(state.listening);
}

// ---- the player ---------------------------------------------------------------

function listen(which) {
  const player = $("player");
  const dub = artifact("dub");
  const url = which === "dub" ? dub && dub.download_url : state.job.source_url;
  state.listening = which;
  $("hear-dub").setAttribute("aria-pressed", String(which === "dub"));
  $("hear-original").setAttribute("aria-pressed", String(which === "original"));
  if (!url) {
    player.removeAttribute("src");
    return;
  }
  const at = player.currentTime || 0;
  player.src = url;
  player.dataset.listening = which;
  player.addEventListener("loadedmetadata", () => (player.currentTime = at), { once: true });
}

function playLine(line) {
  const player = $("player");
  state.stopAt = line.end;
  player.currentTime = line.start;
  player.play().catch(() => {});
}

function stopAtLineEnd() {
  const player = $("player");
  if (state.stopAt !== null && player.currentTime >= state.stopAt) {
    player.pause();
    state.stopAt = null;
  }
}

// ---- the lines --------------------------------------------------------------

function flagsOf(line, next) {
  const flags = [];
  if (line.edited) flags.push(["edited", "edited"]);
  if (state.unclear.has(line.id)) flags.push(["unclear", "heard unclearly"]);
  const spoken = state.spoken.get(line.id);
  const room = (next ? Math.min(next.start, state.job.duration) : state.job.duration) - line.start;
  if (spoken && room > 0) {
    const tempo = spoken / room;
    if (tempo > 1.02) flags.push([tempo > 1.3 ? "late" : "fast", `sped up ${tempo.toFixed(2)}×`]);
  }
  return flags;
}

function change(line, field, value) {
  const fields = state.changes.get(line.id) || {};
  fields[field] = value;
  state.changes.set(line.id, fields);
  $("save").disabled = false;
  $("summary").textContent = `${state.changes.size} line(s) changed, not saved`;
}

function drawLines() {
  const speakers = [...new Set(state.lines.map((l) => l.speaker).filter(Boolean))];
  $("speakers").replaceChildren(...speakers.map((s) => el("option", { value: s })));
  const rows = state.lines.map((line, i) => {
    const next = state.lines[i + 1];
    const time = (field) =>
      el("input", {
        type: "number",
        step: "0.01",
        min: "0",
        class: `time ${field}`,
        value: seconds(line[field]),
        "aria-label": `Line ${line.id} ${field}`,
        onchange: (e) => change(line, field, Number(e.target.value)),
      });
    return el(
      "tr",
      { "data-id": line.id },
      el("td", {}, el("button", { type: "button", class: "play", title: "Hear this line", text: "▶", onclick: () => playLine(line) })),
      el("td", {}, time("start")),
      el("td", {}, time("end")),
      el("td", {}, el("input", {
        type: "text",
        class: "speaker",
        list: "speakers",
        maxlength: "32",
        value: line.speaker || "",
        "aria-label": `Line ${line.id} speaker`,
        onchange: (e) => change(line, "speaker", e.target.value.trim()),
      })),
      el("td", {},
        el("textarea", {
          class: "text",
          rows: "2",
          maxlength: "1000",
          "aria-label": `Line ${line.id} text`,
          text: line.text,
          oninput: (e) => change(line, "text", e.target.value),
        }),
        line.source_text ? el("p", { class: "source muted", text: line.source_text }) : null,
      ),
      el("td", { class: "flags" }, ...flagsOf(line, next).map(([kind, text]) => el("span", { class: `flag ${kind}`, text }))),
    );
  });
  const tbody = $("lines").querySelector("tbody");
  tbody.replaceChildren(...rows);
  if (rows.length === 0) {
    tbody.append(el("tr", {}, el("td", { colspan: 6, class: "muted", text: `The ${state.language} dub is ${task().status}: its lines show once it has completed.` })));
  }
  $("save").disabled = true;
  const t = task();
  $("summary").textContent = `${state.lines.length} lines · ${t.status}`;
}

function drawDownloads() {
  const files = [...task().artifacts, ...state.job.source_artifacts];
  const pack = state.job.package;
  $("downloads").replaceChildren(
    ...files.map((a) =>
      el("li", {}, el("a", { href: a.download_url, download: a.file_name, text: `${a.file_name}` }),
        el("span", { class: "muted", text: ` ${size(a.size_bytes)}` })),
    ),
    ...(pack
      ? [
          el("li", {}, el("a", { href: pack.mp4_url, download: "", text: "every language in one MP4" })),
          el("li", {}, el("a", { href: pack.hls_url, text: "streaming package (HLS master playlist)" })),
        ]
      : []),
  );
}

// ---- saving and watching the re-render ---------------------------------------

async function save() {
  const segments = [...state.changes].map(([id, fields]) => ({ id, ...fields }));
  $("save").disabled = true;
  try {
    const { status } = await api(`/v1/jobs/${state.job.id}/tasks/${state.language}/segments`, {
      method: "PUT",
      body: { segments },
    });
    state.changes.clear();
    if (status === 200) {
      notice("Nothing changed: the dub stays as it is.");
      return;
    }
    notice(`Saved: the ${state.language} dub is being made again.`);
    await watch();
  } catch (e) {
    $("save").disabled = false;
    notice(e.message, "error");
  }
}

// The job's events until it has ended: fetch, not EventSource, since the
// key goes in a header. Only what follows the newest edit is shown.
async function watch() {
  const id = state.job.id;
  const box = $("progress");
  box.hidden = false;
  $("progress-bar").style.width = "0%";
  $("progress-text").textContent = "Waiting for the workers…";
  const response = await fetch(`/v1/jobs/${id}/events`, {
    headers: { authorization: `Bearer ${state.token}` },
  });
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let following = false;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const kind = (block.match(/^event: (.*)$/m) || [])[1];
      const data = (block.match(/^data: (.*)$/m) || [])[1];
      if (!kind || !data) continue;
      if (kind === "segments_edited") following = true;
      if (following) showEvent(kind, JSON.parse(data));
    }
  }
  box.hidden = true;
  await openJob(id, state.language);
  const t = task();
  notice(
    t.status === "completed" ? `The ${state.language} dub is ready with your changes.` : `The ${state.language} dub ${t.status}.`,
    t.status === "completed" ? "info" : "error",
  );
}

function showEvent(kind, event) {
  const data = event.data || {};
  const stage = event.stage ? `${event.stage}: ` : "";
  if (kind === "stage_progress" && typeof data.fraction === "number") {
    $("progress-bar").style.width = `${Math.round(data.fraction * 100)}%`;
  }
  const text = data.message || kind.replaceAll("_", " ");
  $("progress-text").textContent = `${stage}${text}`;
}

// ---- wiring -----------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", (e) => {
    e.preventDefault();
    state.token = $("token").value.trim();
    connect();
  });
  $("sign-out").addEventListener("click", signOut);
  $("save").addEventListener("click", save);
  $("hear-dub").addEventListener("click", () => listen("dub"));
  $("hear-original").addEventListener("click", () => listen("original"));
  $("player").addEventListener("timeupdate", stopAtLineEnd);
  if (state.token) connect();
});
