//! A real S3-compatible server for tests: s3s-fs (it checks SigV4
//! signatures, pre-signed URLs and multipart uploads), on a free port over a
//! private folder, killed when dropped.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use voxline_config::{Secret, Settings, StorageBackend};

pub struct S3Server {
    pub endpoint: String,
    pub bucket: String,
    port: u16,
    child: Option<Child>,
    root: tempfile::TempDir,
}

pub const ACCESS_KEY: &str = "voxline-test";
pub const SECRET_KEY: &str = "voxline-test-secret";

impl S3Server {
    /// Starts s3s-fs with one bucket. It is installed by `make test`
    /// (scripts/setup.sh); `S3S_FS` overrides the binary's path.
    pub fn start(bucket: &str) -> anyhow::Result<Self> {
        let root = tempfile::tempdir()?;
        // s3s-fs keeps a bucket as a top-level folder.
        std::fs::create_dir(root.path().join(bucket))?;
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut server = Self {
            endpoint: format!("http://127.0.0.1:{port}"),
            bucket: bucket.into(),
            port,
            child: None,
            root,
        };
        server.start_again()?;
        Ok(server)
    }

    /// Stops the server (SIGKILL): object storage is gone until
    /// [`S3Server::start_again`].
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and folder, so what was
    /// stored before is there again.
    pub fn start_again(&mut self) -> anyhow::Result<()> {
        self.stop();
        let binary = std::env::var("S3S_FS").unwrap_or_else(|_| "s3s-fs".into());
        let child = Command::new(&binary)
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &self.port.to_string(),
                "--access-key",
                ACCESS_KEY,
                "--secret-key",
                SECRET_KEY,
            ])
            .arg(self.root.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                anyhow::anyhow!("cannot start {binary} (run `make test`, which installs it): {e}")
            })?;
        self.child = Some(child);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        anyhow::bail!("s3s-fs did not start listening")
    }

    /// Points `settings` at this server.
    pub fn configure(&self, settings: &mut Settings) {
        settings.storage.backend = StorageBackend::S3;
        settings.storage.s3.endpoint = self.endpoint.clone();
        settings.storage.s3.bucket = self.bucket.clone();
        settings.storage.s3.region = "us-east-1".into();
        settings.storage.s3.access_key_id = ACCESS_KEY.into();
        settings.storage.s3.secret_access_key = Secret::new(SECRET_KEY);
        settings.storage.s3.allow_http = true;
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}
