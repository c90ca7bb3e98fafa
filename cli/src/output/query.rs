//! `--query` (JMESPath, as `az --query`, through the `jmespath` crate): what a query gives is not a row the tool
//! knows, so it is printed by its shape (see [`document`]).

use std::{io::Write, rc::Rc};

use serde_json::Value;

use super::{
    Document, Ending,
    shown::terminal_safe,
    table::{Fit, table},
    tsv_line,
};

/// A query that cannot be compiled or run: a usage error (exit status 2).
#[derive(Debug)]
pub struct QueryFailed(pub String);

/// Checks a query before anything is sent: a mistake in it is a usage error, not a failure after the service
/// was asked.
pub fn check_query(query: &str) -> Result<(), String> {
    jmespath::compile(query).map(drop).map_err(|e| query_error(query, &e))
}

fn query_error(query: &str, error: &jmespath::JmespathError) -> String {
    format!("--query {query:?} is not a JMESPath expression: {} (at column {})", error.reason, error.column)
}

/// Applies `query` to `value`.
pub(super) fn apply(query: &str, value: &Value) -> Result<Value, QueryFailed> {
    let expression = jmespath::compile(query).map_err(|e| QueryFailed(query_error(query, &e)))?;
    let data = jmespath::Variable::from_serializable(value).map_err(|e| QueryFailed(format!("--query: {e}")))?;
    let found = expression.search(data).map_err(|e| QueryFailed(format!("--query {query:?} failed: {}", e.reason)))?;
    Ok(serde_json::to_value(&*found).unwrap_or(Value::Null))
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
    tsv_line(&cells)
}

/// The items of a value: an array's, or the value alone.
fn items(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    }
}

/// Any value as a document: JSON and YAML as it is; TSV a line per item; for people, a table of objects with
/// their keys as columns, or one line per scalar.
pub(super) fn document<'a>(value: Value) -> Document<'a> {
    // One of the three is asked for.
    let value = Rc::new(value);
    let (for_tsv, for_people) = (value.clone(), value.clone());
    Document {
        json: Box::new(move || Rc::unwrap_or_clone(value)),
        tsv: Box::new(move || items(&for_tsv).into_iter().map(tsv).collect()),
        person: Box::new(move |out: &mut dyn Write, wide: bool| {
            let items = items(&for_people);
            match items.first() {
                Some(Value::Object(first)) => {
                    let columns: Vec<&str> = first.keys().map(String::as_str).collect();
                    let rows: Vec<Vec<String>> = items
                        .iter()
                        .map(|item| columns.iter().map(|c| item.get(c).map(scalar).unwrap_or_default()).collect())
                        .collect();
                    table(out, &columns, &rows, &|_, _| None, if wide { Fit::Whole } else { Fit::Cut })
                }
                _ => items.iter().try_for_each(|item| writeln!(out, "{}", terminal_safe(&scalar(item)))),
            }
        }),
        ending: Ending::Whole,
    }
}
