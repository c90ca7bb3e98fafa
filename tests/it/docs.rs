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

/// The names `lib.rs` exports at the crate's root: its top-level `pub use` items (not those of the topic modules
/// it declares inline) and its public modules.
fn root_exports(lib: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut statement = String::new();
    let mut depth = 0usize;
    for line in lib.lines() {
        if depth == 0 && (line.starts_with("pub use ") || !statement.is_empty()) {
            statement.push_str(line);
            if line.trim_end().ends_with(';') {
                let rest = statement.trim_start_matches("pub use ").trim_end_matches(';');
                let group = rest.split_once('{').map_or(rest, |(_, group)| group.trim_end_matches('}'));
                names.extend(group.split(',').map(|name| name.rsplit("::").next().unwrap().trim().to_owned()));
                statement.clear();
            }
        }
        if depth == 0
            && let Some(module) = line.strip_prefix("pub mod ")
        {
            names.push(module.trim_end_matches(['{', ';', ' ']).to_owned());
        }
        depth = depth + line.matches('{').count() - line.matches('}').count();
    }
    names.retain(|name| !name.is_empty());
    names
}

#[test]
fn the_root_exports_at_most_35_names_each_linked_from_a_topic_of_the_front_page() {
    let lib = read("src/lib.rs");
    let front: String = lib.lines().filter_map(|line| line.strip_prefix("//!")).collect::<Vec<_>>().join("\n");
    let names = root_exports(&lib);
    assert!(names.len() >= 20, "the parser found too few names: {names:?}");
    assert!(names.len() <= 35, "{} names at the root, at most 35: {names:?}", names.len());
    // Each is linked (`[`Name`]`, `[`Name::method`]` or `[`name`](…)`): the items of a topic module are listed
    // on its own page, which the front page links.
    let linked = |name: &str| front.contains(&format!("[`{name}`]")) || front.contains(&format!("[`{name}::"));
    let missing: Vec<&String> = names.iter().filter(|name| !linked(name)).collect();
    assert!(missing.is_empty(), "the crate's front page links no topic to these items: {missing:?}");
}

/// Every name a file's `pub use` statements export (wherever they stand in it).
fn pub_use_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    for statement in text.split(';') {
        let Some((_, rest)) = statement.rsplit_once("pub use ") else { continue };
        let rest = rest.split("//").next().unwrap_or_default();
        let group = rest.split_once('{').map_or(rest, |(_, group)| group.trim_end().trim_end_matches('}'));
        names.extend(group.split(',').map(|name| name.rsplit("::").next().unwrap().trim().to_owned()));
    }
    names.retain(|name| !name.is_empty() && name != "self");
    names
}

#[test]
fn each_name_is_exported_from_one_place() {
    let exported = pub_use_names(&read("src/lib.rs"));
    let models = pub_use_names(&read("src/models.rs"));
    assert!(exported.len() >= 40 && models.len() >= 10, "the parser found too few names: {exported:?} {models:?}");
    let mut seen = std::collections::HashSet::new();
    let twice: Vec<&String> = exported.iter().chain(&models).filter(|name| !seen.insert(name.as_str())).collect();
    assert!(twice.is_empty(), "exported from more than one place (lib.rs, its topic modules, models): {twice:?}");
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
        for path in crate::common::rust_files(&root.join(dir)) {
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
    assert!(hidden.is_empty(), "doc examples that hide lines:\n{}", hidden.join("\n"));
}

/// Whether `ty` names a type whose name ends in `Options`, itself or inside it (`&ReadOptions`, `Option<…>`).
fn names_options(ty: &syn::Type) -> bool {
    match ty {
        syn::Type::Reference(reference) => names_options(&reference.elem),
        syn::Type::Path(path) => path.path.segments.iter().any(|segment| {
            segment.ident.to_string().ends_with("Options")
                || matches!(&segment.arguments, syn::PathArguments::AngleBracketed(args)
                    if args.args.iter().any(|arg| matches!(arg, syn::GenericArgument::Type(t) if names_options(t))))
        }),
        _ => false,
    }
}

/// Whether `ty` is `Option<…Options>`.
fn is_optional_options(ty: &syn::Type) -> bool {
    let syn::Type::Path(path) = ty else { return false };
    let Some(last) = path.path.segments.last() else { return false };
    last.ident == "Option"
        && matches!(&last.arguments, syn::PathArguments::AngleBracketed(args)
            if args.args.len() == 1 && matches!(args.args.first(), Some(syn::GenericArgument::Type(syn::Type::Path(inner)))
                if inner.path.segments.last().is_some_and(|s| s.ident.to_string().ends_with("Options"))))
}

/// The public functions and methods of `items`, with where they are, `impl` blocks and inline modules included.
fn public_signatures<'a>(items: &'a [syn::Item], out: &mut Vec<&'a syn::Signature>) {
    let public = |vis: &syn::Visibility| matches!(vis, syn::Visibility::Public(_));
    for item in items {
        match item {
            syn::Item::Fn(function) if public(&function.vis) => out.push(&function.sig),
            syn::Item::Impl(block) => {
                for inner in &block.items {
                    if let syn::ImplItem::Fn(method) = inner
                        && public(&method.vis)
                    {
                        out.push(&method.sig);
                    }
                }
            }
            syn::Item::Mod(module) => {
                if let Some((_, inner)) = &module.content {
                    public_signatures(inner, out);
                }
            }
            _ => {}
        }
    }
}

/// Every public function or method of the SDK that takes options takes them last, as an `Option<…Options>`:
/// `get(&id, None)`, `list(None)`, `CustomerLockboxClient::new(credential, None)` (issue 31). A setter of a
/// builder (`Waiter::with_options(self, options)`: `with_…`, taking `self` by value) sets them, whole.
#[test]
fn every_method_that_takes_options_takes_them_last_as_an_option() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (mut checked, mut wrong) = (0, Vec::new());
    for path in crate::common::rust_files(&root.join("src")) {
        let file = syn::parse_file(&fs::read_to_string(&path).unwrap()).unwrap();
        let mut signatures = Vec::new();
        public_signatures(&file.items, &mut signatures);
        for signature in signatures {
            let by_value = |input: &syn::FnArg| matches!(input, syn::FnArg::Receiver(r) if matches!(r.kind, syn::ReceiverKind::Value));
            if signature.ident.to_string().starts_with("with_") && signature.inputs.first().is_some_and(by_value) {
                continue;
            }
            let typed: Vec<&syn::PatType> = signature
                .inputs
                .iter()
                .filter_map(|input| match input {
                    syn::FnArg::Typed(typed) => Some(typed),
                    syn::FnArg::Receiver(_) => None,
                })
                .collect();
            for (at, parameter) in typed.iter().enumerate() {
                if !names_options(&parameter.ty) {
                    continue;
                }
                checked += 1;
                if !is_optional_options(&parameter.ty) || at + 1 != typed.len() {
                    wrong.push(format!("{}: fn {}", path.strip_prefix(root).unwrap().display(), signature.ident));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "options not taken last as Option<…Options>:\n{}", wrong.join("\n"));
    assert!(checked >= 10, "only {checked} methods take options: the walk missed the clients");
}
