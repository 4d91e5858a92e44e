//! Object stores: `s3://` (and S3-compatible stores), `gs://`, `az://` /
//! `abfss://` and read-only `http(s)://` paths wherever a path is read or
//! written (LOAD, SAVE, `FROM 's3://...'`).
//!
//! [`StoreRegistry`] is the object-store registry of every runtime fsql
//! builds — the session's, the embedded cluster's executors' and a
//! standalone executor's — and creates a store the first time a bucket is
//! used, from the environment users already set (`AWS_*` including
//! `AWS_ENDPOINT_URL`, `GOOGLE_*`, `AZURE_*`): on a cluster each executor
//! builds its own from its own environment, so no credential travels in a
//! plan. A plain-HTTP endpoint (a local S3-compatible server) is allowed
//! without further settings.
//!
//! Also here: what a path points at on a store (one object, a folder of
//! parts with hive partitions, a glob) and the object-level steps of a safe
//! SAVE (copy into place, then delete), mirroring `crate::files` for local
//! paths. Errors never include credentials: object_store's messages name
//! the bucket and key only.

mod aws_profile;
mod options;
mod registry;
mod uploads;

use std::sync::Arc;

use datafusion::common::{DataFusionError, Result as DfResult};
use datafusion::prelude::SessionContext;
use futures::TryStreamExt;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt};
use url::Url;

use crate::files::{Source, has_glob};
pub use options::StoreOptions;
pub use registry::StoreRegistry;
pub(crate) use registry::{configure, session_options, store_with_options};
pub use uploads::settle;

/// URL schemes fsql reads from an object store.
const SCHEMES: &[&str] = &[
    "s3", "s3a", "gs", "gcs", "az", "adl", "azure", "abfs", "abfss", "http", "https",
];

/// True when `path` is an object-store URL (`s3://bucket/key`, ...).
pub(crate) fn is_url(path: &str) -> bool {
    path.split_once("://")
        .is_some_and(|(scheme, _)| SCHEMES.contains(&scheme.to_ascii_lowercase().as_str()))
}

/// The store and the key (without a trailing '/') a URL names.
pub(crate) fn locate(
    ctx: &SessionContext,
    path: &str,
) -> DfResult<(Arc<dyn ObjectStore>, StorePath)> {
    let url = Url::parse(path).map_err(|e| DataFusionError::Plan(format!("'{path}': {e}")))?;
    let store = ctx.runtime_env().object_store_registry.get_store(&url)?;
    let key = StorePath::from_url_path(url.path().trim_end_matches('/'))
        .map_err(|e| DataFusionError::ObjectStore(Box::new(e.into())))?;
    Ok((store, key))
}

/// What exists at a store path.
pub(crate) enum Existing {
    Nothing,
    /// One object.
    Object,
    /// Objects under `path/`.
    Folder,
}

/// Whether `path` on its store is an object, a folder of objects or nothing.
pub(crate) async fn existing(ctx: &SessionContext, path: &str) -> DfResult<Existing> {
    let (store, key) = locate(ctx, path)?;
    match store.head(&key).await {
        Ok(_) => return Ok(Existing::Object),
        Err(object_store::Error::NotFound { .. }) => {}
        Err(e) => return Err(DataFusionError::ObjectStore(Box::new(e))),
    }
    let mut listing = store.list(Some(&key));
    Ok(match listing.try_next().await {
        Ok(Some(_)) => Existing::Folder,
        Ok(None) => Existing::Nothing,
        Err(e) => return Err(DataFusionError::ObjectStore(Box::new(e))),
    })
}

/// The LOAD facts of a path, local or on a store.
pub(crate) async fn inspect_any(ctx: &SessionContext, path: &str) -> std::io::Result<Source> {
    if is_url(path) {
        inspect(ctx, path).await
    } else {
        crate::files::inspect(path)
    }
}

/// The LOAD facts of a store path: extension, hive partitions, folder or
/// not; `NotFound` when nothing is there.
pub(crate) async fn inspect(ctx: &SessionContext, path: &str) -> std::io::Result<Source> {
    let io = |e: DataFusionError| std::io::Error::other(e.to_string());
    if has_glob(path) {
        return crate::files::inspect(path);
    }
    let (store, key) = locate(ctx, path).map_err(io)?;
    match existing(ctx, path).await.map_err(io)? {
        Existing::Nothing => Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no such file",
        )),
        Existing::Object => crate::files::inspect_name(path),
        Existing::Folder => {
            let objects: Vec<_> = store
                .list(Some(&key))
                .try_collect()
                .await
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            let prefix = key.as_ref().len();
            let relative: Vec<String> = objects
                .iter()
                .map(|o| {
                    o.location.as_ref()[prefix..]
                        .trim_start_matches('/')
                        .to_string()
                })
                .collect();
            Ok(crate::files::source_of(relative.iter().map(String::as_str)))
        }
    }
}

/// The first `n` bytes of the object at `path` (None when it is not one
/// object or cannot be read).
pub(crate) async fn head_bytes(ctx: &SessionContext, path: &str, n: u64) -> Option<Vec<u8>> {
    let (store, key) = locate(ctx, path).ok()?;
    let size = store.head(&key).await.ok()?.size;
    let bytes = store.get_range(&key, 0..size.min(n)).await.ok()?;
    Some(bytes.to_vec())
}

/// The objects a store URL with a glob matches (`s3://b/data/*.parquet`,
/// `s3://b/202?/part-*`), as URLs, sorted; "no data files" when none does.
/// Hidden names (`.x`, `_x`) are left out, as in a folder.
pub(crate) async fn expand_glob(ctx: &SessionContext, path: &str) -> Result<Vec<String>, String> {
    let first = path.find(['*', '?', '[']).unwrap_or(path.len());
    let cut = path[..first].rfind('/').ok_or("a pattern needs a folder")?;
    let (prefix, pattern) = (&path[..cut], &path[cut + 1..]);
    let glob = glob::Pattern::new(pattern).map_err(|e| format!("bad pattern '{pattern}': {e}"))?;
    let keys = list(ctx, prefix).await.map_err(|e| e.to_string())?;
    let (_, base) = locate(ctx, prefix).map_err(|e| e.to_string())?;
    let options = glob::MatchOptions {
        require_literal_separator: true,
        ..Default::default()
    };
    let mut out: Vec<String> = keys
        .iter()
        .filter_map(|k| {
            let relative = k.as_ref()[base.as_ref().len()..].trim_start_matches('/');
            let hidden = relative
                .split('/')
                .any(|p| p.starts_with('.') || p.starts_with('_'));
            (!hidden && glob.matches_with(relative, options))
                .then(|| format!("{prefix}/{relative}"))
        })
        .collect();
    out.sort();
    if out.is_empty() {
        return Err(
            "no data files there (an empty folder, or a pattern that matches nothing)".into(),
        );
    }
    Ok(out)
}

/// Every object under `prefix/`, as keys.
pub(crate) async fn list(ctx: &SessionContext, prefix: &str) -> DfResult<Vec<StorePath>> {
    let (store, key) = locate(ctx, prefix)?;
    let objects: Vec<_> = store
        .list(Some(&key))
        .try_collect()
        .await
        .map_err(|e| DataFusionError::ObjectStore(Box::new(e)))?;
    Ok(objects.into_iter().map(|o| o.location).collect())
}

/// Puts what SAVE wrote under `tmp` at `target`: one object is copied into
/// place (a store's copy replaces the old object whole); a folder's parts
/// are copied under `target/`, then the old parts the new ones did not
/// replace are deleted (unless `keep_old`: APPEND). The temporary objects
/// are deleted last.
pub(crate) async fn place(
    ctx: &SessionContext,
    tmp: &str,
    target: &str,
    keep_old: bool,
) -> DfResult<()> {
    let (store, tmp_key) = locate(ctx, tmp)?;
    let (_, target_key) = locate(ctx, target)?;
    let os = |e: object_store::Error| DataFusionError::ObjectStore(Box::new(e));
    if store.head(&tmp_key).await.is_ok() {
        store.copy(&tmp_key, &target_key).await.map_err(os)?;
        store.delete(&tmp_key).await.map_err(os)?;
        return Ok(());
    }
    let new_parts = list(ctx, tmp).await?;
    let old_parts = if keep_old {
        Vec::new()
    } else {
        list(ctx, target).await?
    };
    let mut placed = Vec::with_capacity(new_parts.len());
    for part in &new_parts {
        let relative = part.as_ref()[tmp_key.as_ref().len()..].trim_start_matches('/');
        let dest = StorePath::from(format!("{}/{relative}", target_key.as_ref()));
        store.copy(part, &dest).await.map_err(os)?;
        placed.push(dest);
    }
    for old in old_parts {
        if !placed.contains(&old) {
            store.delete(&old).await.map_err(os)?;
        }
    }
    for part in new_parts {
        store.delete(&part).await.map_err(os)?;
    }
    Ok(())
}

/// Deletes whatever is at `path` (an object or a folder's objects); errors
/// are ignored (cleaning up after a failed SAVE).
pub(crate) async fn remove_any(ctx: &SessionContext, path: &str) {
    let Ok((store, key)) = locate(ctx, path) else {
        return;
    };
    let _ = store.delete(&key).await;
    if let Ok(parts) = list(ctx, path).await {
        for p in parts {
            let _ = store.delete(&p).await;
        }
    }
}

/// Deletes a SAVE's temporary objects if dropped armed: the statement
/// failed or was cancelled (Ctrl-C) before it placed them.
pub(crate) struct TempObjects {
    ctx: SessionContext,
    path: String,
    armed: bool,
}

impl TempObjects {
    pub(crate) fn new(ctx: &SessionContext, path: &str) -> Self {
        Self {
            ctx: ctx.clone(),
            path: path.to_string(),
            armed: true,
        }
    }

    /// The objects were placed (or removed): nothing to clean.
    pub(crate) fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for TempObjects {
    fn drop(&mut self) {
        if self.armed {
            let (ctx, path) = (self.ctx.clone(), std::mem::take(&mut self.path));
            uploads::spawn_cleanup(async move { remove_any(&ctx, &path).await });
        }
    }
}

/// A temporary path next to `target` on its store: a hidden name in the
/// same folder (LOAD never reads names starting with '.').
pub(crate) fn temp_sibling(target: &str) -> String {
    let trimmed = target.trim_end_matches('/');
    let (dir, name) = trimmed.rsplit_once('/').unwrap_or(("", trimmed));
    format!("{dir}/.fsql-tmp-{}-{name}", crate::session::unique_suffix())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_temp_names() {
        assert!(is_url("s3://b/x.parquet") && is_url("GS://b/x") && is_url("https://h/x.csv"));
        assert!(!is_url("data/x.csv") && !is_url("file:///x") && !is_url("C:/x"));
        let t = temp_sibling("s3://b/out/x.csv");
        assert!(
            t.starts_with("s3://b/out/.fsql-tmp-") && t.ends_with("-x.csv"),
            "{t}"
        );
        let t = temp_sibling("s3://b/out/");
        assert!(
            t.starts_with("s3://b/.fsql-tmp-") && t.ends_with("-out"),
            "{t}"
        );
        assert_eq!(
            registry::key(&Url::parse("s3://bucket/a/b.csv").unwrap()),
            "s3://bucket"
        );
    }
}
