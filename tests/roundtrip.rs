//! Every type survives SAVE → LOAD in every format and layout, and through
//! PERSIST, CHECKPOINT, SAVE AND USE, YIELD FILE and TRANSFORM, on `local`,
//! `threads` and the embedded `cluster`; the files each engine writes hold
//! the same bytes (single files) or the same records (folders of parts).
//! The same matrix runs on a cluster of `fsql cluster` processes in
//! `tests/cluster_processes.rs`.

use std::path::Path;

use fsql_tests::Target;
use fsql_tests::roundtrip::{fingerprint, run_matrix};

#[test]
fn every_type_survives_save_and_load_on_every_engine() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let transformer = Path::new(env!("CARGO_BIN_EXE_fsql-test-transformer"));
    let mut failures = Vec::new();
    let mut written = Vec::new();
    for target in Target::all_defaults() {
        let out = dir.path().join(target.engine.name());
        std::fs::create_dir_all(&out).unwrap();
        failures.extend(rt.block_on(run_matrix(&target, &out, transformer)));
        written.push((target.engine, fingerprint(&out)));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // null_value is what SAVE writes for NULL (and what LOAD read back above).
    let na = std::fs::read_to_string(dir.path().join("local/csv_null_single.csv")).unwrap();
    let plain = std::fs::read_to_string(dir.path().join("local/csv_header_single.csv")).unwrap();
    assert!(
        na.lines().any(|l| l.contains(",NA,") || l.ends_with(",NA")),
        "{na}"
    );
    assert!(!plain.contains(",NA"), "{plain}");
    let (first, reference) = &written[0];
    assert!(reference.len() >= 16, "too few outputs: {reference:?}");
    for (engine, files) in &written[1..] {
        for (name, content) in reference {
            let other = files.get(name).map(String::as_str).unwrap_or("(missing)");
            if other != content {
                let at = content
                    .chars()
                    .zip(other.chars())
                    .take_while(|(a, b)| a == b)
                    .count();
                let near = |s: &str| {
                    s.chars()
                        .skip(at.saturating_sub(40))
                        .take(120)
                        .collect::<String>()
                };
                panic!(
                    "{name}: {engine} wrote other content than {first} (from character {at}):\n{first}: {}\n{engine}: {}",
                    near(content),
                    near(other)
                );
            }
        }
        assert_eq!(files.len(), reference.len(), "{engine} wrote other files");
    }
}
