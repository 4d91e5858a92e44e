// Licensed to the Apache Software Foundation (ASF) under one
// or more contributor license agreements.  See the NOTICE file
// distributed with this work for additional information
// regarding copyright ownership.  The ASF licenses this file
// to you under the Apache License, Version 2.0 (the
// "License"); you may not use this file except in compliance
// with the License.  You may obtain a copy of the License at
//
//   http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing,
// software distributed under the License is distributed on an
// "AS IS" BASIS, WITHOUT WARRANTIES OR CONDITIONS OF ANY
// KIND, either express or implied.  See the License for the
// specific language governing permissions and limitations
// under the License.

use crate::JobId;
use crate::error::BallistaError;
use crate::execution_plans::create_shuffle_path;
use crate::registry::BallistaFunctionRegistry;
use crate::serde::protobuf;
use datafusion::arrow::array::{
    ArrayBuilder, StructArray, StructBuilder, UInt64Array, UInt64Builder,
};
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::Partitioning;
use datafusion::prelude::SessionConfig;
use serde::Serialize;
use std::fmt::Debug;
use std::path::PathBuf;
use std::{collections::HashMap, fmt, sync::Arc};

/// Conversions from protobuf types to Ballista types.
pub mod from_proto;
/// Conversions from Ballista types to protobuf types.
pub mod to_proto;

/// Action that can be sent to an executor
#[derive(Debug, Clone)]
pub enum Action {
    /// Collect a shuffle partition
    FetchPartition {
        /// The job identifier.
        job_id: JobId,
        /// The stage identifier within the job.
        stage_id: usize,
        /// The partition identifier within the stage.
        partition_id: usize,
        /// Hostname or IP address of the executor hosting this partition.
        host: String,
        /// Port number for data transfer.
        port: u16,
        /// shuffle file block id
        file_id: Option<u64>,
        /// how the producing writer laid its output out on disk
        layout: ShuffleLayout,
        /// which file making up that output to fetch
        file_kind: ShuffleFileKind,
        /// byte ranges of that file to return, concatenated in order. Empty
        /// asks for whatever the identifiers above address.
        byte_ranges: Vec<ByteRange>,
    },
}

impl PartitionLocation {
    /// How the writer that produced this partition laid its output out.
    ///
    /// Derived from `is_sort_shuffle`, which is the same question asked in the
    /// vocabulary of one writer. The stored field keeps that name until the
    /// construction sites are swept; the wire protocol already speaks layouts.
    pub fn layout(&self) -> ShuffleLayout {
        shuffle_layout(self.is_sort_shuffle)
    }
}

impl crate::serde::protobuf::PartitionLocation {
    /// How the writer that produced this partition laid its output out.
    ///
    /// The same rule as [`PartitionLocation::layout`], for callers holding the
    /// protobuf message. They cannot go through `TryInto<PartitionLocation>`
    /// first, because that conversion also demands `partition_stats`, which a
    /// partition fetch has no use for.
    pub fn layout(&self) -> ShuffleLayout {
        shuffle_layout(self.is_sort_shuffle)
    }
}

fn shuffle_layout(is_sort_shuffle: bool) -> ShuffleLayout {
    if is_sort_shuffle {
        ShuffleLayout::Sort
    } else {
        ShuffleLayout::Passthrough
    }
}

/// How a shuffle writer laid its output out on disk.
///
/// Selects the path shape, and with it how a client parses the index beside
/// the data. Says nothing about the framing of the data file's own bytes —
/// that is the file's business, and a reader establishes it by opening it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ShuffleLayout {
    /// `{stage_id}/{partition_id}/data-{file_id}.arrow`, one file per output
    /// partition. Written by the passthrough and range writers.
    #[default]
    Passthrough,
    /// `{stage_id}/{file_id}/data.arrow`, one file per task holding every
    /// partition. Written by the sort-based writer.
    Sort,
}

/// Which file making up a shuffle output is wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ShuffleFileKind {
    /// The data itself.
    #[default]
    Data,
    /// The index beside it, whose name and encoding follow from the layout.
    Index,
}

/// A half-open byte range of a file: `[offset, offset + length)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    /// Where the range starts, from the beginning of the file.
    pub offset: u64,
    /// How many bytes it spans.
    pub length: u64,
}

/// Unique identifier for the output partition of an operator.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PartitionId {
    /// The job identifier.
    pub job_id: JobId,
    /// The stage identifier within the job.
    pub stage_id: usize,
    /// The partition identifier within the stage.
    pub partition_id: usize,
}

/// Locator for a task within an execution graph: (job, stage, task_id).
///
/// One task processes a partition slice, so the third component is
/// `task_id` — the task's append-order slot in
/// `RunningStage.task_infos`, not a partition index. Sibling to
/// [`PartitionId`] — [`PartitionId`] identifies an operator output
/// partition (shuffle location, etc.), [`TaskKey`] identifies a scheduled
/// task attempt.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskKey {
    /// The job identifier.
    pub job_id: JobId,
    /// The stage identifier within the job.
    pub stage_id: usize,
    /// Task slot within the stage.
    pub task_id: usize,
}

impl PartitionId {
    /// Creates a new partition ID with the given job, stage, and partition identifiers.
    pub fn new(job_id: &JobId, stage_id: usize, partition_id: usize) -> Self {
        Self {
            job_id: job_id.to_owned(),
            stage_id,
            partition_id,
        }
    }
}

/// Location information for a shuffle partition.
#[derive(Debug, Clone)]
pub struct PartitionLocation {
    /// The source partition ID from the map stage.
    pub map_partition_id: usize,
    /// The partition identifier.
    pub partition_id: PartitionId,
    /// Metadata about the executor hosting this partition.
    pub executor_meta: ExecutorMetadata,
    /// Statistics about the partition data.
    pub partition_stats: PartitionStats,
    /// shuffle file id
    pub file_id: Option<u64>,
    /// whether this partition uses sort shuffle
    pub is_sort_shuffle: bool,
}

impl PartitionLocation {
    /// creates file actual file location
    pub fn path(&self, work_dir: &str) -> datafusion::error::Result<PathBuf> {
        create_shuffle_path(
            work_dir,
            &self.partition_id.job_id,
            self.partition_id.stage_id,
            self.partition_id.partition_id,
            self.file_id,
            self.is_sort_shuffle,
        )
    }
}

/// Meta-data for an executor, used when fetching shuffle partitions from other executors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExecutorMetadata {
    /// Unique executor identifier.
    pub id: String,
    /// Hostname or IP address of the executor.
    pub host: String,
    /// Port number for data transfer.
    pub port: u16,
    /// Port number for gRPC communication.
    pub grpc_port: u16,
    /// Resource specification for this executor.
    pub specification: ExecutorSpecification,
    /// OS and hardware info for this executor
    pub os_info: ExecutorOperatingSystemSpecification,
}

/// Specification of an executor, indicating its runtime-assigned vcore count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ExecutorSpecification {
    /// Virtual cores assigned to this executor at runtime — analogous to YARN
    /// vcores (`yarn.nodemanager.resource.cpu-vcores`) or Spark's
    /// `spark.executor.cores`. Not physical `nproc`: may over- or
    /// under-subscribe. One task per executor drives this many DataFusion
    /// partitions in parallel through one plan-Arc.
    pub vcores: u32,
}

impl Default for ExecutorSpecification {
    fn default() -> Self {
        Self { vcores: 1 }
    }
}

impl ExecutorSpecification {
    /// Set the vcore count. See [`ExecutorSpecification::vcores`].
    pub fn with_vcores(mut self, vcores: u32) -> Self {
        self.vcores = vcores;
        self
    }

    /// Deprecated alias for [`Self::with_vcores`].
    #[deprecated(note = "renamed to `with_vcores`")]
    pub fn with_task_slots(self, task_slots: u32) -> Self {
        self.with_vcores(task_slots)
    }

    /// Deprecated getter that returns [`Self::vcores`].
    #[deprecated(note = "the `task_slots` field was renamed to `vcores`")]
    pub fn task_slots(&self) -> u32 {
        self.vcores
    }
}

/// Operating system level specification of an executor
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ExecutorOperatingSystemSpecification {
    /// System name
    pub system_name: String,
    /// Kernel version
    pub kernel_ver: String,
    /// OS version
    pub os_ver: String,
    /// OS version (long)
    pub os_ver_long: String,
    /// Number of physical cores available on this executor
    pub physical_cores: u32,
    /// Number of physical disks available on this executor
    pub num_disks: u32,
    /// Total disk space on this executor, in bytes
    pub total_disk_space: u64,
    /// Total available disk space on this executor, in bytes
    pub total_available_disk_space: u64,
    /// Open files limit on this executor
    pub open_files_limit: u64,
}

impl Default for ExecutorOperatingSystemSpecification {
    fn default() -> Self {
        Self {
            physical_cores: 1,
            num_disks: 2,
            total_disk_space: 1024 * 1024 * 8,
            total_available_disk_space: 1024 * 1024 * 4,
            open_files_limit: 1024,
            system_name: String::from("Ubuntu"),
            kernel_ver: String::from("Linux 6.17.0-20-generic"),
            os_ver: String::from("24.04"),
            os_ver_long: String::from("Linux (Ubuntu 24.04)"),
        }
    }
}

impl ExecutorOperatingSystemSpecification {
    /// Setting number of physical cores for executor
    pub fn with_physical_cores(mut self, physical_cores: u32) -> Self {
        self.physical_cores = physical_cores;
        self
    }

    /// Setting number of disks for executor
    pub fn with_num_disks(mut self, num_disks: u32) -> Self {
        self.num_disks = num_disks;
        self
    }

    /// Setting total disks space for executor
    pub fn with_total_disk_space(mut self, total_disk_space: u64) -> Self {
        self.total_disk_space = total_disk_space;
        self
    }

    /// Setting total available disk space for executor
    pub fn with_total_available_disk_space(
        mut self,
        total_available_disk_space: u64,
    ) -> Self {
        self.total_available_disk_space = total_available_disk_space;
        self
    }

    /// Setting open files limit for executor
    pub fn with_open_files_limit(mut self, open_files_limit: u64) -> Self {
        self.open_files_limit = open_files_limit;
        self
    }

    /// Setting system name for executor
    pub fn with_system_name(mut self, system_name: String) -> Self {
        self.system_name = system_name;
        self
    }

    /// Setting kernel version for executor
    pub fn with_kernel_ver(mut self, kernel_ver: String) -> Self {
        self.kernel_ver = kernel_ver;
        self
    }

    /// Setting OS version for executor
    pub fn with_os_ver(mut self, os_ver: String) -> Self {
        self.os_ver = os_ver;
        self
    }

    /// Setting OS version (longer variant) for executor
    pub fn with_os_ver_long(mut self, os_ver_long: String) -> Self {
        self.os_ver_long = os_ver_long;
        self
    }
}

/// Executor vcore accounting: total assigned vs currently free.
#[derive(Debug, Clone, Serialize)]
pub struct ExecutorData {
    /// Unique executor identifier.
    pub executor_id: String,
    /// Total vcores assigned to this executor. See
    /// [`ExecutorSpecification::vcores`].
    pub total_vcores: u32,
    /// Currently free vcores (total minus reserved).
    pub available_vcores: u32,
}

impl ExecutorData {
    /// Deprecated getter that returns [`Self::total_vcores`].
    #[deprecated(note = "the `total_task_slots` field was renamed to `total_vcores`")]
    pub fn total_task_slots(&self) -> u32 {
        self.total_vcores
    }

    /// Deprecated getter that returns [`Self::available_vcores`].
    #[deprecated(
        note = "the `available_task_slots` field was renamed to `available_vcores`"
    )]
    pub fn available_task_slots(&self) -> u32 {
        self.available_vcores
    }
}

/// Represents a change in an executor's free-vcore count.
pub struct ExecutorDataChange {
    /// Unique executor identifier.
    pub executor_id: String,
    /// Change in free vcores (positive to release, negative to reserve).
    pub vcores: i32,
}

impl ExecutorDataChange {
    /// Deprecated getter that returns [`Self::vcores`].
    #[deprecated(note = "the `task_slots` field was renamed to `vcores`")]
    pub fn task_slots(&self) -> i32 {
        self.vcores
    }
}

/// Summary of executed partition
#[derive(Debug, Copy, Clone, Default)]
pub struct PartitionStats {
    pub(crate) num_rows: Option<u64>,
    pub(crate) num_batches: Option<u64>,
    /// Per-partition byte size reported by the shuffle writer. Read by the
    /// AQE coalesce rule (in `ballista-scheduler`) to bin-pack alignment
    /// groups, so this field is `pub` rather than `pub(crate)`.
    pub(crate) num_bytes: Option<u64>,
}

impl fmt::Display for PartitionStats {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "numBatches={:?}, numRows={:?}, numBytes={:?}",
            self.num_batches, self.num_rows, self.num_bytes
        )
    }
}

impl PartitionStats {
    /// Creates new partition statistics with the given values.
    pub fn new(
        num_rows: Option<u64>,
        num_batches: Option<u64>,
        num_bytes: Option<u64>,
    ) -> Self {
        Self {
            num_rows,
            num_batches,
            num_bytes,
        }
    }

    /// Returns the per-partition byte size, if populated by the writer.
    pub fn num_bytes(&self) -> Option<u64> {
        self.num_bytes
    }

    /// Returns the Arrow struct field representation of these statistics.
    pub fn arrow_struct_repr(self) -> Field {
        Field::new(
            "partition_stats",
            DataType::Struct(self.arrow_struct_fields().into()),
            false,
        )
    }

    /// Returns the Arrow fields for the statistics struct.
    pub fn arrow_struct_fields(self) -> Vec<Field> {
        vec![
            Field::new("num_rows", DataType::UInt64, false),
            Field::new("num_batches", DataType::UInt64, false),
            Field::new("num_bytes", DataType::UInt64, false),
        ]
    }

    /// Converts these statistics to an Arrow struct array.
    pub fn to_arrow_arrayref(self) -> Result<Arc<StructArray>, BallistaError> {
        let mut field_builders = Vec::new();

        let mut num_rows_builder = UInt64Builder::with_capacity(1);
        match self.num_rows {
            Some(n) => num_rows_builder.append_value(n),
            None => num_rows_builder.append_null(),
        }
        field_builders.push(Box::new(num_rows_builder) as Box<dyn ArrayBuilder>);

        let mut num_batches_builder = UInt64Builder::with_capacity(1);
        match self.num_batches {
            Some(n) => num_batches_builder.append_value(n),
            None => num_batches_builder.append_null(),
        }
        field_builders.push(Box::new(num_batches_builder) as Box<dyn ArrayBuilder>);

        let mut num_bytes_builder = UInt64Builder::with_capacity(1);
        match self.num_bytes {
            Some(n) => num_bytes_builder.append_value(n),
            None => num_bytes_builder.append_null(),
        }
        field_builders.push(Box::new(num_bytes_builder) as Box<dyn ArrayBuilder>);

        let mut struct_builder =
            StructBuilder::new(self.arrow_struct_fields(), field_builders);
        struct_builder.append(true);
        Ok(Arc::new(struct_builder.finish()))
    }

    /// Creates partition statistics from an Arrow struct array.
    pub fn from_arrow_struct_array(struct_array: &StructArray) -> PartitionStats {
        let num_rows = struct_array
            .column_by_name("num_rows")
            .expect("from_arrow_struct_array expected a field num_rows")
            .as_any()
            .downcast_ref::<UInt64Array>()
            .expect("from_arrow_struct_array expected num_rows to be a UInt64Array");
        let num_batches = struct_array
            .column_by_name("num_batches")
            .expect("from_arrow_struct_array expected a field num_batches")
            .as_any()
            .downcast_ref::<UInt64Array>()
            .expect("from_arrow_struct_array expected num_batches to be a UInt64Array");
        let num_bytes = struct_array
            .column_by_name("num_bytes")
            .expect("from_arrow_struct_array expected a field num_bytes")
            .as_any()
            .downcast_ref::<UInt64Array>()
            .expect("from_arrow_struct_array expected num_bytes to be a UInt64Array");
        PartitionStats {
            num_rows: Some(num_rows.value(0).to_owned()),
            num_batches: Some(num_batches.value(0).to_owned()),
            num_bytes: Some(num_bytes.value(0).to_owned()),
        }
    }
}

/// Task that can be sent to an executor to execute one stage of a query and write
/// results out to disk
#[derive(Debug, Clone)]
pub struct ExecutePartition {
    /// Unique ID representing this query execution
    pub job_id: JobId,
    /// Unique ID representing this query stage within the overall query
    pub stage_id: usize,
    /// The partitions to execute. The same plan could be sent to multiple executors and each
    /// executor will execute a range of partitions per QueryStageTask
    pub partition_id: Vec<usize>,
    /// The physical plan for this query stage
    pub plan: Arc<dyn ExecutionPlan>,
    /// Location of shuffle partitions that this query stage may depend on
    pub shuffle_locations: HashMap<PartitionId, ExecutorMetadata>,
    /// Output partitioning for shuffle writes
    pub output_partitioning: Option<Partitioning>,
}

impl ExecutePartition {
    /// Creates a new execute partition task.
    pub fn new(
        job_id: JobId,
        stage_id: usize,
        partition_id: Vec<usize>,
        plan: Arc<dyn ExecutionPlan>,
        shuffle_locations: HashMap<PartitionId, ExecutorMetadata>,
        output_partitioning: Option<Partitioning>,
    ) -> Self {
        Self {
            job_id,
            stage_id,
            partition_id,
            plan,
            shuffle_locations,
            output_partitioning,
        }
    }

    /// Returns a unique key string for this partition task.
    pub fn key(&self) -> String {
        format!("{}.{}.{:?}", self.job_id, self.stage_id, self.partition_id)
    }
}

/// Result of executing a partition, containing the output path and statistics.
#[derive(Debug)]
pub struct ExecutePartitionResult {
    /// Path containing results for this partition.
    path: String,
    /// Statistics about the executed partition.
    stats: PartitionStats,
}

impl ExecutePartitionResult {
    /// Creates a new execution result with the given path and statistics.
    pub fn new(path: &str, stats: PartitionStats) -> Self {
        Self {
            path: path.to_owned(),
            stats,
        }
    }

    /// Returns the output file path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Returns the partition statistics.
    pub fn statistics(&self) -> &PartitionStats {
        &self.stats
    }
}

/// Definition of a task to be executed on an executor.
#[derive(Clone, Debug)]
pub struct TaskDefinition {
    /// Append-order slot of this task in `RunningStage.task_infos`. Not a
    /// partition index — one task processes a slice of partitions given
    /// by `global_output_partition_ids`. `(job_id, stage_id, task_id)` is
    /// globally unique.
    pub task_id: usize,
    /// Current attempt number for this task.
    pub task_attempt_num: usize,
    /// Job identifier this task belongs to.
    pub job_id: JobId,
    /// Stage identifier within the job.
    pub stage_id: usize,
    /// Current attempt number for the stage.
    pub stage_attempt_num: usize,
    /// Global partition ids this task's restricted plan covers, in slice
    /// order. `plan.output_partitioning().partition_count() == global_output_partition_ids.len()`
    /// for pass-through shapes; writers use the slice to attach global
    /// identity to shuffle files (with special-casing for plan-level
    /// partitioning resets like SPM and RepartitionExec::Hash).
    pub global_output_partition_ids: Vec<usize>,
    /// Vcores this task consumed from the executor's budget at bind time.
    /// Used to scale the task's memory pool so a task claiming N vcores
    /// gets N/total_vcores of the executor's memory budget.
    pub vcores_consumed: u32,
    /// Physical execution plan for this task.
    pub plan: Arc<dyn ExecutionPlan>,
    /// Timestamp when the task was launched.
    pub launch_time: u64,
    /// Session identifier.
    pub session_id: String,
    /// Session configuration.
    pub session_config: SessionConfig,
    /// Function registry for UDFs.
    pub function_registry: Arc<BallistaFunctionRegistry>,
}

impl From<ShuffleLayout> for protobuf::ShuffleLayout {
    fn from(layout: ShuffleLayout) -> Self {
        match layout {
            ShuffleLayout::Passthrough => protobuf::ShuffleLayout::Passthrough,
            ShuffleLayout::Sort => protobuf::ShuffleLayout::Sort,
        }
    }
}

impl From<protobuf::ShuffleLayout> for ShuffleLayout {
    fn from(layout: protobuf::ShuffleLayout) -> Self {
        match layout {
            protobuf::ShuffleLayout::Passthrough => ShuffleLayout::Passthrough,
            protobuf::ShuffleLayout::Sort => ShuffleLayout::Sort,
        }
    }
}

impl From<ShuffleFileKind> for protobuf::ShuffleFileKind {
    fn from(kind: ShuffleFileKind) -> Self {
        match kind {
            ShuffleFileKind::Data => protobuf::ShuffleFileKind::Data,
            ShuffleFileKind::Index => protobuf::ShuffleFileKind::Index,
        }
    }
}

impl From<protobuf::ShuffleFileKind> for ShuffleFileKind {
    fn from(kind: protobuf::ShuffleFileKind) -> Self {
        match kind {
            protobuf::ShuffleFileKind::Data => ShuffleFileKind::Data,
            protobuf::ShuffleFileKind::Index => ShuffleFileKind::Index,
        }
    }
}
