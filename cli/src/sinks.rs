//! How PRINT output is written: boxed tables (comfy-table) with types and row
//! counts, or machine-readable CSV / JSON on stdout with titles and notes on
//! stderr, so `fsql run x.fsql --format csv > out.csv` is clean.

use std::io::Write;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, ContentArrangement, Table};
use datafusion::arrow::csv::WriterBuilder as CsvWriterBuilder;
use datafusion::arrow::json::{ArrayWriter, WriterBuilder as JsonWriterBuilder};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use fsql_engine::types::fugue_name;
use fsql_engine::{Printed, Session, Sink};

use crate::args::OutputFormat;

pub fn for_format(format: OutputFormat) -> Box<dyn Sink> {
    match format {
        OutputFormat::Table => Box::new(TableSink),
        OutputFormat::Csv => Box::new(CsvSink),
        OutputFormat::Json => Box::new(JsonSink),
    }
}

/// Shows the session's last dataframe (at most `rows` rows).
pub async fn print_last(session: &mut Session, rows: Option<u64>) -> fsql_engine::Result<()> {
    session.print_last(rows).await
}

fn note(p: &Printed) -> String {
    let rows = |n: usize| {
        if n == 1 {
            "1 row".to_string()
        } else {
            format!("{n} rows")
        }
    };
    match (p.row_count, p.truncated) {
        (Some(total), true) => format!("{} ({} shown)", rows(total), p.shown),
        (Some(total), false) => rows(total),
        (None, true) => format!("{} shown, more not shown", rows(p.shown)),
        (None, false) => rows(p.shown),
    }
}

struct TableSink;

impl Sink for TableSink {
    fn print(&mut self, p: Printed) -> std::io::Result<()> {
        let mut out = std::io::stdout().lock();
        if let Some(t) = &p.title {
            writeln!(out, "{t}")?;
        }
        let mut table = Table::new();
        table
            .load_preset(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic);
        table.set_header(
            p.schema
                .fields()
                .iter()
                .map(|f| Cell::new(format!("{}\n{}", f.name(), fugue_name(f.data_type())))),
        );
        let options = FormatOptions::default().with_null("NULL");
        for batch in &p.batches {
            let formatters: Vec<ArrayFormatter> = batch
                .columns()
                .iter()
                .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
                .collect::<Result<_, _>>()
                .map_err(std::io::Error::other)?;
            for row in 0..batch.num_rows() {
                table.add_row(formatters.iter().map(|f| Cell::new(f.value(row))));
            }
        }
        writeln!(out, "{table}")?;
        writeln!(out, "{}", note(&p))?;
        out.flush()
    }
}

struct CsvSink;

impl Sink for CsvSink {
    fn print(&mut self, p: Printed) -> std::io::Result<()> {
        if let Some(t) = &p.title {
            eprintln!("{t}");
        }
        let mut out = std::io::stdout().lock();
        let mut writer = CsvWriterBuilder::new().with_header(true).build(&mut out);
        if p.batches.is_empty() {
            let names: Vec<&str> = p
                .schema
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect();
            drop(writer);
            writeln!(out, "{}", names.join(","))?;
        } else {
            for b in &p.batches {
                writer.write(b).map_err(std::io::Error::other)?;
            }
            drop(writer);
        }
        if p.truncated || p.row_count.is_some() {
            eprintln!("{}", note(&p));
        }
        out.flush()
    }
}

struct JsonSink;

impl Sink for JsonSink {
    fn print(&mut self, p: Printed) -> std::io::Result<()> {
        if let Some(t) = &p.title {
            eprintln!("{t}");
        }
        let mut out = std::io::stdout().lock();
        let mut writer: ArrayWriter<_> = JsonWriterBuilder::new()
            .with_explicit_nulls(true)
            .build(&mut out);
        for b in &p.batches {
            writer.write(b).map_err(std::io::Error::other)?;
        }
        writer.finish().map_err(std::io::Error::other)?;
        drop(writer);
        if p.batches.iter().all(|b| b.num_rows() == 0) {
            // ArrayWriter writes nothing for no rows; an empty array is valid JSON.
            write!(out, "[]")?;
        }
        writeln!(out)?;
        if p.truncated || p.row_count.is_some() {
            eprintln!("{}", note(&p));
        }
        out.flush()
    }
}
