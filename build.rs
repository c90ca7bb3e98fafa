//! Generates the typed Customer Lockbox client from our OpenAPI 3.0 document with progenitor.
//!
//! The output goes to `$OUT_DIR/codegen.rs` and is included once, by `src/generated.rs`. Nothing is written
//! anywhere else and nothing is fetched, so the build works offline and on docs.rs. The document itself is
//! never edited here: the adjustments below only shape what progenitor sees.

use std::{env, fs, path::Path, process};

use progenitor::{GenerationSettings, Generator, HooksMode, InterfaceStyle, TagStyle, TypeImpl};
use quote::quote;

const SPEC: &str = "specs/customer-lockbox/2018-02-28-preview.json";

fn main() {
    println!("cargo:rerun-if-changed={SPEC}");
    println!("cargo:rerun-if-changed=build.rs");
    // The User-Agent names the compiler version, as the Azure SDKs do.
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = process::Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.split_whitespace().nth(1).map(str::to_owned))
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=AZSDK_RUSTC_VERSION={version}");
    if let Err(problem) = generate() {
        // A plain message naming the file beats a panic backtrace in a build script.
        eprintln!("error: cannot generate the Customer Lockbox client from {SPEC}: {problem}");
        process::exit(1);
    }
}

fn generate() -> Result<(), String> {
    let text = fs::read_to_string(SPEC).map_err(|e| format!("cannot read it: {e}"))?;
    let mut spec: openapiv3::OpenAPI =
        serde_json::from_str(&text).map_err(|e| format!("not an OpenAPI 3.0 document: {e}"))?;
    leave_errors_to_the_sdk(&mut spec);

    let mut settings = GenerationSettings::new();
    settings
        .with_interface(InterfaceStyle::Builder)
        .with_tag(TagStyle::Separate)
        .with_hooks(HooksMode::Expected)
        .with_inner_type(quote! { crate::pipeline::Pipeline })
        .with_derive("PartialEq")
        // Azure enums are extensible (`modelAsString`): progenitor's enums are closed, so a new value from
        // the service would fail the whole response. These hand-written enums keep unknown values.
        .with_replacement(
            "LockboxRequestStatus",
            "crate::status::LockboxRequestStatus",
            [TypeImpl::Display, TypeImpl::FromStr].into_iter(),
        )
        .with_replacement(
            "ApprovalDecision",
            "crate::status::ApprovalDecision",
            [TypeImpl::Display, TypeImpl::FromStr].into_iter(),
        );

    let mut generator = Generator::new(&settings);
    let tokens = generator.generate_tokens(&spec).map_err(|e| format!("progenitor rejected it: {e}"))?;
    let file: syn::File =
        syn::parse2(tokens).map_err(|e| format!("progenitor produced code that does not parse: {e}"))?;
    let out_dir = env::var_os("OUT_DIR").ok_or("OUT_DIR is not set (run through cargo)")?;
    let out = Path::new(&out_dir).join("codegen.rs");
    fs::write(&out, prettyplease::unparse(&file)).map_err(|e| format!("cannot write {}: {e}", out.display()))
}

/// Removes the error responses (`default`, `4XX`, `5XX`) before generation.
///
/// progenitor cannot generate a typed `default` next to a typed `200` (it panics, progenitor#693), and where it
/// does decode typed errors it drops the status and headers of a body it cannot parse, such as a gateway's HTML
/// 502. With no error responses declared, every non-200 answer reaches the SDK as the raw response, and
/// `src/error.rs` decodes the ARM error envelope itself, keeping status, request ids and the raw body.
fn leave_errors_to_the_sdk(spec: &mut openapiv3::OpenAPI) {
    use openapiv3::{ReferenceOr, StatusCode};
    for (_, item) in spec.paths.paths.iter_mut() {
        let ReferenceOr::Item(item) = item else { continue };
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
            &mut item.head,
            &mut item.options,
            &mut item.trace,
        ]
        .into_iter()
        .flatten()
        {
            op.responses.default = None;
            op.responses.responses.retain(|code, _| match code {
                StatusCode::Code(c) => (200..300).contains(c),
                StatusCode::Range(r) => *r == 2,
            });
        }
    }
}
