#!/usr/bin/env python3
"""Where a clean build's time goes, by kind of crate, from a `cargo build --timings` report.

Usage: ledger.py LABEL REPORT.html. Prints one line: the seconds of unit time (the sum of every unit's duration,
close to the build's CPU time on this 2-core machine) in total and per group. Run by run.sh after each build.

The groups are what issue 15 weighs:
- codegen: the crates only this crate's build.rs needs (progenitor and what it brings), and the build script;
- tls: the TLS stack, rustls with ring or the platform's OpenSSL;
- crate: the SDK crate itself (or the older generated crate) and the program;
- host: second copies of a crate, built once for the target and once for the host (build scripts and proc
  macros); in this crate's build most of them are for build.rs;
- other: everything else (tokio, hyper, reqwest, azure_core, azure_identity, serde, syn, ...).
A unit not named below lands in `other`, so nothing is left out of the total.
"""
import json
import re
import sys

CODEGEN = {
    "progenitor", "progenitor-impl", "typify", "typify-impl", "typify-macro", "openapiv3", "schemars",
    "schemars_derive", "serde_derive_internals", "regress", "regex", "regex-automata", "regex-syntax",
    "aho-corasick", "prettyplease", "heck", "semver", "serde_tokenstream", "dyn-clone", "indexmap", "hashbrown",
    "equivalent",
}
TLS = {
    "rustls", "ring", "rustls-webpki", "rustls-pki-types", "rustls-native-certs", "rustls-platform-verifier",
    "hyper-rustls", "tokio-rustls", "untrusted", "subtle", "openssl", "openssl-sys", "openssl-macros",
    "openssl-probe", "native-tls", "hyper-tls", "tokio-native-tls", "foreign-types", "foreign-types-shared",
    "vcpkg", "pkg-config", "cc", "find-msvc-tools", "shlex",
}
CRATES = {"azure_customer_lockbox", "azure_mgmt_customerlockbox"}
GROUPS = ["codegen", "tls", "crate", "host", "other"]


def group(unit, seen):
    name, target = unit["name"], unit["target"]
    key = (name, unit["version"], target)
    if key in seen:
        return "host"
    seen.add(key)
    if name == "azure_customer_lockbox" and "build-script" in target:
        return "codegen"
    if name in CODEGEN:
        return "codegen"
    if name in TLS:
        return "tls"
    if name in CRATES or name.startswith("build-cost-"):
        return "crate"
    return "other"


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    label, report = sys.argv[1:]
    html = open(report, encoding="utf-8").read()
    units = json.loads(re.search(r"const UNIT_DATA = (\[.*?\]);\n", html, re.S).group(1))
    seen = set()
    sums = dict.fromkeys(GROUPS, 0.0)
    for unit in units:
        sums[group(unit, seen)] += unit["duration"]
    total = sum(sums.values())
    print(f"{label:<16} unit_s {total:6.1f}  " + "  ".join(f"{g} {sums[g]:5.1f}" for g in GROUPS))


if __name__ == "__main__":
    main()
