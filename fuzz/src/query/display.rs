//! The query syntax tree printed as SQL both fsql and DuckDB run (every
//! compound expression parenthesised, every output column aliased `oN`).

use std::fmt;

use super::{Expr, From, Query, Select};

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Col(c) => write!(f, "{c}"),
            Expr::Lit(l) => write!(f, "{l}"),
            Expr::Bin(a, op, b) => write!(f, "({a} {op} {b})"),
            Expr::Not(a) => write!(f, "(NOT {a})"),
            Expr::IsNull(a, true) => write!(f, "({a} IS NULL)"),
            Expr::IsNull(a, false) => write!(f, "({a} IS NOT NULL)"),
            Expr::Case(c, t, e) => write!(f, "(CASE WHEN {c} THEN {t} ELSE {e} END)"),
            Expr::Func(name, args) => {
                write!(f, "{name}(")?;
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{a}")?;
                }
                write!(f, ")")
            }
            Expr::Cast(a, ty) => write!(f, "CAST({a} AS {ty})"),
            Expr::InList(a, list) => {
                write!(f, "({a} IN (")?;
                for (i, x) in list.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{x}")?;
                }
                write!(f, "))")
            }
            Expr::Agg(name, None, _) => write!(f, "{name}(*)"),
            Expr::Agg(name, Some(a), distinct) => {
                let d = if *distinct { "DISTINCT " } else { "" };
                write!(f, "{name}({d}{a})")
            }
            Expr::Window(func, partition, order) => {
                write!(f, "{func} OVER (")?;
                if !partition.is_empty() {
                    write!(f, "PARTITION BY ")?;
                    for (i, p) in partition.iter().enumerate() {
                        if i > 0 {
                            write!(f, ", ")?;
                        }
                        write!(f, "{p}")?;
                    }
                }
                if let Some(o) = order {
                    write!(f, " ORDER BY {o} NULLS FIRST")?;
                }
                write!(f, ")")
            }
            Expr::Scalar(q) => write!(f, "({q})"),
            Expr::Exists(q) => write!(f, "(EXISTS ({q}))"),
            Expr::InQuery(a, q) => write!(f, "({a} IN ({q}))"),
        }
    }
}

impl fmt::Display for From {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            From::Table(t, alias) => write!(f, "{t} AS {alias}"),
            From::Join(a, kind, b, Some(on)) => write!(f, "{a} {kind} {b} ON {on}"),
            From::Join(a, kind, b, None) => write!(f, "{a} {kind} {b}"),
        }
    }
}

impl fmt::Display for Select {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SELECT ")?;
        if self.distinct {
            write!(f, "DISTINCT ")?;
        }
        for (i, e) in self.items.iter().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{e} AS o{i}")?;
        }
        write!(f, " FROM {}", self.from)?;
        if let Some(w) = &self.filter {
            write!(f, " WHERE {w}")?;
        }
        if !self.group_by.is_empty() {
            write!(f, " GROUP BY ")?;
            for (i, g) in self.group_by.iter().enumerate() {
                if i > 0 {
                    write!(f, ", ")?;
                }
                write!(f, "{g}")?;
            }
        }
        if let Some(h) = &self.having {
            write!(f, " HAVING {h}")?;
        }
        if !self.order_by.is_empty() {
            write!(f, " ORDER BY ")?;
            for (i, o) in self.order_by.iter().enumerate() {
                if i > 0 {
                    write!(f, ", ")?;
                }
                let dir = if o.desc { "DESC" } else { "ASC" };
                let nulls = if o.nulls_first { "FIRST" } else { "LAST" };
                write!(f, "{} {dir} NULLS {nulls}", o.position + 1)?;
            }
        }
        if let Some(n) = self.limit {
            write!(f, " LIMIT {n}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Query::Select(s) => write!(f, "{s}"),
            Query::SetOp(a, op, b) => write!(f, "SELECT * FROM ({a}) {op} SELECT * FROM ({b})"),
        }
    }
}
