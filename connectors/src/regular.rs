//! Reading a source file only when it is a regular file. Opening a FIFO blocks until a writer
//! appears and reading a device may never end; neither can be interrupted by the poller's
//! timeout, so each stuck poll would keep a thread for good. Such files are refused.

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The whole contents of `path`, or an error when it is not a regular file (after following
/// symlinks). The file is opened with `O_NONBLOCK`, so opening a FIFO returns at once, and
/// checked on the opened descriptor, so a file swapped after a check cannot slip through.
pub fn read(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "{} is not a regular file (a FIFO, socket or device could block the poll \
                 for good)",
                path.display()
            ),
        ));
    }
    // O_NONBLOCK does nothing for regular files: the read below is an ordinary one.
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Names, sizes and modification times of `files`, hashed: changes when any of them is
/// written, so the poller reads a source again at once (its data, or the credentials an
/// operator just replaced). `None` when one cannot be looked at.
pub fn fingerprint(files: &[PathBuf]) -> Option<String> {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    for file in files {
        let meta = std::fs::metadata(file).ok()?;
        let modified = meta
            .modified()
            .ok()?
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?;
        hasher.update(file.as_os_str().as_encoded_bytes());
        hasher.update(&[0]);
        hasher.update(&meta.len().to_le_bytes());
        hasher.update(&modified.as_nanos().to_le_bytes());
    }
    Some(format!("{}:{:032x}", files.len(), hasher.digest128()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("staff.csv");
        let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("path");
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        let err = read(&path).expect_err("refused");
        assert!(
            err.to_string().contains("staff.csv is not a regular file"),
            "{err}"
        );
    }

    #[test]
    fn a_regular_file_is_read_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("staff.csv");
        std::fs::write(&path, "First Name\nAnn\n").expect("write");
        assert_eq!(read(&path).expect("read"), b"First Name\nAnn\n");
    }
}
