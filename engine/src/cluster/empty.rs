//! An empty relation that keeps its columns on the way to the scheduler.
//!
//! The client optimises a plan before Ballista ships it, so a filter that is
//! never true (`WHERE k = 1 AND k = 2`) has become an `EmptyRelation` by
//! then; DataFusion's plan encoding keeps only its "one row or none" flag,
//! not its columns, and the scheduler decodes a relation without columns.
//! Every node above that names a column then failed on `cluster` ("Unable
//! to get field named k", "No field named __fsql_previous.k", "type_coercion";
//! found by the script fuzzer). [`KeepEmptySchema`], the client's last
//! optimizer rule, writes such a relation as what encodes its columns: no
//! rows (`LIMIT 0`) of one row of typed NULLs, with the same names.

use datafusion::common::tree_node::Transformed;
use datafusion::common::{Column, Result, ScalarValue};
use datafusion::logical_expr::{
    Expr, LogicalPlan, LogicalPlanBuilder, cast, logical_plan::EmptyRelation,
};
use datafusion::optimizer::{ApplyOrder, OptimizerConfig, OptimizerRule};

#[derive(Debug, Default)]
pub(crate) struct KeepEmptySchema;

impl OptimizerRule for KeepEmptySchema {
    fn name(&self) -> &str {
        "fsql_keep_empty_schema"
    }

    fn apply_order(&self) -> Option<ApplyOrder> {
        Some(ApplyOrder::BottomUp)
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        _config: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        let LogicalPlan::EmptyRelation(EmptyRelation {
            produce_one_row: false,
            schema,
        }) = &plan
        else {
            return Ok(Transformed::no(plan));
        };
        if schema.fields().is_empty() {
            return Ok(Transformed::no(plan));
        }
        let row: Vec<Expr> = schema
            .fields()
            .iter()
            .map(|f| {
                let null = ScalarValue::try_from(f.data_type())?;
                Ok(cast(Expr::Literal(null, None), f.data_type().clone()))
            })
            .collect::<Result<_>>()?;
        let names: Vec<Expr> = schema
            .iter()
            .enumerate()
            .map(|(i, (qualifier, field))| {
                Expr::Column(Column::from_name(format!("column{}", i + 1)))
                    .alias_qualified(qualifier.cloned(), field.name())
            })
            .collect();
        let rebuilt = LogicalPlanBuilder::values(vec![row])?
            .limit(0, Some(0))?
            .project(names)?
            .build()?;
        Ok(Transformed::yes(rebuilt))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::common::DFSchema;
    use datafusion::optimizer::OptimizerContext;
    use std::sync::Arc;

    #[test]
    fn an_empty_relation_keeps_its_qualified_columns() {
        let schema = Schema::new(vec![
            Field::new("k", DataType::Int64, true),
            Field::new("s", DataType::Utf8, false),
        ]);
        let schema = Arc::new(DFSchema::try_from_qualified_schema("x", &schema).unwrap());
        let plan = LogicalPlan::EmptyRelation(EmptyRelation {
            produce_one_row: false,
            schema: schema.clone(),
        });
        let out = KeepEmptySchema
            .rewrite(plan, &OptimizerContext::new())
            .unwrap();
        assert!(out.transformed);
        let names: Vec<String> = out
            .data
            .schema()
            .iter()
            .map(|(q, f)| {
                format!(
                    "{}.{}",
                    q.map(|q| q.to_string()).unwrap_or_default(),
                    f.name()
                )
            })
            .collect();
        assert_eq!(names, ["x.k", "x.s"]);
        let types: Vec<DataType> = out
            .data
            .schema()
            .fields()
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        assert_eq!(types, [DataType::Int64, DataType::Utf8]);
    }
}
