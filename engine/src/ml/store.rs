//! The model store: one file per model (`<name>.fsqlmodel`, fsql's versioned
//! binary format) in a folder, `.fsql/models/` under the working directory
//! unless `--model-dir` says otherwise. Writes go to a temporary file that is
//! renamed over the old one, so a failed CREATE or IMPORT leaves the
//! previous model intact.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use fsql_ml::Model;

/// A model file could not be read or written; the message names the file.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StoreError(pub String);

type Result<T> = std::result::Result<T, StoreError>;

const EXTENSION: &str = "fsqlmodel";

/// The default folder, relative to the working directory.
pub const DEFAULT_DIR: &str = ".fsql/models";

#[derive(Debug, Clone)]
pub struct ModelStore {
    dir: PathBuf,
}

/// A model read from the store, with its bytes (what PREDICT ships).
pub(crate) struct Stored {
    pub model: Arc<Model>,
    pub bytes: Arc<Vec<u8>>,
}

impl ModelStore {
    /// A store in `dir` (made absolute against the working directory).
    pub fn new(dir: impl AsRef<Path>) -> Self {
        let dir = dir.as_ref();
        let dir = if dir.is_absolute() {
            dir.to_path_buf()
        } else {
            std::env::current_dir()
                .map(|cwd| cwd.join(dir))
                .unwrap_or_else(|_| dir.to_path_buf())
        };
        Self { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{}.{EXTENSION}", file_stem(name)))
    }

    pub fn exists(&self, name: &str) -> bool {
        self.path(name).is_file()
    }

    /// The model called `name`, if there is one.
    pub(crate) fn get(&self, name: &str) -> Result<Option<Stored>> {
        let path = self.path(name);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error(&path, e)),
        };
        let model = Model::from_bytes(&bytes)
            .map_err(|e| StoreError(format!("{}: {e}", path.display())))?;
        Ok(Some(Stored {
            model: Arc::new(model),
            bytes: Arc::new(bytes),
        }))
    }

    /// All models, sorted by name. Files that do not read as models are
    /// skipped with a warning.
    pub fn list(&self) -> Result<Vec<Arc<Model>>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
            Err(e) => return Err(io_error(&self.dir, e)),
        };
        let mut models = Vec::new();
        for entry in entries {
            let path = entry.map_err(|e| io_error(&self.dir, e))?.path();
            if path.extension().and_then(|e| e.to_str()) != Some(EXTENSION) {
                continue;
            }
            let bytes = std::fs::read(&path).map_err(|e| io_error(&path, e))?;
            match Model::from_bytes(&bytes) {
                Ok(m) => models.push(Arc::new(m)),
                Err(e) => tracing::warn!("skipping {}: {e}", path.display()),
            }
        }
        models.sort_by(|a, b| a.info.name.cmp(&b.info.name));
        Ok(models)
    }

    /// Stores `bytes` as model `name`, replacing any model of that name
    /// only once the new file is complete.
    pub(crate) fn put(&self, name: &str, bytes: &[u8]) -> Result<()> {
        write_atomically(&self.path(name), bytes)
    }

    /// Removes model `name`; false if there was none.
    pub(crate) fn remove(&self, name: &str) -> Result<bool> {
        let path = self.path(name);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_error(&path, e)),
        }
    }
}

/// Writes `bytes` to a temporary file next to `path` and renames it over
/// `path`: readers see the old file or the new one, never half of one.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| io_error(dir, e))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| io_error(path, e))?;
    tmp.persist(path).map_err(|e| io_error(path, e.error))?;
    Ok(())
}

fn io_error(path: &Path, e: std::io::Error) -> StoreError {
    StoreError(format!("{}: {e}", path.display()))
}

/// A file name for a model name: letters, digits, '_' and '-' as they are,
/// every other byte as `%XX`.
fn file_stem(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_safe_file_names() {
        assert_eq!(file_stem("iris_v2"), "iris_v2");
        assert_eq!(file_stem("../x y"), "%2E%2E%2Fx%20y");
    }

    #[test]
    fn a_missing_store_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let store = ModelStore::new(dir.path().join("nothing"));
        assert!(store.list().unwrap().is_empty());
        assert!(store.get("m").unwrap().is_none());
        assert!(!store.remove("m").unwrap());
    }
}
