//! Statement store options on an executor.
//!
//! A statement's store options (`LOAD 's3://b/x' (endpoint='...')`, see
//! `crate::storage`) reach an executor in the task's session settings.
//! Ballista builds one runtime per session and keeps it, so a bucket
//! configured by a later statement of the same session would not be seen
//! there; [`StoreOptionsEngine`] instead gives every task whose settings
//! carry store options a runtime whose registry builds those buckets' stores
//! from them (shared across tasks, see `storage::built`) and takes every
//! other store from the executor's registry.

use std::fmt;
use std::sync::Arc;

use ballista_core::JobId;
use ballista_core::serde::protobuf::{
    RuntimeStatsReport, ShuffleWritePartition, TaskColumnStats, WindowStateReport,
};
use ballista_executor::execution_engine::{ExecutionEngine, QueryStageExecutor};
use datafusion::common::Result;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::datasource::physical_plan::ParquetSource;
use datafusion::datasource::physical_plan::parquet::DefaultParquetFileReaderFactory;
use datafusion::datasource::source::DataSourceExec;
use datafusion::execution::TaskContext;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::metrics::MetricsSet;
use datafusion::prelude::SessionConfig;

use crate::storage::{self, StoreOptions, StoreRegistry};

/// An executor's [`ExecutionEngine`] that runs tasks with their session's
/// store options, then as `inner` would.
pub(crate) struct StoreOptionsEngine {
    inner: Arc<dyn ExecutionEngine>,
}

impl StoreOptionsEngine {
    pub(crate) fn new(inner: Arc<dyn ExecutionEngine>) -> Self {
        Self { inner }
    }
}

impl ExecutionEngine for StoreOptionsEngine {
    fn create_query_stage_exec(
        &self,
        job_id: JobId,
        stage_id: usize,
        task_id: usize,
        global_output_partition_ids: Vec<usize>,
        plan: Arc<dyn ExecutionPlan>,
        work_dir: &str,
        config: &SessionConfig,
    ) -> Result<Arc<dyn QueryStageExecutor>> {
        let options = storage::session_options(config);
        let plan = if options.is_empty() {
            plan
        } else {
            rebind_parquet_readers(plan, &options)?
        };
        let inner = self.inner.create_query_stage_exec(
            job_id,
            stage_id,
            task_id,
            global_output_partition_ids,
            plan,
            work_dir,
            config,
        )?;
        if options.is_empty() {
            return Ok(inner);
        }
        Ok(Arc::new(WithStores { inner, options }))
    }
}

/// `plan` with the Parquet scans of buckets that have options reading
/// through stores built from them: decoding a Parquet scan binds its reader
/// to a store of the executor's own registry, before any task context of
/// ours exists. (CSV and JSON scans and every writer look their store up
/// when they run, which [`WithStores`] covers.)
fn rebind_parquet_readers(
    plan: Arc<dyn ExecutionPlan>,
    options: &StoreOptions,
) -> Result<Arc<dyn ExecutionPlan>> {
    plan.transform_up(|node| {
        let Some(exec) = node.downcast_ref::<DataSourceExec>() else {
            return Ok(Transformed::no(node));
        };
        let Some((scan, parquet)) = exec.downcast_to_file_source::<ParquetSource>() else {
            return Ok(Transformed::no(node));
        };
        let Some(store) = storage::store_with_options(scan.object_store_url.as_str(), options)?
        else {
            return Ok(Transformed::no(node));
        };
        let mut scan = scan.clone();
        scan.file_source = Arc::new(parquet.clone().with_parquet_file_reader_factory(Arc::new(
            DefaultParquetFileReaderFactory::new(store),
        )));
        Ok(Transformed::yes(
            DataSourceExec::from_data_source(scan) as Arc<dyn ExecutionPlan>
        ))
    })
    .map(|t| t.data)
}

/// A stage whose tasks see the session's store options.
#[derive(Debug)]
struct WithStores {
    inner: Arc<dyn QueryStageExecutor>,
    options: StoreOptions,
}

impl fmt::Display for WithStores {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        self.inner.fmt(f)
    }
}

#[async_trait::async_trait]
impl QueryStageExecutor for WithStores {
    async fn execute_query_stage(
        &self,
        task_id: usize,
        context: Arc<TaskContext>,
    ) -> Result<Vec<ShuffleWritePartition>> {
        let runtime = context.runtime_env();
        let registry = StoreRegistry::overlay(
            Arc::clone(&runtime.object_store_registry),
            self.options.clone(),
        );
        let runtime = RuntimeEnvBuilder::from_runtime_env(&runtime)
            .with_object_store_registry(Arc::new(registry))
            .build_arc()?;
        let task = TaskContext::new(
            context.task_id(),
            context.session_id(),
            context.session_config().clone(),
            context.scalar_functions().clone(),
            context.higher_order_functions().clone(),
            context.aggregate_functions().clone(),
            context.window_functions().clone(),
            runtime,
        );
        self.inner
            .execute_query_stage(task_id, Arc::new(task))
            .await
    }

    fn collect_plan_metrics(&self) -> Vec<MetricsSet> {
        self.inner.collect_plan_metrics()
    }

    fn collect_runtime_stats_reports(&self) -> Vec<RuntimeStatsReport> {
        self.inner.collect_runtime_stats_reports()
    }

    fn collect_window_state_reports(&self) -> Result<Vec<WindowStateReport>> {
        self.inner.collect_window_state_reports()
    }

    fn collect_column_stats(&self) -> Vec<TaskColumnStats> {
        self.inner.collect_column_stats()
    }
}
