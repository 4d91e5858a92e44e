//! Multipart uploads that never outlive their statement.
//!
//! DataFusion writes large objects as multipart uploads and completes them
//! when the file is done; a write that fails or is cancelled (Ctrl-C in the
//! REPL, `fsql run` interrupted) drops them, and object_store does not abort
//! a dropped upload: its parts stay on the store, billed and invisible,
//! until a lifecycle rule removes them. [`Tracked`] wraps every store fsql
//! builds so that an upload dropped before it completed is aborted, on the
//! runtime it was dropped in; [`settle`] waits for those aborts (and for
//! clean-ups registered with [`spawn_cleanup`]) before the process exits.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions, Result, UploadPart,
};

/// Aborts and clean-ups started and not yet finished.
static PENDING: AtomicUsize = AtomicUsize::new(0);

/// Runs `work` on the current runtime (if any) as a clean-up [`settle`]
/// waits for.
pub(crate) fn spawn_cleanup(work: impl Future<Output = ()> + Send + 'static) {
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        return;
    };
    PENDING.fetch_add(1, Ordering::SeqCst);
    handle.spawn(async move {
        work.await;
        PENDING.fetch_sub(1, Ordering::SeqCst);
    });
}

/// Waits (at most `limit`) until every abort and clean-up has finished;
/// true when none is left.
pub fn settle(limit: Duration) -> bool {
    let until = Instant::now() + limit;
    while PENDING.load(Ordering::SeqCst) > 0 {
        if Instant::now() > until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

/// A store whose unfinished multipart uploads are aborted when dropped.
#[derive(Debug)]
pub(crate) struct Tracked {
    inner: Arc<dyn ObjectStore>,
}

impl Tracked {
    pub(crate) fn new(inner: Arc<dyn ObjectStore>) -> Self {
        Self { inner }
    }
}

impl fmt::Display for Tracked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

/// An upload that aborts itself if dropped before `complete` or `abort`.
#[derive(Debug)]
struct Upload {
    inner: Option<Box<dyn MultipartUpload>>,
    location: Path,
}

#[async_trait]
impl MultipartUpload for Upload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        match self.inner.as_mut() {
            Some(u) => u.put_part(data),
            None => Box::pin(async {
                Err(object_store::Error::Generic {
                    store: "fsql",
                    source: "upload already finished".into(),
                })
            }),
        }
    }

    async fn complete(&mut self) -> Result<PutResult> {
        let Some(mut u) = self.inner.take() else {
            return Err(object_store::Error::Generic {
                store: "fsql",
                source: "upload already finished".into(),
            });
        };
        match u.complete().await {
            Ok(r) => Ok(r),
            Err(e) => {
                // A failed completion leaves the upload open: abort it.
                let _ = u.abort().await;
                Err(e)
            }
        }
    }

    async fn abort(&mut self) -> Result<()> {
        match self.inner.take() {
            Some(mut u) => u.abort().await,
            None => Ok(()),
        }
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if let Some(mut u) = self.inner.take() {
            tracing::debug!("aborting the unfinished upload of {}", self.location);
            spawn_cleanup(async move {
                let _ = u.abort().await;
            });
        }
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl ObjectStore for Tracked {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        let upload = self.inner.put_multipart_opts(location, opts).await?;
        Ok(Box::new(Upload {
            inner: Some(upload),
            location: location.clone(),
        }))
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        self.inner.rename_opts(from, to, options).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::ObjectStoreExt;
    use object_store::memory::InMemory;

    /// A store that counts the uploads aborted.
    #[derive(Debug, Default)]
    struct Counting {
        inner: InMemory,
        aborted: Arc<AtomicUsize>,
    }

    impl fmt::Display for Counting {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "Counting")
        }
    }

    #[derive(Debug)]
    struct CountingUpload(Box<dyn MultipartUpload>, Arc<AtomicUsize>);

    #[async_trait]
    impl MultipartUpload for CountingUpload {
        fn put_part(&mut self, data: PutPayload) -> UploadPart {
            self.0.put_part(data)
        }
        async fn complete(&mut self) -> Result<PutResult> {
            self.0.complete().await
        }
        async fn abort(&mut self) -> Result<()> {
            self.1.fetch_add(1, Ordering::SeqCst);
            self.0.abort().await
        }
    }

    #[async_trait]
    impl ObjectStore for Counting {
        async fn put_opts(&self, l: &Path, p: PutPayload, o: PutOptions) -> Result<PutResult> {
            self.inner.put_opts(l, p, o).await
        }
        async fn put_multipart_opts(
            &self,
            l: &Path,
            o: PutMultipartOptions,
        ) -> Result<Box<dyn MultipartUpload>> {
            let u = self.inner.put_multipart_opts(l, o).await?;
            Ok(Box::new(CountingUpload(u, self.aborted.clone())))
        }
        async fn get_opts(&self, l: &Path, o: GetOptions) -> Result<GetResult> {
            self.inner.get_opts(l, o).await
        }
        fn delete_stream(
            &self,
            l: BoxStream<'static, Result<Path>>,
        ) -> BoxStream<'static, Result<Path>> {
            self.inner.delete_stream(l)
        }
        fn list(&self, p: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
            self.inner.list(p)
        }
        async fn list_with_delimiter(&self, p: Option<&Path>) -> Result<ListResult> {
            self.inner.list_with_delimiter(p).await
        }
        async fn copy_opts(&self, f: &Path, t: &Path, o: CopyOptions) -> Result<()> {
            self.inner.copy_opts(f, t, o).await
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_dropped_upload_is_aborted_and_a_completed_one_is_not() {
        let counting = Counting::default();
        let aborted = counting.aborted.clone();
        let store = Tracked::new(Arc::new(counting));
        let mut done = store.put_multipart(&Path::from("a")).await.unwrap();
        done.put_part(PutPayload::from_static(b"x")).await.unwrap();
        done.complete().await.unwrap();
        drop(done);
        let mut dropped = store.put_multipart(&Path::from("b")).await.unwrap();
        dropped
            .put_part(PutPayload::from_static(b"y"))
            .await
            .unwrap();
        drop(dropped);
        let waited = tokio::task::spawn_blocking(|| settle(Duration::from_secs(5)))
            .await
            .unwrap();
        assert!(waited);
        assert_eq!(aborted.load(Ordering::SeqCst), 1);
        assert!(store.head(&Path::from("a")).await.is_ok());
        assert!(store.head(&Path::from("b")).await.is_err());
    }
}
