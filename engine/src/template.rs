//! `{{ name }}` templating: the whole script is rendered as a Jinja template
//! (minijinja) before parsing. Undefined variables are errors.

use std::collections::BTreeMap;

use minijinja::{Environment, UndefinedBehavior};

use crate::error::{Error, Result};

/// Renders `text` with `vars`. Text without template syntax is returned as is.
pub fn render(text: &str, vars: &BTreeMap<String, String>) -> Result<String> {
    if !(text.contains("{{") || text.contains("{%") || text.contains("{#")) {
        return Ok(text.to_string());
    }
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_keep_trailing_newline(true);
    let tmpl = env.template_from_str(text).map_err(template_error)?;
    tmpl.render(vars).map_err(template_error)
}

fn template_error(e: minijinja::Error) -> Error {
    let message = match e.detail() {
        Some(d) => format!("{}: {d}", e.kind()),
        None => e.kind().to_string(),
    };
    Error::Template {
        message,
        line: e.line().map(|l| l as u64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_variables_and_rejects_unknown_ones() {
        let mut vars = BTreeMap::new();
        vars.insert("n".to_string(), "3".to_string());
        assert_eq!(render("TAKE {{ n }} ROWS", &vars).unwrap(), "TAKE 3 ROWS");
        let e = render("SELECT 1\nTAKE {{ m }} ROWS", &vars).unwrap_err();
        assert!(e.to_string().contains("undefined"), "{e}");
        assert_eq!(e.span().unwrap().start.line, 2);
        assert_eq!(render("SELECT 1", &vars).unwrap(), "SELECT 1");
    }
}
