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

/// CPU time (user + system, every thread) a live process has used so far, from
/// `/proc/<pid>/stat` (fields 14 and 15, in the kernel's fixed 100 Hz USER_HZ ticks).
// The store bench includes this file on its own and reads memory only.
#[allow(dead_code)]
pub fn cpu_time(pid: impl std::fmt::Display) -> std::time::Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name (field 2) may hold spaces; the fields after it are counted from ")".
    let ticks: u64 = stat
        .rsplit_once(')')
        .map(|(_, rest)| {
            rest.split_whitespace()
                .skip(11)
                .take(2)
                .filter_map(|t| t.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    std::time::Duration::from_millis(ticks * 10)
}
