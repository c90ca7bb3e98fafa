//! The docs cannot go stale unseen: README code reads the same everywhere it is shown, the features table is
//! Cargo.toml's, links resolve on docs.rs and crates.io, and every public item is reachable from a topic of the
//! crate's front page. (The README's blocks are compiled as doctests: `ReadmeDoctests` in `src/lib.rs`.)

use std::{collections::BTreeSet, fs, path::Path};

fn read(path: &str) -> String {
    fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

/// The ```rust blocks of a Markdown text: (line of the fence, body).
fn rust_blocks(markdown: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut open: Option<(usize, String)> = None;
    for (n, line) in markdown.lines().enumerate() {
        match (&mut open, line.trim_start().strip_prefix("```")) {
            (None, Some(tag)) if tag.starts_with("rust") => open = Some((n + 1, String::new())),
            (Some(_), Some(_)) => blocks.extend(open.take()),
            (Some((_, body)), None) => {
                body.push_str(line);
                body.push('\n');
            }
            _ => {}
        }
    }
    blocks
}

#[test]
fn no_readme_code_hides_lines_from_a_reader() {
    for path in ["README.md", "emulator/README.md"] {
        let text = read(path);
        let blocks = rust_blocks(&text);
        assert!(!blocks.is_empty(), "{path} has rust blocks");
        for (at, body) in blocks {
            for line in body.lines() {
                let trimmed = line.trim_start();
                assert!(
                    !(trimmed == "#" || trimmed.starts_with("# ")),
                    "{path}:{at}: a rust block hides a line that GitHub and crates.io show as written: {line:?}"
                );
            }
        }
    }
}

#[test]
fn the_readme_features_table_is_cargo_tomls() {
    let manifest: toml::Table = read("Cargo.toml").parse().unwrap();
    let declared: BTreeSet<String> = manifest["features"].as_table().unwrap().keys().cloned().collect();
    let readme = read("README.md");
    let table = readme.split("<!-- features -->").nth(1).expect("the features table's marker");
    let listed: BTreeSet<String> = table
        .lines()
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .filter_map(|line| line.split('`').nth(1).map(str::to_owned))
        .collect();
    assert_eq!(listed, declared, "the README's features table and Cargo.toml's [features] differ");
}

#[test]
fn readme_links_resolve_on_docs_rs_and_crates_io() {
    for path in ["README.md", "emulator/README.md"] {
        let text = read(path);
        // A relative link resolves on GitHub only: docs.rs and crates.io show the README without the repository.
        for (at, _) in text.match_indices("](") {
            let target = &text[at + 2..];
            let target = &target[..target.find(')').unwrap_or(target.len())];
            assert!(
                target.starts_with("https://") || target.starts_with("http://") || target.starts_with('#'),
                "{path}: the link ({target}) does not resolve outside the repository"
            );
        }
    }
}

#[test]
fn every_public_item_is_reachable_from_a_topic_of_the_front_page() {
    let lib = read("src/lib.rs");
    let front: String = lib.lines().filter_map(|line| line.strip_prefix("//!")).collect::<Vec<_>>().join("\n");
    // The names `lib.rs` re-exports (`pub use path::{A, B};`), and its public modules.
    let mut names = Vec::new();
    for statement in lib.split(';') {
        let statement = statement.trim();
        let Some(rest) = statement.rsplit("\npub use ").next().filter(|_| statement.contains("pub use ")) else {
            continue;
        };
        let rest = rest.trim_start_matches("pub use ");
        let group = rest.split_once('{').map_or(rest, |(_, group)| group.trim_end_matches('}'));
        names.extend(group.split(',').map(|name| name.rsplit("::").next().unwrap().trim().to_owned()));
    }
    names.extend(lib.lines().filter_map(|l| l.strip_prefix("pub mod ")).map(|m| m.trim_end_matches(';').to_owned()));
    names.retain(|name| !name.is_empty());
    assert!(names.len() > 40, "{names:?}");
    let missing: Vec<String> = names.into_iter().filter(|name| !front.contains(&format!("[`{name}`]"))).collect();
    assert!(missing.is_empty(), "the crate's front page links no topic to these items: {missing:?}");
}

/// The Rust code blocks of the doc comments (`///`, `//!`) of a source file: (line of the fence, body lines).
fn doc_rust_blocks(source: &str) -> Vec<(usize, Vec<String>)> {
    let mut blocks = Vec::new();
    let mut open: Option<(usize, Vec<String>)> = None;
    for (n, line) in source.lines().enumerate() {
        let trimmed = line.trim_start();
        let Some(doc) = trimmed.strip_prefix("///").or_else(|| trimmed.strip_prefix("//!")) else { continue };
        let doc = doc.strip_prefix(' ').unwrap_or(doc);
        match (&mut open, doc.trim_start().strip_prefix("```")) {
            (None, Some(tag)) => {
                let rust = tag.is_empty()
                    || tag.split(',').all(|t| {
                        ["rust", "no_run", "ignore", "should_panic", "compile_fail"].contains(&t.trim())
                            || t.trim().starts_with("edition")
                    });
                open = Some((n + 1, Vec::new()));
                if !rust {
                    open = Some((usize::MAX, Vec::new()));
                }
            }
            (Some(_), Some(_)) => {
                if let Some((at, body)) = open.take()
                    && at != usize::MAX
                {
                    blocks.push((at, body));
                }
            }
            (Some((_, body)), None) => body.push(doc.to_owned()),
            _ => {}
        }
    }
    blocks
}

#[test]
fn no_doc_example_hides_lines_from_a_reader() {
    // docs.rs shows a doc example without its `# ` lines, but a reader of the source, and anyone copying the
    // example, needs every line: examples are written whole.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut hidden = Vec::new();
    for dir in ["src", "emulator/src", "cli/src"] {
        let mut stack = vec![root.join(dir)];
        while let Some(path) = stack.pop() {
            if path.is_dir() {
                stack.extend(fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            } else if path.extension().is_some_and(|e| e == "rs") {
                for (at, body) in doc_rust_blocks(&fs::read_to_string(&path).unwrap()) {
                    for line in body {
                        let line = line.trim_start();
                        if line == "#" || line.starts_with("# ") {
                            hidden.push(format!("{}:{at}: {line}", path.display()));
                        }
                    }
                }
            }
        }
    }
    assert!(hidden.is_empty(), "doc examples that hide lines:\n{}", hidden.join("\n"));
}
