//! Every Voxline service in one process, for a laptop, the demo and the
//! tests. The same code paths as the separate services: the gateway, one
//! worker pool per stage on its own queue, and the janitor.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use voxline_config::Settings;
pub use voxline_worker::CancellationToken;
use voxline_worker::{Connections, StageHandler, run_stage, shutdown_on_signals};

/// A running system.
pub struct Running {
    pub address: SocketAddr,
    pub shutdown: CancellationToken,
    pub task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// Stops every part and waits for them to finish.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.task.await?
    }
}

/// Starts every part on `listener`; they stop when `shutdown` is cancelled.
/// A part that stops on its own (Redis gone for good) stops the others, so
/// the process exits non-zero and its supervisor restarts it.
pub async fn start(
    settings: Settings,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<Running> {
    let address = listener.local_addr()?;
    let connections = Connections::open(&settings).await?;
    // One operations endpoint for every part (none in tests: ops_bind is empty).
    let ops = connections.serve_ops(&settings)?;
    let engines = Arc::new(voxline_worker::engines(&settings).await?);
    let gateway = voxline_gateway::state_from(&settings, engines.clone()).await?;
    let handlers: Vec<(Arc<dyn StageHandler>, &str)> = vec![
        (
            Arc::new(voxline_transcriber::Transcribe::new(engines.clone())),
            "transcriber",
        ),
        (
            Arc::new(voxline_translator::Translate::new(engines.clone())),
            "translator",
        ),
        (
            Arc::new(voxline_synthesizer::Synthesize::new(
                engines.clone(),
                &settings,
            )),
            "synthesizer",
        ),
        (
            Arc::new(voxline_renderer::Render::new(settings.engines.clone())),
            "renderer",
        ),
        (
            Arc::new(voxline_publisher::Publish::new(
                &settings,
                voxline_worker::vendor_gate(&settings).await?,
            )),
            "publisher",
        ),
    ];
    let mut parts = tokio::task::JoinSet::new();
    for (handler, name) in handlers {
        let (settings, connections, shutdown) =
            (settings.clone(), connections.clone(), shutdown.clone());
        parts.spawn(async move {
            Ok::<_, anyhow::Error>(
                run_stage(&settings, &connections, handler, name, shutdown).await?,
            )
        });
    }
    parts.spawn(voxline_janitor::run_until(
        settings.clone(),
        connections.clone(),
        shutdown.clone(),
    ));
    parts.spawn(voxline_gateway::serve(listener, gateway, shutdown.clone()));
    let stop_all = shutdown.clone();
    let task = tokio::spawn(async move {
        let _ops = ops;
        let mut first_error = None;
        while let Some(done) = parts.join_next().await {
            let result = done.map_err(anyhow::Error::from).and_then(|r| r);
            if !stop_all.is_cancelled() {
                tracing::error!(result = ?result, "a part stopped on its own; stopping the others");
                stop_all.cancel();
                first_error.get_or_insert(
                    result
                        .err()
                        .unwrap_or_else(|| anyhow::anyhow!("a part stopped unexpectedly")),
                );
            } else if let Err(e) = result {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    });
    tracing::info!(address = %address, "voxline standalone started");
    Ok(Running {
        address,
        shutdown,
        task,
    })
}

/// Runs everything until SIGTERM.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let listener = TcpListener::bind(&settings.server.bind)?;
    let running = start(settings, listener, shutdown_on_signals()).await?;
    running.task.await?
}
