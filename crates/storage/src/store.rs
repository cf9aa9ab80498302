use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::signer::Signer;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use voxline_config::{StorageBackend, StorageSettings};

use crate::StorageError;
use crate::links::{self, LinkPurpose, SignedLink};

/// Files above this size go up in parts, so no file is ever held in memory whole.
const PART_SIZE: usize = 8 * 1024 * 1024;

enum Backend {
    Local,
    S3(Arc<object_store::aws::AmazonS3>),
}

/// The object store with Voxline's key layout and link signing.
#[derive(Clone)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    backend: Arc<Backend>,
    signing_key: Arc<Vec<u8>>,
    /// `{public_url}/v1/files`, parsed once: local links are built on it.
    files_url: Arc<url::Url>,
    link_ttl: Duration,
}

impl Storage {
    /// Opens the configured backend. `public_url` is the gateway's address,
    /// on which local-backend download links are built.
    pub fn open(settings: &StorageSettings, public_url: &str) -> Result<Self, StorageError> {
        let (store, backend): (Arc<dyn ObjectStore>, Backend) = match settings.backend {
            StorageBackend::Local => {
                std::fs::create_dir_all(&settings.local_root)
                    .map_err(|e| StorageError::io(&settings.local_root, e))?;
                let fs = LocalFileSystem::new_with_prefix(&settings.local_root)?
                    .with_automatic_cleanup(true);
                (Arc::new(fs), Backend::Local)
            }
            StorageBackend::S3 => {
                let s3 = &settings.s3;
                let mut builder = AmazonS3Builder::new()
                    .with_bucket_name(&s3.bucket)
                    .with_region(if s3.region.is_empty() {
                        "us-east-1"
                    } else {
                        &s3.region
                    })
                    .with_allow_http(s3.allow_http);
                if !s3.endpoint.is_empty() {
                    builder = builder.with_endpoint(&s3.endpoint);
                }
                if !s3.access_key_id.is_empty() {
                    builder = builder
                        .with_access_key_id(&s3.access_key_id)
                        .with_secret_access_key(s3.secret_access_key.expose());
                }
                let s3 = Arc::new(builder.build()?);
                (s3.clone(), Backend::S3(s3))
            }
        };
        let files_url = url::Url::parse(&format!("{}/v1/files", public_url.trim_end_matches('/')))
            .map_err(|e| StorageError::Config(format!("server.public_url: {e}")))?;
        Ok(Self {
            store,
            backend: Arc::new(backend),
            signing_key: Arc::new(settings.signing_key.expose().as_bytes().to_vec()),
            files_url: Arc::new(files_url),
            link_ttl: Duration::from_secs(settings.url_ttl_seconds),
        })
    }

    /// Stores a local file under `key`, in parts, never whole in memory.
    /// A write that fails (a full disk, the store gone) leaves nothing
    /// behind: the parts written so far are discarded before it answers.
    pub async fn put_file(&self, key: &str, file: &Path) -> Result<u64, StorageError> {
        let mut reader = tokio::fs::File::open(file)
            .await
            .map_err(|e| StorageError::io(file, e))?;
        let upload = self
            .store
            .put_multipart(&ObjectPath::from(key))
            .await
            .map_err(|e| StorageError::on_write(key, e))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let mut buf = vec![0u8; 256 * 1024];
        let mut total = 0u64;
        let copied: Result<(), StorageError> = async {
            loop {
                let n = reader
                    .read(&mut buf)
                    .await
                    .map_err(|e| StorageError::io(file, e))?;
                if n == 0 {
                    return Ok(());
                }
                writer
                    .wait_for_capacity(4)
                    .await
                    .map_err(|e| StorageError::on_write(key, e))?;
                writer.write(&buf[..n]);
                total += n as u64;
            }
        }
        .await;
        if let Err(e) = copied {
            // Dropping the upload would leave the discarding to a
            // background task (local) or to the bucket's lifecycle (S3).
            if let Err(abort) = writer.abort().await {
                tracing::warn!(key, error = %abort, "a failed upload's parts were not discarded");
            }
            return Err(e);
        }
        // `finish` discards the parts itself when it fails.
        writer
            .finish()
            .await
            .map_err(|e| StorageError::on_write(key, e))?;
        Ok(total)
    }

    /// Stores a small value (JSON, subtitles) under `key`.
    pub async fn put_bytes(&self, key: &str, bytes: Vec<u8>) -> Result<u64, StorageError> {
        let len = bytes.len() as u64;
        self.store
            .put(&ObjectPath::from(key), PutPayload::from(bytes))
            .await
            .map_err(|e| StorageError::on_write(key, e))?;
        Ok(len)
    }

    /// Copies the object under `key` into a local file, streaming.
    pub async fn get_to_file(&self, key: &str, file: &Path) -> Result<u64, StorageError> {
        let mut stream = self.stream(key).await?;
        let mut out = tokio::fs::File::create(file)
            .await
            .map_err(|e| StorageError::io(file, e))?;
        let mut total = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            total += chunk.len() as u64;
            out.write_all(&chunk)
                .await
                .map_err(|e| StorageError::io(file, e))?;
        }
        out.flush().await.map_err(|e| StorageError::io(file, e))?;
        Ok(total)
    }

    /// The whole object under `key` (for small values only).
    pub async fn get_bytes(&self, key: &str) -> Result<Vec<u8>, StorageError> {
        let result = self
            .store
            .get(&ObjectPath::from(key))
            .await
            .map_err(|e| not_found(key, e))?;
        Ok(result.bytes().await?.to_vec())
    }

    /// The object under `key` as a stream of chunks, and its size.
    pub async fn stream(
        &self,
        key: &str,
    ) -> Result<BoxStream<'static, Result<bytes::Bytes, object_store::Error>>, StorageError> {
        let result = self
            .store
            .get(&ObjectPath::from(key))
            .await
            .map_err(|e| not_found(key, e))?;
        Ok(result.into_stream())
    }

    /// Bytes `range` of the object under `key`, as a stream of chunks.
    pub async fn stream_range(
        &self,
        key: &str,
        range: std::ops::Range<u64>,
    ) -> Result<BoxStream<'static, Result<bytes::Bytes, object_store::Error>>, StorageError> {
        let options = object_store::GetOptions {
            range: Some(object_store::GetRange::Bounded(range)),
            ..Default::default()
        };
        let result = self
            .store
            .get_opts(&ObjectPath::from(key), options)
            .await
            .map_err(|e| not_found(key, e))?;
        Ok(result.into_stream())
    }

    /// The size of the object under `key`.
    pub async fn size(&self, key: &str) -> Result<u64, StorageError> {
        let meta = self
            .store
            .head(&ObjectPath::from(key))
            .await
            .map_err(|e| not_found(key, e))?;
        Ok(meta.size)
    }

    /// Deletes every object whose key starts with `prefix`.
    pub async fn delete_prefix(&self, prefix: &str) -> Result<usize, StorageError> {
        let prefix = ObjectPath::from(prefix.trim_end_matches('/'));
        let keys: Vec<_> = self
            .store
            .list(Some(&prefix))
            .map(|m| m.map(|m| m.location))
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_, _>>()?;
        for key in &keys {
            self.delete(key.as_ref()).await?;
        }
        Ok(keys.len())
    }

    /// Deletes the objects under `prefix` last written more than `age` ago;
    /// returns how many.
    pub async fn delete_older_than(
        &self,
        prefix: &str,
        age: Duration,
    ) -> Result<usize, StorageError> {
        let cutoff =
            chrono::Utc::now() - chrono::Duration::from_std(age).unwrap_or(chrono::Duration::MAX);
        let prefix = ObjectPath::from(prefix.trim_end_matches('/'));
        let old: Vec<_> = self
            .store
            .list(Some(&prefix))
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .filter(|m| m.last_modified < cutoff)
            .map(|m| m.location)
            .collect();
        for key in &old {
            self.delete(key.as_ref()).await?;
        }
        Ok(old.len())
    }

    /// Deletes the object under `key`; a missing object is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        match self.store.delete(&ObjectPath::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Whether the store answers (for `/readyz`).
    pub async fn ping(&self) -> Result<(), StorageError> {
        let probe = ObjectPath::from("health/probe");
        let mut listing = self.store.list(Some(&probe));
        if let Some(Err(e)) = listing.next().await {
            return Err(e.into());
        }
        Ok(())
    }

    /// An expiring URL that downloads `key` without any auth header, offered
    /// to the browser as `file_name`.
    pub async fn download_url(&self, key: &str, file_name: &str) -> Result<String, StorageError> {
        match &*self.backend {
            Backend::S3(s3) => {
                let url = s3
                    .signed_url(http::Method::GET, &ObjectPath::from(key), self.link_ttl)
                    .await?;
                Ok(url.to_string())
            }
            Backend::Local => self.local_link(LinkPurpose::Download, key, file_name),
        }
    }

    /// An expiring URL that takes the object for `key` as the body of a
    /// `PUT`, without any auth header (how browsers upload straight to storage).
    pub async fn upload_url(&self, key: &str) -> Result<String, StorageError> {
        match &*self.backend {
            Backend::S3(s3) => {
                let url = s3
                    .signed_url(http::Method::PUT, &ObjectPath::from(key), self.link_ttl)
                    .await?;
                Ok(url.to_string())
            }
            Backend::Local => self.local_link(LinkPurpose::Upload, key, ""),
        }
    }

    fn local_link(
        &self,
        purpose: LinkPurpose,
        key: &str,
        name: &str,
    ) -> Result<String, StorageError> {
        let expires = chrono::Utc::now().timestamp() + self.link_ttl.as_secs() as i64;
        let sig = links::sign(&self.signing_key, purpose, key, name, expires);
        let mut url = (*self.files_url).clone();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("key", key);
            if purpose == LinkPurpose::Download {
                q.append_pair("name", name);
            }
            q.append_pair("expires", &expires.to_string())
                .append_pair("sig", &sig);
        }
        Ok(url.to_string())
    }

    /// The signed folder of a job's streaming package,
    /// `{public_url}/v1/packages/{job}/{expires}/{sig}/`, and when it
    /// expires. Every file of the package is reachable under it without an
    /// auth header: players resolve the playlists' relative links against it.
    pub fn package_link(&self, job: &str) -> (String, i64) {
        let expires = chrono::Utc::now().timestamp() + self.link_ttl.as_secs() as i64;
        let sig = links::sign(&self.signing_key, LinkPurpose::Package, job, "", expires);
        let url = self
            .files_url
            .join(&format!("packages/{job}/{expires}/{sig}/"))
            .map_or_else(|_| String::new(), |u| u.to_string());
        (url, expires)
    }

    /// Checks the signed folder of a job's package.
    pub fn verify_package_link(
        &self,
        job: &str,
        expires: i64,
        sig: &str,
    ) -> Result<(), StorageError> {
        self.verify_link(
            LinkPurpose::Package,
            &SignedLink {
                key: job.to_owned(),
                name: String::new(),
                expires,
                sig: sig.to_owned(),
            },
        )
        .map(drop)
    }

    /// Checks a local link for `purpose` and returns the key it grants.
    pub fn verify_link(
        &self,
        purpose: LinkPurpose,
        link: &SignedLink,
    ) -> Result<String, StorageError> {
        links::verify(
            &self.signing_key,
            purpose,
            link,
            chrono::Utc::now().timestamp(),
        )
    }
}

fn not_found(key: &str, e: object_store::Error) -> StorageError {
    match e {
        object_store::Error::NotFound { .. } => StorageError::NotFound(key.to_owned()),
        e => StorageError::Store(e),
    }
}
