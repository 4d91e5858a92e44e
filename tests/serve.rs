//! `fsql serve` as Flight SQL clients see it: the Rust arrow-flight Flight
//! SQL client here, Python's ADBC driver in `tests/serve_adbc.rs`. Each test
//! starts the real binary on a free port and talks to it over TCP.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use arrow_flight::sql::client::FlightSqlServiceClient;
use arrow_flight::sql::{CommandGetTables, SqlInfo};
use arrow_flight::{FlightInfo, Ticket};
use datafusion::arrow::array::{AsArray, Int64Array, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema};
use datafusion::arrow::util::pretty::pretty_format_batches;
use futures::TryStreamExt;
use std::sync::Arc;
use tonic::transport::Channel;

const FSQL: &str = env!("CARGO_BIN_EXE_fsql");

/// A running `fsql serve`; stopped (SIGTERM) when dropped.
struct Server {
    child: Child,
    addr: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start(extra: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("serve.log");
        let mut child = Command::new(FSQL)
            .args(["serve", "--bind", "127.0.0.1:0", "--grace", "5"])
            .args(["--model-dir"])
            .arg(dir.path().join("models"))
            .args(extra)
            .current_dir(dir.path())
            .env_remove("RUST_LOG")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("fsql serve starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .split_whitespace()
            .find(|w| w.starts_with("127.0.0.1:"))
            .unwrap_or_else(|| {
                panic!(
                    "no address in {line:?}: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                )
            })
            .to_string();
        Server {
            child,
            addr,
            log,
            _dir: dir,
        }
    }

    async fn client(&self) -> FlightSqlServiceClient<Channel> {
        let channel = Channel::from_shared(format!("http://{}", self.addr))
            .unwrap()
            .connect()
            .await
            .unwrap();
        FlightSqlServiceClient::new(channel)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn dir(&self) -> &Path {
        self._dir.path()
    }

    fn terminate(&mut self) -> std::process::ExitStatus {
        unsafe { libc_kill(self.child.id() as i32, 15) };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "fsql serve did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

unsafe extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.terminate();
        }
    }
}

/// Every batch of a FlightInfo's endpoints.
async fn fetch(client: &mut FlightSqlServiceClient<Channel>, info: FlightInfo) -> Vec<RecordBatch> {
    let mut out = Vec::new();
    for endpoint in info.endpoint {
        let ticket = endpoint.ticket.expect("a ticket");
        let stream = client.do_get(ticket).await.unwrap();
        out.extend(stream.try_collect::<Vec<_>>().await.unwrap());
    }
    out
}

async fn query(client: &mut FlightSqlServiceClient<Channel>, sql: &str) -> Vec<RecordBatch> {
    let info = client.execute(sql.to_string(), None).await.unwrap();
    fetch(client, info).await
}

fn text(batches: &[RecordBatch]) -> String {
    pretty_format_batches(batches).unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn queries_scripts_prepared_statements_and_metadata() {
    let server = Server::start(&[]);
    let mut c = server.client().await;

    // SQL, and the FlightInfo's schema is the schema of the data.
    let info = c
        .execute(
            "SELECT value AS v, value * 2 AS w FROM generate_series(1, 100000)".into(),
            None,
        )
        .await
        .unwrap();
    let announced = Schema::try_from(info.clone()).unwrap();
    let batches = fetch(&mut c, info).await;
    assert_eq!(*batches[0].schema(), announced);
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, 100_000);
    assert!(batches.len() > 1, "streamed in batches");

    // A FugueSQL script: its last dataframe; names stay for later requests
    // of this connection (the anonymous chain is per request).
    let b = query(
        &mut c,
        "t = CREATE [[1,'x'],[2,'y'],[3,'z']] SCHEMA a:long,b:str\nSELECT * FROM t WHERE a > 1",
    )
    .await;
    assert_eq!(
        text(&b),
        text(&query(&mut c, "SELECT * FROM t WHERE a >= 2").await)
    );
    let b = query(&mut c, "SELECT * FROM t\nTAKE 1 ROW PRESORT a DESC").await;
    assert!(text(&b).contains("| 3 | z |"), "{}", text(&b));

    // A prepared statement: schemas at creation, a parameter bound by DoPut.
    let mut p = c
        .prepare("SELECT a, b FROM t WHERE a > $1 ORDER BY a".into(), None)
        .await
        .unwrap();
    assert_eq!(p.dataset_schema().unwrap().field(0).name(), "a");
    assert_eq!(p.parameter_schema().unwrap().field(0).name(), "$1");
    let param = RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new("$1", DataType::Int64, false)])),
        vec![Arc::new(Int64Array::from(vec![1]))],
    )
    .unwrap();
    p.set_parameters(param).unwrap();
    let info = p.execute().await.unwrap();
    let b = fetch(&mut c, info).await;
    let a: Vec<i64> = b
        .iter()
        .flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec())
        .collect();
    assert_eq!(a, [2, 3]);
    p.close().await.unwrap();

    // Updates: DDL counts 0, INSERT its rows.
    assert_eq!(
        c.execute_update("CREATE TABLE kept (x BIGINT)".into(), None)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        c.execute_update("INSERT INTO kept VALUES (1), (2)".into(), None)
            .await
            .unwrap(),
        2
    );

    // Metadata: the connection's dataframes and the shared tables, with schemas.
    let info = c
        .get_tables(CommandGetTables {
            catalog: None,
            db_schema_filter_pattern: None,
            table_name_filter_pattern: Some("%".into()),
            table_types: vec![],
            include_schema: true,
        })
        .await
        .unwrap();
    let tables = text(&fetch(&mut c, info).await);
    assert!(
        tables.contains("| datafusion   | public         | t          | VIEW"),
        "{tables}"
    );
    assert!(tables.contains("| kept "), "{tables}");
    let info = c.get_catalogs().await.unwrap();
    assert!(text(&fetch(&mut c, info).await).contains("datafusion"));
    let info = c.get_table_types().await.unwrap();
    assert!(text(&fetch(&mut c, info).await).contains("VIEW"));
    let info = c
        .get_sql_info(vec![
            SqlInfo::FlightSqlServerName,
            SqlInfo::FlightSqlServerReadOnly,
        ])
        .await
        .unwrap();
    let facts = text(&fetch(&mut c, info).await);
    assert!(facts.contains("fsql"), "{facts}");
    // No keys (DataFusion tables have none), but a well-formed answer, as
    // JDBC's getPrimaryKeys / getImportedKeys expect.
    let info = c
        .get_primary_keys(arrow_flight::sql::CommandGetPrimaryKeys {
            catalog: None,
            db_schema: None,
            table: "kept".into(),
        })
        .await
        .unwrap();
    assert_eq!(
        Schema::try_from(info.clone()).unwrap().field(5).name(),
        "key_sequence"
    );
    let keys = fetch(&mut c, info).await;
    assert_eq!(keys.iter().map(|b| b.num_rows()).sum::<usize>(), 0);
    let info = c
        .get_imported_keys(arrow_flight::sql::CommandGetImportedKeys {
            catalog: None,
            db_schema: None,
            table: "kept".into(),
        })
        .await
        .unwrap();
    assert_eq!(Schema::try_from(info.clone()).unwrap().fields().len(), 13);
    assert!(fetch(&mut c, info).await.iter().all(|b| b.num_rows() == 0));
    let info = c.get_xdbc_type_info(Default::default()).await.unwrap();
    assert!(text(&fetch(&mut c, info).await).contains("TIMESTAMP"));

    // Bad requests get an error status, and the server keeps serving.
    let e = c
        .execute("SELEC 1".into(), None)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("line 1"), "{e}");
    let e = c
        .execute("SELECT * FROM nowhere".into(), None)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("nowhere"), "{e}");
    let garbage = c.do_get(Ticket::new(vec![0xff, 0x00, 0x13, 0x37])).await;
    let failed = match garbage {
        Err(_) => true,
        Ok(s) => s.try_collect::<Vec<_>>().await.is_err(),
    };
    assert!(failed);
    let stale = arrow_flight::sql::TicketStatementQuery {
        statement_handle: "no-such-handle".into(),
    };
    use arrow_flight::sql::ProstMessageExt;
    use prost::Message;
    let stale = Ticket::new(stale.as_any().encode_to_vec());
    let failed = match c.do_get(stale).await {
        Err(e) => e.to_string(),
        Ok(s) => s.try_collect::<Vec<_>>().await.unwrap_err().to_string(),
    };
    assert!(failed.contains("no such result"), "{failed}");
    // A message over the server's limit (64 MiB), an unknown action.
    let huge = format!("SELECT '{}' AS x", "y".repeat(70 << 20));
    assert!(c.execute(huge, None).await.is_err());
    let action = arrow_flight::Action::new("DropEverything", "now");
    assert!(c.do_action(action).await.is_err());
    let one = text(&query(&mut c, "SELECT 1 AS one").await);
    assert_eq!(one.matches("| 1 ").count(), 1, "{one}");
    // Each query is logged with its user, rows and time.
    let log = server.log();
    assert!(log.contains("rows=100000"), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn connections_have_their_own_dataframes_and_share_tables_and_models() {
    let server = Server::start(&[]);
    let mut one = server.client().await;
    let mut two = server.client().await;
    query(
        &mut one,
        "mine = CREATE [[1]] SCHEMA a:long\nSELECT * FROM mine",
    )
    .await;
    query(
        &mut two,
        "mine = CREATE [[2]] SCHEMA a:long\nSELECT * FROM mine",
    )
    .await;
    assert!(text(&query(&mut one, "SELECT * FROM mine").await).contains("| 1 |"));
    assert!(text(&query(&mut two, "SELECT * FROM mine").await).contains("| 2 |"));
    one.execute_update("CREATE TABLE everyone AS SELECT 7 AS v".into(), None)
        .await
        .unwrap();
    assert!(text(&query(&mut two, "SELECT * FROM everyone").await).contains("| 7 |"));
    // Models are in the one store.
    one.execute_update(
        "d = CREATE [[1.0, 2.0],[2.0, 4.1],[3.0, 5.9],[4.0, 8.2]] SCHEMA x:double,y:double\n\
         CREATE MODEL line WITH (model_class = 'LinearRegression', target_column = 'y') AS (SELECT * FROM d)"
            .into(),
        None,
    )
    .await
    .unwrap();
    let b = query(
        &mut two,
        "SELECT ROUND(target) AS t FROM PREDICT(MODEL line, SELECT 5.0 AS x)",
    )
    .await;
    assert!(text(&b).contains("| 10.0 |"), "{}", text(&b));
    assert!(server.dir().join("models/line.fsqlmodel").is_file());
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_are_required_when_configured() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "t0ken-for-tests\n").unwrap();
    let password = dir.path().join("password");
    std::fs::write(&password, "pa55word-secret\n").unwrap();
    let server = Server::start(&[
        "--token-file",
        token.to_str().unwrap(),
        "--user",
        "ada",
        "--password-file",
        password.to_str().unwrap(),
    ]);
    let mut c = server.client().await;
    let e = c
        .execute("SELECT 1".into(), None)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("Unauthenticated") || e.contains("credentials"),
        "{e}"
    );
    c.set_token("t0ken-for-tests".into());
    assert_eq!(query(&mut c, "SELECT 1 AS x").await[0].num_rows(), 1);

    let mut d = server.client().await;
    assert!(d.handshake("ada", "wrong").await.is_err());
    d.handshake("ada", "pa55word-secret").await.unwrap();
    assert!(d.token().is_some_and(|t| t.len() == 64));
    assert_eq!(query(&mut d, "SELECT 1 AS x").await[0].num_rows(), 1);
    d.set_token("forged".into());
    assert!(d.execute("SELECT 1".into(), None).await.is_err());
    let log = server.log();
    assert!(
        log.contains("rejected a wrong user name or password"),
        "{log}"
    );
    assert!(
        !log.contains("wrong\"") && !log.contains("pa55word"),
        "{log}"
    );
}

#[test]
fn a_public_address_needs_credentials() {
    let out = Command::new(FSQL)
        .args(["serve", "--bind", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("refusing to serve 0.0.0.0:0 without authentication"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn many_clients_at_once() {
    let server = Server::start(&[]);
    let mut tasks = Vec::new();
    for k in 0..32i64 {
        let mut c = server.client().await;
        tasks.push(tokio::spawn(async move {
            let mut errors = 0;
            for i in 0..50i64 {
                let sql = format!(
                    "SELECT SUM(value) AS s FROM generate_series(1, {})",
                    100 + k * 50 + i
                );
                match c.execute(sql, None).await {
                    Ok(info) => {
                        let b = fetch(&mut c, info).await;
                        let n = 100 + k * 50 + i;
                        let s = b[0].column(0).as_primitive::<Int64Type>().value(0);
                        if s != n * (n + 1) / 2 {
                            errors += 1;
                        }
                    }
                    Err(_) => errors += 1,
                }
            }
            errors
        }));
    }
    let mut errors = 0;
    for t in tasks {
        errors += t.await.unwrap();
    }
    assert_eq!(errors, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_abandoned_stream_ends_its_query_and_sigterm_stops_cleanly() {
    let mut server = Server::start(&[]);
    let mut c = server.client().await;
    let info = c
        .execute(
            "SELECT value FROM generate_series(1, 200000000)".into(),
            None,
        )
        .await
        .unwrap();
    let ticket = info.endpoint[0].ticket.clone().unwrap();
    let mut stream = c.do_get(ticket).await.unwrap();
    let first = stream.try_next().await.unwrap().unwrap();
    assert!(first.num_rows() > 0);
    drop(stream);
    drop(c);
    // The query's log line comes when its stream is dropped: far fewer
    // rows than asked for.
    let deadline = Instant::now() + Duration::from_secs(20);
    let line = loop {
        let log = server.log();
        if let Some(l) = log
            .lines()
            .find(|l| l.contains("generate_series(1, 200000000)"))
        {
            break l.to_string();
        }
        assert!(
            Instant::now() < deadline,
            "no log line for the abandoned query: {log}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let rows: u64 = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("rows="))
        .and_then(|r| r.parse().ok())
        .unwrap();
    assert!(rows < 200_000_000, "{line}");
    let mut c = server.client().await;
    assert_eq!(query(&mut c, "SELECT 2 AS x").await[0].num_rows(), 1);
    let status = server.terminate();
    assert!(status.success(), "{status:?}: {}", server.log());
    assert!(server.log().contains("stopped"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cluster_engine_serves_the_same() {
    let server = Server::start(&["--engine", "cluster"]);
    let mut c = server.client().await;
    let b = query(
        &mut c,
        "t = CREATE [[1,'x'],[2,'y'],[3,'z']] SCHEMA a:long,b:str\n\
         SELECT b, a * 10 AS a10 FROM t WHERE a > 1 ORDER BY a",
    )
    .await;
    assert_eq!(
        text(&b),
        "+---+-----+\n| b | a10 |\n+---+-----+\n| y | 20  |\n| z | 30  |\n+---+-----+"
    );
    let mut p = c
        .prepare("SELECT COUNT(*) AS n FROM t WHERE a >= $1".into(), None)
        .await
        .unwrap();
    p.set_parameters(
        RecordBatch::try_new(
            Arc::new(Schema::new(vec![Field::new("$1", DataType::Int64, false)])),
            vec![Arc::new(Int64Array::from(vec![2]))],
        )
        .unwrap(),
    )
    .unwrap();
    let info = p.execute().await.unwrap();
    let b = fetch(&mut c, info).await;
    assert_eq!(b[0].column(0).as_primitive::<Int64Type>().value(0), 2);
    let rows: usize = query(&mut c, "SELECT value FROM generate_series(1, 300000)")
        .await
        .iter()
        .map(|b| b.num_rows())
        .sum();
    assert_eq!(rows, 300_000);
    assert!(
        !server.log().contains("ballista_executor"),
        "{}",
        server.log()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn read_only_data_root_and_programs() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("data")).unwrap();
    std::fs::write(
        root.path().join("data/sales.csv"),
        "region,amount\na,1\nb,2\n",
    )
    .unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.csv"), "x\n42\n").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(outside.path(), root.path().join("data/escape")).unwrap();
    // The server's own Python functions (--udf, read before --data-root).
    let python =
        fsql_tests::python::venv(&Path::new(env!("CARGO_TARGET_TMPDIR")).join("transform-venv"));
    let udf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../queries/python/udf.py");
    let server = Server::start(&[
        "--read-only",
        "--data-root",
        root.path().to_str().unwrap(),
        "--udf",
        udf.to_str().unwrap(),
        "--python",
        python.to_str().unwrap(),
    ]);
    let mut c = server.client().await;
    // Reading inside the root works, relative to it.
    let b = query(&mut c, "SELECT SUM(amount) AS s FROM 'data/sales.csv'").await;
    assert!(text(&b).contains("| 3 "), "{}", text(&b));
    // Functions of the server's --udf files work by bare name, read-only too.
    let b = query(
        &mut c,
        "CREATE USING make PARAMS n:3, start:40\nSELECT SUM(i) AS s",
    )
    .await;
    assert!(text(&b).contains("| 123 "), "{}", text(&b));
    let secret = outside.path().join("secret.csv");
    for (statement, message) in [
        (format!("SELECT * FROM '{}'", secret.display()), "outside this server's data root"),
        (format!("LOAD '{}'", secret.display()), "outside this server's data root"),
        ("LOAD 'data/../../x.csv'".to_string(), "'..' is not allowed"),
        ("SELECT * FROM 'data/escape/secret.csv'".to_string(), "outside this server's data root"),
        ("LOAD 'data/*.csv'".to_string(), "symbolic link"),
        ("SELECT 1 AS x\nSAVE OVERWRITE 'data/out.csv'".to_string(), "read-only"),
        ("CREATE TABLE t (x INT)".to_string(), "read-only"),
        (
            "d = CREATE [[1.0, 2.0]] SCHEMA x:double,y:double\n\
             CREATE MODEL m WITH (model_class = 'LinearRegression', target_column = 'y') AS (SELECT * FROM d)"
                .to_string(),
            "read-only",
        ),
        (
            "SELECT 1 AS x\nTRANSFORM USING exec('cat') SCHEMA *".to_string(),
            "--allow-exec",
        ),
        // Code a client names by module or file is a program too.
        (
            "CREATE USING queries.python.udf.make PARAMS n:1".to_string(),
            "--allow-exec",
        ),
    ] {
        let e = c.execute(statement.clone(), None).await.unwrap_err().to_string();
        assert!(e.contains(message), "{statement}: {e}");
    }
    assert!(!root.path().join("data/out.csv").exists());
    let info = c
        .get_sql_info(vec![SqlInfo::FlightSqlServerReadOnly])
        .await
        .unwrap();
    let facts = text(&fetch(&mut c, info).await);
    assert!(facts.contains("true"), "{facts}");
}

#[tokio::test(flavor = "multi_thread")]
async fn connections_beyond_the_limit_are_refused() {
    let server = Server::start(&["--max-connections", "2"]);
    let mut one = server.client().await;
    let mut two = server.client().await;
    assert_eq!(query(&mut one, "SELECT 1 AS x").await[0].num_rows(), 1);
    assert_eq!(query(&mut two, "SELECT 1 AS x").await[0].num_rows(), 1);
    // The third connection is closed when it connects.
    let third = async {
        let channel = Channel::from_shared(format!("http://{}", server.addr))
            .unwrap()
            .connect()
            .await?;
        let mut c = FlightSqlServiceClient::new(channel);
        c.execute("SELECT 1".into(), None)
            .await
            .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?;
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    };
    assert!(third.await.is_err());
    assert!(server.log().contains("--max-connections reached"));
    // When one goes, another may come.
    drop(one);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut four = server.client().await;
    assert_eq!(query(&mut four, "SELECT 1 AS x").await[0].num_rows(), 1);
    assert_eq!(query(&mut two, "SELECT 2 AS x").await[0].num_rows(), 1);
}
