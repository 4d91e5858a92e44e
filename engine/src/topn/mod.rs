//! The top-n-per-group operator behind `TAKE n ROWS PREPARTITION BY keys
//! PRESORT ...`: the first n rows of every key group in presort order,
//! found with a bounded heap per group instead of sorting every row.
//!
//! A [`TopNNode`] (logical) is planned as two [`exec::TopNExec`]s: a
//! partial one on every input partition, then a final one after the rows
//! are repartitioned by the keys. The partial phase cuts what is shuffled
//! to at most n rows per group and partition. Both Ballista codecs carry the
//! node (`cluster/codec.rs`), so on `cluster` the executors run both phases.
//!
//! - `mod`: the serializable spec, the logical node, planning.
//! - `exec`: the physical node (one phase).
//! - `accumulate`: a partition's best n rows per group.
//! - `groups`: the key groups an accumulator has seen.
//! - `rewrite`: the optimizer rule that puts the operator under SQL's
//!   `row_number() OVER (PARTITION BY ..) ... WHERE rn <= n`.

mod accumulate;
pub(crate) mod exec;
mod groups;
pub(crate) mod rewrite;

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::arrow::row::{RowConverter, SortField};
use datafusion::common::{DFSchemaRef, DataFusionError, Result};
use datafusion::logical_expr::{Expr, LogicalPlan, UserDefinedLogicalNodeCore};
use datafusion::physical_plan::ExecutionPlan;
use serde::{Deserialize, Serialize};

use exec::{Phase, TopNExec};

/// What a TAKE keeps: `n` rows per group of `keys`, ordered by `order`
/// (the PRESORT columns, then tie breakers over every other column).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Serialize, Deserialize)]
pub struct TopNSpec {
    pub n: usize,
    pub keys: Vec<String>,
    pub order: Vec<OrderKey>,
    /// How many leading `order` entries are the PRESORT; the rest break ties.
    pub presort: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Serialize, Deserialize)]
pub struct OrderKey {
    pub column: String,
    pub descending: bool,
    pub nulls_first: bool,
}

/// The most rows per group the operator keeps: it inserts into a sorted
/// list per group, so beyond this a sort (the window plan) is cheaper.
pub const MAX_ROWS: usize = 1000;

/// Magic that starts an encoded top-n node in a Ballista plan.
const MAGIC: &[u8] = b"FSQLTOPN\0";

#[derive(Serialize, Deserialize)]
struct Encoded {
    spec: TopNSpec,
    phase: Phase,
}

impl TopNSpec {
    /// Whether the operator can order and group these columns (the row
    /// format supports nearly every type; the rest keep the window plan).
    pub fn supports(schema: &Schema, columns: &[&str]) -> bool {
        columns.iter().all(|c| {
            schema
                .field_with_name(c)
                .is_ok_and(|f| row_format(f.data_type()))
        })
    }

    /// The spec for `n` rows per group of `keys` in `presort` order, ties
    /// broken by every other orderable column (ascending, NULL smallest) so
    /// that every engine keeps the same rows. None when `n` is over
    /// [`MAX_ROWS`] or the operator cannot group or order these columns.
    pub fn build(
        schema: &Schema,
        n: usize,
        keys: Vec<String>,
        mut order: Vec<OrderKey>,
    ) -> Option<Self> {
        let mut used: Vec<&str> = keys.iter().map(String::as_str).collect();
        used.extend(order.iter().map(|o| o.column.as_str()));
        if n > MAX_ROWS || keys.is_empty() || !Self::supports(schema, &used) {
            return None;
        }
        let presort = order.len();
        let breakers: Vec<OrderKey> = schema
            .fields()
            .iter()
            .filter(|f| !used.contains(&f.name().as_str()) && orderable(f.data_type()))
            .map(|f| OrderKey {
                column: f.name().clone(),
                descending: false,
                nulls_first: true,
            })
            .collect();
        order.extend(breakers);
        Some(Self {
            n,
            keys,
            order,
            presort,
        })
    }

    pub fn encode(&self, phase: Phase, buf: &mut Vec<u8>) -> Result<()> {
        buf.extend_from_slice(MAGIC);
        let e = Encoded {
            spec: self.clone(),
            phase,
        };
        serde_json::to_writer(buf, &e).map_err(|e| DataFusionError::External(e.into()))
    }

    /// The spec and phase `encode` wrote; None when `buf` is not a top-n node.
    pub fn decode(buf: &[u8]) -> Option<Result<(TopNSpec, Phase)>> {
        let rest = buf.strip_prefix(MAGIC)?;
        Some(
            serde_json::from_slice::<Encoded>(rest)
                .map(|e| (e.spec, e.phase))
                .map_err(|e| DataFusionError::External(e.into())),
        )
    }

    fn describe(&self) -> String {
        let order: Vec<String> = self.order[..self.presort]
            .iter()
            .map(|o| {
                let dir = if o.descending { " DESC" } else { "" };
                format!("{}{dir}", o.column)
            })
            .collect();
        format!(
            "{} rows by [{}] presort [{}] (+{} tie breakers)",
            self.n,
            self.keys.join(", "),
            order.join(", "),
            self.order.len() - self.presort
        )
    }
}

/// The logical TAKE-per-group node; its output schema is its input's.
/// Opaque to the optimizer: no filter is pushed below it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TopNNode {
    pub input: LogicalPlan,
    pub spec: Arc<TopNSpec>,
}

impl PartialOrd for TopNNode {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        match self.spec.partial_cmp(&other.spec) {
            Some(Ordering::Equal) => self.input.partial_cmp(&other.input),
            o => o,
        }
    }
}

impl UserDefinedLogicalNodeCore for TopNNode {
    fn name(&self) -> &str {
        "TopNPerGroup"
    }

    fn inputs(&self) -> Vec<&LogicalPlan> {
        vec![&self.input]
    }

    fn schema(&self) -> &DFSchemaRef {
        self.input.schema()
    }

    fn expressions(&self) -> Vec<Expr> {
        Vec::new()
    }

    fn fmt_for_explain(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "TopNPerGroup: {}", self.spec.describe())
    }

    fn with_exprs_and_inputs(
        &self,
        _exprs: Vec<Expr>,
        mut inputs: Vec<LogicalPlan>,
    ) -> Result<Self> {
        Ok(Self {
            input: inputs.swap_remove(0),
            spec: Arc::clone(&self.spec),
        })
    }
}

/// The physical plan of a [`TopNNode`]: partial, then final (DataFusion's
/// distribution rule puts the repartition by keys between them). With one
/// partition the partial phase would do the final's work twice; it is left out.
pub(crate) fn plan(
    node: &TopNNode,
    input: Arc<dyn ExecutionPlan>,
    target_partitions: usize,
) -> Result<Arc<dyn ExecutionPlan>> {
    let input = if target_partitions > 1 {
        Arc::new(TopNExec::try_new(
            input,
            Arc::clone(&node.spec),
            Phase::Partial,
        )?)
    } else {
        input
    };
    Ok(Arc::new(TopNExec::try_new(
        input,
        Arc::clone(&node.spec),
        Phase::Final,
    )?))
}

/// Whether a column of this type can break ties (maps cannot be ordered).
pub fn orderable(t: &DataType) -> bool {
    !matches!(t, DataType::Map(..)) && row_format(t)
}

fn row_format(t: &DataType) -> bool {
    RowConverter::supports_fields(&[SortField::new(t.clone())])
}
