//! Schemathesis (from PyPI, installed by `scripts/setup.sh --test`) against
//! the live `/openapi.json`: generated and mutated requests on every
//! operation, checking that none gets a 5xx and no answer contradicts the
//! document (status codes, content types, headers, bodies), that auth is
//! enforced, and that undeclared methods get 405. Only
//! `positive_data_acceptance` is left out: a schema-valid request can still
//! be refused for what no schema can say (an upload id that names nothing).

use std::path::PathBuf;
use std::process::Command;

use voxline_testkit::{TestEnv, spawn_system};

fn schemathesis() -> PathBuf {
    std::env::var_os("VOXLINE_SCHEMATHESIS").map_or_else(
        || {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../target/tools/venv/bin/schemathesis")
        },
        PathBuf::from,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_api_holds_to_its_openapi_document() -> anyhow::Result<()> {
    let binary = schemathesis();
    anyhow::ensure!(
        binary.exists(),
        "{} is missing: run `scripts/setup.sh --test` (make test does)",
        binary.display()
    );
    // The limiter runs, in its place among the refusals, as in production;
    // its budgets are raised so that a fuzzer's thousands of requests a
    // minute from one address and one tenant reach the logic behind it
    // (tests/security.rs holds the limits and the order of refusals).
    let mut env = TestEnv::new().await?;
    env.settings.rate_limits.enabled = true;
    for budget in [
        &mut env.settings.rate_limits.read,
        &mut env.settings.rate_limits.write,
        &mut env.settings.rate_limits.upload,
    ] {
        budget.per_ip_per_minute = 100_000;
        budget.per_tenant_per_minute = 100_000;
    }
    let sys = spawn_system(env).await?;
    let seed = std::env::var("VOXLINE_FUZZ_SEED").unwrap_or_else(|_| "20261125".into());
    let base = sys.base.clone();
    let key = sys.api_key.clone();
    let output = tokio::task::spawn_blocking(move || {
        let config = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/schemathesis.toml");
        Command::new(binary)
            .current_dir(std::env::temp_dir())
            .args(["--config-file", config])
            .env("NO_COLOR", "1")
            .args(["run", &format!("{base}/openapi.json")])
            .args(["--header", &format!("Authorization: Bearer {key}")])
            .args(["--checks", "all"])
            .args(["--phases", "examples,coverage,fuzzing,stateful"])
            .args(["--max-examples", "40", "--workers", "2", "--seed", &seed])
            .output()
    })
    .await??;
    let text = String::from_utf8_lossy(&output.stdout);
    let summary: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("generated") || l.contains(" in ") && l.contains('='))
        .collect();
    println!("{}", summary.join("\n"));
    assert!(
        output.status.success(),
        "schemathesis found problems:\n{text}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    sys.stop().await
}
