//! The progenitor-generated client, built by `build.rs` from `specs/customer-lockbox/2018-02-28-preview.json`.
//! Generated code: never edited. The crate exposes it only through `models` and the hand-written clients.
#![allow(missing_docs, unreachable_pub, dead_code, unused_imports, clippy::all, rustdoc::all)]

include!(concat!(env!("OUT_DIR"), "/codegen.rs"));
