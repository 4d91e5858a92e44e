//! Identifier case in SQL. fsql keeps names as written — `SELECT n AS Total`
//! gives a column `Total`, and a CSV header `Name` stays `Name` — as FugueSQL
//! on DuckDB and Spark do (DataFusion's identifier normalisation is off). Like
//! them, an unquoted name still finds a table or column spelled with another
//! case when exactly one matches; a quoted name must match exactly.
//!
//! Tables are fixed before planning (the catalog is known); columns are fixed
//! when planning reports a field it cannot find and exactly one field differs
//! from it only in case.

use std::collections::HashSet;
use std::ops::ControlFlow;

use datafusion::common::{Column, SchemaError};
use datafusion::error::DataFusionError;
use datafusion::sql::sqlparser::ast::{
    Expr, Ident, ObjectNamePart, Query, Statement, Visit, Visitor, visit_expressions_mut,
    visit_relations_mut,
};

/// Rewrites unquoted single-part table names that do not exist as written
/// to the one existing table whose name differs only in case. CTE names are
/// left alone.
pub(crate) fn fix_tables(stmt: &mut Statement, tables: &[String]) {
    let ctes = cte_names(stmt);
    let _ = visit_relations_mut(stmt, |name| {
        if let [ObjectNamePart::Identifier(id)] = name.0.as_mut_slice()
            && id.quote_style.is_none()
            && !ctes.iter().any(|c| c.eq_ignore_ascii_case(&id.value))
            && !tables.contains(&id.value)
            && let Some(found) = unique_match(&id.value, tables.iter().map(String::as_str))
        {
            id.value = found.to_string();
        }
        ControlFlow::<()>::Continue(())
    });
}

/// When `err` says columns are not found and exactly one valid field has
/// such a name (and qualifier) in another case, rewrites the unquoted
/// identifiers that name them and returns true (plan again).
pub(crate) fn fix_column(stmt: &mut Statement, err: &DataFusionError) -> bool {
    let mut missing = Vec::new();
    fields_not_found(err, &mut missing);
    let mut changed = false;
    for (field, valid) in missing {
        let qualifier = field.relation.as_ref().map(|r| r.table().to_string());
        let Some(name) = unique_match(&field.name, valid.iter().map(|c| c.name.as_str())) else {
            continue;
        };
        // The qualifier's spelling, when the query wrote one.
        let table = match &qualifier {
            Some(q) => {
                let tables = valid
                    .iter()
                    .filter(|c| c.name == name)
                    .filter_map(|c| c.relation.as_ref().map(|r| r.table()));
                match unique_match(q, tables) {
                    Some(t) => Some(t.to_string()),
                    None => continue,
                }
            }
            None => None,
        };
        let _ = visit_expressions_mut(stmt, |e| {
            match e {
                Expr::Identifier(id) if qualifier.is_none() => {
                    changed |= fix_ident(id, &field.name, name)
                }
                Expr::CompoundIdentifier(parts) => {
                    let n = parts.len();
                    let qualified_as_missing = match (&qualifier, n) {
                        (Some(q), 2..) => parts[n - 2].value == *q,
                        (None, _) => true,
                        _ => false,
                    };
                    if qualified_as_missing && parts[n - 1].value == field.name {
                        changed |= fix_ident(&mut parts[n - 1], &field.name, name);
                        if let (Some(q), Some(t)) = (&qualifier, &table) {
                            changed |= fix_ident(&mut parts[n - 2], q, t);
                        }
                    }
                }
                _ => {}
            }
            ControlFlow::<()>::Continue(())
        });
    }
    changed
}

fn fix_ident(id: &mut Ident, from: &str, to: &str) -> bool {
    if id.quote_style.is_none() && id.value == from && from != to {
        id.value = to.to_string();
        true
    } else {
        false
    }
}

/// The single distinct name among `candidates` equal to `name` ignoring case.
fn unique_match<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let found: HashSet<&str> = candidates
        .filter(|c| c.eq_ignore_ascii_case(name))
        .collect();
    match found.len() {
        1 => found.into_iter().next(),
        _ => None,
    }
}

/// Every "field not found" in `err` (planning may report several at once).
fn fields_not_found<'a>(err: &'a DataFusionError, out: &mut Vec<(&'a Column, &'a [Column])>) {
    match err {
        DataFusionError::SchemaError(e, _) => {
            if let SchemaError::FieldNotFound {
                field,
                valid_fields,
            } = e.as_ref()
            {
                out.push((field.as_ref(), valid_fields.as_slice()));
            }
        }
        DataFusionError::Context(_, inner) | DataFusionError::Diagnostic(_, inner) => {
            fields_not_found(inner, out)
        }
        DataFusionError::Shared(inner) => fields_not_found(inner, out),
        DataFusionError::Collection(errs) => {
            for e in errs {
                fields_not_found(e, out);
            }
        }
        _ => {}
    }
}

/// Names of every CTE defined anywhere in `stmt`.
fn cte_names(stmt: &Statement) -> Vec<String> {
    struct Ctes(Vec<String>);
    impl Visitor for Ctes {
        type Break = ();
        fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<()> {
            if let Some(with) = &q.with {
                self.0
                    .extend(with.cte_tables.iter().map(|c| c.alias.name.value.clone()));
            }
            ControlFlow::Continue(())
        }
    }
    let mut v = Ctes(Vec::new());
    let _ = stmt.visit(&mut v);
    v.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_match_needs_exactly_one_spelling() {
        let c = ["Name", "id", "ID"];
        assert_eq!(unique_match("name", c.iter().copied()), Some("Name"));
        assert_eq!(unique_match("Id", c.iter().copied()), None);
        assert_eq!(unique_match("x", c.iter().copied()), None);
        let same = ["Name", "Name"];
        assert_eq!(unique_match("NAME", same.iter().copied()), Some("Name"));
    }
}
