//! Generates the typed Customer Lockbox client from our OpenAPI 3.0 document with progenitor.
//!
//! The output goes to `$OUT_DIR/codegen.rs` and is included once, by `src/generated.rs`. Nothing is written
//! anywhere else and nothing is fetched, so the build works offline and on docs.rs. The document itself is
//! never edited here: the adjustments below only shape what progenitor sees.

use std::{env, fs, path::Path, process};

use progenitor::{GenerationSettings, Generator, HooksMode, InterfaceStyle, TagStyle, TypeImpl};
use quote::quote;

const SPEC: &str = "specs/customer-lockbox/2018-02-28-preview.json";
/// Resource Manager's `Subscriptions_List` (api-version 2022-12-01), for the tenant-wide listings.
const SUBSCRIPTIONS_SPEC: &str = "specs/arm-subscriptions/2022-12-01.json";

fn main() {
    println!("cargo:rerun-if-changed={SPEC}");
    println!("cargo:rerun-if-changed={SUBSCRIPTIONS_SPEC}");
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
    for (spec, out, replacements) in [
        (SPEC, "codegen.rs", lockbox_replacements as fn(&mut GenerationSettings)),
        (SUBSCRIPTIONS_SPEC, "codegen_subscriptions.rs", subscriptions_replacements),
    ] {
        if let Err(problem) = generate(spec, out, replacements) {
            // A plain message naming the file beats a panic backtrace in a build script.
            eprintln!("error: cannot generate a client from {spec}: {problem}");
            process::exit(1);
        }
    }
}

/// The hand-written types of the Subscriptions document: its extensible state enum (see `src/subscriptions.rs`).
fn subscriptions_replacements(settings: &mut GenerationSettings) {
    settings.with_replacement(
        "SubscriptionState",
        "crate::subscriptions::SubscriptionState",
        [TypeImpl::Display, TypeImpl::FromStr].into_iter(),
    );
}

/// The hand-written types of the Lockbox document.
fn lockbox_replacements(settings: &mut GenerationSettings) {
    settings
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
        )
        // Hand-written so it decodes older answers too: `duration` as a number, `workItemSource` spelled so
        // (see src/models.rs and specs/README.md).
        .with_replacement(
            "LockboxRequestResponseProperties",
            "crate::models::LockboxRequestResponseProperties",
            std::iter::empty(),
        );
}

/// Generates one document into `$OUT_DIR/<out>`, with the same settings and rewrites for every document.
fn generate(spec_path: &str, out: &str, replacements: fn(&mut GenerationSettings)) -> Result<(), String> {
    let text = fs::read_to_string(spec_path).map_err(|e| format!("cannot read it: {e}"))?;
    let mut spec: openapiv3::OpenAPI =
        serde_json::from_str(&text).map_err(|e| format!("not an OpenAPI 3.0 document: {e}"))?;
    leave_errors_to_the_sdk(&mut spec);

    let mut settings = GenerationSettings::new();
    settings
        .with_interface(InterfaceStyle::Builder)
        .with_tag(TagStyle::Separate)
        .with_hooks(HooksMode::Expected)
        .with_inner_type(quote! { crate::pipeline::Pipeline })
        .with_derive("PartialEq");
    replacements(&mut settings);

    let mut generator = Generator::new(&settings);
    let tokens = generator.generate_tokens(&spec).map_err(|e| format!("progenitor rejected it: {e}"))?;
    let mut file: syn::File =
        syn::parse2(tokens).map_err(|e| format!("progenitor produced code that does not parse: {e}"))?;
    document_generated_items(&mut file);
    keep_model_builders_private(&mut file);
    drop_dropshot_version_header(&mut file)?;
    let out_dir = env::var_os("OUT_DIR").ok_or("OUT_DIR is not set (run through cargo)")?;
    let out = Path::new(&out_dir).join(out);
    fs::write(&out, prettyplease::unparse(&file)).map_err(|e| format!("cannot write {}: {e}", out.display()))
}

/// Removes the error responses (`default`, `4XX`, `5XX`) before generation.
///
/// progenitor cannot generate a typed `default` next to a typed `200` (it panics, progenitor#693), and where it
/// does decode typed errors it drops the status and headers of a body it cannot parse, such as a gateway's HTML
/// 502. With no error responses declared, every non-200 answer reaches the SDK as the raw response, and
/// the SDK's `error` module (`src/error/`) decodes the ARM error envelope itself, keeping status, request ids and
/// the raw body.
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

/// Gives a doc comment to the generated public items the document cannot describe: the models' `builder()`
/// constructors, the builder types and their setters, and the conversion error.
fn document_generated_items(file: &mut syn::File) {
    use syn::visit_mut::VisitMut;

    fn has_doc(attrs: &[syn::Attribute]) -> bool {
        attrs.iter().any(|a| a.path().is_ident("doc"))
    }
    fn add_doc(attrs: &mut Vec<syn::Attribute>, text: String) {
        if !has_doc(attrs) {
            attrs.insert(0, syn::parse_quote!(#[doc = #text]));
        }
    }
    struct Documenter {
        in_builder: bool,
        self_ty: String,
    }
    impl VisitMut for Documenter {
        fn visit_item_mod_mut(&mut self, module: &mut syn::ItemMod) {
            let text = match module.ident.to_string().as_str() {
                "builder" => "Field-by-field builders of the model types; finish with `try_into()`.",
                "error" => "Errors of the builders.",
                _ => "Generated items.",
            };
            add_doc(&mut module.attrs, text.to_owned());
            let outer = self.in_builder;
            self.in_builder = module.ident == "builder";
            syn::visit_mut::visit_item_mod_mut(self, module);
            self.in_builder = outer;
        }
        fn visit_item_struct_mut(&mut self, item: &mut syn::ItemStruct) {
            let name = item.ident.to_string();
            let text = if self.in_builder {
                format!("Builder of [`super::{name}`]: set fields, then convert with `try_into()`.")
            } else {
                format!("The `{name}` type.")
            };
            add_doc(&mut item.attrs, text);
            syn::visit_mut::visit_item_struct_mut(self, item);
        }
        fn visit_item_impl_mut(&mut self, item: &mut syn::ItemImpl) {
            let outer = std::mem::take(&mut self.self_ty);
            if let syn::Type::Path(path) = &*item.self_ty {
                self.self_ty = path.path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default();
            }
            syn::visit_mut::visit_item_impl_mut(self, item);
            self.self_ty = outer;
        }
        fn visit_impl_item_fn_mut(&mut self, item: &mut syn::ImplItemFn) {
            if matches!(item.vis, syn::Visibility::Public(_)) {
                let name = item.sig.ident.to_string();
                let text = match name.as_str() {
                    "builder" => format!("Starts building a [`{}`] field by field.", self.self_ty),
                    _ if self.in_builder => format!("Sets `{name}`."),
                    _ => format!("`{name}`."),
                };
                add_doc(&mut item.attrs, text);
            }
        }
    }

    for item in &mut file.items {
        if let syn::Item::Mod(module) = item
            && module.ident == "types"
        {
            Documenter { in_builder: false, self_ty: String::new() }.visit_item_mod_mut(module);
        }
    }
}

/// Makes the models' `builder()` constructors crate-private: they return builder types of a module the crate
/// does not export, which a caller could use but never name. (progenitor always generates them for the builder
/// interface style.) Models are built with struct literals instead.
fn keep_model_builders_private(file: &mut syn::File) {
    use syn::visit_mut::VisitMut;

    struct Hider;
    impl VisitMut for Hider {
        fn visit_impl_item_fn_mut(&mut self, item: &mut syn::ImplItemFn) {
            if item.sig.ident == "builder" && matches!(item.vis, syn::Visibility::Public(_)) {
                item.vis = syn::parse_quote!(pub(crate));
            }
        }
    }
    for item in &mut file.items {
        if let syn::Item::Mod(module) = item
            && module.ident == "types"
        {
            Hider.visit_item_mod_mut(module);
        }
    }
}

/// Removes the `api-version` request *header* progenitor adds to every operation (a Dropshot convention,
/// progenitor#564). Azure takes `api-version` only as a query parameter, which the operations still send; the
/// header would otherwise go to Resource Manager on every request. Fails the build if the generated shape
/// changes, so the workaround is never silently lost.
fn drop_dropshot_version_header(file: &mut syn::File) -> Result<(), String> {
    use syn::visit_mut::VisitMut;

    fn is_header_map(expr: &syn::Expr) -> bool {
        matches!(expr, syn::Expr::Path(p) if p.path.is_ident("header_map"))
    }
    fn mentions_header_map(stmt: &syn::Stmt) -> bool {
        match stmt {
            syn::Stmt::Local(local) => {
                matches!(&local.pat, syn::Pat::Ident(i) if i.ident == "header_map")
            }
            syn::Stmt::Expr(syn::Expr::MethodCall(call), _) => is_header_map(&call.receiver),
            _ => false,
        }
    }
    /// `let mut header_map = <a path ending in with_capacity>(1usize);`: an empty map with room for one header.
    fn is_map_for_one_header(stmt: &syn::Stmt) -> bool {
        let syn::Stmt::Local(local) = stmt else { return false };
        let Some(init) = &local.init else { return false };
        let syn::Expr::Call(call) = &*init.expr else { return false };
        let syn::Expr::Path(function) = &*call.func else { return false };
        let one = matches!(
            call.args.first(),
            Some(syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(n), .. })) if n.base10_digits() == "1"
        );
        function.path.segments.last().is_some_and(|s| s.ident == "with_capacity") && call.args.len() == 1 && one
    }
    /// `"api-version"`, or `HeaderName::from_static("api-version")`.
    fn names_api_version(expr: &syn::Expr) -> bool {
        match expr {
            syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(name), .. }) => name.value() == "api-version",
            syn::Expr::Call(call) => {
                matches!(&*call.func, syn::Expr::Path(f) if f.path.segments.last().is_some_and(|s| s.ident == "from_static"))
                    && call.args.len() == 1
                    && call.args.first().is_some_and(names_api_version)
            }
            _ => false,
        }
    }
    /// `header_map.append(HeaderName::from_static("api-version"), ...);`: the Dropshot version header only.
    fn is_api_version_append(stmt: &syn::Stmt) -> bool {
        let syn::Stmt::Expr(syn::Expr::MethodCall(call), _) = stmt else { return false };
        call.method == "append" && call.args.first().is_some_and(names_api_version)
    }
    struct Stripper {
        removed: usize,
        unexpected: Vec<String>,
    }
    impl VisitMut for Stripper {
        fn visit_block_mut(&mut self, block: &mut syn::Block) {
            let before = block.stmts.len();
            let header_stmts: Vec<&syn::Stmt> = block.stmts.iter().filter(|s| mentions_header_map(s)).collect();
            if !header_stmts.is_empty() {
                // Only the two statements that build the Dropshot version header are expected.
                let expected = matches!(
                    header_stmts.as_slice(),
                    [map, append] if is_map_for_one_header(map) && is_api_version_append(append)
                );
                if !expected {
                    let shown = header_stmts.iter().map(|s| quote::ToTokens::to_token_stream(s).to_string());
                    self.unexpected.extend(shown);
                    return;
                }
                block.stmts.retain(|s| !mentions_header_map(s));
                self.removed += before - block.stmts.len();
            }
            syn::visit_mut::visit_block_mut(self, block);
        }
        fn visit_expr_mut(&mut self, expr: &mut syn::Expr) {
            if let syn::Expr::MethodCall(call) = expr
                && call.method == "headers"
                && call.args.len() == 1
                && call.args.first().is_some_and(is_header_map)
            {
                *expr = (*call.receiver).clone();
                self.visit_expr_mut(expr);
                return;
            }
            syn::visit_mut::visit_expr_mut(self, expr);
        }
    }
    let mut stripper = Stripper { removed: 0, unexpected: Vec::new() };
    stripper.visit_file_mut(file);
    if !stripper.unexpected.is_empty() {
        return Err(format!("unexpected header code in the generated client: {:?}", stripper.unexpected));
    }
    if stripper.removed == 0 {
        return Err("progenitor no longer adds an api-version header; remove drop_dropshot_version_header".into());
    }
    Ok(())
}
