//! Output formats: `table` and `wide` for people, `json`, `jsonl`, `yaml` and `tsv` for scripts, `none`; the
//! same for every command. A command gives what it prints (rows, one item, or an item of a stream) and this
//! module prints it in the format, in one place ([`print()`]); a `--query` (JMESPath, `query.rs`) is applied to
//! the JSON form first. Text for a terminal is made safe by `shown.rs`; tables are laid out by `table.rs`; the
//! one way to stderr is `stderr.rs` (`say!`).

#[macro_use]
pub mod stderr;
mod query;
mod shown;
pub mod table;

use std::io::{IsTerminal, Write};

use clap::ValueEnum;
use serde_json::Value;

pub use query::{QueryFailed, check_query};
pub use shown::{Shown, for_a_person, terminal_safe};
use table::{Fit, table};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for people (the default on a terminal).
    Table,
    /// The table with more columns (full resource ids, created and expiry times, duration, ...).
    Wide,
    /// One JSON document: an array for lists, an object for one item.
    Json,
    /// One JSON object per line (the default for `watch` when piped).
    Jsonl,
    /// One YAML document (a `---` document per event or decision when streamed).
    Yaml,
    /// Tab-separated raw values, no header (the columns of `wide`; ISO 8601 times, durations in seconds).
    Tsv,
    /// Nothing on stdout (the exit status and stderr only).
    None,
}

/// How a command prints: the format (None: the command's default) and an optional JMESPath query.
#[derive(Clone, Default)]
pub struct Output {
    pub format: Option<Format>,
    pub query: Option<String>,
}

/// Something printed as one row of a table, one object in JSON.
pub trait Row {
    const COLUMNS: &'static [&'static str];
    /// The columns of `-o wide` and, without a header, of `-o tsv`.
    const WIDE: &'static [&'static str] = Self::COLUMNS;
    fn cells(&self) -> Vec<String>;
    fn json(&self) -> Value;
    /// The cells of `-o wide`, for people.
    fn wide_cells(&self) -> Vec<String> {
        self.cells()
    }
    /// The cells of `-o tsv`: the wide columns as raw values (ISO 8601 times, durations in seconds).
    fn raw_cells(&self) -> Vec<String> {
        self.wide_cells()
    }
    /// The colour on a terminal (an ANSI SGR code) of the cell in the column of this name, if any.
    fn colour(&self, _column: &str) -> Option<&'static str> {
        None
    }
}

/// True when colour may be used on stdout: a terminal, and no `NO_COLOR`.
pub fn colour_enabled() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// What a document shows a person: written to stdout, as `table` (false) or `wide` (true).
type ForAPerson<'a> = Box<dyn FnOnce(&mut dyn Write, bool) -> std::io::Result<()> + 'a>;

/// What a command prints, in each format, made only for the format asked.
struct Document<'a> {
    /// The JSON form: `json` prints it, `jsonl` each of its items (an array's, or the value), `yaml` it as YAML;
    /// a `--query` reads it.
    json: Box<dyn FnOnce() -> Value + 'a>,
    /// The lines of `tsv`.
    tsv: Box<dyn FnOnce() -> Vec<String> + 'a>,
    /// What `table` (false) and `wide` (true) show a person.
    person: ForAPerson<'a>,
    ending: Ending,
}

/// How a document is printed in JSON and YAML.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// The whole output (a list, a query's result): pretty JSON; a YAML document as written.
    Whole,
    /// One item: pretty JSON; a YAML document ending in one line break.
    One,
    /// An item of a stream: JSON on one line; a YAML document that starts with `---`.
    Stream,
}

/// The one dispatcher: prints `document` in `format`, and flushes.
fn print(format: Format, document: Document<'_>) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    let json = || (document.json)();
    match format {
        Format::None => return Ok(()),
        Format::Json if document.ending == Ending::Stream => writeln!(out, "{}", json()),
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&json()).unwrap_or_default()),
        Format::Jsonl => match json() {
            Value::Array(items) => items.iter().try_for_each(|item| writeln!(out, "{item}")),
            one => writeln!(out, "{one}"),
        },
        Format::Yaml => {
            let yaml = serde_yaml_ng::to_string(&json()).unwrap_or_default();
            match document.ending {
                Ending::Whole => write!(out, "{yaml}"),
                Ending::One => writeln!(out, "{}", yaml.trim_end()),
                Ending::Stream => writeln!(out, "---\n{}", yaml.trim_end()),
            }
        }
        Format::Tsv => (document.tsv)().iter().try_for_each(|line| writeln!(out, "{line}")),
        Format::Table => (document.person)(&mut out, false),
        Format::Wide => (document.person)(&mut out, true),
    }
    .and_then(|()| out.flush())
}

/// Prints `document`, or what `query` gives of its JSON form; a reader that went away misses it, nothing else
/// is to be done.
fn print_queried(output: &Output, document: Document<'_>) -> Result<(), QueryFailed> {
    let format = output.format.unwrap_or(Format::Table);
    let document = match &output.query {
        // `none` prints nothing: the query is not even run.
        Some(_) if format == Format::None => return Ok(()),
        Some(query) => query::document(query::apply(query, &(document.json)())?),
        None => document,
    };
    let _ = print(format, document);
    Ok(())
}

/// Prints a list in the format (after the query, if any); an empty table says so. `table` cuts the last column
/// to the terminal; `wide` shows every cell whole: it is the view for reading the justification in full.
pub fn list<R: Row>(output: &Output, rows: &[R]) -> Result<(), QueryFailed> {
    let paint = |i: usize, column: &str| rows.get(i).and_then(|r| r.colour(column));
    print_queried(
        output,
        Document {
            json: Box::new(|| Value::Array(rows.iter().map(R::json).collect())),
            tsv: Box::new(|| rows.iter().map(|row| tsv_line(&row.raw_cells())).collect()),
            person: Box::new(move |out, wide| match wide {
                false => table(out, R::COLUMNS, &rows.iter().map(R::cells).collect::<Vec<_>>(), &paint, Fit::Cut),
                true => table(out, R::WIDE, &rows.iter().map(R::wide_cells).collect::<Vec<_>>(), &paint, Fit::Whole),
            }),
            ending: Ending::Whole,
        },
    )
}

/// Prints one item (after the query, if any): an object in JSON or YAML; one line in TSV; `table` and `wide`
/// print `text`, for a person.
pub fn one<R: Row>(output: &Output, row: &R, text: impl FnOnce() -> String) -> Result<(), QueryFailed> {
    print_queried(
        output,
        Document {
            json: Box::new(|| row.json()),
            tsv: Box::new(|| vec![tsv_line(&row.raw_cells())]),
            person: Box::new(|out, _| writeln!(out, "{}", for_a_person(&text()))),
            ending: Ending::One,
        },
    )
}

/// Prints one item of a stream as it happens (a watch event, an outcome of the bot): JSON on one line, a `---`
/// YAML document, a TSV line; `table` and `wide` print `text` as it is. An error means the reader went away.
pub fn streamed<R: Row>(format: Format, row: &R, text: impl FnOnce() -> String) -> std::io::Result<()> {
    let document = Document {
        json: Box::new(|| row.json()),
        tsv: Box::new(|| vec![tsv_line(&row.raw_cells())]),
        person: Box::new(|out, _| writeln!(out, "{}", text())),
        ending: Ending::Stream,
    };
    print(format, document)
}

/// Writes `text` and a line break to stdout, and flushes. Unlike `println!`, a closed stdout (a reader that went
/// away, as `head -1` does) is an error to handle, not a panic.
pub fn line(text: impl std::fmt::Display) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}").and_then(|()| out.flush())
}

/// One line of tab-separated values: tabs and line breaks in a cell become spaces.
pub fn tsv_line(cells: &[String]) -> String {
    cells.iter().map(|c| c.replace(['\t', '\n', '\r'], " ")).collect::<Vec<_>>().join("\t")
}
