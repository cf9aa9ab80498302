//! ONNX Runtime for the engines that run a model in this process (Kokoro's
//! voice, the speaker embedder): the shared library is loaded once per
//! process from `engines.onnxruntime_library` (setup's is the one Piper's
//! environment holds), with no download at build or run time.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use ort::environment::Environment;
use ort::session::Session;
use tokio::sync::OnceCell;

use crate::ProviderError;

/// An engine's model, loaded on the first call (on a blocking thread) and
/// kept; one inference at a time holds it.
pub(crate) struct LazySession {
    engine: &'static str,
    model: PathBuf,
    library: PathBuf,
    threads: usize,
    session: OnceCell<Arc<Mutex<Session>>>,
}

impl LazySession {
    pub(crate) fn new(engine: &'static str, model: &Path, library: &Path, threads: usize) -> Self {
        Self {
            engine,
            model: model.to_owned(),
            library: library.to_owned(),
            threads: threads.max(1),
            session: OnceCell::new(),
        }
    }

    pub(crate) async fn get(&self) -> Result<Arc<Mutex<Session>>, ProviderError> {
        let failed = |message: String| ProviderError::Engine {
            engine: self.engine.into(),
            message,
        };
        self.session
            .get_or_try_init(|| async {
                let (model, library, threads) =
                    (self.model.clone(), self.library.clone(), self.threads);
                tokio::task::spawn_blocking(move || load(&model, &library, threads))
                    .await
                    .map_err(|e| failed(e.to_string()))?
                    .map(|s| Arc::new(Mutex::new(s)))
                    .map_err(failed)
            })
            .await
            .cloned()
    }
}

/// Loads ONNX Runtime (once per process) and the model.
fn load(model: &Path, library: &Path, threads: usize) -> Result<Session, String> {
    let environment = runtime(library)?;
    let session = || -> ort::Result<Session> {
        Session::builder(&environment)?
            .with_intra_threads(threads)?
            // Idle threads sleep rather than spin: the machine runs other stages.
            .with_intra_op_spinning(false)?
            .commit_from_file(model)
    };
    session().map_err(|e| format!("cannot load {}: {e}", model.display()))
}

/// The process's ONNX Runtime environment, from the library first asked for
/// (ONNX Runtime allows one of each per process).
fn runtime(library: &Path) -> Result<Environment, String> {
    static RUNTIME: OnceLock<(PathBuf, Result<Environment, String>)> = OnceLock::new();
    let (loaded, environment) = RUNTIME.get_or_init(|| {
        let environment = ort::init_from(library)
            .map_err(|e| {
                format!("{e} (engines.onnxruntime_library; `scripts/setup.sh` installs it)")
            })
            .and_then(|b| {
                b.with_name("voxline")
                    .with_telemetry(false)
                    .build()
                    .map_err(|e| e.to_string())
            });
        (library.to_owned(), environment)
    });
    if loaded != library {
        return Err(format!(
            "ONNX Runtime is loaded from {} already, not {}",
            loaded.display(),
            library.display()
        ));
    }
    environment.clone()
}
