//! Object stores through the `fsql` binary: an S3-compatible server (moto,
//! from a venv the test makes; nothing reaches the internet) and scripts
//! that LOAD, SAVE and query `s3://` paths on every engine, with the same
//! answers; a SAVE that fails leaves the old object whole, an OVERWRITE of
//! a folder leaves only the new parts, and no temporary object is left.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// moto's S3 server on a free port, stopped when dropped.
struct S3 {
    child: Child,
    port: u16,
}

impl Drop for S3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn moto() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("moto-venv");
    let server = dir.join("bin").join("moto_server");
    if server.exists() {
        return server;
    }
    let ok = Command::new("python3")
        .args(["-m", "venv", "--clear"])
        .arg(&dir)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "python3 -m venv failed");
    let ok = Command::new(dir.join("bin").join("pip"))
        .args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "moto[server]",
        ])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "pip install moto[server] failed");
    server
}

impl S3 {
    fn start() -> S3 {
        let server = moto();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let s3 = S3 { child, port };
        let until = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < until, "moto did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        s3
    }

    /// One plain HTTP request (moto takes unsigned bucket creation and listing).
    /// A connection moto resets under load is tried again (a few times).
    fn http(&self, method: &str, path: &str) -> String {
        let once = || -> std::io::Result<String> {
            let mut c = TcpStream::connect(("127.0.0.1", self.port))?;
            write!(
                c,
                "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                self.port
            )?;
            let mut out = String::new();
            c.read_to_string(&mut out)?;
            Ok(out)
        };
        let mut last = None;
        for _ in 0..5 {
            match once() {
                Ok(out) => return out,
                Err(e) => last = Some(e),
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("{method} {path} to the S3 server failed: {last:?}");
    }

    fn fsql(&self) -> assert_cmd::Command {
        let mut c = assert_cmd::Command::cargo_bin("fsql").unwrap();
        c.current_dir(ROOT)
            .env_remove("FSQL_ENGINE")
            .env("NO_COLOR", "1")
            .env(
                "AWS_ENDPOINT_URL",
                format!("http://127.0.0.1:{}", self.port),
            )
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test-secret-never-shown")
            .env("AWS_REGION", "us-east-1");
        c
    }

    fn run(&self, engine: &str, script: &str) -> (bool, String, String) {
        self.run_in(self.fsql(), engine, script)
    }

    /// [`S3::run`] without the endpoint in the environment.
    fn run_without_endpoint(&self, engine: &str, script: &str) -> (bool, String, String) {
        let mut c = self.fsql();
        c.env_remove("AWS_ENDPOINT_URL");
        self.run_in(c, engine, script)
    }

    fn run_in(
        &self,
        mut c: assert_cmd::Command,
        engine: &str,
        script: &str,
    ) -> (bool, String, String) {
        let out = c
            .args(["-c", script, "--engine", engine, "--format", "csv"])
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

#[test]
fn load_save_and_query_s3_paths_on_every_engine() {
    let s3 = S3::start();
    assert!(s3.http("PUT", "/fsql").starts_with("HTTP/1.1 200"));
    let mut answers = Vec::new();
    for engine in ["local", "threads", "cluster"] {
        let at = format!("s3://fsql/{engine}");
        let script = format!(
            "sales = CREATE [[1,\"a\",2.5],[2,\"b\",null],[3,\"a\",4.0]] SCHEMA id:int, region:str, amount:double\n\
             SAVE sales OVERWRITE '{at}/sales.parquet'\n\
             SAVE sales OVERWRITE '{at}/sales.csv' (header=true)\n\
             SAVE sales PREPARTITION BY region OVERWRITE '{at}/by_region/'\n\
             SAVE sales OVERWRITE '{at}/parts/'\n\
             x = LOAD '{at}/sales.parquet'\n\
             y = LOAD '{at}/sales.csv' (header=true, infer_schema=true)\n\
             z = LOAD '{at}/by_region/'\n\
             w = LOAD '{at}/parts/'\n\
             SELECT (SELECT COUNT(*) FROM x) AS x, (SELECT SUM(amount) FROM y) AS y,\n\
               (SELECT COUNT(DISTINCT region) FROM z) AS z, (SELECT SUM(id) FROM w) AS w,\n\
               (SELECT COUNT(*) FROM '{at}/sales.csv') AS q FROM (VALUES (1)) AS t(one)\n\
             PRINT"
        );
        let (ok, stdout, stderr) = s3.run(engine, &script);
        assert!(ok, "{engine}: {stderr}");
        assert!(
            stdout.ends_with("x,y,z,w,q\n3,6.5,2,6,3\n"),
            "{engine}: {stdout}"
        );
        answers.push(stdout);

        // A SAVE that fails while writing leaves the old object whole.
        let failing = format!(
            "x = LOAD '{at}/sales.parquet'\n\
             ALTER COLUMNS region:int\n\
             SAVE OVERWRITE '{at}/sales.parquet'"
        );
        let (ok, _, stderr) = s3.run(engine, &failing);
        assert!(!ok, "{engine}: the failing SAVE succeeded");
        assert!(!stderr.contains("test-secret-never-shown"), "{stderr}");
        // The same when the query fails after many rows were written (the
        // part written so far goes to the temporary object, removed).
        let late = format!(
            "SELECT CASE WHEN value < 250000 THEN value ELSE arrow_cast('x' || value, 'Int64') END AS id\n\
             FROM generate_series(1, 300000)\n\
             SAVE OVERWRITE '{at}/sales.parquet'"
        );
        let (ok, _, stderr) = s3.run(engine, &late);
        assert!(!ok, "{engine}: the failing SAVE succeeded");
        assert!(
            stderr.contains("Cannot cast") || stderr.contains("cast"),
            "{stderr}"
        );
        // A folder OVERWRITE keeps only the new parts; APPEND adds; TO refuses.
        let more = format!(
            "SELECT COUNT(*) AS n, SUM(id) AS s FROM (LOAD '{at}/sales.parquet')\n\
             PRINT\n\
             SAVE (SELECT 10 AS id) OVERWRITE '{at}/parts/'\n\
             SAVE (SELECT 20 AS id) APPEND '{at}/parts/'\n\
             SELECT SUM(id) AS s FROM (LOAD '{at}/parts/')\n\
             PRINT"
        );
        let (ok, stdout, stderr) = s3.run(engine, &more);
        assert!(ok, "{engine}: {stderr}");
        assert_eq!(stdout, "n,s\n3,6\ns\n30\n", "{engine}");
        // Globs on a store (DataFusion globs local paths only).
        let globs = format!(
            "x = LOAD '{at}/parts/*.parquet'\n\
             SELECT SUM(id) AS a, (SELECT COUNT(*) FROM read_parquet('{at}/p*/*.parquet')) AS b, (SELECT COUNT(*) FROM read_parquet('{at}/sales.parq*')) AS c FROM x"
        );
        let (ok, stdout, stderr) = s3.run(engine, &globs);
        assert!(ok, "{engine}: {stderr}");
        assert_eq!(stdout, "a,b,c\n30,2,3\n", "{engine}");
        let (ok, _, stderr) = s3.run(engine, &format!("LOAD '{at}/parts/*.json'\nPRINT"));
        assert!(
            !ok && stderr.contains("no data files"),
            "{engine}: {stderr}"
        );
        let (ok, _, stderr) = s3.run(engine, &format!("SELECT 1 AS a\nSAVE TO '{at}/sales.csv'"));
        assert!(
            !ok && stderr.contains("already exists"),
            "{engine}: {stderr}"
        );
        let (ok, _, stderr) = s3.run(engine, &format!("LOAD '{at}/nope.parquet'\nPRINT"));
        assert!(
            !ok && stderr.contains("file not found"),
            "{engine}: {stderr}"
        );
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]));
    let listing = s3.http("GET", "/fsql?list-type=2");
    assert!(
        listing.contains("<Key>local/sales.parquet</Key>"),
        "{listing}"
    );
    assert!(
        !listing.contains(".fsql-tmp"),
        "temporary objects left: {listing}"
    );
}

/// Store options in the statements, with no endpoint in the environment:
/// the first statement on a bucket configures it for the session (later
/// ones, and `read_parquet`, find it), on every engine. A credential in a
/// statement is refused at its name, before anything is read.
#[test]
fn store_options_in_statements_on_every_engine() {
    let s3 = S3::start();
    assert!(s3.http("PUT", "/opts").starts_with("HTTP/1.1 200"));
    let run = |engine: &str, script: &str| s3.run_without_endpoint(engine, script);
    for engine in ["local", "threads", "cluster"] {
        let script = format!(
            "CREATE [[1,\"a\"],[2,\"b\"],[3,null]] SCHEMA id:int, s:str\n\
             SAVE OVERWRITE 's3://opts/{engine}/t.parquet' (endpoint='http://127.0.0.1:{}', region='us-east-1')\n\
             SAVE OVERWRITE 's3://opts/{engine}/t.csv' (header=true)\n\
             a = LOAD 's3://opts/{engine}/t.csv' (header=true)\n\
             SELECT (SELECT COUNT(*) FROM read_parquet('s3://opts/{engine}/t.parquet')) AS n, COUNT(s) AS s FROM a\n\
             PRINT",
            s3.port
        );
        let (ok, stdout, stderr) = run(engine, &script);
        assert!(ok, "{engine}: {stderr}");
        assert_eq!(stdout, "n,s\n3,2\n", "{engine}");
    }
    // Without the option, the same read goes to AWS (no endpoint) and fails.
    let (ok, _, _) = run(
        "local",
        "SELECT COUNT(*) FROM 's3://opts/local/t.parquet'\nPRINT",
    );
    assert!(!ok, "the endpoint must not leak between runs");
    let (ok, _, stderr) = run(
        "local",
        "x = LOAD 's3://opts/local/t.parquet' (secret_access_key='not-a-real-key')\nPRINT x",
    );
    assert!(!ok);
    assert!(
        stderr.contains(":1:39")
            && stderr.contains("credential")
            && stderr.contains("AWS_SECRET_ACCESS_KEY"),
        "{stderr}"
    );
    let (ok, _, stderr) = run(
        "local",
        "x = LOAD 's3://opts/local/t.parquet' (endpoint='http://127.0.0.1:1', timeout='soon')\nPRINT x",
    );
    assert!(!ok);
    assert!(
        stderr.contains("timeout") || stderr.contains("soon"),
        "{stderr}"
    );
}

/// Ctrl-C (SIGINT) while `fsql run` is uploading a large object: the
/// target keeps its old content, and neither the temporary object nor an
/// unfinished multipart upload is left on the store.
#[test]
fn an_interrupted_save_leaves_no_upload_behind() {
    let s3 = S3::start();
    assert!(s3.http("PUT", "/ctrlc").starts_with("HTTP/1.1 200"));
    let (ok, _, stderr) = s3.run(
        "local",
        "CREATE [[1]] SCHEMA a:int\nSAVE OVERWRITE 's3://ctrlc/big.csv'",
    );
    assert!(ok, "{stderr}");
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("fsql"))
        .args([
            "-c",
            "SELECT value, random() AS r, 'padding padding padding padding' AS p FROM generate_series(1, 40000000)\n\
             SAVE OVERWRITE 's3://ctrlc/big.csv'",
            "--engine",
            "local",
        ])
        .envs(
            s3.fsql()
                .get_envs()
                .filter_map(|(k, v)| Some((k.to_owned(), v?.to_owned()))),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let child = Killed(child);
    // Wait for the upload to be under way.
    let until = Instant::now() + Duration::from_secs(120);
    loop {
        let uploads = s3.http("GET", "/ctrlc?uploads");
        if uploads.contains("<UploadId>") {
            break;
        }
        assert!(
            Instant::now() < until,
            "no multipart upload started: {uploads}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let mut child = child;
    let until = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < until, "fsql did not stop after SIGINT");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    child
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    let uploads = s3.http("GET", "/ctrlc?uploads");
    assert!(
        !uploads.contains("<UploadId>"),
        "an upload was left: {uploads}"
    );
    let listing = s3.http("GET", "/ctrlc?list-type=2");
    assert!(!listing.contains(".fsql-tmp"), "{listing}");
    let (ok, stdout, stderr) = s3.run(
        "local",
        "SELECT COUNT(*) AS n FROM read_csv('s3://ctrlc/big.csv', header=false)\nPRINT",
    );
    assert!(ok, "{stderr}");
    assert_eq!(stdout, "n\n1\n", "the old object must stay whole");
}

/// A child process killed (and reaped) when dropped, also when a test fails.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `fsql cluster ...` in its own empty folder with the store's credentials
/// but not its endpoint (the script gives it), returning the process and
/// its first stdout line.
fn cluster_process(s3: &S3, args: &[&str], dir: &Path) -> (Killed, String) {
    let child = Command::new(assert_cmd::cargo::cargo_bin("fsql"))
        .args(args)
        .current_dir(dir)
        .env_remove("FSQL_ENGINE")
        .env_remove("FSQL_SCHEDULER")
        .envs(
            s3.fsql()
                .get_envs()
                .filter(|(k, _)| *k != "AWS_ENDPOINT_URL")
                .filter_map(|(k, v)| Some((k.to_owned(), v?.to_owned()))),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("fsql cluster starts");
    let mut child = Killed(child);
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.0.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    (child, line.trim().to_string())
}

/// A scheduler and two executors that share no folder with each other or
/// the client: a script with only s3:// paths runs there as on threads.
/// No process has the endpoint in its environment: the first statement
/// gives it, and the session's settings carry it to the scheduler (which
/// lists the objects) and the executors (which read and write them).
#[test]
fn a_cluster_that_shares_no_folder_reads_and_writes_the_store() {
    let s3 = S3::start();
    assert!(s3.http("PUT", "/shared").starts_with("HTTP/1.1 200"));
    let dirs: Vec<tempfile::TempDir> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    let (scheduler, line) = cluster_process(
        &s3,
        &["cluster", "scheduler", "--bind", "127.0.0.1:0"],
        dirs[0].path(),
    );
    let addr = line.rsplit(' ').next().unwrap().to_string();
    let mut executors = Vec::new();
    for dir in &dirs[1..3] {
        let (e, line) = cluster_process(
            &s3,
            &["cluster", "executor", "--scheduler", &addr, "--slots", "2"],
            dir.path(),
        );
        assert!(line.contains("executor serving on"), "{line}");
        executors.push(e);
    }
    let script = format!(
        "SELECT CAST(value % 4 AS INT) AS k, CAST(value AS BIGINT) AS v FROM generate_series(1, 1000)\n\
                  SAVE PREPARTITION BY k OVERWRITE 's3://shared/by_k/' (endpoint='http://127.0.0.1:{}')\n\
                  x = LOAD 's3://shared/by_k/' PERSIST\n\
                  SELECT k, COUNT(*) AS n, SUM(v) AS s FROM x GROUP BY k ORDER BY k CHECKPOINT\n\
                  SAVE OVERWRITE 's3://shared/summary.csv' (header=true)\n\
                  SELECT * FROM 's3://shared/summary.csv' ORDER BY k\nPRINT",
        s3.port
    );
    let out = s3
        .fsql()
        .env_remove("AWS_ENDPOINT_URL")
        // No local temporary folder: a local scratch folder would fail.
        .env("TMPDIR", dirs[3].path().join("no-such-folder"))
        .current_dir(dirs[3].path())
        .args([
            "-c",
            &script,
            "--engine",
            "cluster",
            "--scheduler",
            &addr,
            "--format",
            "csv",
            // PERSIST and CHECKPOINT write where every process reads.
            "--scratch",
            "s3://shared/scratch/",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout,
        "k,n,s\n0,250,125500\n1,250,124750\n2,250,125000\n3,250,125250\n"
    );
    // The session's scratch objects were there and are gone.
    let listing = s3.http("GET", "/shared?list-type=2&prefix=scratch/");
    assert!(listing.contains("<KeyCount>0</KeyCount>"), "{listing}");
    drop(executors);
    drop(scheduler);
}

/// Read-only HTTP: a file served by a plain web server (Python's), read
/// where it is, also through DuckDB's `read_csv`.
#[test]
fn files_on_a_web_server_are_read_where_they_are() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new("python3")
        .args([
            "-m",
            "http.server",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
        ])
        .current_dir(Path::new(ROOT).join("examples/data"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 -m http.server starts");
    let until = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < until, "the web server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let url = format!("http://127.0.0.1:{port}/sales.csv");
    let local = "examples/data/sales.csv";
    let query =
        |from: &str| format!("SELECT COUNT(*) AS n, ROUND(SUM(amount), 2) AS s FROM {from}\nPRINT");
    for engine in ["local", "threads", "cluster"] {
        let run = |script: String| {
            let out = assert_cmd::Command::cargo_bin("fsql")
                .unwrap()
                .current_dir(ROOT)
                .env("NO_COLOR", "1")
                .args(["-c", &script, "--engine", engine, "--format", "csv"])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{engine}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let expected = run(query(&format!("'{local}'")));
        assert_eq!(run(query(&format!("'{url}'"))), expected, "{engine}");
        assert_eq!(
            run(query(&format!("read_csv('{url}', header = true)"))),
            expected,
            "{engine}"
        );
    }
    let _ = server.kill();
    let _ = server.wait();
}
