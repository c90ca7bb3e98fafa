//! What the measuring examples (`list_memory`, `tenant_scale`) share: reading this process's peak memory.
//! A module, not an example: it has no `main.rs`, so cargo does not build it on its own.

/// `VmHWM` (peak resident set size) of this process in KiB, from `/proc/self/status`; `None` where there is
/// no such file (not Linux).
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
