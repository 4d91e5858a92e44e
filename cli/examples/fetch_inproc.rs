//! The in-process anchor of bench/serve.sh: runs a query in an fsql session
//! (threads engine) and pulls its batches as `fsql serve` would before
//! encoding them, printing `{"rows":..,"bytes":..,"seconds":..}`.
//!
//!   cargo run --release -p fsql-cli --example fetch_inproc -- "SELECT ..."

use std::time::Instant;

use futures::StreamExt;

#[tokio::main]
async fn main() {
    let query = std::env::args().nth(1).expect("a query");
    let mut session = fsql_engine::Session::new(fsql_engine::Engine::Threads)
        .await
        .expect("a session");
    let started = Instant::now();
    session.run(&query).await.expect("the query plans");
    let df = session.last().cloned().expect("a result");
    let mut stream = df.execute_stream().await.expect("the query runs");
    let (mut rows, mut bytes) = (0usize, 0usize);
    while let Some(batch) = stream.next().await {
        let batch = batch.expect("a batch");
        rows += batch.num_rows();
        bytes += batch.get_array_memory_size();
    }
    println!(
        "{{\"rows\":{rows},\"bytes\":{bytes},\"seconds\":{}}}",
        started.elapsed().as_secs_f64()
    );
}
