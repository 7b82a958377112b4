//! The process's own figures, read from `/proc/self` at scrape time.

/// Resident set size in bytes, from `/proc/self/statm` (pages × page size); `None` where
/// `/proc` is not mounted.
pub fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions; it only reads a system constant.
    #[allow(unsafe_code)]
    let page_size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * u64::try_from(page_size).ok()?)
}

/// Open file descriptors (entries of `/proc/self/fd`).
pub fn open_fds() -> Option<u64> {
    Some(std::fs::read_dir("/proc/self/fd").ok()?.count() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_running_process_has_memory_and_descriptors() {
        assert!(resident_bytes().is_some_and(|b| b > 1 << 20));
        assert!(open_fds().is_some_and(|n| n >= 3));
    }
}
