//! REPL meta-commands (`\d`, `\engine`, `\format`, ...): parsing and help.
//! Running them is the REPL's job (it owns the session).

use crate::args::OutputFormat;
use fsql_engine::Engine;

#[derive(Debug, PartialEq)]
pub enum Meta {
    Help,
    Quit,
    /// `\d`: every name; `\d name`: one schema.
    Describe(Option<String>),
    Engine(Engine),
    Timing(bool),
    Format(OutputFormat),
    MaxRows(u64),
    /// `\i FILE`: run a script file.
    Include(String),
    /// `\o FILE` sends results to a file; `\o` alone back to the terminal.
    Output(Option<String>),
    /// `\set name value`; `\set` alone lists the variables.
    Set(Option<(String, String)>),
    /// `\explain script`: the plan of the script's final dataframe.
    Explain(String),
}

pub const HELP: &str = "\
Statements end with ';' and may span lines. Dataframes, variables and tables
stay between inputs. Ctrl-C cancels a running query; Ctrl-D exits.

  \\help, \\?                 this help
  \\q                        quit
  \\d                        list dataframes and tables
  \\d NAME                   columns and types of NAME
  \\engine NAME              run on local, threads or cluster (dataframes come along)
  \\timing on|off            show how long each input took
  \\format table|csv|tsv|json|markdown
  \\maxrows N                show at most N rows of a result
  \\i FILE                   run a script file
  \\o [FILE]                 write results to FILE (no FILE: back to the terminal)
  \\set [NAME VALUE]         set a template variable for {{ NAME }} (no args: list)
  \\explain SCRIPT           show the plan of the script's final dataframe";

/// Parses one meta-command line (starting with `\`).
pub fn parse(line: &str) -> Result<Meta, String> {
    let line = line.trim().trim_end_matches(';').trim();
    let body = line.strip_prefix('\\').unwrap_or(line);
    let (cmd, rest) = match body.split_once(char::is_whitespace) {
        Some((c, r)) => (c, r.trim()),
        None => (body, ""),
    };
    let arg = (!rest.is_empty()).then(|| rest.to_string());
    match cmd {
        "help" | "?" | "h" => Ok(Meta::Help),
        "q" | "quit" | "exit" => Ok(Meta::Quit),
        "d" => Ok(Meta::Describe(arg)),
        "engine" => rest.parse().map(Meta::Engine),
        "timing" => match rest {
            "on" => Ok(Meta::Timing(true)),
            "off" => Ok(Meta::Timing(false)),
            _ => Err("usage: \\timing on|off".into()),
        },
        "format" => match rest.to_ascii_lowercase().as_str() {
            "table" => Ok(Meta::Format(OutputFormat::Table)),
            "csv" => Ok(Meta::Format(OutputFormat::Csv)),
            "tsv" => Ok(Meta::Format(OutputFormat::Tsv)),
            "json" => Ok(Meta::Format(OutputFormat::Json)),
            "markdown" | "md" => Ok(Meta::Format(OutputFormat::Markdown)),
            _ => Err("usage: \\format table|csv|tsv|json|markdown".into()),
        },
        "maxrows" => rest
            .parse::<u64>()
            .ok()
            .filter(|n| *n > 0)
            .map(Meta::MaxRows)
            .ok_or_else(|| "usage: \\maxrows N (N > 0)".to_string()),
        "i" | "include" => arg
            .map(Meta::Include)
            .ok_or_else(|| "usage: \\i FILE".to_string()),
        "o" | "output" => Ok(Meta::Output(arg)),
        "set" => match rest.split_once(char::is_whitespace) {
            Some((k, v)) => Ok(Meta::Set(Some((k.to_string(), v.trim().to_string())))),
            None if rest.is_empty() => Ok(Meta::Set(None)),
            None => Err("usage: \\set NAME VALUE".into()),
        },
        "explain" => arg
            .map(Meta::Explain)
            .ok_or_else(|| "usage: \\explain SCRIPT".to_string()),
        other => Err(format!("unknown command '\\{other}' (\\help lists them)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_meta_commands() {
        assert_eq!(parse("\\q"), Ok(Meta::Quit));
        assert_eq!(parse("\\d"), Ok(Meta::Describe(None)));
        assert_eq!(
            parse("\\d sales;"),
            Ok(Meta::Describe(Some("sales".into())))
        );
        assert_eq!(parse("\\engine local"), Ok(Meta::Engine(Engine::Local)));
        assert_eq!(parse("\\timing on"), Ok(Meta::Timing(true)));
        assert_eq!(
            parse("\\format md"),
            Ok(Meta::Format(OutputFormat::Markdown))
        );
        assert_eq!(parse("\\maxrows 5"), Ok(Meta::MaxRows(5)));
        assert_eq!(parse("\\o"), Ok(Meta::Output(None)));
        assert_eq!(
            parse("\\set day 2026-11-25"),
            Ok(Meta::Set(Some(("day".into(), "2026-11-25".into()))))
        );
        assert!(
            parse("\\engine spark")
                .unwrap_err()
                .contains("unknown engine")
        );
        assert!(parse("\\maxrows 0").is_err());
        assert!(parse("\\nope").unwrap_err().contains("unknown command"));
    }
}
