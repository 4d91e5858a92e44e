//! A program that speaks fsql's TRANSFORM protocol (docs/transform.md), for
//! the golden files: Arrow IPC streams in on stdin (one per input dataframe
//! per group), one IPC stream out per group. It is a separate program, as a
//! user's would be, so the tests exercise the real process path.
//!
//! Modes (first argument):
//! - `echo`: each group unchanged (the first input's rows).
//! - `count`: one row per group: the key columns, then `n0`, `n1`, ... the
//!   row count of each input.
//! - `params`: one row per group: `params:str`, the FSQL_PARAMS it got.
//! - `save DIR`: writes each group as `DIR/<pid>-<i>.csv` (no answers).
//! - `fail`: prints to stderr and exits with status 3 on the second group.
//! - `garbage`: answers with bytes that are not Arrow IPC.
//! - `wrong_column`: answers with a column `wrong`.
//! - `extra`: answers every group twice.
//! - `sleep`: never answers.

use std::io::{BufReader, BufWriter, Read, Write};
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray, new_empty_array};
use datafusion::arrow::csv::Writer as CsvWriter;
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::ipc::writer::StreamWriter;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = args.first().map(String::as_str).unwrap_or("echo");
    let inputs: usize = std::env::var("FSQL_INPUTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let keys: Vec<String> =
        serde_json::from_str(&std::env::var("FSQL_KEYS").unwrap_or("[]".into())).unwrap();
    let mut stdin = BufReader::new(std::io::stdin().lock());
    let mut stdout = BufWriter::new(std::io::stdout().lock());
    if mode == "garbage" {
        stdout.write_all(b"this is not arrow\n").unwrap();
        return;
    }
    if mode == "sleep" {
        std::thread::sleep(std::time::Duration::from_secs(120));
        return;
    }
    let mut group = 0;
    loop {
        if stdin.fill_buf_empty() {
            break;
        }
        let frames: Vec<RecordBatch> = (0..inputs).map(|_| read_stream(&mut stdin)).collect();
        // fsql sends plain types any Arrow library reads, never view types.
        for f in &frames {
            for field in f.schema().fields() {
                if matches!(field.data_type(), DataType::Utf8View | DataType::BinaryView) {
                    eprintln!("got a view type: {field:?}");
                    std::process::exit(5);
                }
            }
        }
        group += 1;
        let answer = match mode {
            "echo" => frames[0].clone(),
            "count" => count(&frames, &keys),
            "params" => one_string("params", &std::env::var("FSQL_PARAMS").unwrap_or_default()),
            "save" => {
                let dir = std::path::Path::new(&args[1]);
                std::fs::create_dir_all(dir).unwrap();
                let path = dir.join(format!("{}-{group}.csv", std::process::id()));
                let mut w = CsvWriter::new(std::fs::File::create(path).unwrap());
                w.write(&frames[0]).unwrap();
                continue;
            }
            "fail" if group == 2 => {
                eprintln!("starting group {group}");
                eprintln!("ValueError: boom in group {group}");
                std::process::exit(3);
            }
            "fail" => frames[0].clone(),
            "wrong_column" => one_string("wrong", "x"),
            "extra" => {
                write_stream(&mut stdout, &frames[0]);
                frames[0].clone()
            }
            other => {
                eprintln!("unknown mode {other}");
                std::process::exit(2);
            }
        };
        write_stream(&mut stdout, &answer);
    }
    stdout.flush().unwrap();
}

trait AtEnd {
    fn fill_buf_empty(&mut self) -> bool;
}

impl<R: Read> AtEnd for BufReader<R> {
    fn fill_buf_empty(&mut self) -> bool {
        use std::io::BufRead;
        self.fill_buf().map(|b| b.is_empty()).unwrap_or(true)
    }
}

fn read_stream(r: &mut impl Read) -> RecordBatch {
    let reader = StreamReader::try_new(r, None).expect("an IPC stream");
    let schema = reader.schema();
    let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
    datafusion::arrow::compute::concat_batches(&schema, &batches).unwrap()
}

fn write_stream(w: &mut impl Write, batch: &RecordBatch) {
    let mut s = StreamWriter::try_new(w, &batch.schema()).unwrap();
    s.write(batch).unwrap();
    s.finish().unwrap();
}

fn one_string(name: &str, value: &str) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![Field::new(name, DataType::Utf8, true)]));
    RecordBatch::try_new(schema, vec![Arc::new(StringArray::from(vec![value]))]).unwrap()
}

/// The key values (from the first input that has rows) and each input's
/// row count.
fn count(frames: &[RecordBatch], keys: &[String]) -> RecordBatch {
    let source = frames
        .iter()
        .find(|f| f.num_rows() > 0)
        .unwrap_or(&frames[0]);
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for k in keys {
        let col = source.column_by_name(k).expect("key column");
        fields.push(Field::new(k, col.data_type().clone(), true));
        columns.push(if source.num_rows() > 0 {
            col.slice(0, 1)
        } else {
            new_empty_array(col.data_type())
        });
    }
    for (i, f) in frames.iter().enumerate() {
        fields.push(Field::new(format!("n{i}"), DataType::Int64, false));
        columns.push(Arc::new(Int64Array::from(vec![f.num_rows() as i64])));
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
}
