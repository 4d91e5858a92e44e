//! Bad input never loses data: a SAVE that fails leaves the old target as it
//! was and no temp files behind; APPEND keeps the old rows; SAVE TO never
//! replaces.

use std::fs;
use std::path::Path;

use fsql_engine::{Engine, Session};

fn run(engine: Engine, script: &str) -> Result<Session, fsql_engine::Error> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut s = rt.block_on(Session::new(engine)).unwrap();
    rt.block_on(s.run(script))?;
    Ok(s)
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    names
}

fn count(engine: Engine, load: &str) -> usize {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut s = rt.block_on(Session::new(engine)).unwrap();
    rt.block_on(async {
        s.run(load).await.unwrap();
        s.last().unwrap().clone().count().await.unwrap()
    })
}

/// Rows whose cast fails only at row 5000, so some output may already be
/// written when the failure happens.
fn failing_script(target: &str, mode: &str) -> String {
    format!(
        "x = SELECT CASE WHEN value = 5000 THEN 'oops' ELSE CAST(value AS VARCHAR) END AS s FROM generate_series(1, 10000)\n\
         ALTER COLUMNS s:int\n\
         SAVE {mode} '{target}'"
    )
}

#[test]
fn failing_overwrite_keeps_old_file_and_leaves_no_temp() {
    for engine in Engine::ALL {
        for single in ["SINGLE CSV", "CSV", "SINGLE PARQUET", "PARQUET"] {
            let dir = tempfile::tempdir().unwrap();
            let target = dir.path().join("out.data");
            let t = target.to_str().unwrap();
            run(engine, &format!("CREATE [[1,\"a\"],[2,\"b\"]] SCHEMA id:int,name:str\nSAVE OVERWRITE {single} '{t}'")).unwrap();
            let before = listing(dir.path());
            let before_bytes = snapshot(&target);
            let err = run(engine, &failing_script(t, &format!("OVERWRITE {single}")))
                .err()
                .expect("save must fail");
            assert!(
                err.to_string().to_lowercase().contains("cast"),
                "{engine} {single}: {err}"
            );
            assert_eq!(
                listing(dir.path()),
                before,
                "{engine} {single}: temp files left"
            );
            assert_eq!(
                snapshot(&target),
                before_bytes,
                "{engine} {single}: old data changed"
            );
        }
    }
}

/// File name → bytes of everything under `p`.
fn snapshot(p: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    if p.is_dir() {
        for e in fs::read_dir(p).unwrap() {
            let e = e.unwrap();
            for (n, b) in snapshot(&e.path()) {
                out.push((format!("{}/{n}", e.file_name().to_string_lossy()), b));
            }
        }
    } else {
        out.push((String::new(), fs::read(p).unwrap()));
    }
    out.sort();
    out
}

#[test]
fn failing_append_keeps_old_rows() {
    let dir = tempfile::tempdir().unwrap();
    for single in ["SINGLE PARQUET", "PARQUET"] {
        let target = dir.path().join(format!("t{}", single.len()));
        let t = target.to_str().unwrap();
        run(
            Engine::Threads,
            &format!("CREATE [[1],[2]] SCHEMA s:int\nSAVE OVERWRITE {single} '{t}'"),
        )
        .unwrap();
        let snap = snapshot(&target);
        assert!(
            run(
                Engine::Threads,
                &failing_script(t, &format!("APPEND {single}"))
            )
            .is_err()
        );
        assert_eq!(snapshot(&target), snap);
        // A good append adds rows and keeps the old ones.
        run(
            Engine::Threads,
            &format!("CREATE [[3]] SCHEMA s:int\nSAVE APPEND {single} '{t}'"),
        )
        .unwrap();
        assert_eq!(count(Engine::Local, &format!("LOAD PARQUET '{t}'")), 3);
    }
}

#[test]
fn save_to_never_replaces() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("keep.csv");
    fs::write(&target, "precious\n").unwrap();
    let t = target.to_str().unwrap();
    let err = run(
        Engine::Local,
        &format!("CREATE [[1]] SCHEMA a:int\nSAVE TO SINGLE '{t}'"),
    )
    .err()
    .unwrap();
    assert!(err.to_string().contains("already exists"), "{err}");
    assert_eq!(fs::read_to_string(&target).unwrap(), "precious\n");
}

#[test]
fn partitioned_save_round_trips_null_keys() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("parts");
    let t = t.to_str().unwrap();
    let s = run(
        Engine::Threads,
        &format!(
            "CREATE [[1,\"a\"],[2,null],[0,\"b\"],[null,\"c\"]] SCHEMA k:int,v:str\n\
             SAVE AND USE PREPARTITION BY k OVERWRITE PARQUET '{t}'\n\
             SELECT * ORDER BY v"
        ),
    )
    .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let batches = rt.block_on(s.last().unwrap().clone().collect()).unwrap();
    let text = datafusion::arrow::util::pretty::pretty_format_batches(&batches)
        .unwrap()
        .to_string();
    assert!(
        text.contains("| 1 | a |")
            && text.contains("| 2 |   |")
            && text.contains("| 0 | b |")
            && text.contains("|   | c |"),
        "{text}"
    );
    assert!(Path::new(t).join("k=__HIVE_DEFAULT_PARTITION__").is_dir());
    // LOAD of the folder gives the key back as a column, NULL included.
    assert_eq!(
        count(
            Engine::Local,
            &format!("LOAD '{t}'\nSELECT * WHERE k IS NULL")
        ),
        1
    );
}

#[test]
fn file_named_paths_are_one_file_and_others_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    for engine in Engine::ALL {
        let file = dir.path().join(format!("{engine}.parquet"));
        let folder = dir.path().join(format!("{engine}-parts"));
        run(
            engine,
            &format!(
                "x = SELECT value AS v FROM generate_series(1, 100)\n\
                 SAVE x OVERWRITE '{}'\nSAVE x OVERWRITE PARQUET '{}'",
                file.display(),
                folder.display()
            ),
        )
        .unwrap();
        assert!(file.is_file(), "{}", file.display());
        assert!(folder.is_dir(), "{}", folder.display());
        assert_eq!(count(engine, &format!("LOAD '{}'", file.display())), 100);
        assert_eq!(
            count(engine, &format!("LOAD PARQUET '{}'", folder.display())),
            100
        );
    }
}
