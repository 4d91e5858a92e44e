//! Random SQL queries over [`crate::data`] tables, as a small syntax tree
//! that prints as SQL both fsql and DuckDB run, and that the shrinker can
//! take apart. Typed generation keeps most queries valid; what both
//! systems would reject anyway is cheap to throw away.
//!
//! The generator steers clear of the documented differences between fsql
//! and DuckDB (`docs/semantics.md`, "Differences from DuckDB"): ORDER BY
//! always says NULLS FIRST/LAST, no division (fsql errors on a zero divisor
//! where DuckDB gives NULL), no float-to-integer casts (DataFusion
//! truncates, DuckDB rounds), LIMIT only under an ORDER BY of every output
//! column (otherwise any rows are right).

use rand::Rng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;

use crate::data::{Kind, Table};

mod display;

#[derive(Debug, Clone)]
pub enum Expr {
    Col(String),
    Lit(String),
    Bin(Box<Expr>, &'static str, Box<Expr>),
    Not(Box<Expr>),
    IsNull(Box<Expr>, bool),
    Case(Box<Expr>, Box<Expr>, Box<Expr>),
    Func(&'static str, Vec<Expr>),
    Cast(Box<Expr>, &'static str),
    InList(Box<Expr>, Vec<Expr>),
    /// COUNT(*) when the argument is None.
    Agg(&'static str, Option<Box<Expr>>, bool),
    /// `f() OVER (PARTITION BY p [ORDER BY o NULLS FIRST])`
    Window(Box<Expr>, Vec<Expr>, Option<Box<Expr>>),
    /// `(SELECT ...)`, `EXISTS (SELECT ...)`, `x IN (SELECT ...)`
    Scalar(Box<Query>),
    Exists(Box<Query>),
    InQuery(Box<Expr>, Box<Query>),
}

#[derive(Debug, Clone)]
pub enum From {
    Table(String, String),
    Join(Box<From>, &'static str, Box<From>, Option<Expr>),
}

#[derive(Debug, Clone)]
pub struct OrderItem {
    pub position: usize,
    pub desc: bool,
    pub nulls_first: bool,
}

#[derive(Debug, Clone)]
pub struct Select {
    pub distinct: bool,
    pub items: Vec<Expr>,
    pub from: From,
    pub filter: Option<Expr>,
    pub group_by: Vec<Expr>,
    pub having: Option<Expr>,
    pub order_by: Vec<OrderItem>,
    pub limit: Option<u32>,
}

#[derive(Debug, Clone)]
pub enum Query {
    Select(Box<Select>),
    SetOp(Box<Query>, &'static str, Box<Query>),
}

impl Query {
    /// True when the rows' order is part of the answer (compare exactly).
    pub fn ordered(&self) -> bool {
        match self {
            Query::Select(s) => !s.order_by.is_empty(),
            Query::SetOp(..) => false,
        }
    }
}

/// The columns in scope: (qualified name, kind).
type Scope = Vec<(String, Kind)>;

pub struct Gen<'a> {
    pub rng: &'a mut ChaCha8Rng,
    pub tables: &'a [Table],
    /// Subquery depth so far.
    depth: usize,
}

fn literal(rng: &mut ChaCha8Rng, kind: Kind) -> Expr {
    Expr::Lit(match kind {
        Kind::Int => ["0", "1", "-1", "2", "3", "100"]
            .choose(rng)
            .expect("ints")
            .to_string(),
        Kind::Float => ["0.5", "-1.25", "0.0", "3.0", "-0.0"]
            .choose(rng)
            .expect("floats")
            .to_string(),
        Kind::Decimal => "CAST('1.50' AS DECIMAL(10,2))".to_string(),
        Kind::Str => ["''", "'a'", "'b'", "'é'", "'ab'", "'NULL'"]
            .choose(rng)
            .expect("strs")
            .to_string(),
        Kind::Bool => ["TRUE", "FALSE"].choose(rng).expect("bools").to_string(),
        Kind::Date => "DATE '2019-04-15'".to_string(),
        Kind::Timestamp => "TIMESTAMP '2020-09-13 13:26:40'".to_string(),
    })
}

impl<'a> Gen<'a> {
    pub fn new(rng: &'a mut ChaCha8Rng, tables: &'a [Table]) -> Self {
        Gen {
            rng,
            tables,
            depth: 0,
        }
    }

    fn column(&mut self, scope: &Scope, kind: Kind) -> Option<Expr> {
        let of: Vec<&(String, Kind)> = scope.iter().filter(|(_, k)| *k == kind).collect();
        of.choose(self.rng).map(|(n, _)| Expr::Col(n.clone()))
    }

    /// An expression of `kind` over `scope`.
    pub fn expr(&mut self, scope: &Scope, kind: Kind, depth: usize) -> Expr {
        if depth == 0 || self.rng.random_bool(0.35) {
            if self.rng.random_bool(0.75)
                && let Some(c) = self.column(scope, kind)
            {
                return c;
            }
            if kind == Kind::Bool && self.rng.random_bool(0.7) {
                return self.predicate(scope, depth.saturating_sub(1).max(1));
            }
            return literal(self.rng, kind);
        }
        let d = depth - 1;
        match (kind, self.rng.random_range(0..6)) {
            (Kind::Bool, _) => self.predicate(scope, depth),
            (_, 0) => Expr::Case(
                Box::new(self.predicate(scope, d)),
                Box::new(self.expr(scope, kind, d)),
                Box::new(self.expr(scope, kind, d)),
            ),
            (_, 1) => Expr::Func(
                "coalesce",
                vec![self.expr(scope, kind, d), self.expr(scope, kind, d)],
            ),
            (Kind::Int | Kind::Float | Kind::Decimal, 2) => {
                Expr::Func("abs", vec![self.expr(scope, kind, d)])
            }
            (Kind::Int | Kind::Float | Kind::Decimal, _) => {
                let op = *["+", "-", "*"].choose(self.rng).expect("ops");
                let (a, b) = (self.expr(scope, kind, d), self.expr(scope, kind, d));
                // Keep products small: multiply by a literal only.
                if op == "*" {
                    return Expr::Bin(Box::new(a), op, Box::new(literal(self.rng, kind)));
                }
                Expr::Bin(Box::new(a), op, Box::new(b))
            }
            (Kind::Str, 2) => Expr::Func(
                ["upper", "lower", "trim"].choose(self.rng).expect("fns"),
                vec![self.expr(scope, kind, d)],
            ),
            (Kind::Str, 3) => Expr::Bin(
                Box::new(self.expr(scope, kind, d)),
                "||",
                Box::new(self.expr(scope, kind, d)),
            ),
            (Kind::Str, 4) => {
                let from = if self.rng.random_bool(0.5) {
                    Kind::Int
                } else {
                    Kind::Date
                };
                Expr::Cast(Box::new(self.expr(scope, from, d)), "VARCHAR")
            }
            (Kind::Str, _) => Expr::Func(
                "substr",
                vec![
                    self.expr(scope, kind, d),
                    Expr::Lit("1".into()),
                    Expr::Lit("2".into()),
                ],
            ),
            _ => self
                .column(scope, kind)
                .unwrap_or_else(|| literal(self.rng, kind)),
        }
    }

    /// A boolean condition over `scope`.
    pub fn predicate(&mut self, scope: &Scope, depth: usize) -> Expr {
        let d = depth.saturating_sub(1);
        let kinds: Vec<Kind> = scope.iter().map(|(_, k)| *k).collect();
        let kind = kinds.choose(self.rng).copied().unwrap_or(Kind::Int);
        match self.rng.random_range(0..10) {
            0..=2 => {
                let op = *["=", "<>", "<", "<=", ">", ">="]
                    .choose(self.rng)
                    .expect("cmp");
                let a = self.expr(scope, kind, d);
                let b = self.expr(scope, kind, d);
                Expr::Bin(Box::new(a), op, Box::new(b))
            }
            3 => Expr::IsNull(
                Box::new(self.expr(scope, kind, d)),
                self.rng.random_bool(0.5),
            ),
            4 if depth > 0 => {
                let op = *["AND", "OR"].choose(self.rng).expect("logic");
                Expr::Bin(
                    Box::new(self.predicate(scope, d)),
                    op,
                    Box::new(self.predicate(scope, d)),
                )
            }
            5 if depth > 0 => Expr::Not(Box::new(self.predicate(scope, d))),
            6 => {
                let list = (0..self.rng.random_range(1..4))
                    .map(|_| literal(self.rng, kind))
                    .collect();
                Expr::InList(Box::new(self.expr(scope, kind, d)), list)
            }
            7 if kind == Kind::Str => Expr::Bin(
                Box::new(self.expr(scope, Kind::Str, d)),
                "LIKE",
                Box::new(Expr::Lit(
                    ["'a%'", "'%b'", "'_'", "'%'"]
                        .choose(self.rng)
                        .expect("patterns")
                        .to_string(),
                )),
            ),
            8 if self.depth < 1 => self.subquery_predicate(scope),
            _ => {
                let a = self.expr(scope, Kind::Int, d);
                Expr::Bin(Box::new(a), "=", Box::new(literal(self.rng, Kind::Int)))
            }
        }
    }

    fn subquery_predicate(&mut self, scope: &Scope) -> Expr {
        let t = self.tables.choose(self.rng).expect("tables").clone();
        self.depth += 1;
        let inner_scope: Scope = t
            .columns
            .iter()
            .map(|c| (format!("s.{}", c.name), c.kind))
            .collect();
        let filter = self
            .rng
            .random_bool(0.5)
            .then(|| self.predicate(&inner_scope, 1));
        self.depth -= 1;
        let outer_k = scope
            .iter()
            .find(|(n, k)| n.ends_with(".k") && *k == Kind::Int)
            .map(|(n, _)| n.clone());
        let select = |items: Vec<Expr>, filter: Option<Expr>| {
            Box::new(Query::Select(Box::new(Select {
                distinct: false,
                items,
                from: From::Table(t.name.clone(), "s".into()),
                filter,
                group_by: vec![],
                having: None,
                order_by: vec![],
                limit: None,
            })))
        };
        match (self.rng.random_range(0..3), outer_k) {
            (0, Some(k)) => {
                let corr = Expr::Bin(
                    Box::new(Expr::Col("s.k".into())),
                    "=",
                    Box::new(Expr::Col(k)),
                );
                let filter = match filter {
                    Some(f) => Expr::Bin(Box::new(corr), "AND", Box::new(f)),
                    None => corr,
                };
                Expr::Exists(select(vec![Expr::Lit("1".into())], Some(filter)))
            }
            (1, Some(k)) => Expr::InQuery(
                Box::new(Expr::Col(k)),
                select(vec![Expr::Col("s.k".into())], filter),
            ),
            _ => Expr::Bin(
                Box::new(self.expr(scope, Kind::Int, 0)),
                "<=",
                Box::new(Expr::Scalar(select(
                    vec![Expr::Agg(
                        "max",
                        Some(Box::new(Expr::Col("s.k".into()))),
                        false,
                    )],
                    filter,
                ))),
            ),
        }
    }

    fn from(&mut self) -> (From, Scope) {
        let pick = |g: &mut Self, alias: &str| {
            let t = g.tables.choose(g.rng).expect("tables");
            let scope: Scope = t
                .columns
                .iter()
                .map(|c| (format!("{alias}.{}", c.name), c.kind))
                .collect();
            (From::Table(t.name.clone(), alias.to_string()), scope)
        };
        let (a, mut scope) = pick(self, "a");
        if self.tables.len() < 2 || self.rng.random_bool(0.5) {
            return (a, scope);
        }
        let (b, scope_b) = pick(self, "b");
        let kind = *["JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL JOIN", "CROSS JOIN"]
            .choose(self.rng)
            .expect("joins");
        scope.extend(scope_b);
        let on = (kind != "CROSS JOIN").then(|| {
            // Sometimes no equality: a nested loop join, whose outer rows
            // the cluster once emitted once per partition.
            let op = if self.rng.random_bool(0.3) {
                *["<", "<=", ">", "<>"].choose(self.rng).expect("ops")
            } else {
                "="
            };
            let eq = Expr::Bin(
                Box::new(Expr::Col("a.k".into())),
                op,
                Box::new(Expr::Col("b.k".into())),
            );
            if self.rng.random_bool(0.3) {
                let extra = self.predicate(&scope, 1);
                Expr::Bin(Box::new(eq), "AND", Box::new(extra))
            } else {
                eq
            }
        });
        (From::Join(Box::new(a), kind, Box::new(b), on), scope)
    }

    /// A random query; `kinds` fixes its output column kinds (set
    /// operations), else they are chosen.
    pub fn select(&mut self, kinds: Option<&[Kind]>) -> Select {
        let (from, scope) = self.from();
        let available: Vec<Kind> = scope.iter().map(|(_, k)| *k).collect();
        let kinds: Vec<Kind> = match kinds {
            Some(k) => k.to_vec(),
            None => (0..self.rng.random_range(1..4))
                .map(|_| *available.choose(self.rng).expect("columns"))
                .collect(),
        };
        let filter = self.rng.random_bool(0.6).then(|| self.predicate(&scope, 2));
        let grouped = self.rng.random_bool(0.3);
        let mut group_by = Vec::new();
        let mut having = None;
        let items: Vec<Expr> = if grouped {
            let key_kind = kinds[0];
            let key = self
                .column(&scope, key_kind)
                .unwrap_or_else(|| self.expr(&scope, key_kind, 1));
            group_by.push(key.clone());
            let mut items = vec![key];
            for kind in &kinds[1..] {
                items.push(self.aggregate(&scope, *kind));
            }
            if self.rng.random_bool(0.3) {
                having = Some(Expr::Bin(
                    Box::new(Expr::Agg("count", None, false)),
                    ">",
                    Box::new(Expr::Lit("1".into())),
                ));
            }
            items
        } else {
            let mut items: Vec<Expr> = kinds.iter().map(|k| self.expr(&scope, *k, 2)).collect();
            if kinds.len() > 1 && self.rng.random_bool(0.15) && kinds[kinds.len() - 1] == Kind::Int
            {
                let last = items.len() - 1;
                items[last] = self.window(&scope);
            }
            items
        };
        let distinct = self.rng.random_bool(0.15);
        let (order_by, limit) = if self.rng.random_bool(0.3) {
            let order: Vec<OrderItem> = (0..items.len())
                .map(|position| OrderItem {
                    position,
                    desc: self.rng.random_bool(0.5),
                    nulls_first: self.rng.random_bool(0.5),
                })
                .collect();
            let limit = self
                .rng
                .random_bool(0.5)
                .then(|| self.rng.random_range(0..6));
            (order, limit)
        } else {
            (Vec::new(), None)
        };
        Select {
            distinct,
            items,
            from,
            filter,
            group_by,
            having,
            order_by,
            limit,
        }
    }

    fn aggregate(&mut self, scope: &Scope, kind: Kind) -> Expr {
        let arg = |g: &mut Self, k: Kind| Some(Box::new(g.expr(scope, k, 1)));
        match kind {
            Kind::Int => match self.rng.random_range(0..4) {
                0 => Expr::Agg("count", None, false),
                1 => {
                    let k = *[Kind::Int, Kind::Str, Kind::Float]
                        .choose(self.rng)
                        .expect("k");
                    Expr::Agg("count", arg(self, k), self.rng.random_bool(0.4))
                }
                2 => Expr::Agg("sum", arg(self, Kind::Int), false),
                _ => Expr::Agg(
                    ["min", "max"].choose(self.rng).expect("mm"),
                    arg(self, Kind::Int),
                    false,
                ),
            },
            Kind::Float => Expr::Agg(
                ["min", "max", "avg"].choose(self.rng).expect("f"),
                arg(self, Kind::Float),
                false,
            ),
            Kind::Decimal => Expr::Agg(
                ["min", "max", "sum"].choose(self.rng).expect("d"),
                arg(self, Kind::Decimal),
                false,
            ),
            Kind::Bool => Expr::Agg(
                ["bool_and", "bool_or"].choose(self.rng).expect("b"),
                arg(self, Kind::Bool),
                false,
            ),
            k => Expr::Agg(
                ["min", "max"].choose(self.rng).expect("mm"),
                arg(self, k),
                false,
            ),
        }
    }

    fn window(&mut self, scope: &Scope) -> Expr {
        let partition = self.column(scope, Kind::Int).into_iter().collect();
        match self.rng.random_range(0..3) {
            0 => {
                let kind = scope.choose(self.rng).map(|(_, k)| *k).unwrap_or(Kind::Int);
                let order = self.column(scope, kind).map(Box::new);
                let f = if order.is_some() { "rank" } else { "count" };
                let func = if f == "rank" {
                    Expr::Func("rank", vec![])
                } else {
                    Expr::Agg("count", None, false)
                };
                Expr::Window(Box::new(func), partition, order)
            }
            1 => Expr::Window(
                Box::new(Expr::Agg(
                    "sum",
                    Some(Box::new(self.expr(scope, Kind::Int, 0))),
                    false,
                )),
                partition,
                None,
            ),
            _ => Expr::Window(Box::new(Expr::Agg("count", None, false)), partition, None),
        }
    }

    /// A query: a select, or a set operation of two with the same kinds.
    pub fn query(&mut self) -> Query {
        let first = self.select(None);
        if self.rng.random_bool(0.15) {
            let kinds = self.kinds_of(&first);
            if let Some(kinds) = kinds {
                let mut a = first;
                a.order_by.clear();
                a.limit = None;
                let mut b = self.select(Some(&kinds));
                b.order_by.clear();
                b.limit = None;
                let op = *[
                    "UNION",
                    "UNION ALL",
                    "INTERSECT",
                    "EXCEPT",
                    "INTERSECT ALL",
                    "EXCEPT ALL",
                ]
                .choose(self.rng)
                .expect("set ops");
                return Query::SetOp(
                    Box::new(Query::Select(Box::new(a))),
                    op,
                    Box::new(Query::Select(Box::new(b))),
                );
            }
        }
        Query::Select(Box::new(first))
    }

    /// The output kinds of a select whose items are all key columns (`x.k`,
    /// integers in every table); None otherwise (no set operation then).
    fn kinds_of(&self, s: &Select) -> Option<Vec<Kind>> {
        if !s.group_by.is_empty() {
            return None;
        }
        s.items
            .iter()
            .map(|e| match e {
                Expr::Col(name) if name.ends_with(".k") => Some(Kind::Int),
                _ => None,
            })
            .collect()
    }
}
