//! Where the bot's lines go: the audit trail (stdout, or a file opened for appending) and, beside a file, each
//! decision shown on stdout in the `--output` format.

use std::{io::Write, path::PathBuf};

use serde_json::Value;

use crate::output::{self, Format, Row};

/// Where audit lines go. Each line is written and flushed (for a file, synced to disk) before the bot goes on:
/// no decision is sent before its intent line is written, none is reported done before its outcome line is,
/// and after a line that cannot be written the bot decides nothing more (exit status 8).
pub struct Audit {
    trail: Trail,
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
        Ok(Self { trail, show, table: Vec::new() })
    }

    /// Writes one line of intent (before a decision is sent) to the trail.
    pub fn intent(&mut self, line: &Value) -> Result<(), AuditFailed> {
        self.write(line)
    }

    /// Writes one outcome to the trail, then shows it.
    pub fn outcome(&mut self, line: &Value) -> Result<(), AuditFailed> {
        self.write(line)?;
        let row = AuditRow(line.clone());
        // What stdout shows is a view of the trail: a reader that went away misses it, the trail does not.
        let _ = match self.show {
            None | Some(Format::None) => Ok(()),
            Some(Format::Table | Format::Wide) => {
                self.table.push(line.clone());
                Ok(())
            }
            Some(Format::Json | Format::Jsonl) => output::line(line),
            Some(Format::Yaml) => output::line(format!("---\n{}", crate::render::yaml(line).trim_end())),
            Some(Format::Tsv) => output::line(output::tsv_line(&row.raw_cells())),
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

    /// Writes one line, and makes it durable: flushed, and for a file synced to disk.
    fn write(&mut self, line: &Value) -> Result<(), AuditFailed> {
        let result = match &mut self.trail {
            Trail::Stdout => output::line(line),
            Trail::File(file) => writeln!(file, "{line}").and_then(|()| file.flush()).and_then(|()| file.sync_data()),
            Trail::Nothing => Ok(()),
        };
        result.map_err(|error| AuditFailed { line: line.to_string(), error })
    }
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
