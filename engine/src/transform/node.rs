//! The logical plan nodes: [`TransformNode`] (TRANSFORM and co-transform
//! over zipped inputs) and [`ZipNode`] (a ZIP waiting for its TRANSFORM).
//! Both are opaque to the optimizer: nothing is pushed through them.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use datafusion::arrow::datatypes::Schema;
use datafusion::common::{DFSchema, DFSchemaRef, Result};
use datafusion::logical_expr::{Expr, LogicalPlan, UserDefinedLogicalNodeCore};

use super::spec::{TransformSpec, ZipHow};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TransformNode {
    pub inputs: Vec<LogicalPlan>,
    pub spec: Arc<TransformSpec>,
    pub schema: DFSchemaRef,
}

impl TransformNode {
    pub fn new(inputs: Vec<LogicalPlan>, spec: TransformSpec, schema: &Schema) -> Result<Self> {
        Ok(Self {
            inputs,
            spec: Arc::new(spec),
            schema: Arc::new(DFSchema::try_from(schema.clone())?),
        })
    }
}

impl PartialOrd for TransformNode {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        match self.spec.partial_cmp(&other.spec) {
            Some(Ordering::Equal) => self.inputs.partial_cmp(&other.inputs),
            o => o,
        }
    }
}

impl UserDefinedLogicalNodeCore for TransformNode {
    fn name(&self) -> &str {
        "Transform"
    }

    fn inputs(&self) -> Vec<&LogicalPlan> {
        self.inputs.iter().collect()
    }

    fn schema(&self) -> &DFSchemaRef {
        &self.schema
    }

    fn expressions(&self) -> Vec<Expr> {
        Vec::new()
    }

    fn fmt_for_explain(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "Transform: {}", self.spec.describe())
    }

    fn with_exprs_and_inputs(&self, _exprs: Vec<Expr>, inputs: Vec<LogicalPlan>) -> Result<Self> {
        Ok(Self {
            inputs,
            spec: Arc::clone(&self.spec),
            schema: Arc::clone(&self.schema),
        })
    }
}

/// `ZIP a, b BY keys`: the inputs with how their groups match. Only a
/// TRANSFORM / OUTTRANSFORM / OUTPUT can read it; its schema is the key
/// columns (of the first input).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ZipNode {
    pub inputs: Vec<LogicalPlan>,
    pub how: ZipHow,
    pub keys: Vec<String>,
    /// Per input: (column, ascending).
    pub presort: Vec<Vec<(String, bool)>>,
    pub schema: DFSchemaRef,
}

impl PartialOrd for ZipNode {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        (self.how, &self.keys, &self.presort, &self.inputs).partial_cmp(&(
            other.how,
            &other.keys,
            &other.presort,
            &other.inputs,
        ))
    }
}

impl UserDefinedLogicalNodeCore for ZipNode {
    fn name(&self) -> &str {
        "Zip"
    }

    fn inputs(&self) -> Vec<&LogicalPlan> {
        self.inputs.iter().collect()
    }

    fn schema(&self) -> &DFSchemaRef {
        &self.schema
    }

    fn expressions(&self) -> Vec<Expr> {
        Vec::new()
    }

    fn fmt_for_explain(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "Zip: {:?} by {}", self.how, self.keys.join(", "))
    }

    fn with_exprs_and_inputs(&self, _exprs: Vec<Expr>, inputs: Vec<LogicalPlan>) -> Result<Self> {
        Ok(Self {
            inputs,
            ..self.clone()
        })
    }
}
