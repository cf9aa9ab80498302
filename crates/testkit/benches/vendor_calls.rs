//! What Voxline's vendor path costs on top of the vendor itself: one chat
//! translation through the engine chain (async-openai over Voxline's
//! transport) against a local fake OpenAI that answers at once, first with
//! no limits, then through the Redis gate (a concurrency cap and a request
//! rate that never binds), and then with more callers than the cap lets in.
//!
//! `make bench`, or `cargo bench -p voxline-testkit --bench vendor_calls`.
//! `VOXLINE_BENCH_SAMPLES=N` sets the calls per point (500).

use std::sync::Arc;
use std::time::{Duration, Instant};

use voxline_config::{EngineSettings, OpenAiSettings, Secret, VendorLimits, VendorSettings};
use voxline_core::{Language, Segment};
use voxline_providers::{CallLog, Engines, Unlimited, VendorGate};
use voxline_testkit::stats::latency_cells;
use voxline_testkit::vendors::FakeOpenAi;
use voxline_vendor_gate::RedisGate;

fn engines(fake: &FakeOpenAi, limits: VendorLimits, gate: Arc<dyn VendorGate>) -> Engines {
    let vendors = [(
        "openai".to_owned(),
        VendorSettings::OpenAi(OpenAiSettings {
            base_url: fake.base_url(),
            api_key: Secret::new(voxline_testkit::vendors::openai::KEY),
            limits,
            ..Default::default()
        }),
    )]
    .into();
    let chains = EngineSettings {
        translate: vec!["openai".into()],
        ..Default::default()
    };
    Engines::from_settings(&chains, &vendors, gate).expect("chains build")
}

/// `samples` translations by `callers` concurrent callers; each call's time.
async fn measure(engines: Arc<Engines>, samples: usize, callers: usize) -> Vec<Duration> {
    let lines = vec![Segment::new(1, 0.0, 1.0, "Thank you very much.")];
    let mut tasks = Vec::new();
    for _ in 0..callers {
        let (engines, lines) = (engines.clone(), lines.clone());
        tasks.push(tokio::spawn(async move {
            let (en, es) = (
                Language::parse("en").unwrap(),
                Language::parse("es").unwrap(),
            );
            let mut times = Vec::new();
            for _ in 0..samples / callers {
                let started = Instant::now();
                engines
                    .translate(&lines, &en, &es, &CallLog::default())
                    .await
                    .expect("the fake translates");
                times.push(started.elapsed());
            }
            times
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("caller runs"));
    }
    all
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let samples: usize = std::env::var("VOXLINE_BENCH_SAMPLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let fake = FakeOpenAi::start().await;
    let redis = redis::Client::open(voxline_testkit::redis_url())?
        .get_connection_manager()
        .await?;
    let namespace = format!("bench-{}", uuid::Uuid::new_v4().simple());
    let gate: Arc<dyn VendorGate> = Arc::new(RedisGate::new(redis, &namespace));
    let free = VendorLimits {
        max_concurrency: 0,
        ..Default::default()
    };
    let gated = VendorLimits {
        max_concurrency: 4,
        requests_per_minute: 1_000_000,
        ..Default::default()
    };

    let plain = Arc::new(engines(&fake, free, Arc::new(Unlimited)));
    measure(plain.clone(), 50, 1).await; // warm-up
    let points = [
        ("no gate", 1, measure(plain.clone(), samples, 1).await),
        (
            "Redis gate (cap 4, rate)",
            1,
            measure(
                Arc::new(engines(&fake, gated.clone(), gate.clone())),
                samples,
                1,
            )
            .await,
        ),
        (
            "Redis gate, 8 callers for 4 places",
            8,
            measure(Arc::new(engines(&fake, gated, gate)), samples, 8).await,
        ),
    ];
    println!("vendor path: one chat translation against a local fake that answers at once");
    println!("| point | callers | calls | p50 ms | p95 ms | p99 ms | max ms |");
    println!("|---|---|---|---|---|---|---|");
    for (label, callers, times) in &points {
        println!(
            "| {label} | {callers} | {} | {} |",
            times.len(),
            latency_cells(times)
        );
    }
    anyhow::ensure!(
        fake.script.problems().is_empty(),
        "the fake saw bad requests"
    );
    Ok(())
}
