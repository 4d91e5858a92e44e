//! How PRINT output is written: boxed tables (comfy-table) with types and row
//! counts, markdown tables, or machine-readable CSV / TSV / JSON with titles
//! and notes on stderr, so `fsql run x.fsql --format csv > out.csv` is clean.
//! Output goes to stdout, or to a file (`\o FILE` in the REPL).

use std::io::Write;
use std::sync::{Arc, Mutex, MutexGuard};

use comfy_table::presets::{ASCII_MARKDOWN, UTF8_FULL_CONDENSED};
use comfy_table::{Cell, ContentArrangement, Table};
use datafusion::arrow::json::{ArrayWriter, WriterBuilder as JsonWriterBuilder};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use fsql_engine::types::fugue_name;
use fsql_engine::write::CsvSpec;
use fsql_engine::{Printed, Progress, Session, Sink};
use indicatif::ProgressBar;

use crate::args::OutputFormat;

/// Where results are written; cheap to clone, shared by the sinks. A
/// progress spinner registered here is cleared before anything is written,
/// so it never mixes with results.
#[derive(Clone)]
pub struct Output {
    writer: Arc<Mutex<Box<dyn Write + Send>>>,
    progress: Arc<Mutex<Option<ProgressBar>>>,
}

/// Standard output that a reader may stop reading (`fsql run x.fsql |
/// head`): once the pipe is closed, output is dropped quietly and the script
/// runs on (its SAVEs still happen), as a shell user expects, instead of
/// every later PRINT failing with "Broken pipe".
struct Stdout {
    gone: bool,
}

impl Stdout {
    fn quiet(&mut self, r: std::io::Result<usize>, len: usize) -> std::io::Result<usize> {
        match r {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.gone = true;
                Ok(len)
            }
            r => r,
        }
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.gone {
            return Ok(buf.len());
        }
        let r = std::io::stdout().write(buf);
        self.quiet(r, buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.gone {
            return Ok(());
        }
        let r = std::io::stdout().flush().map(|_| 0);
        self.quiet(r, 0).map(|_| ())
    }
}

impl Output {
    pub fn stdout() -> Self {
        Self::new(Box::new(Stdout { gone: false }))
    }

    pub fn file(file: std::fs::File) -> Self {
        Self::new(Box::new(std::io::BufWriter::new(file)))
    }

    fn new(writer: Box<dyn Write + Send>) -> Self {
        Self {
            writer: Arc::new(Mutex::new(writer)),
            progress: Arc::new(Mutex::new(None)),
        }
    }

    /// The spinner to clear when output starts (None: no spinner).
    pub fn set_progress(&self, bar: Option<ProgressBar>) {
        *self.progress.lock().unwrap_or_else(|e| e.into_inner()) = bar;
    }

    /// Clears the spinner or bar shown now, if any.
    pub fn clear_progress(&self) {
        if let Some(bar) = self
            .progress
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            bar.finish_and_clear();
        }
    }

    /// Live progress drawn on stderr next to this output.
    fn reporter(&self) -> Arc<dyn Progress> {
        Arc::new(crate::progress::StderrProgress::new(self.clone()))
    }

    fn lock(&self) -> MutexGuard<'_, Box<dyn Write + Send>> {
        if let Some(bar) = self
            .progress
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            bar.finish_and_clear();
        }
        // A panic while printing cannot leave the writer half-borrowed in a
        // way that matters; keep printing.
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub fn for_format(format: OutputFormat, out: Output) -> Box<dyn Sink> {
    match format {
        OutputFormat::Table => Box::new(TableSink {
            out,
            markdown: false,
        }),
        OutputFormat::Markdown => Box::new(TableSink {
            out,
            markdown: true,
        }),
        OutputFormat::Csv => Box::new(CsvSink {
            out,
            delimiter: b',',
        }),
        OutputFormat::Tsv => Box::new(CsvSink {
            out,
            delimiter: b'\t',
        }),
        OutputFormat::Json => Box::new(JsonSink { out }),
    }
}

/// Shows the session's last dataframe (at most `rows` rows).
pub async fn print_last(session: &mut Session, rows: Option<u64>) -> fsql_engine::Result<()> {
    session.print_last(rows, false).await
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

struct TableSink {
    out: Output,
    markdown: bool,
}

impl Sink for TableSink {
    fn progress(&self) -> Option<Arc<dyn Progress>> {
        Some(self.out.reporter())
    }

    fn print(&mut self, p: Printed) -> std::io::Result<()> {
        let mut out = self.out.lock();
        if let Some(t) = &p.title {
            writeln!(out, "{t}")?;
        }
        let mut table = Table::new();
        if self.markdown {
            table.load_preset(ASCII_MARKDOWN);
            table.set_header(p.schema.fields().iter().map(|f| Cell::new(f.name())));
        } else {
            table.load_preset(UTF8_FULL_CONDENSED);
            // Fit the terminal's width, unless it reports none worth using
            // (e.g. a pseudo-terminal without a size).
            if table.width().is_none_or(|w| w >= 40) {
                table.set_content_arrangement(ContentArrangement::Dynamic);
            }
            table.set_header(
                p.schema
                    .fields()
                    .iter()
                    .map(|f| Cell::new(format!("{}\n{}", f.name(), fugue_name(f.data_type())))),
            );
        }
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

struct CsvSink {
    out: Output,
    delimiter: u8,
}

impl Sink for CsvSink {
    fn progress(&self) -> Option<Arc<dyn Progress>> {
        Some(self.out.reporter())
    }

    fn print(&mut self, p: Printed) -> std::io::Result<()> {
        let mut out = self.out.lock();
        if let Some(t) = &p.title {
            eprintln!("{t}");
        }
        // The same convention as SAVE's CSV files (docs/semantics.md).
        let spec = CsvSpec {
            header: true,
            delimiter: self.delimiter,
            ..CsvSpec::default()
        };
        let mut writer = spec.writer().build(&mut *out);
        if p.batches.is_empty() {
            drop(writer);
            let names: Vec<&str> = p
                .schema
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect();
            writeln!(out, "{}", names.join(&(self.delimiter as char).to_string()))?;
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

struct JsonSink {
    out: Output,
}

impl Sink for JsonSink {
    fn progress(&self) -> Option<Arc<dyn Progress>> {
        Some(self.out.reporter())
    }

    fn print(&mut self, p: Printed) -> std::io::Result<()> {
        let mut out = self.out.lock();
        if let Some(t) = &p.title {
            eprintln!("{t}");
        }
        let mut writer: ArrayWriter<_> = JsonWriterBuilder::new()
            .with_explicit_nulls(true)
            .build(&mut *out);
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
