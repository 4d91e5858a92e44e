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
    } else if text == "true" || text == "false" {
        Value::Bool(text == "true")
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

    pub(crate) fn bool(&self, name: &str) -> bool {
        match self.get(name) {
            Value::Bool(b) => *b,
            Value::Number(n) => *n != 0.0,
            Value::Text(t) => t.eq_ignore_ascii_case("true"),
            Value::Null => false,
        }
    }

    /// 'auto' (None), or true / false.
    pub(crate) fn auto_bool(&self, name: &str) -> Option<bool> {
        match self.get(name) {
            Value::Bool(b) => Some(*b),
            Value::Text(t) if !t.eq_ignore_ascii_case("auto") => {
                Some(t.eq_ignore_ascii_case("true"))
            }
            _ => None,
        }
    }

    /// `n_jobs`: None for every core.
    pub(crate) fn jobs(&self) -> Option<i64> {
        match self.get("n_jobs") {
            Value::Number(n) if *n >= 1.0 => Some(*n as i64),
            _ => None,
        }
    }

    /// `max_features` resolved against `features` columns, at least 1.
    /// A number up to 1 is a fraction of the columns; above 1, a count.
    pub(crate) fn features(&self, features: usize) -> usize {
        let f = features as f64;
        let n = match self.get("max_features") {
            Value::Null => f,
            // SQL does not tell 1 from 1.0: numbers up to 1 are fractions
            // (1 is every feature, scikit-learn's regressor default).
            Value::Number(x) if *x <= 1.0 => (x * f).floor(),
            Value::Number(x) => *x,
            Value::Text(t) if t.eq_ignore_ascii_case("log2") => f.log2().floor(),
            Value::Text(_) => f.sqrt().floor(),
            Value::Bool(_) => f,
        };
        (n as usize).clamp(1, features.max(1))
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
        (ParamKind::NonNegative, Value::Number(n)) if *n >= 0.0 && n.is_finite() => Ok(()),
        (ParamKind::NonNegative, _) => bad("a number >= 0"),
        (ParamKind::Fraction, Value::Number(n)) if (0.0..=1.0).contains(n) => Ok(()),
        (ParamKind::Fraction, _) => bad("a number between 0 and 1"),
        (ParamKind::AboveOne, Value::Number(n)) if *n > 1.0 && n.is_finite() => Ok(()),
        (ParamKind::AboveOne, _) => bad("a number above 1"),
        (ParamKind::Integer(min, max), Value::Number(n))
            if n.fract() == 0.0 && *n >= min as f64 && *n <= max as f64 =>
        {
            Ok(())
        }
        (ParamKind::Integer(min, max), _) if max >= u32::MAX as i64 => {
            bad(&format!("an integer >= {min}"))
        }
        (ParamKind::Integer(min, max), _) => bad(&format!("an integer from {min} to {max}")),
        (ParamKind::OptionalInteger, Value::Null) => Ok(()),
        (ParamKind::OptionalInteger, Value::Number(n))
            if n.fract() == 0.0 && *n >= 1.0 && *n <= u32::MAX as f64 =>
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
        (ParamKind::Bool, Value::Bool(_)) => Ok(()),
        (ParamKind::Bool, _) => bad("true or false"),
        (ParamKind::AutoBool, Value::Bool(_)) => Ok(()),
        (ParamKind::AutoBool, Value::Text(t)) if t.eq_ignore_ascii_case("auto") => Ok(()),
        (ParamKind::AutoBool, _) => bad("'auto', true or false"),
        (ParamKind::Features, Value::Null) => Ok(()),
        (ParamKind::Features, Value::Number(n))
            if (*n > 0.0 && *n <= 1.0) || (n.fract() == 0.0 && *n >= 1.0) =>
        {
            Ok(())
        }
        (ParamKind::Features, Value::Text(t))
            if t.eq_ignore_ascii_case("sqrt") || t.eq_ignore_ascii_case("log2") =>
        {
            Ok(())
        }
        (ParamKind::Features, _) => {
            bad("an integer >= 1, a fraction in (0, 1], 'sqrt', 'log2' or NULL")
        }
        (ParamKind::Jobs, Value::Null) => Ok(()),
        (ParamKind::Jobs, Value::Number(n)) if *n == -1.0 || (n.fract() == 0.0 && *n >= 1.0) => {
            Ok(())
        }
        (ParamKind::Jobs, _) => bad("NULL, -1 or a number of cores >= 1"),
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
        assert_eq!(p.features(20), 4);
        assert!(p.bool("bootstrap"));
        let r = Params::resolve(ModelClass::RandomForestRegressor, &[]).unwrap();
        assert_eq!(r.features(20), 20);
        let half = Params::resolve(
            ModelClass::RandomForestRegressor,
            &[("max_features".into(), Value::Number(0.5))],
        )
        .unwrap();
        assert_eq!(half.features(20), 10);
        let err = Params::resolve(ModelClass::Ridge, &[("C".into(), Value::Number(1.0))])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("unknown hyper-parameter 'C' for Ridge"),
            "{err}"
        );
        assert!(err.contains("valid: alpha, fit_intercept, solver"), "{err}");
        let err = Params::resolve(ModelClass::Ridge, &[("alpha".into(), Value::Number(-1.0))])
            .unwrap_err()
            .to_string();
        assert!(err.contains("must be a number >= 0, not -1"), "{err}");
    }
}
