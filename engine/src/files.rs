//! File-system facts LOAD and SAVE need: format from extension, hive-style
//! partition folders, and safe replacement (write to a temp sibling, rename
//! on success, so a failed SAVE never leaves a half-written target).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use fsql_sql::FileFormat;

/// The value a NULL partition key is written as (Hive's convention).
pub(crate) const NULL_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

pub(crate) fn format_from_extension(path: &str) -> Option<FileFormat> {
    let lower = path.to_lowercase();
    let ext = lower.rsplit('.').next()?;
    match ext {
        "csv" | "tsv" | "txt" => Some(FileFormat::Csv),
        "parquet" | "pq" => Some(FileFormat::Parquet),
        "json" | "jsonl" | "ndjson" => Some(FileFormat::Json),
        _ => None,
    }
}

/// The file extension fsql writes `format` with.
pub(crate) fn extension(format: FileFormat) -> &'static str {
    match format {
        FileFormat::Csv => "csv",
        FileFormat::Parquet => "parquet",
        FileFormat::Json => "json",
    }
}

pub(crate) fn has_glob(path: &str) -> bool {
    path.contains(['*', '?', '['])
}

/// What a LOAD path points at.
pub(crate) struct Source {
    /// The extension data files have (with the dot), or "" when they have none.
    pub extension: String,
    /// Hive partition columns found in folder names, outermost first, with
    /// the values seen for each.
    pub partitions: Vec<(String, Vec<String>)>,
    pub is_dir: bool,
}

/// The LOAD facts of one file named `path`.
pub(crate) fn inspect_name(path: &str) -> io::Result<Source> {
    let name = path.rsplit('/').next().unwrap_or(path);
    Ok(Source {
        extension: name
            .rfind('.')
            .map(|i| name[i..].to_string())
            .unwrap_or_default(),
        partitions: vec![],
        is_dir: false,
    })
}

/// The LOAD facts of a folder holding the files at these relative paths
/// (`key=value/part.parquet`): hidden names and `_SUCCESS`-like markers
/// are skipped, as in a local folder.
pub(crate) fn source_of<'a>(relative: impl Iterator<Item = &'a str>) -> Source {
    let mut partitions: Vec<(String, Vec<String>)> = Vec::new();
    let mut extension = String::new();
    for path in relative {
        let parts: Vec<&str> = path.split('/').collect();
        if parts
            .iter()
            .any(|p| p.starts_with('.') || p.starts_with('_'))
        {
            continue;
        }
        let (file, dirs) = parts.split_last().expect("split gives one part");
        for (depth, dir) in dirs.iter().enumerate() {
            let Some((k, v)) = dir.split_once('=') else {
                break;
            };
            if partitions.len() == depth {
                partitions.push((k.to_string(), Vec::new()));
            }
            if partitions[depth].0 == k && !partitions[depth].1.contains(&v.to_string()) {
                partitions[depth].1.push(v.to_string());
            }
        }
        if extension.is_empty()
            && let Some(i) = file.rfind('.')
        {
            extension = file[i..].to_string();
        }
    }
    Source {
        extension,
        partitions,
        is_dir: true,
    }
}

/// Looks at a LOAD path: its files' extension and hive-style partitions.
pub(crate) fn inspect(path: &str) -> io::Result<Source> {
    if has_glob(path) {
        let ext = path
            .rsplit('/')
            .next()
            .and_then(|name| name.rfind('.').map(|i| name[i..].to_string()))
            .unwrap_or_default();
        return Ok(Source {
            extension: ext,
            partitions: vec![],
            is_dir: false,
        });
    }
    let meta = fs::metadata(path)?;
    if !meta.is_dir() {
        let ext = Path::new(path)
            .extension()
            .map(|e| format!(".{}", e.to_string_lossy()))
            .unwrap_or_default();
        return Ok(Source {
            extension: ext,
            partitions: vec![],
            is_dir: false,
        });
    }
    let mut partitions: Vec<(String, Vec<String>)> = Vec::new();
    let mut files = Vec::new();
    walk(Path::new(path), 0, &mut partitions, &mut files)?;
    let extension = files
        .iter()
        .filter_map(|f| f.extension().map(|e| format!(".{}", e.to_string_lossy())))
        .next()
        .unwrap_or_default();
    Ok(Source {
        extension,
        partitions,
        is_dir: true,
    })
}

fn walk(
    dir: &Path,
    depth: usize,
    partitions: &mut Vec<(String, Vec<String>)>,
    files: &mut Vec<PathBuf>,
) -> io::Result<()> {
    let mut entries: Vec<_> = fs::read_dir(dir)?.collect::<io::Result<_>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with('.') || name.starts_with('_') {
            continue; // hidden files, _SUCCESS markers, temp files
        }
        let p = entry.path();
        if entry.file_type()?.is_dir() {
            if let Some((k, v)) = name.split_once('=') {
                if partitions.len() == depth {
                    partitions.push((k.to_string(), Vec::new()));
                }
                if partitions[depth].0 == k && !partitions[depth].1.contains(&v.to_string()) {
                    partitions[depth].1.push(v.to_string());
                }
                walk(&p, depth + 1, partitions, files)?;
            }
        } else {
            files.push(p);
        }
    }
    Ok(())
}

/// A temp path next to `target` (same folder, so a rename is atomic).
pub(crate) fn temp_sibling(target: &Path, tag: &str) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "out".to_string());
    let parent = target.parent().unwrap_or(Path::new("."));
    parent.join(format!(
        ".{name}.fsql-{tag}-{}",
        crate::session::unique_suffix()
    ))
}

pub(crate) fn remove_any(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Puts `new` (a finished write) in place of `target`, so that at every
/// moment — a kill included — `target` is the whole old data or the whole
/// new data: a file replaces a file in one rename; a folder is swapped with
/// the old one in one `renameat2(RENAME_EXCHANGE)` (Linux). Where that is
/// not available the old target is moved aside first and restored if the
/// final rename fails; a kill between the two renames leaves the old data
/// under its aside name, which the next SAVE to the target puts back
/// ([`sweep_leftovers`]).
pub(crate) fn replace(new: &Path, target: &Path) -> io::Result<()> {
    let Ok(old) = fs::symlink_metadata(target) else {
        return fs::rename(new, target);
    };
    let new_is_dir = fs::symlink_metadata(new)?.is_dir();
    if !old.is_dir() && !new_is_dir {
        return fs::rename(new, target);
    }
    if exchange(new, target).is_ok() {
        // `new` now holds the old data.
        return remove_any(new);
    }
    let backup = temp_sibling(target, "old");
    fs::rename(target, &backup)?;
    if let Err(e) = fs::rename(new, target) {
        fs::rename(&backup, target)?;
        return Err(e);
    }
    remove_any(&backup)
}

/// Swaps two paths atomically (Linux `renameat2` with `RENAME_EXCHANGE`).
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let a = CString::new(a.as_os_str().as_bytes()).map_err(io::Error::other)?;
    let b = CString::new(b.as_os_str().as_bytes()).map_err(io::Error::other)?;
    // SAFETY: two valid NUL-terminated paths, relative to the working folder.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_a: &Path, _b: &Path) -> io::Result<()> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

/// Removes what a killed SAVE to `target` left next to it: its temporary
/// write (`.name.fsql-tmp-<pid>-<n>`) and, when `target` itself is gone,
/// puts the old data moved aside (`.name.fsql-old-<pid>-<n>`) back. Only
/// leftovers of processes that no longer run are touched.
pub(crate) fn sweep_leftovers(target: &Path) {
    let Some(name) = target.file_name().map(|n| n.to_string_lossy().to_string()) else {
        return;
    };
    let parent = target.parent().unwrap_or(Path::new("."));
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().to_string();
        let Some(rest) = file.strip_prefix(&format!(".{name}.fsql-")) else {
            continue;
        };
        let Some((tag, suffix)) = rest.split_once('-') else {
            continue;
        };
        let Some(pid) = suffix.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if crate::pids::running(pid) {
            continue;
        }
        match tag {
            "old" if fs::symlink_metadata(target).is_err() => {
                let _ = fs::rename(entry.path(), target);
            }
            "old" | "tmp" => {
                let _ = remove_any(&entry.path());
            }
            _ => {}
        }
    }
}

/// Moves every file under `from` into the same relative place under `to`
/// (APPEND to a folder of parts). File names written by DataFusion carry a
/// random write id, so they never collide with existing parts.
pub(crate) fn move_files_into(from: &Path, to: &Path) -> io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let dest = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            move_files_into(&entry.path(), &dest)?;
        } else {
            fs::rename(entry.path(), dest)?;
        }
    }
    fs::remove_dir_all(from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_hive_partitions_and_extension() {
        let dir = tempfile::tempdir().unwrap();
        for (a, b) in [("1", "x"), ("2", "y"), ("2", "z")] {
            let p = dir.path().join(format!("a={a}/b={b}"));
            fs::create_dir_all(&p).unwrap();
            fs::write(p.join("part-0.parquet"), b"").unwrap();
        }
        fs::write(dir.path().join("_SUCCESS"), b"").unwrap();
        let s = inspect(dir.path().to_str().unwrap()).unwrap();
        assert!(s.is_dir);
        assert_eq!(s.extension, ".parquet");
        assert_eq!(
            s.partitions[0],
            ("a".to_string(), vec!["1".to_string(), "2".to_string()])
        );
        assert_eq!(s.partitions[1].1, vec!["x", "y", "z"]);
    }

    #[test]
    fn replace_swaps_and_keeps_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("old"), b"old").unwrap();
        let new = temp_sibling(&target, "tmp");
        fs::create_dir(&new).unwrap();
        fs::write(new.join("new"), b"new").unwrap();
        replace(&new, &target).unwrap();
        assert!(target.join("new").exists() && !target.join("old").exists());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
