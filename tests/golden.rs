//! Runs every golden file in `queries/` on every engine. Each file holds
//! statements and their expected rows (sqllogictest format); a file passes on
//! an engine only when that engine's rows equal the expected ones, so passing
//! on all engines means identical results everywhere (row order is compared
//! exactly unless the record says `rowsort`).
//!
//! `FSQL_GOLDEN_FILTER=substring` runs only matching files.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use fsql_engine::Engine;
use fsql_tests::FsqlDb;
use sqllogictest::{Runner, default_column_validator};

fn main() -> ExitCode {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::env::set_current_dir(&root).expect("workspace root");
    let filter = std::env::var("FSQL_GOLDEN_FILTER").unwrap_or_default();
    let mut files = Vec::new();
    collect(Path::new("queries"), &mut files);
    files.retain(|f| f.to_string_lossy().contains(&filter));
    files.sort();
    assert!(!files.is_empty(), "no golden files found under queries/");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (mut passed, mut failed) = (0, 0);
    for file in &files {
        for engine in Engine::ALL {
            let mut runner = Runner::new(move || async move { Ok(FsqlDb::new(engine)) });
            runner.add_label(engine.name());
            runner.with_column_validator(default_column_validator);
            match rt.block_on(runner.run_file_async(file)) {
                Ok(()) => {
                    passed += 1;
                    println!("ok   {} [{engine}]", file.display());
                }
                Err(e) => {
                    failed += 1;
                    println!("FAIL {} [{engine}]\n{e}\n", file.display());
                }
            }
        }
    }
    println!("\ngolden files: {passed} passed, {failed} failed");
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("queries/ folder") {
        let p = entry.expect("dir entry").path();
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_some_and(|e| e == "slt") {
            out.push(p);
        }
    }
}
