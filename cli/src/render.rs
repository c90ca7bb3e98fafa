//! `--query` (JMESPath, as `az --query`, through the `jmespath` crate) and the printing of any JSON value in
//! each output format: what a query gives is not a row the tool knows, so it is shown by its shape.

use std::io::Write;

use serde_json::Value;

use crate::{
    Failure,
    output::{Format, terminal_safe},
    table::{Fit, table},
    usage,
};

/// Checks a query before anything is sent: a mistake in it is a usage error, not a failure after the service
/// was asked.
pub fn check_query(query: &str) -> Result<(), String> {
    jmespath::compile(query).map(drop).map_err(|e| query_error(query, &e))
}

fn query_error(query: &str, error: &jmespath::JmespathError) -> String {
    format!("--query {query:?} is not a JMESPath expression: {} (at column {})", error.reason, error.column)
}

/// Applies `query` to `value`, and prints the result in `format`.
pub fn queried(format: Format, query: &str, value: Value) -> Result<(), Failure> {
    if format == Format::None {
        return Ok(());
    }
    let expression = jmespath::compile(query).map_err(|e| usage(query_error(query, &e)))?;
    let data = jmespath::Variable::from_serializable(&value).map_err(|e| usage(format!("--query: {e}")))?;
    let found = expression.search(data).map_err(|e| usage(format!("--query {query:?} failed: {}", e.reason)))?;
    let found = serde_json::to_value(&*found).unwrap_or(Value::Null);
    let _ = print(format, &found);
    Ok(())
}

/// A value as YAML (a document, ending in a line break).
pub fn yaml(value: &Value) -> String {
    serde_yaml_ng::to_string(value).unwrap_or_default()
}

/// A scalar as text (strings without quotes, null as nothing); anything else as compact JSON.
fn scalar(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// One line of tab-separated values, as `az -o tsv`: an object's values, an array's items, or the scalar.
fn tsv(value: &Value) -> String {
    let cells: Vec<String> = match value {
        Value::Object(map) => map.values().map(scalar).collect(),
        Value::Array(items) => items.iter().map(scalar).collect(),
        other => vec![scalar(other)],
    };
    crate::output::tsv_line(&cells)
}

/// Prints any value in `format`: JSON and YAML as they are; TSV a line per item; a table of objects with their
/// keys as columns, or one line per scalar.
fn print(format: Format, value: &Value) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    let items: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    match format {
        Format::None => Ok(()),
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(value).unwrap_or_default()),
        Format::Jsonl => items.iter().try_for_each(|item| writeln!(out, "{item}")),
        Format::Yaml => write!(out, "{}", yaml(value)),
        Format::Tsv => items.iter().try_for_each(|item| writeln!(out, "{}", tsv(item))),
        Format::Table | Format::Wide => match items.first() {
            Some(Value::Object(first)) => {
                let columns: Vec<&str> = first.keys().map(String::as_str).collect();
                let rows: Vec<Vec<String>> = items
                    .iter()
                    .map(|item| columns.iter().map(|c| item.get(c).map(scalar).unwrap_or_default()).collect())
                    .collect();
                table(
                    &mut out,
                    &columns,
                    &rows,
                    &|_, _| None,
                    if format == Format::Wide { Fit::Whole } else { Fit::Cut },
                )
            }
            _ => items.iter().try_for_each(|item| writeln!(out, "{}", terminal_safe(&scalar(item)))),
        },
    }
}
