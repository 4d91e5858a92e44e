//! Hyper-parameter values: checked against the class's [`ParamSpec`]s,
//! completed with the defaults, and read by the estimator.

use serde::{Deserialize, Serialize};

use crate::class::{ModelClass, ParamKind, ParamSpec};
use crate::error::{Result, invalid};

/// A hyper-parameter value as written in `WITH (...)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Value {
    Null,
    Bool(bool),
    Number(f64),
    Text(String),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Number(n) => write!(f, "{n}"),
            Value::Text(s) => write!(f, "'{s}'"),
        }
    }
}

fn parse_default(text: &str) -> Value {
    if text == "NULL" {
        Value::Null
    } else if let Some(s) = text.strip_prefix('\'') {
        Value::Text(s.trim_end_matches('\'').to_string())
    } else {
        Value::Number(text.parse().expect("defaults are numbers"))
    }
}

/// All hyper-parameters of a model, given or defaulted, in the class's order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Params {
    pub(crate) values: Vec<(String, Value)>,
}

impl Params {
    /// Checks `given` against the class and fills in the defaults.
    pub(crate) fn resolve(class: ModelClass, given: &[(String, Value)]) -> Result<Params> {
        let specs = class.params();
        for (name, value) in given {
            let Some(spec) = specs.iter().find(|s| s.name.eq_ignore_ascii_case(name)) else {
                let valid: Vec<&str> = specs.iter().map(|s| s.name).collect();
                return Err(invalid(format!(
                    "unknown hyper-parameter '{name}' for {} ({}); valid: {}",
                    class.sklearn_name(),
                    class.name(),
                    if valid.is_empty() {
                        "none".to_string()
                    } else {
                        valid.join(", ")
                    }
                )));
            };
            check(class, spec, value)?;
        }
        let values = specs
            .iter()
            .map(|s| {
                let v = given
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(s.name))
                    .map(|(_, v)| v.clone())
                    .unwrap_or_else(|| parse_default(s.default));
                (s.name.to_string(), v)
            })
            .collect();
        Ok(Params { values })
    }

    fn get(&self, name: &str) -> &Value {
        &self
            .values
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("hyper-parameter {name} is not declared"))
            .1
    }

    pub(crate) fn f64(&self, name: &str) -> f64 {
        match self.get(name) {
            Value::Number(n) => *n,
            _ => 0.0,
        }
    }

    pub(crate) fn usize(&self, name: &str) -> usize {
        self.f64(name) as usize
    }

    pub(crate) fn opt_usize(&self, name: &str) -> Option<usize> {
        match self.get(name) {
            Value::Number(n) => Some(*n as usize),
            _ => None,
        }
    }

    pub(crate) fn text(&self, name: &str) -> String {
        match self.get(name) {
            Value::Text(s) => s.to_ascii_lowercase(),
            other => other.to_string(),
        }
    }
}

/// Checks hyper-parameters against the class without training anything
/// (so a statement fails before its query runs).
pub fn check_params(class: ModelClass, given: &[(String, Value)]) -> Result<()> {
    Params::resolve(class, given).map(|_| ())
}

fn check(class: ModelClass, spec: &ParamSpec, value: &Value) -> Result<()> {
    let bad = |what: &str| {
        Err(invalid(format!(
            "hyper-parameter {} of {} must be {what}, not {value}",
            spec.name,
            class.sklearn_name()
        )))
    };
    match (spec.kind, value) {
        (ParamKind::Positive, Value::Number(n)) if *n > 0.0 && n.is_finite() => Ok(()),
        (ParamKind::Positive, _) => bad("a positive number"),
        (ParamKind::Fraction, Value::Number(n)) if (0.0..=1.0).contains(n) => Ok(()),
        (ParamKind::Fraction, _) => bad("a number between 0 and 1"),
        (ParamKind::Integer(min), Value::Number(n))
            if n.fract() == 0.0 && *n >= min as f64 && *n <= u32::MAX as f64 =>
        {
            Ok(())
        }
        (ParamKind::Integer(min), _) => bad(&format!("an integer >= {min}")),
        (ParamKind::OptionalInteger, Value::Null) => Ok(()),
        (ParamKind::OptionalInteger, Value::Number(n))
            if n.fract() == 0.0 && *n >= 1.0 && *n <= u16::MAX as f64 =>
        {
            Ok(())
        }
        (ParamKind::OptionalInteger, _) => bad("an integer >= 1 or NULL"),
        (ParamKind::Choice(choices), Value::Text(s))
            if choices.iter().any(|c| c.eq_ignore_ascii_case(s)) =>
        {
            Ok(())
        }
        (ParamKind::Choice(choices), _) => bad(&format!("one of '{}'", choices.join("', '"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_in_and_unknown_names_list_the_valid_ones() {
        let p = Params::resolve(
            ModelClass::RandomForestClassifier,
            &[("N_ESTIMATORS".into(), Value::Number(10.0))],
        )
        .unwrap();
        assert_eq!(p.usize("n_estimators"), 10);
        assert_eq!(p.opt_usize("max_depth"), None);
        assert_eq!(p.text("criterion"), "gini");
        let err = Params::resolve(ModelClass::Ridge, &[("C".into(), Value::Number(1.0))])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("unknown hyper-parameter 'C' for Ridge"),
            "{err}"
        );
        assert!(err.contains("valid: alpha, solver"), "{err}");
        let err = Params::resolve(ModelClass::Ridge, &[("alpha".into(), Value::Number(-1.0))])
            .unwrap_err()
            .to_string();
        assert!(err.contains("must be a positive number, not -1"), "{err}");
    }
}
