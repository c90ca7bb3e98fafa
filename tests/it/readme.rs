//! The README's manifests are the ones its code needs: every crate a Rust block of the README names is in a
//! manifest the README shows, the Quick start's holds what the examples after it name, and an Azure SDK crate
//! is added there without the default features that would compile a second HTTP client and TLS stack. Every
//! `cargo install` of a checkout is `--locked`.

use std::{collections::BTreeSet, fs, path::Path};

fn read(path: &str) -> String {
    fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

/// The bodies of the fenced blocks whose tag starts with `tag`, in order.
fn blocks(markdown: &str, tag: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut open: Option<String> = None;
    for line in markdown.lines() {
        match (&mut open, line.trim_start().strip_prefix("```")) {
            (None, Some(rest)) if rest.starts_with(tag) => open = Some(String::new()),
            (None, Some(_)) => open = Some("\u{0}".into()),
            (Some(body), Some(_)) => {
                let body = std::mem::take(body);
                if !body.starts_with('\u{0}') {
                    found.push(body);
                }
                open = None;
            }
            (Some(body), None) => {
                body.push_str(line);
                body.push('\n');
            }
            _ => {}
        }
    }
    found
}

/// The crates the workspace's manifest lets the README's doctests use (its dependencies and dev-dependencies),
/// with `-` as `_`, and the crate itself.
fn usable_crates() -> BTreeSet<String> {
    let manifest: toml::Table = read("Cargo.toml").parse().unwrap();
    let mut crates: BTreeSet<String> = ["dependencies", "dev-dependencies"]
        .iter()
        .filter_map(|section| manifest.get(*section).and_then(|t| t.as_table()))
        .flat_map(|table| table.keys().map(|k| k.replace('-', "_")))
        .collect();
    crates.insert("azure_customer_lockbox".into());
    crates
}

/// The crates of `[dependencies]` and `[dev-dependencies]` of every manifest block of `markdown`.
fn manifest_crates(manifest: &toml::Table) -> BTreeSet<String> {
    ["dependencies", "dev-dependencies"]
        .iter()
        .filter_map(|section| manifest.get(*section).and_then(|t| t.as_table()))
        .flat_map(|table| table.keys().map(|k| k.replace('-', "_")))
        .collect()
}

/// Whether `code` names `krate` as the first segment of a path (`azure_core::cloud`, not `x.azure_core::`).
fn names(code: &str, krate: &str) -> bool {
    code.match_indices(&format!("{krate}::")).any(|(at, _)| {
        code[..at].chars().next_back().is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == ':' || c == '.'))
    })
}

#[test]
fn every_crate_the_readme_code_names_is_in_a_manifest_it_shows_and_the_quick_starts_is_lean() {
    let readme = read("README.md");
    let manifests: Vec<toml::Table> = blocks(&readme, "toml")
        .iter()
        .filter_map(|body| body.parse::<toml::Table>().ok())
        .filter(|m| m.contains_key("dependencies") || m.contains_key("dev-dependencies"))
        .collect();
    let quick_start = manifests.first().expect("the Quick start manifest");
    let shown: BTreeSet<String> = manifests.iter().flat_map(manifest_crates).collect();
    let code = blocks(&readme, "rust").join("\n");
    let named: BTreeSet<String> = usable_crates().into_iter().filter(|k| names(&code, k)).collect();
    assert!(named.contains("azure_core"), "the check sees the README's paths: {named:?}");
    let missing: Vec<&String> = named.difference(&shown).collect();
    assert!(missing.is_empty(), "the README's code names crates no manifest of the README adds: {missing:?}");
    // What the examples use as a dependency (not the emulator, a dev-dependency for tests) is in the Quick start.
    let dev_only: BTreeSet<String> = manifests
        .iter()
        .filter_map(|m| m.get("dev-dependencies")?.as_table().cloned())
        .flat_map(|t| t.keys().cloned().collect::<Vec<_>>())
        .collect();
    let quick: BTreeSet<String> = manifest_crates(quick_start);
    for krate in named.iter().filter(|k| !dev_only.contains(*k) && *k != "std") {
        assert!(quick.contains(krate), "the Quick start manifest lacks {krate}, which the README's code names");
    }
    // An Azure SDK crate's default features compile azure_core's own reqwest and TLS stack: never in the
    // Quick start, whose point is the lean build.
    let dependencies = quick_start["dependencies"].as_table().unwrap();
    for (krate, spec) in dependencies.iter().filter(|(k, _)| k.starts_with("azure_") && *k != "azure_customer_lockbox")
    {
        let lean = spec.get("default-features").and_then(toml::Value::as_bool) == Some(false);
        assert!(lean, "the Quick start adds {krate} with its default features: {spec}");
    }
}

#[test]
fn every_cargo_install_of_a_checkout_is_locked() {
    for path in ["README.md", "cli/README.md"] {
        let text = read(path);
        let installs: Vec<&str> =
            text.lines().filter(|l| l.contains("cargo install") && l.contains("--path")).collect();
        assert!(!installs.is_empty(), "{path} says how to install the tool");
        for line in installs {
            assert!(line.contains("--locked"), "{path}: {line}");
        }
    }
}
