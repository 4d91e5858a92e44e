//! Python functions, run as FugueSQL runs them: a name in `USING` is a
//! function of the session's `--udf` files (or `mypkg.module.fn`, or
//! `'udf.py:fn'`), its type annotations choose fugue's interface
//! (`pd.DataFrame`, `pa.Table`, `List[Dict[str, Any]]`, ... in and out), and
//! it runs in a pooled interpreter ([`worker`]) fed Arrow.
//!
//! This module owns what travels with a plan ([`PyFunction`]: the
//! interpreter, the file's source, the PARAMS), the session's
//! configuration ([`PythonConfig`]) and the check of a signature against
//! the statement that uses it ([`Signature::check`]).

mod worker;

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

pub use worker::starts;
pub(crate) use worker::{describe, run};

/// The interpreter a session uses and the files its bare names come from.
#[derive(Clone, Debug)]
pub struct PythonConfig {
    interpreter: String,
    files: Vec<Code>,
    /// Functions per file (by content hash), asked once.
    listings: Arc<Mutex<HashMap<String, Vec<String>>>>,
}

impl Default for PythonConfig {
    fn default() -> Self {
        Self {
            interpreter: "python3".into(),
            files: Vec::new(),
            listings: Arc::default(),
        }
    }
}

impl PythonConfig {
    /// `interpreter` (None: `python3`) and the `--udf` files, read now: their
    /// source travels with the plans that use them.
    pub fn new(interpreter: Option<String>, udf: &[impl AsRef<Path>]) -> Result<Self, String> {
        let mut files = Vec::new();
        for path in udf {
            let path = path.as_ref();
            let source = std::fs::read_to_string(path)
                .map_err(|e| format!("--udf {}: {e}", path.display()))?;
            files.push(Code::file(&path.to_string_lossy(), source));
        }
        Ok(Self {
            interpreter: interpreter.unwrap_or_else(|| "python3".into()),
            files,
            listings: Arc::default(),
        })
    }

    pub fn interpreter(&self) -> &str {
        &self.interpreter
    }

    /// The `--udf` files, as given.
    pub fn files(&self) -> Vec<&str> {
        self.files.iter().map(Code::shown).collect()
    }

    /// The file of the `--udf` files that defines `name` (the last one when
    /// several do, as a later import would win), with every file's
    /// functions for the error when none does.
    pub(crate) fn find(&self, name: &str) -> Result<Found, String> {
        let mut all = Vec::new();
        let mut found = None;
        for code in &self.files {
            let functions = self.functions(code)?;
            if functions.iter().any(|f| f == name) {
                found = Some(code.clone());
            }
            all.push((code.shown().to_string(), functions));
        }
        Ok(match found {
            Some(code) => Found::In(code),
            None => Found::Not(all),
        })
    }

    fn functions(&self, code: &Code) -> Result<Vec<String>, String> {
        let Code::File { hash, .. } = code else {
            return Ok(Vec::new());
        };
        if let Some(f) = self.listings.lock().ok().and_then(|l| l.get(hash).cloned()) {
            return Ok(f);
        }
        let f = worker::list(&self.interpreter, code)
            .map_err(|e| format!("cannot load {}: {e}", code.shown()))?;
        if let Ok(mut l) = self.listings.lock() {
            l.insert(hash.clone(), f.clone());
        }
        Ok(f)
    }
}

/// Where a bare name was found.
pub(crate) enum Found {
    In(Code),
    /// Not found: each file with its functions.
    Not(Vec<(String, Vec<String>)>),
}

/// The code a function lives in.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Serialize, Deserialize)]
pub enum Code {
    /// A file's source, shipped with the plan (executors need no copy).
    File {
        path: String,
        source: String,
        hash: String,
    },
    /// A module the interpreter imports (`mypkg.module`).
    Module { name: String },
}

impl Code {
    pub fn file(path: &str, source: String) -> Code {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        path.hash(&mut h);
        source.hash(&mut h);
        Code::File {
            path: path.to_string(),
            hash: format!("{:016x}", h.finish()),
            source,
        }
    }

    pub fn shown(&self) -> &str {
        match self {
            Code::File { path, .. } => path,
            Code::Module { name } => name,
        }
    }
}

/// A Python function as a plan carries it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Serialize, Deserialize)]
pub struct PyFunction {
    pub python: String,
    pub code: Code,
    pub function: String,
    /// PARAMS as a JSON object (without fsql's `timeout`).
    pub params_json: String,
    pub timeout_ms: Option<u64>,
    /// `add_qty (udf.py)`, for plans and errors.
    pub shown: String,
}

/// What a statement asks of a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// TRANSFORM: per group, rows back.
    Transform,
    /// OUTTRANSFORM: per group, nothing back.
    OutTransform,
    /// PROCESS: whole dataframes, rows back.
    Process,
    /// OUTPUT: whole dataframes, nothing back.
    Output,
    /// CREATE USING: no dataframe in, rows back.
    Create,
}

impl Op {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Op::Transform => "transform",
            Op::OutTransform => "outtransform",
            Op::Process => "process",
            Op::Output => "output",
            Op::Create => "create",
        }
    }

    /// True when the function's rows are the statement's result.
    pub(crate) fn answers(self) -> bool {
        matches!(self, Op::Transform | Op::Process | Op::Create)
    }
}

/// The dataframe annotations fugue accepts, as written in Python.
pub const INTERFACES: &str = "pd.DataFrame, pa.Table, List[Dict[str, Any]], List[List[Any]], \
     Iterable[Dict[str, Any]], Iterable[List[Any]], Iterable[pd.DataFrame], Iterable[pa.Table]";

/// A function's signature as fugue reads it (from `runner.py`).
#[derive(Debug, Clone, Deserialize)]
pub struct Signature {
    /// The interface of each leading dataframe parameter.
    pub frames: Vec<String>,
    /// The other parameters (filled from PARAMS).
    pub params: Vec<String>,
    /// Those without a default.
    pub required: Vec<String>,
    /// `**kwargs`: any PARAMS are accepted.
    pub var_kw: bool,
    /// The interface of the return annotation, "none" for `-> None`, null
    /// when unannotated or not one fugue knows.
    pub output: Option<String>,
    pub output_annotation: Option<String>,
    /// `# schema: ...` right above the function.
    pub schema_hint: Option<String>,
}

impl Signature {
    /// Whether fugue could run the function in this statement: the number
    /// of dataframe parameters, the output, the PARAMS. The error names the
    /// function and what fugue would accept.
    pub fn check(
        &self,
        op: Op,
        inputs: usize,
        shown: &str,
        params: &[String],
    ) -> Result<(), String> {
        let statement = match op {
            Op::Transform => "TRANSFORM",
            Op::OutTransform => "OUTTRANSFORM",
            Op::Process => "PROCESS",
            Op::Output => "OUTPUT",
            Op::Create => "CREATE USING",
        };
        if self.frames.len() != inputs {
            let got = match self.frames.len() {
                0 => "no dataframe parameter".to_string(),
                1 => "1 dataframe parameter".to_string(),
                n => format!("{n} dataframe parameters"),
            };
            let want = match inputs {
                0 => "none (it makes a dataframe from its PARAMS)".to_string(),
                1 => "1, the first, annotated as one of ".to_string() + INTERFACES,
                n => format!("{n} (one per dataframe), each annotated as one of {INTERFACES}"),
            };
            let hint = match self.params.first() {
                Some(p) if self.frames.is_empty() && inputs > 0 => {
                    format!(" ('{p}' has no annotation fugue reads as a dataframe)")
                }
                _ => String::new(),
            };
            return Err(format!("{shown} has {got}{hint}; {statement} needs {want}"));
        }
        if op.answers() && !matches!(self.output.as_deref(), Some(k) if k != "none") {
            let annotated = match &self.output_annotation {
                None => "no return annotation".to_string(),
                Some(a) => format!("the return annotation {a}"),
            };
            return Err(format!(
                "{shown} has {annotated}; {statement} needs the function to return one of {INTERFACES}"
            ));
        }
        for p in params {
            if !self.var_kw && !self.params.contains(p) {
                return Err(format!(
                    "{shown} has no parameter '{p}' (its parameters besides the dataframes: {})",
                    if self.params.is_empty() {
                        "none".into()
                    } else {
                        self.params.join(", ")
                    }
                ));
            }
        }
        let missing: Vec<&String> = self
            .required
            .iter()
            .filter(|r| !params.contains(r))
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "{shown} needs PARAMS {} (no default in the function)",
                missing
                    .iter()
                    .map(|m| format!("{m}:..."))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(frames: &[&str], params: &[&str], required: &[&str], output: Option<&str>) -> Signature {
        Signature {
            frames: frames.iter().map(|s| s.to_string()).collect(),
            params: params.iter().map(|s| s.to_string()).collect(),
            required: required.iter().map(|s| s.to_string()).collect(),
            var_kw: false,
            output: output.map(str::to_string),
            output_annotation: output.map(|o| format!("<{o}>")),
            schema_hint: None,
        }
    }

    fn check(s: &Signature, op: Op, inputs: usize, params: &[&str]) -> Result<(), String> {
        let params: Vec<String> = params.iter().map(|p| p.to_string()).collect();
        s.check(op, inputs, "f (udf.py)", &params)
    }

    #[test]
    fn signatures_are_checked_as_fugue_would() {
        let pandas = sig(&["pandas"], &["scale"], &[], Some("pandas"));
        assert!(check(&pandas, Op::Transform, 1, &["scale"]).is_ok());
        assert!(check(&pandas, Op::Process, 1, &[]).is_ok());
        // Two dataframes for one parameter, and the other way round.
        let e = check(&pandas, Op::Transform, 2, &[]).unwrap_err();
        assert!(
            e.contains("has 1 dataframe parameter; TRANSFORM needs 2"),
            "{e}"
        );
        // An unannotated first parameter.
        let bare = sig(&[], &["df"], &["df"], None);
        let e = check(&bare, Op::Transform, 1, &[]).unwrap_err();
        assert!(
            e.contains(
                "no dataframe parameter ('df' has no annotation fugue reads as a dataframe)"
            ) && e.contains(INTERFACES),
            "{e}"
        );
        // Rows back need an output fugue knows; outputters need none.
        let none = sig(&["pandas"], &[], &[], Some("none"));
        let e = check(&none, Op::Transform, 1, &[]).unwrap_err();
        assert!(
            e.contains("TRANSFORM needs the function to return one of"),
            "{e}"
        );
        assert!(check(&none, Op::Output, 1, &[]).is_ok());
        assert!(check(&none, Op::OutTransform, 1, &[]).is_ok());
        // PARAMS: unknown names, missing required ones, **kwargs.
        let e = check(&pandas, Op::Transform, 1, &["factor"]).unwrap_err();
        assert!(
            e.contains("no parameter 'factor' (its parameters besides the dataframes: scale)"),
            "{e}"
        );
        let creator = sig(&[], &["n"], &["n"], Some("pandas"));
        let e = check(&creator, Op::Create, 0, &[]).unwrap_err();
        assert!(e.contains("needs PARAMS n:..."), "{e}");
        assert!(check(&creator, Op::Create, 0, &["n"]).is_ok());
        let kw = Signature {
            var_kw: true,
            ..pandas.clone()
        };
        assert!(check(&kw, Op::Transform, 1, &["anything"]).is_ok());
    }

    #[test]
    fn file_code_is_keyed_by_path_and_content() {
        let a = Code::file("udf.py", "def f(): pass".into());
        let b = Code::file("udf.py", "def f(): return 1".into());
        let c = Code::file("udf.py", "def f(): pass".into());
        assert_ne!(a, b);
        assert_eq!(a, c);
        assert_eq!(a.shown(), "udf.py");
        assert!(
            PythonConfig::new(None, &["/no/such/udf.py"])
                .unwrap_err()
                .contains("--udf /no/such/udf.py")
        );
        assert_eq!(PythonConfig::default().interpreter(), "python3");
    }
}
