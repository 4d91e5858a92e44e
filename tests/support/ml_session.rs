//! A session as the COMPARE MODELS and forecast tests drive it: progress
//! events recorded, PRINT output dropped, models in a folder of the test's
//! own; and the last dataframe as text rows.

use std::sync::{Arc, Mutex};

use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use fsql_engine::{Printed, Progress, Session, Sink};

use crate::Target;

/// Progress events, as the CLI's bar would get them.
#[derive(Default)]
pub struct Events(pub Mutex<Vec<String>>);

impl Progress for Events {
    fn start(&self, title: &str, total: u64) {
        self.0
            .lock()
            .unwrap()
            .push(format!("start {total} {title}"));
    }
    fn update(&self, done: u64, message: &str) {
        self.0
            .lock()
            .unwrap()
            .push(format!("update {done} {message}"));
    }
    fn finish(&self) {
        self.0.lock().unwrap().push("finish".to_string());
    }
}

pub struct Recording(pub Arc<Events>);

impl Sink for Recording {
    fn print(&mut self, _: Printed) -> std::io::Result<()> {
        Ok(())
    }
    fn progress(&self) -> Option<Arc<dyn Progress>> {
        Some(self.0.clone())
    }
}

pub fn root() -> &'static str {
    concat!(env!("CARGO_MANIFEST_DIR"), "/..")
}

pub async fn session(target: &Target, models: &std::path::Path, events: Arc<Events>) -> Session {
    let mut s = Session::open(
        target.engine,
        target.cluster.clone(),
        Box::new(Recording(events)),
    )
    .await
    .unwrap();
    s.set_model_dir(models);
    s
}

/// The last dataframe as text rows (header first), without `TT (Sec)`.
pub async fn rows(s: &Session) -> Vec<Vec<String>> {
    let df = s.last().unwrap().clone();
    let batches = df.collect().await.unwrap();
    let mut out = Vec::new();
    let options = FormatOptions::default().with_null("NULL");
    for b in &batches {
        let schema = b.schema();
        if out.is_empty() {
            out.push(
                schema
                    .fields()
                    .iter()
                    .filter(|f| f.name() != "TT (Sec)")
                    .map(|f| f.name().clone())
                    .collect(),
            );
        }
        let keep: Vec<usize> = (0..b.num_columns())
            .filter(|i| schema.field(*i).name() != "TT (Sec)")
            .collect();
        let formatters: Vec<ArrayFormatter> = keep
            .iter()
            .map(|i| ArrayFormatter::try_new(b.column(*i), &options).unwrap())
            .collect();
        for r in 0..b.num_rows() {
            out.push(formatters.iter().map(|f| f.value(r).to_string()).collect());
        }
    }
    out
}

/// A session on the threads engine with models in `models`, and its
/// progress events.
pub async fn threads_session(models: &std::path::Path) -> (Session, Arc<Events>) {
    let target = Target {
        engine: fsql_engine::Engine::Threads,
        cluster: fsql_engine::ClusterOptions::default(),
    };
    let events = Arc::new(Events::default());
    (session(&target, models, events.clone()).await, events)
}
