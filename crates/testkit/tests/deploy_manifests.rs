//! The Kubernetes manifests (deploy/k8s) against the system they deploy:
//! every worker has a KEDA ScaledObject, and the Redis key each watches is
//! the key its stage's queue really fills, shown on real Redis with a real
//! push and a real worker. Also the settings the manifests' numbers rest on
//! (namespace, grace periods, secrets) and the KEDA objects' structure;
//! scripts/deploy-check.sh validates them against KEDA's types as well.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use voxline_config::Settings;
use voxline_core::Stage;
use voxline_db::runs::Completion;
use voxline_testkit::TestEnv;
use voxline_testkit::seed::transcribe_job;
use voxline_worker::{
    CancellationToken, Connections, StageContext, StageError, StageHandler, run_worker_pool,
};
use yaml_rust2::{Yaml, YamlLoader};

/// Each worker service and the stage whose queue it pulls.
const WORKERS: &[(&str, Stage)] = &[
    ("voxline-transcriber", Stage::Transcribe),
    ("voxline-translator", Stage::Translate),
    ("voxline-synthesizer", Stage::Synthesize),
    ("voxline-renderer", Stage::Render),
    ("voxline-publisher", Stage::Publish),
];

/// The fields of KEDA's types that may appear (KEDA ignores unknown ones,
/// so a misspelt field would otherwise pass unseen).
const SPEC_FIELDS: &str = "scaleTargetRef pollingInterval cooldownPeriod initialCooldownPeriod
    idleReplicaCount minReplicaCount maxReplicaCount fallback advanced triggers";
const ADVANCED_FIELDS: &str =
    "horizontalPodAutoscalerConfig restoreToOriginalReplicaCount scalingModifiers";
const TRIGGER_FIELDS: &str = "type name metadata authenticationRef metricType useCachedMetrics";
const REDIS_FIELDS: &str = "listName listLength activationListLength databaseIndex enableTLS";

/// The namespace the manifests' ConfigMap sets and their key names start with.
const NAMESPACE: &str = "voxline";

fn k8s_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/k8s")
}

/// Every YAML document under deploy/k8s, with the file it came from.
fn documents() -> Vec<(PathBuf, Yaml)> {
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, Yaml)>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|x| x == "yaml" || x == "yml") {
                let text = std::fs::read_to_string(&path).unwrap();
                let docs = YamlLoader::load_from_str(&text)
                    .unwrap_or_else(|e| panic!("{}: not YAML: {e}", path.display()));
                out.extend(
                    docs.into_iter()
                        .filter(|d| !d.is_null())
                        .map(|d| (path.clone(), d)),
                );
            }
        }
    }
    let mut out = Vec::new();
    walk(&k8s_dir(), &mut out);
    assert!(
        !out.is_empty(),
        "no manifests under {}",
        k8s_dir().display()
    );
    out
}

fn text<'a>(doc: &'a Yaml, what: &str) -> &'a str {
    doc.as_str()
        .unwrap_or_else(|| panic!("{what}: expected a string, found {doc:?}"))
}

fn name(doc: &Yaml) -> &str {
    text(&doc["metadata"]["name"], "metadata.name")
}

fn of_kind<'a>(docs: &'a [(PathBuf, Yaml)], kind: &str) -> Vec<&'a Yaml> {
    docs.iter()
        .map(|(_, d)| d)
        .filter(|d| d["kind"].as_str() == Some(kind))
        .collect()
}

fn keys(doc: &Yaml) -> BTreeSet<&str> {
    doc.as_hash()
        .map(|h| h.keys().filter_map(Yaml::as_str).collect())
        .unwrap_or_default()
}

/// A mapping may hold only the fields of `allowed` (space-separated).
fn only_fields(doc: &Yaml, allowed: &str, what: &str) {
    for key in keys(doc) {
        assert!(
            allowed.split_whitespace().any(|a| a == key),
            "{what}: unknown field `{key}`"
        );
    }
}

/// The settings of deploy/k8s/base/voxline.env (the ConfigMap voxline-config).
fn base_settings() -> BTreeMap<String, String> {
    let path = k8s_dir().join("base/voxline.env");
    std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l.split_once('=').expect("KEY=VALUE");
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// The binary a Deployment runs (its container's first argument).
fn binary(deployment: &Yaml) -> &str {
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    text(&container["args"][0], "containers[0].args[0]")
}

/// What KEDA's redis scaler reads for a key: ZCARD, SCARD, LLEN or HLEN,
/// as the key's type requires (a missing key counts 0).
async fn keda_length(conn: &mut redis::aio::ConnectionManager, key: &str) -> u64 {
    let script = redis::Script::new(
        r"local t = redis.call('TYPE', KEYS[1]).ok
          if t == 'zset' then return redis.call('ZCARD', KEYS[1])
          elseif t == 'set' then return redis.call('SCARD', KEYS[1])
          elseif t == 'hash' then return redis.call('HLEN', KEYS[1])
          else return redis.call('LLEN', KEYS[1]) end",
    );
    script.key(key).invoke_async(conn).await.unwrap()
}

/// What KEDA reads for each of `keys`.
async fn lengths(conn: &mut redis::aio::ConnectionManager, keys: &[String]) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    for k in keys {
        out.push((k.clone(), keda_length(conn, k).await));
    }
    out
}

struct Watched {
    scaled_object: String,
    deployment: String,
    stage: Stage,
    /// The Redis keys of its triggers, as written (under `voxline:`).
    keys: Vec<String>,
}

/// The ScaledObjects of the base, checked for structure, each with the
/// stage of the Deployment it scales.
fn scaled_objects(docs: &[(PathBuf, Yaml)]) -> Vec<Watched> {
    let deployments: BTreeMap<&str, &Yaml> = of_kind(docs, "Deployment")
        .into_iter()
        .map(|d| (name(d), d))
        .collect();
    let auths: BTreeSet<&str> = of_kind(docs, "TriggerAuthentication")
        .into_iter()
        .map(name)
        .collect();
    let mut watched = Vec::new();
    for so in of_kind(docs, "ScaledObject") {
        let so_name = name(so);
        assert_eq!(so["apiVersion"].as_str(), Some("keda.sh/v1alpha1"));
        let spec = &so["spec"];
        only_fields(spec, SPEC_FIELDS, so_name);
        only_fields(&spec["advanced"], ADVANCED_FIELDS, so_name);
        let target = text(&spec["scaleTargetRef"]["name"], "scaleTargetRef.name");
        let deployment = deployments
            .get(target)
            .unwrap_or_else(|| panic!("{so_name}: no Deployment {target}"));
        let bin = binary(deployment);
        let stage = WORKERS
            .iter()
            .find(|(b, _)| *b == bin)
            .unwrap_or_else(|| panic!("{so_name} scales {target}, which runs {bin}, not a worker"))
            .1;
        let (min, max) = (
            spec["minReplicaCount"].as_i64().expect("minReplicaCount"),
            spec["maxReplicaCount"].as_i64().expect("maxReplicaCount"),
        );
        assert!(
            0 <= min && min <= max && max > 0,
            "{so_name}: replicas {min}..{max}"
        );
        let cooldown = spec["cooldownPeriod"].as_i64().expect("cooldownPeriod");
        assert!(cooldown > 0, "{so_name}: cooldownPeriod {cooldown}");
        let triggers = spec["triggers"].as_vec().expect("triggers");
        assert!(!triggers.is_empty(), "{so_name}: no triggers");
        let mut keys = Vec::new();
        for t in triggers {
            only_fields(t, TRIGGER_FIELDS, so_name);
            assert_eq!(t["type"].as_str(), Some("redis"), "{so_name}: trigger type");
            only_fields(&t["metadata"], REDIS_FIELDS, so_name);
            let length = text(&t["metadata"]["listLength"], "listLength");
            assert!(
                length.parse::<u32>().is_ok_and(|n| n > 0),
                "{so_name}: listLength {length:?} must be a positive number in a string"
            );
            let auth = text(&t["authenticationRef"]["name"], "authenticationRef.name");
            assert!(
                auths.contains(auth),
                "{so_name}: no TriggerAuthentication {auth}"
            );
            keys.push(text(&t["metadata"]["listName"], "listName").to_string());
        }
        watched.push(Watched {
            scaled_object: so_name.to_string(),
            deployment: target.to_string(),
            stage,
            keys,
        });
    }
    watched
}

#[test]
fn every_worker_has_a_scaled_object_and_sound_pods() {
    let docs = documents();
    let watched = scaled_objects(&docs);
    for (bin, stage) in WORKERS {
        assert_eq!(
            watched.iter().filter(|w| w.stage == *stage).count(),
            1,
            "{bin} ({}) needs exactly one ScaledObject",
            stage.as_str()
        );
    }
    // The HPA alternative scales every worker as well.
    let hpas: BTreeSet<&str> = of_kind(&docs, "HorizontalPodAutoscaler")
        .into_iter()
        .map(|h| text(&h["spec"]["scaleTargetRef"]["name"], "scaleTargetRef.name"))
        .collect();
    for w in &watched {
        assert!(
            hpas.contains(w.deployment.as_str()),
            "components/hpa has no HPA for {}",
            w.deployment
        );
    }

    // Workers outlast their shutdown grace before the kubelet kills them.
    let grace: i64 = base_settings()["VOXLINE__RUNNER__SHUTDOWN_GRACE_SECONDS"]
        .parse()
        .unwrap();
    let secret = of_kind(&docs, "Secret")
        .into_iter()
        .find(|s| name(s) == "voxline-secrets")
        .expect("base/secret.example.yaml");
    let secret_keys: BTreeSet<&str> = keys(&secret["stringData"]);
    let mut refs = BTreeSet::new();
    let pods = [of_kind(&docs, "Deployment"), of_kind(&docs, "Job")].concat();
    for d in pods {
        let pod = &d["spec"]["template"]["spec"];
        if WORKERS.iter().any(|(b, _)| *b == binary(d)) {
            let term = pod["terminationGracePeriodSeconds"].as_i64().unwrap_or(30);
            assert!(
                term >= grace + 10,
                "{}: terminationGracePeriodSeconds {term} leaves no time after the {grace} s grace",
                name(d)
            );
        }
        let c = &pod["containers"][0];
        assert_eq!(
            c["securityContext"]["readOnlyRootFilesystem"].as_bool(),
            Some(true)
        );
        assert_eq!(
            text(&c["envFrom"][0]["configMapRef"]["name"], "envFrom"),
            "voxline-config"
        );
        for e in c["env"].as_vec().into_iter().flatten() {
            let r = &e["valueFrom"]["secretKeyRef"];
            if !r.is_badvalue() {
                assert_eq!(text(&r["name"], "secretKeyRef.name"), "voxline-secrets");
                refs.insert(text(&r["key"], "secretKeyRef.key"));
            }
        }
    }
    for ta in of_kind(&docs, "TriggerAuthentication") {
        for r in ta["spec"]["secretTargetRef"]
            .as_vec()
            .expect("secretTargetRef")
        {
            assert_eq!(text(&r["name"], "secretTargetRef.name"), "voxline-secrets");
            refs.insert(text(&r["key"], "secretTargetRef.key"));
        }
    }
    // secret.example.yaml names every key a pod or KEDA reads (jwt-secret is optional and commented out).
    let missing: Vec<_> = refs
        .iter()
        .filter(|k| !secret_keys.contains(**k) && **k != "jwt-secret")
        .collect();
    assert!(
        missing.is_empty(),
        "not in secret.example.yaml: {missing:?}"
    );
}

/// The secrets' environment variables, with values the settings accept.
const SECRET_ENV: &str = "
    VOXLINE__DATABASE__URL=postgres://voxline:x@db:5432/voxline
    VOXLINE__REDIS__URL=redis://:x@redis:6379
    VOXLINE__STORAGE__S3__ACCESS_KEY_ID=key
    VOXLINE__STORAGE__S3__SECRET_ACCESS_KEY=secret
    VOXLINE__STORAGE__SIGNING_KEY=a-long-random-production-secret
    VOXLINE__AUTH__ADMIN_TOKEN=admin
    VOXLINE__PUBLISH__WEBHOOK_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn secret_env() -> impl Iterator<Item = (String, String)> {
    SECRET_ENV.split_whitespace().map(|l| {
        let (k, v) = l.split_once('=').unwrap();
        (k.to_string(), v.to_string())
    })
}

/// `${NAME:-default}` as compose reads it with NAME unset.
fn compose_default(value: &str) -> String {
    match value.strip_prefix("${").and_then(|v| v.strip_suffix('}')) {
        Some(inner) => inner.split_once(":-").map_or("", |(_, d)| d).to_string(),
        None => value.to_string(),
    }
}

#[test]
fn the_settings_in_the_manifests_and_compose_load() {
    let docs = documents();
    let base: Vec<(String, String)> = base_settings().into_iter().collect();
    let settings = Settings::load_from(None, base.iter().cloned().chain(secret_env()))
        .unwrap_or_else(|e| panic!("base/voxline.env: {e}"));
    assert_eq!(settings.profile, voxline_config::Profile::Production);
    assert_eq!(settings.redis.namespace, NAMESPACE);
    assert!(!settings.database.migrate_on_start);

    // Each overlay's literals over the base, as kustomize merges them.
    for (path, doc) in &docs {
        if doc["kind"].as_str() != Some("Kustomization") {
            continue;
        }
        let mut env: BTreeMap<String, String> = base.iter().cloned().collect();
        for generator in doc["configMapGenerator"].as_vec().into_iter().flatten() {
            for literal in generator["literals"].as_vec().into_iter().flatten() {
                let (k, v) = text(literal, "literal").split_once('=').expect("KEY=VALUE");
                env.insert(k.to_string(), v.to_string());
            }
        }
        let overlay = Settings::load_from(None, env.into_iter().chain(secret_env()))
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(overlay.redis.namespace, NAMESPACE, "{}", path.display());
    }

    // The environment every container of deploy/compose shares.
    let compose = k8s_dir().join("../compose/compose.yaml");
    let doc = YamlLoader::load_from_str(&std::fs::read_to_string(&compose).unwrap())
        .unwrap()
        .remove(0);
    let env: Vec<(String, String)> = doc["x-voxline"]["environment"]
        .as_hash()
        .expect("x-voxline.environment")
        .iter()
        .map(|(k, v)| {
            let v = v
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| format!("{v:?}"));
            (text(k, "key").to_string(), compose_default(&v))
        })
        .collect();
    let settings =
        Settings::load_from(None, env).unwrap_or_else(|e| panic!("{}: {e}", compose.display()));
    assert_eq!(settings.redis.namespace, NAMESPACE);
    assert!(!settings.database.migrate_on_start);
}

/// A stage that starts and then works until it is stopped.
struct Busy(AtomicUsize);

#[async_trait::async_trait]
impl StageHandler for Busy {
    fn stage(&self) -> Stage {
        Stage::Transcribe
    }

    async fn run(&self, _: &StageContext) -> Result<Completion, StageError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(3600)).await;
        Ok(Completion::default())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn scaled_objects_watch_the_key_the_queue_fills() -> anyhow::Result<()> {
    let watched = scaled_objects(&documents());
    let env = TestEnv::new().await?;
    let ns = env.settings.redis.namespace.clone();
    let c = Connections::open(&env.settings).await?;
    let mut conn = c.queue.connection();
    let ours = |key: &str| {
        let rest = key
            .strip_prefix(&format!("{{{NAMESPACE}:"))
            .unwrap_or_else(|| panic!("{key} is not under the namespace `{NAMESPACE}`"));
        format!("{{{ns}:{rest}")
    };

    // A run pushed for each stage shows in its ScaledObject's metric, as the
    // depth the system itself reports does.
    let template = transcribe_job(&c.db, 3).await?.dispatch[0].clone();
    for w in &watched {
        assert_eq!(w.keys.len(), 1, "{}: one key per stage", w.scaled_object);
        let keys: Vec<String> = w.keys.iter().map(|k| ours(k)).collect();
        let before = lengths(&mut conn, &keys).await;
        assert!(
            before.iter().all(|(_, n)| *n == 0),
            "before the push: {before:?}"
        );
        let dispatch = voxline_core::Dispatch {
            stage: w.stage,
            ..template.clone()
        };
        c.queue.push(&[dispatch]).await?;
        let lengths = lengths(&mut conn, &keys).await;
        assert_eq!(c.queue.stats(w.stage).await?.depth(), 1);
        assert_eq!(
            lengths,
            vec![(keys[0].clone(), 1)],
            "{} does not see the {} run",
            w.scaled_object,
            w.stage.as_str()
        );
    }

    // A run a worker took still counts (a pod must stay for it), and so
    // does the one waiting.
    let w = watched
        .iter()
        .find(|w| w.stage == Stage::Transcribe)
        .expect("a ScaledObject for the transcriber");
    let keys: Vec<String> = w.keys.iter().map(|k| ours(k)).collect();
    voxline_testkit::wipe_redis(&ns).await?;
    let first = transcribe_job(&c.db, 3).await?;
    let second = transcribe_job(&c.db, 3).await?;
    c.queue.push(&first.dispatch).await?;
    c.queue.push(&second.dispatch).await?;
    let handler = Arc::new(Busy(AtomicUsize::new(0)));
    let stop = CancellationToken::new();
    let runner = c.runner(&env.settings, handler.clone(), stop.clone());
    let pool = tokio::spawn(run_worker_pool(runner, stop.clone()));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while handler.0.load(Ordering::SeqCst) == 0 {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the worker took no run"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let lengths = lengths(&mut conn, &keys).await;
    let stats = c.queue.stats(Stage::Transcribe).await?;
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(15), pool).await???;
    assert_eq!(
        lengths,
        vec![(keys[0].clone(), 2)],
        "one run in flight, one waiting"
    );
    assert_eq!((stats.waiting, stats.held), (1, 1), "{stats:?}");
    Ok(())
}
