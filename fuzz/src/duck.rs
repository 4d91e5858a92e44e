//! DuckDB as an oracle: the Python `duckdb` package in a venv the fuzzer
//! makes, one long-lived process answering queries over the same Parquet
//! files fsql reads. Values come back as text in one normal form (see
//! [`crate::rows`]), so both answers compare as strings.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde_json::{Value as Json, json};

const RUNNER: &str = r#"
import sys, json, math, datetime, decimal
import duckdb
con = duckdb.connect()
con.execute("SET threads TO 1")
def norm(v):
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, datetime.datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, datetime.date):
        return v.isoformat()
    if isinstance(v, float):
        return repr(v)
    return str(v)
for line in sys.stdin:
    req = json.loads(line)
    try:
        if "tables" in req:
            for name, path in req["tables"]:
                con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM read_parquet('{path}')")
            out = {"ok": True}
        else:
            rows = con.execute(req["sql"]).fetchall()
            out = {"ok": True, "rows": [[norm(v) for v in r] for r in rows]}
    except Exception as e:
        out = {"ok": False, "error": f"{type(e).__name__}: {e}"}
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
"#;

/// The venv's python (made and filled on first use) under `dir`.
pub fn python(dir: &Path) -> Result<PathBuf, String> {
    let python = dir.join("bin").join("python");
    let ready = |p: &Path| {
        Command::new(p)
            .args(["-c", "import duckdb"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if python.exists() && ready(&python) {
        return Ok(python);
    }
    let ok = Command::new("python3")
        .args(["-m", "venv", "--clear"])
        .arg(dir)
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        return Err("python3 -m venv failed (the DuckDB oracle needs python3)".into());
    }
    let ok = Command::new(dir.join("bin").join("pip"))
        .args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "duckdb",
        ])
        .status()
        .is_ok_and(|s| s.success());
    if !ok || !ready(&python) {
        return Err("pip install duckdb failed".into());
    }
    Ok(python)
}

/// A DuckDB process.
pub struct Duck {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
}

/// DuckDB's answer: rows of normalised text cells (None: NULL), or its error.
pub type Answer = Result<Vec<Vec<Option<String>>>, String>;

impl Duck {
    pub fn start(python: &Path) -> Result<Duck, String> {
        let mut child = Command::new(python)
            .args(["-c", RUNNER])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start DuckDB: {e}"))?;
        let input = child.stdin.take().ok_or("no stdin")?;
        let output = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        Ok(Duck {
            child,
            input,
            output,
        })
    }

    fn ask(&mut self, request: Json) -> Result<Json, String> {
        writeln!(self.input, "{request}").map_err(|e| format!("DuckDB went away: {e}"))?;
        self.input.flush().map_err(|e| e.to_string())?;
        let mut line = String::new();
        self.output
            .read_line(&mut line)
            .map_err(|e| format!("DuckDB went away: {e}"))?;
        if line.is_empty() {
            return Err("DuckDB exited".into());
        }
        serde_json::from_str(&line).map_err(|e| format!("bad DuckDB answer {line:?}: {e}"))
    }

    /// Replaces the tables with these Parquet files.
    pub fn load(&mut self, tables: &[(String, PathBuf)]) -> Result<(), String> {
        let list: Vec<Json> = tables
            .iter()
            .map(|(n, p)| json!([n, p.to_string_lossy()]))
            .collect();
        let answer = self.ask(json!({ "tables": list }))?;
        match answer["ok"].as_bool() {
            Some(true) => Ok(()),
            _ => Err(answer["error"].as_str().unwrap_or("?").to_string()),
        }
    }

    pub fn query(&mut self, sql: &str) -> Result<Answer, String> {
        let answer = self.ask(json!({ "sql": sql }))?;
        if answer["ok"].as_bool() != Some(true) {
            return Ok(Err(answer["error"].as_str().unwrap_or("?").to_string()));
        }
        let rows = answer["rows"]
            .as_array()
            .ok_or("no rows")?
            .iter()
            .map(|r| {
                r.as_array()
                    .map(|cells| {
                        cells
                            .iter()
                            .map(|c| c.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default()
            })
            .collect();
        Ok(Ok(rows))
    }
}

impl Drop for Duck {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
