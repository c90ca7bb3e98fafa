//! Aligned tables for people, laid out by `comfy-table`: no borders, two spaces between columns, a bold
//! header, and (for `-o table` only) the last column cut to the terminal's width with `…`.

use std::io::Write;

use comfy_table::{Cell, ColumnConstraint, ContentArrangement, Row, Table, TableStyle, Width};

use super::{colour_enabled, shown::terminal_safe};

/// Whether a table is cut to the width it is shown in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fit {
    /// `-o table`: the last column is cut with `…` to the terminal's width (`COLUMNS`, else the terminal's own
    /// size); printed elsewhere than a terminal, with no `COLUMNS`, nothing is cut.
    Cut,
    /// `-o wide` and any other full view: every cell whole, however wide the line.
    Whole,
}

/// The narrowest the last column is cut to, even when the columns before it fill the width.
const LAST_COLUMN_AT_LEAST: u16 = 20;

/// The width to cut to: `COLUMNS` when set (as shells export it), else the terminal's (comfy-table asks the
/// terminal when stdout is one), else none.
fn width_from_env() -> Option<u16> {
    std::env::var("COLUMNS").ok().and_then(|c| c.trim().parse().ok()).filter(|w| *w > 0)
}

/// Lays out `rows` under `columns` to the width of `COLUMNS` or the terminal; `paint` gives the colour (an ANSI
/// SGR code) of a row's cell by its column's name. No rows: `(none)`.
pub fn render(
    columns: &[&str],
    rows: &[Vec<String>],
    paint: &dyn Fn(usize, &str) -> Option<&'static str>,
    fit: Fit,
    colour: bool,
) -> String {
    render_with_width(columns, rows, paint, fit, colour, width_from_env())
}

/// [`render`], cut (with [`Fit::Cut`]) to `width` when given, else to the terminal's.
fn render_with_width(
    columns: &[&str],
    rows: &[Vec<String>],
    paint: &dyn Fn(usize, &str) -> Option<&'static str>,
    fit: Fit,
    colour: bool,
    width: Option<u16>,
) -> String {
    if rows.is_empty() {
        return "(none)".into();
    }
    let styled = |text: String, code: Option<&'static str>| match code.filter(|_| colour) {
        Some(code) => Cell::new(format!("\x1b[{code}m{text}\x1b[0m")),
        None => Cell::new(text),
    };
    let mut table = Table::new();
    table.load_style(TableStyle::new()).set_truncation_indicator("…");
    table.set_header(columns.iter().map(|c| styled((*c).to_owned(), Some("1"))).collect::<Vec<_>>());
    for (i, row) in rows.iter().enumerate() {
        // Every cell is shown terminal-safe: most are what the requester or the service chose.
        let cells = row.iter().zip(columns).map(|(cell, column)| styled(terminal_safe(cell), paint(i, column)));
        let mut row = Row::from(cells.collect::<Vec<_>>());
        row.max_height(1);
        table.add_row(row);
    }
    let last = columns.len().saturating_sub(1);
    for (i, column) in table.column_iter_mut().enumerate() {
        if i == last {
            column.set_padding((0, 0));
            column.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(LAST_COLUMN_AT_LEAST)));
        } else {
            column.set_padding((0, 2));
            column.set_constraint(ColumnConstraint::ContentWidth);
        }
    }
    match (fit, width) {
        (Fit::Cut, Some(width)) => {
            table.set_width(width).set_content_arrangement(ContentArrangement::Dynamic);
        }
        // comfy-table asks the terminal its width when stdout is one, and cuts nothing when it is not.
        (Fit::Cut, None) => {
            table.set_content_arrangement(ContentArrangement::Dynamic);
        }
        (Fit::Whole, _) => {
            table.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    table.trim_fmt()
}

/// [`render`] written to `out`, with colour on a terminal (see [`colour_enabled`]).
pub fn table(
    out: &mut dyn Write,
    columns: &[&str],
    rows: &[Vec<String>],
    paint: &dyn Fn(usize, &str) -> Option<&'static str>,
    fit: Fit,
) -> std::io::Result<()> {
    writeln!(out, "{}", render(columns, rows, paint, fit, colour_enabled()))
}

#[cfg(test)]
mod tests;
