//! The data files of every version, kept as Parquet in an object store:
//! a local directory by default, S3-compatible storage (MinIO, Ceph, OSS,
//! COS, S3) when configured.
//!
//! Layout (documented in `docs/data-layout.md`), relative to the store's root:
//!
//! ```text
//! resources/<resource id>/versions/<version id>/data.parquet
//! ```
//!
//! A version's file is written whole before the metadata store records the
//! version, so a reader never finds a half-written file under a recorded
//! version; a crash in between leaves an unrecorded file, never a broken
//! version.
//!
//! **Architecture Invariant:** this crate moves bytes; it neither decides who
//! may read them nor interprets them. Reads of non-open data go through the
//! access gateway.

use std::path::Path;
use std::sync::Arc;

use futures::StreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What can go wrong moving data files.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The object store failed.
    #[error("object store: {0}")]
    Store(#[from] object_store::Error),
    /// A local file could not be read or written.
    #[error("local file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The configuration cannot work.
    #[error("data store configuration: {0}")]
    Config(String),
}

/// Settings for S3-compatible storage.
#[derive(Debug, Clone, Default)]
pub struct S3Settings {
    /// Endpoint, e.g. `http://127.0.0.1:9000` for MinIO; empty for AWS.
    pub endpoint: Option<String>,
    /// Bucket.
    pub bucket: String,
    /// Key prefix inside the bucket, e.g. `gongshu/`.
    pub prefix: String,
    /// Region (`us-east-1` when unsure).
    pub region: String,
    /// Access key id.
    pub access_key_id: Option<String>,
    /// Secret access key.
    pub secret_access_key: Option<String>,
}

/// The store of data files.
#[derive(Debug, Clone)]
pub struct DataStore {
    store: Arc<dyn ObjectStore>,
    description: String,
}

/// Upload part size: S3's minimum is 5 MiB; larger parts mean fewer requests.
const PART_SIZE: usize = 8 * 1024 * 1024;

impl DataStore {
    /// Files under a local directory, created if missing.
    pub fn local(root: &Path) -> Result<DataStore, DataError> {
        std::fs::create_dir_all(root).map_err(|source| DataError::Io { path: root.display().to_string(), source })?;
        let store = LocalFileSystem::new_with_prefix(root)?;
        Ok(DataStore { store: Arc::new(store), description: format!("local directory {}", root.display()) })
    }

    /// Files in an S3-compatible bucket.
    pub fn s3(settings: &S3Settings) -> Result<DataStore, DataError> {
        if settings.bucket.is_empty() {
            return Err(DataError::Config("an S3 data store needs a bucket".into()));
        }
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&settings.bucket)
            .with_region(if settings.region.is_empty() { "us-east-1" } else { &settings.region });
        if let Some(endpoint) = &settings.endpoint {
            // Self-hosted stores (MinIO, moto) use path-style URLs, often over plain HTTP inside a network.
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"))
                .with_virtual_hosted_style_request(false);
        }
        if let (Some(key), Some(secret)) = (&settings.access_key_id, &settings.secret_access_key) {
            builder = builder.with_access_key_id(key).with_secret_access_key(secret);
        }
        let s3: Arc<dyn ObjectStore> = Arc::new(builder.build()?);
        let prefix = settings.prefix.trim_matches('/');
        let store: Arc<dyn ObjectStore> =
            if prefix.is_empty() { s3 } else { Arc::new(PrefixStore::new(s3, ObjectPath::from(prefix))) };
        let description =
            format!("s3://{}/{} at {}", settings.bucket, prefix, settings.endpoint.as_deref().unwrap_or("AWS"));
        Ok(DataStore { store, description })
    }

    /// Where the store is, for logs and the health page.
    pub fn describe(&self) -> &str {
        &self.description
    }

    /// The underlying object store, for query engines.
    pub fn object_store(&self) -> Arc<dyn ObjectStore> {
        self.store.clone()
    }

    /// The location of a version's Parquet file.
    pub fn version_location(resource_id: &str, version_id: &str) -> String {
        format!("resources/{resource_id}/versions/{version_id}/data.parquet")
    }

    /// Copies a local file to `location`, streaming it in parts. The object
    /// appears whole when the upload completes, or not at all.
    pub async fn put_file(&self, location: &str, local: &Path) -> Result<u64, DataError> {
        let io_error = |source| DataError::Io { path: local.display().to_string(), source };
        let mut file = tokio::fs::File::open(local).await.map_err(io_error)?;
        let upload = self.store.put_multipart(&ObjectPath::from(location)).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let mut buffer = vec![0u8; 1024 * 1024];
        let mut total = 0u64;
        loop {
            let n = match file.read(&mut buffer).await {
                Ok(n) => n,
                Err(source) => {
                    writer.abort().await.ok();
                    return Err(io_error(source));
                }
            };
            if n == 0 {
                break;
            }
            writer.wait_for_capacity(4).await?;
            writer.write(&buffer[..n]);
            total += n as u64;
        }
        writer.finish().await?;
        Ok(total)
    }

    /// Copies `location` to a local file, streaming.
    pub async fn get_to_file(&self, location: &str, local: &Path) -> Result<u64, DataError> {
        let io_error = |source| DataError::Io { path: local.display().to_string(), source };
        let mut stream = self.store.get(&ObjectPath::from(location)).await?.into_stream();
        let mut file = tokio::fs::File::create(local).await.map_err(io_error)?;
        let mut total = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            file.write_all(&chunk).await.map_err(io_error)?;
            total += chunk.len() as u64;
        }
        file.flush().await.map_err(io_error)?;
        Ok(total)
    }

    /// The object at `location` as a stream of chunks, for downloads.
    pub async fn stream(
        &self,
        location: &str,
    ) -> Result<futures::stream::BoxStream<'static, Result<bytes::Bytes, DataError>>, DataError> {
        let stream = self.store.get(&ObjectPath::from(location)).await?.into_stream();
        Ok(stream.map(|chunk| chunk.map_err(DataError::from)).boxed())
    }

    /// Size of the object at `location`.
    pub async fn size(&self, location: &str) -> Result<u64, DataError> {
        Ok(self.store.head(&ObjectPath::from(location)).await?.size)
    }

    /// Removes an object (used to clean up after a load that was not recorded).
    pub async fn delete(&self, location: &str) -> Result<(), DataError> {
        self.store.delete(&ObjectPath::from(location)).await?;
        Ok(())
    }
}
