#!/usr/bin/env bash
# What a user pays at build time: a minimal program that lists access requests, built clean in release mode,
# on this crate (default features, by path), on this crate with `native-tls`, and on the older azure_mgmt_customerlockbox 0.21 from crates.io.
# Each builds in a fresh target directory, back to back. Prints crates compiled, wall and CPU seconds
# (user + system, of cargo and everything it ran), then, from each build's `--timings` report, where the time
# went (ledger.py: code generation, TLS, the crate itself, host copies, the rest).
# Usage: benches/build-cost/run.sh [ours|ours-native-tls|old]...
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
programs=("${@:-ours ours-native-tls old}")
read -r -a programs <<<"${programs[*]}"
ledger=()
printf '%-16s %8s %8s %8s\n' program crates wall_s cpu_s
for program in "${programs[@]}"; do
    target="$(mktemp -d)"
    log="$target/build.log"
    ( cd "$here/$program" && cargo fetch --quiet )
    /usr/bin/time -f '%e %U %S' -o "$target/time" \
        cargo build --release --timings --manifest-path "$here/$program/Cargo.toml" --target-dir "$target" \
        >"$log" 2>&1 || { cat "$log"; exit 1; }
    read -r wall user sys <"$target/time"
    crates=$(grep -c '^ *Compiling ' "$log")
    printf '%-16s %8s %8s %8s\n' "$program" "$crates" "$wall" "$(echo "$user + $sys" | bc)"
    ledger+=("$(python3 "$here/ledger.py" "$program" "$target/cargo-timings/cargo-timing.html")")
    rm -rf "$target"
done
echo "where the time went (seconds of unit time, from cargo build --timings):"
printf '%s\n' "${ledger[@]}"
