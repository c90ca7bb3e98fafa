//! Where the bot's lines go: the audit trail (stdout, or a file opened for appending) and, beside a file, each
//! decision shown on stdout in the `--output` format.

use std::{
    io::{Read, Seek, Write},
    path::PathBuf,
};

use serde_json::Value;

use super::record::AuditRecord;
use crate::output::{self, Format, Row};

/// Where audit lines go. Each line is written and flushed (for a file, synced to disk) before the bot goes on:
/// no decision is sent before its intent line is written, none is reported done before its outcome line is,
/// and after a line that cannot be written the bot decides nothing more (exit status 8).
pub struct Audit {
    trail: Trail,
    /// The file, when the trail is one: read back at start to settle intents left open.
    path: Option<PathBuf>,
    /// How the outcomes are shown on stdout, when stdout is not the trail.
    show: Option<Format>,
    /// The outcomes of this pass, for a table (aligned, so printed when the pass ends).
    table: Vec<Value>,
}

enum Trail {
    Stdout,
    File(std::fs::File),
    /// A dry run shown on stdout in a format that is not JSON lines: it decides nothing, so has nothing to audit.
    Nothing,
}

/// An audit line that could not be written: the bot stops.
pub struct AuditFailed {
    /// What the line said.
    pub line: String,
    /// Why it could not be written.
    pub error: std::io::Error,
}

impl Audit {
    /// The trail (`--audit FILE`, else stdout) and how stdout shows each outcome (`--output`). Without a file,
    /// stdout is the trail, in JSON lines: another format is for a dry run, which decides nothing.
    pub fn open(path: Option<&PathBuf>, format: Option<Format>, dry_run: bool) -> Result<Self, String> {
        let (trail, show) = match (path, format) {
            (Some(path), format) => (
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .and_then(|file| end_torn_line(path, file))
                    .map(Trail::File)
                    .map_err(|e| format!("cannot open the audit file {}: {e}", path.display()))?,
                format,
            ),
            (None, None | Some(Format::Json | Format::Jsonl)) => (Trail::Stdout, None),
            (None, Some(format)) if dry_run => (Trail::Nothing, Some(format)),
            (None, Some(format)) => {
                return Err(format!(
                    "without --audit FILE, stdout is the audit trail, in JSON lines: give --audit FILE to show the \
                     decisions as {} on stdout (or --dry-run, which decides nothing)",
                    format!("{format:?}").to_lowercase()
                ));
            }
        };
        Ok(Self { trail, show, path: path.cloned(), table: Vec::new() })
    }

    /// The lines of the trail so far, when it is a file, for recovery: each line read as an [`AuditRecord`], or
    /// the text of a line that is not one. `None` when the trail is stdout (it cannot be read back).
    pub fn read_back(&self) -> Option<std::io::Result<Vec<Result<AuditRecord, String>>>> {
        let path = self.path.as_ref().filter(|path| path.is_file())?;
        let read = std::fs::read_to_string(path).map(|text| {
            text.lines()
                .filter(|line| !line.trim().is_empty())
                .map(|line| serde_json::from_str(line).map_err(|_| line.to_owned()))
                .collect()
        });
        Some(read)
    }

    /// Writes one line of intent (before a decision is sent) to the trail.
    pub fn intent(&mut self, record: &AuditRecord) -> Result<(), AuditFailed> {
        self.write(&record.to_line())
    }

    /// Writes one outcome to the trail, then shows it.
    pub fn outcome(&mut self, record: &AuditRecord) -> Result<(), AuditFailed> {
        self.write(&record.to_line())?;
        let line = record.to_value();
        let row = AuditRow(line.clone());
        // What stdout shows is a view of the trail: a reader that went away misses it, the trail does not.
        let _ = match self.show {
            None | Some(Format::None) => Ok(()),
            Some(Format::Table | Format::Wide) => {
                self.table.push(line.clone());
                Ok(())
            }
            Some(format) => output::streamed(format, &row, String::new),
        };
        Ok(())
    }

    /// Shows the outcomes of the pass as a table, if that is the format and there were any.
    pub fn end_pass(&mut self) {
        if self.table.is_empty() {
            return;
        }
        let rows: Vec<AuditRow> = std::mem::take(&mut self.table).into_iter().map(AuditRow).collect();
        let format = self.show.unwrap_or(Format::Table);
        let _ = output::list(&output::Output { format: Some(format), query: None }, &rows);
    }

    /// Writes one line, and makes it durable: flushed, and for a file synced to disk. The line and its newline
    /// go in one write, so a bot killed while writing leaves at worst one torn last line (which the next start
    /// ends, and recovery skips: a torn intent was never followed by its decision).
    fn write(&mut self, line: &str) -> Result<(), AuditFailed> {
        let result = match &mut self.trail {
            Trail::Stdout => output::line(line),
            Trail::File(file) => file
                .write_all(format!("{line}\n").as_bytes())
                .and_then(|()| file.flush())
                .and_then(|()| file.sync_data()),
            Trail::Nothing => Ok(()),
        };
        result.map_err(|error| AuditFailed { line: line.to_owned(), error })
    }
}

/// Ends a last line torn by a bot killed while writing it, so that the next line starts on a line of its own.
/// Only a regular file is read back (`/dev/full`, a pipe or a terminal never is).
fn end_torn_line(path: &std::path::Path, mut file: std::fs::File) -> std::io::Result<std::fs::File> {
    if !path.is_file() {
        return Ok(file);
    }
    let mut reader = std::fs::File::open(path)?;
    let length = reader.seek(std::io::SeekFrom::End(0))?;
    if length > 0 {
        let mut last = [0u8; 1];
        reader.seek(std::io::SeekFrom::Start(length.saturating_sub(1)))?;
        reader.read_exact(&mut last)?;
        if last[0] != b'\n' {
            file.write_all(b"\n")?;
            file.sync_data()?;
        }
    }
    Ok(file)
}

/// An audit line (or a `policy explain` verdict) as a row.
pub struct AuditRow(pub Value);

impl AuditRow {
    fn text(&self, key: &str) -> String {
        match &self.0[key] {
            Value::Null => String::new(),
            Value::String(text) => text.clone(),
            other => other.to_string(),
        }
    }
}

impl Row for AuditRow {
    const COLUMNS: &'static [&'static str] = &["REQUEST", "SUBSCRIPTION", "RULE", "DECISION", "OUTCOME"];
    const WIDE: &'static [&'static str] = &[
        "TIME",
        "REQUEST",
        "SUBSCRIPTION",
        "RULE",
        "DECISION",
        "OUTCOME",
        "DRY RUN",
        "REASON",
        "SERVICE REQUEST ID",
        "ERROR",
    ];

    fn cells(&self) -> Vec<String> {
        ["request", "subscription", "rule", "decision", "outcome"].iter().map(|k| self.text(k)).collect()
    }

    fn wide_cells(&self) -> Vec<String> {
        [
            "time",
            "request",
            "subscription",
            "rule",
            "decision",
            "outcome",
            "dryRun",
            "reason",
            "serviceRequestId",
            "error",
        ]
        .iter()
        .map(|k| self.text(k))
        .collect()
    }

    fn json(&self) -> Value {
        self.0.clone()
    }
}
