//! The tool's layout, checked on its source: no file of `cli/src` is over 400 lines, and no module reaches
//! itself through the `crate::` paths it names (a `use crate::…` statement or a path written inline), so that
//! no two modules import each other. A module is a file; a path lands in the deepest file it names
//! (`crate::output::table::Fit` in `output/table.rs`), and a path that names no file (an item re-exported at the
//! root) lands in `main.rs`, which declares every module: using one from below is a cycle through the root.
//! A module's unit tests (a `tests.rs`, an inline `#[cfg(test)] mod tests`) are left out. And the tool keeps no
//! global state (a `static`, a thread-local, a `OnceLock`): what a command needs rides on its session.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::{Path, PathBuf},
};

/// The most lines a source file may have (the project's rule: split it into modules).
const MAX_LINES: usize = 400;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`.
fn sources(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// A module's name: its file under `src/` without `.rs` (`output/table`, `main`).
fn name(src: &Path, file: &Path) -> String {
    file.strip_prefix(src).unwrap().with_extension("").to_string_lossy().replace('\\', "/")
}

/// The paths a `use` tree names: `a::{b, c::d}` gives `a::b` and `a::c::d`.
fn expand(prefix: &str, tree: &str, out: &mut Vec<String>) {
    let tree = tree.trim();
    if tree.is_empty() {
        return;
    }
    match tree.find('{') {
        None => out.push(format!("{prefix}{}", tree.split(" as ").next().unwrap_or(tree).trim())),
        Some(open) => {
            let head = &tree[..open];
            let inner = &tree[open + 1..tree.rfind('}').unwrap()];
            let (mut depth, mut start) = (0, 0);
            for (i, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        expand(&format!("{prefix}{head}"), &inner[start..i], out);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            expand(&format!("{prefix}{head}"), &inner[start..], out);
        }
    }
}

/// The module a `crate::` path lands in: the longest run of its segments that names a file, else the root.
fn target(src: &Path, path: &str) -> String {
    let segments: Vec<&str> = path.split("::").collect();
    (1..=segments.len())
        .rev()
        .find_map(|n| {
            let module = segments[..n].join("/");
            [format!("{module}.rs"), format!("{module}/mod.rs")]
                .into_iter()
                .find(|file| src.join(file).is_file())
                .map(|file| file.trim_end_matches(".rs").to_owned())
        })
        .unwrap_or_else(|| "main".to_owned())
}

/// The `crate::` paths of a source text, comments and inline test modules left out.
fn paths(text: &str) -> Vec<String> {
    let text = text.split("#[cfg(test)]\nmod tests {").next().unwrap_or(text);
    let code: String =
        text.lines().filter(|line| !line.trim_start().starts_with("//")).map(|line| format!("{line}\n")).collect();
    let mut found = Vec::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        let after = &rest[at + "crate::".len()..];
        // `$crate::` (a macro's own path) and `other_crate::` are not this crate's modules.
        if before.is_some_and(|c| c == '$' || c == '_' || c.is_alphanumeric()) {
            rest = after;
            continue;
        }
        let statement = rest[..at].trim_end().ends_with("use");
        if statement {
            let end = after.find(';').unwrap_or(after.len());
            expand("", &after[..end].split_whitespace().collect::<Vec<_>>().join(" "), &mut found);
            rest = &after[end..];
        } else {
            let end = after.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).unwrap_or(after.len());
            found.push(after[..end].trim_end_matches(':').to_owned());
            rest = &after[end..];
        }
    }
    found
}

/// Who uses whom among the tool's modules.
fn uses(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    sources(src, &mut files);
    let mut map = BTreeMap::new();
    for file in files {
        let me = name(src, &file);
        if me == "tests" || me.ends_with("/tests") {
            continue;
        }
        let text = fs::read_to_string(&file).unwrap();
        let used = paths(&text).iter().map(|p| target(src, p)).filter(|t| *t != me).collect();
        map.insert(me, used);
    }
    map
}

/// A cycle of `map`, as the modules it goes through (the first repeated at the end), if there is one.
fn cycle(map: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit<'a>(
        node: &'a str,
        map: &'a BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| *n == node) {
            let mut found: Vec<String> = path[at..].iter().map(|n| (*n).to_owned()).collect();
            found.push(node.to_owned());
            return Some(found);
        }
        if !done.insert(node) {
            return None;
        }
        path.push(node);
        for next in map.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, map, path, done) {
                return Some(found);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    map.keys().find_map(|start| visit(start, map, &mut Vec::new(), &mut done))
}

#[test]
fn no_source_file_is_over_400_lines() {
    let mut files = Vec::new();
    sources(&src(), &mut files);
    let mut long: Vec<String> = files
        .iter()
        .map(|file| (fs::read_to_string(file).unwrap().lines().count(), file))
        .filter(|(lines, _)| *lines > MAX_LINES)
        .map(|(lines, file)| format!("{} has {lines} lines", file.display()))
        .collect();
    long.sort();
    assert!(long.is_empty(), "files over {MAX_LINES} lines (split them into modules):\n{}", long.join("\n"));
}

#[test]
fn no_module_reaches_itself_through_its_imports() {
    let map = uses(&src());
    if let Some(found) = cycle(&map) {
        let shown: Vec<String> = found.iter().map(|m| format!("{m}.rs")).collect();
        panic!("an import cycle in cli/src: {}", shown.join(" -> "));
    }
}

/// The global state a line declares, if any: a `static`, a thread-local, a lazily set cell.
fn global(line: &str) -> bool {
    let code = line.trim_start();
    let declares_static = ["static ", "pub static ", "pub(crate) static ", "pub(super) static "]
        .iter()
        .any(|start| code.starts_with(start) && !code.starts_with("static '"));
    let marker = ["thread_local!", "task_local!", "OnceLock", "LazyLock", "lazy_static!", "once_cell::"];
    !code.starts_with("//") && (declares_static || marker.iter().any(|m| code.contains(m)))
}

#[test]
fn the_tool_keeps_no_global_state() {
    // What a command needs (the endpoint for a hint, whether a token was obtained) is carried by the session,
    // never kept in a global beside it.
    let mut files = Vec::new();
    sources(&src(), &mut files);
    let mut found = Vec::new();
    for file in &files {
        for (i, line) in fs::read_to_string(file).unwrap().lines().enumerate() {
            if global(line) {
                found.push(format!("{}:{}: {}", file.display(), i + 1, line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "global state in cli/src (carry it in the session):\n{}", found.join("\n"));
}

#[test]
fn the_checks_see_what_they_check() {
    assert!(global("pub(crate) static ENDPOINT: std::sync::OnceLock<(url::Url, bool)> = OnceLock::new();"));
    assert!(global("static TOKEN_OBTAINED: AtomicBool = AtomicBool::new(false);"));
    assert!(!global("    const COLUMNS: &'static [&'static str] = &[\"ID\"];"));
    assert!(!global("// a static would be wrong here"));
    // Paths in a use tree and inline, not in comments, not `$crate::` nor another crate's.
    let text = "use crate::{a::{B, c::D}, e as f};\n// crate::commented\nfn g() { crate::h::i(); $crate::j::k(); \
                other_crate::l(); }\n";
    assert_eq!(paths(text), ["a::B", "a::c::D", "e", "h::i"]);
    // A cycle is found and shown from where it starts; a graph without one gives none.
    let graph = |edges: &[(&str, &str)]| {
        let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (from, to) in edges {
            map.entry((*from).into()).or_default().insert((*to).into());
            map.entry((*to).into()).or_default();
        }
        map
    };
    let found = cycle(&graph(&[("main", "output"), ("output", "render"), ("render", "output")]));
    assert_eq!(found.unwrap(), ["output", "render", "output"]);
    assert_eq!(cycle(&graph(&[("main", "output"), ("output", "table"), ("main", "table")])), None);
}
