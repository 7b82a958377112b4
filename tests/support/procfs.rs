//! Process figures the benchmarks report, read from /proc.

/// A `/proc/<pid>/status` figure in KiB (`VmRSS:`, `VmHWM:`); `pid` may be "self".
pub fn proc_kib(pid: impl std::fmt::Display, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
