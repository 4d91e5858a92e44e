//! What PRINT hands to the caller. The engine does not format tables: the
//! CLI renders a [`Printed`] as a table, CSV or JSON; tests collect them.

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;

/// One dataframe shown by PRINT.
#[derive(Debug, Clone)]
pub struct Printed {
    pub title: Option<String>,
    pub schema: SchemaRef,
    /// The rows shown (at most the PRINT limit).
    pub batches: Vec<RecordBatch>,
    /// Rows shown.
    pub shown: usize,
    /// True when the dataframe has more rows than were shown.
    pub truncated: bool,
    /// The total row count, when `ROWCOUNT` asked for it.
    pub row_count: Option<usize>,
}

/// Receives PRINT output.
pub trait Sink: Send + Sync {
    fn print(&mut self, printed: Printed) -> std::io::Result<()>;

    /// Where long statements (COMPARE MODELS) report live progress; None
    /// (the default): nowhere.
    fn progress(&self) -> Option<std::sync::Arc<dyn Progress>> {
        None
    }
}

/// Live progress of a long statement: steps done of a total, and a message
/// (COMPARE MODELS: the current leader). Called from a thread of its own
/// while the statement runs; nothing of it belongs on stdout.
pub trait Progress: Send + Sync {
    fn start(&self, title: &str, total: u64);
    fn update(&self, done: u64, message: &str);
    fn finish(&self);
}

/// Keeps everything printed, in order (tests, embedding).
#[derive(Debug, Default)]
pub struct CollectSink {
    pub printed: Vec<Printed>,
}

impl Sink for CollectSink {
    fn print(&mut self, printed: Printed) -> std::io::Result<()> {
        self.printed.push(printed);
        Ok(())
    }
}
