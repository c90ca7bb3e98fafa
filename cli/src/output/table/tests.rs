use super::*;

fn cells(rows: &[&[&str]]) -> Vec<Vec<String>> {
    rows.iter().map(|row| row.iter().map(|c| (*c).to_owned()).collect()).collect()
}

fn plain(columns: &[&str], rows: &[&[&str]], fit: Fit) -> String {
    render(columns, &cells(rows), &|_, _| None, fit, false)
}

#[test]
fn columns_are_aligned_two_spaces_apart_with_no_trailing_blanks() {
    let shown = plain(&["ID", "STATUS", "WHY"], &[&["a", "Pending", "x"], &["bbbb", "-", "longer text"]], Fit::Whole);
    assert_eq!(shown, "ID    STATUS   WHY\na     Pending  x\nbbbb  -        longer text");
}

#[test]
fn no_rows_is_said() {
    assert_eq!(plain(&["ID"], &[], Fit::Cut), "(none)");
}

#[test]
fn the_last_column_is_cut_to_the_width_only_when_asked() {
    let long = "j".repeat(300);
    let rows = cells(&[&["id", &long]]);
    let cut = render_at(&["ID", "JUSTIFICATION"], &rows, Fit::Cut, 60);
    let line = cut.lines().nth(1).unwrap();
    assert!(line.ends_with('…'), "{cut}");
    assert_eq!(line.chars().count(), 60, "{cut}");
    let whole = render_at(&["ID", "JUSTIFICATION"], &rows, Fit::Whole, 60);
    assert!(whole.lines().nth(1).unwrap().ends_with(&long), "{whole}");
}

#[test]
fn the_last_column_keeps_twenty_characters_when_the_others_fill_the_width() {
    let wide = "w".repeat(50);
    let shown = render_at(&["A", "B"], &cells(&[&[&wide, &"x".repeat(100)]]), Fit::Cut, 40);
    let line = shown.lines().nth(1).unwrap();
    assert_eq!(line.chars().count(), 50 + 2 + 20, "{shown}");
}

#[test]
fn colours_wrap_the_cell_and_do_not_count_in_the_width() {
    let rows = cells(&[&["a", "Pending"], &["bbb", "Approved"]]);
    let paint = |i: usize, column: &str| (column == "STATUS" && i == 0).then_some("33");
    let shown = render(&["ID", "STATUS"], &rows, &paint, Fit::Whole, true);
    assert_eq!(shown, "\x1b[1mID\x1b[0m   \x1b[1mSTATUS\x1b[0m\na    \x1b[33mPending\x1b[0m\nbbb  Approved");
}

#[test]
fn control_characters_in_cells_are_shown_escaped() {
    let shown = plain(&["ID", "WHY"], &[&["a", "one\ntwo\x1b[2K"]], Fit::Whole);
    assert_eq!(shown.lines().count(), 2, "{shown}");
    assert!(shown.contains("one\\ntwo\\u{1b}[2K"), "{shown}");
}

#[test]
fn wide_characters_take_two_columns() {
    let shown = plain(&["A", "B"], &[&["日本", "x"], &["ab", "y"]], Fit::Whole);
    assert_eq!(shown, "A     B\n日本  x\nab    y");
}

/// [`render`] cut to `width` columns, as `COLUMNS` would set it.
fn render_at(columns: &[&str], rows: &[Vec<String>], fit: Fit, width: u16) -> String {
    render_with_width(columns, rows, &|_, _| None, fit, false, Some(width))
}
