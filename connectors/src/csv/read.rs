//! Getting one whole, consistent version of a CSV file. Exports are often rewritten in place
//! (truncate, then write) rather than replaced by a rename, so a read can see half a file; a
//! half file published as the book would delete every card past the cut.

use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::SourceError;

/// Reads before giving up on a file that keeps changing; the poll then fails and is retried.
const ATTEMPTS: u32 = 5;

/// What identifies one version of a file: a rewrite changes the size or the modification time,
/// a replacement by rename changes the inode.
#[derive(Debug, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    inode: u64,
}

fn stamp(path: &Path) -> std::io::Result<Stamp> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path)?;
    Ok(Stamp {
        len: meta.len(),
        modified: meta.modified().ok(),
        inode: meta.ino(),
    })
}

/// Reads `path` with `read` until the file is the same (size, mtime, inode) before and after
/// the read, pausing `pause` between attempts; a file still changing after `ATTEMPTS` reads is
/// an error, never a partial listing.
pub fn settled(
    path: &Path,
    pause: Duration,
    mut read: impl FnMut(&Path) -> std::io::Result<Vec<u8>>,
) -> Result<Vec<u8>, SourceError> {
    let unreadable = |e: std::io::Error| SourceError::Unreadable {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    for attempt in 1..=ATTEMPTS {
        let before = stamp(path).map_err(unreadable)?;
        let bytes = read(path).map_err(unreadable)?;
        let after = stamp(path).map_err(unreadable)?;
        if before == after && bytes.len() as u64 == after.len {
            return Ok(bytes);
        }
        if attempt < ATTEMPTS {
            std::thread::sleep(pause);
        }
    }
    Err(SourceError::Unreadable {
        path: path.display().to_string(),
        message: format!(
            "the file changed during each of {ATTEMPTS} reads (it is being written); \
             keeping the previous contacts until it is complete"
        ),
    })
}

/// Where a CSV parser is within a row.
#[derive(Clone, Copy, PartialEq)]
enum Quoting {
    FieldStart,
    Unquoted,
    Quoted,
    /// A `"` inside a quoted field: either the end of the quotes or the first of `""`.
    QuoteInQuoted,
}

/// True when `tail` (the text of the last row, from its first byte) ends inside a quoted
/// field, as a file cut off while being written does. Follows the `csv` crate's rules: a `"`
/// opens quoting only at the start of a field, `""` inside quotes is one quote.
pub fn ends_in_open_quote(tail: &str, delimiter: u8) -> bool {
    let mut state = Quoting::FieldStart;
    for b in tail.bytes() {
        let boundary = b == delimiter || b == b'\n' || b == b'\r';
        state = match (state, b) {
            (Quoting::FieldStart, b'"') => Quoting::Quoted,
            (Quoting::Quoted, b'"') => Quoting::QuoteInQuoted,
            (Quoting::Quoted, _) => Quoting::Quoted,
            (Quoting::QuoteInQuoted, b'"') => Quoting::Quoted,
            (_, _) if boundary => Quoting::FieldStart,
            _ => Quoting::Unquoted,
        };
    }
    state == Quoting::Quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_rewritten_during_the_read_is_read_again() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("staff.csv");
        std::fs::write(&path, "First Name\nAnn\nBo\n").expect("write");
        let mut reads = 0;
        let bytes = settled(&path, Duration::ZERO, |p| {
            reads += 1;
            let bytes = std::fs::read(p)?;
            if reads == 1 {
                // The exporter truncates and starts writing while this read is under way.
                std::fs::write(p, "First Name\nAnn\nBo\nCy\n")?;
                return Ok(bytes.get(..12).unwrap_or_default().to_vec());
            }
            Ok(bytes)
        })
        .expect("the second read is consistent");
        assert_eq!(reads, 2);
        assert_eq!(bytes, b"First Name\nAnn\nBo\nCy\n");
    }

    #[test]
    fn a_file_that_never_settles_fails_the_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("staff.csv");
        std::fs::write(&path, "First Name\n").expect("write");
        let mut reads: u32 = 0;
        let err = settled(&path, Duration::ZERO, |p| {
            reads += 1;
            let bytes = std::fs::read(p)?;
            std::fs::write(p, format!("First Name\n{}\n", "x".repeat(reads as usize)))?;
            Ok(bytes)
        })
        .expect_err("never consistent");
        assert_eq!(reads, ATTEMPTS);
        assert!(err.to_string().contains("changed during each"), "{err}");
    }

    #[test]
    fn open_quotes_at_the_end() {
        assert!(ends_in_open_quote("Ann,\"two\nlines", b','));
        assert!(ends_in_open_quote("Ann,\"say \"\"hi\"\"", b','));
        assert!(!ends_in_open_quote("Ann,\"two\nlines\"\n", b','));
        assert!(!ends_in_open_quote("Ann,5\" screen\n", b','));
        assert!(!ends_in_open_quote("Ann,\"a\"b", b','));
        assert!(ends_in_open_quote("Ann;\"x", b';'));
        assert!(!ends_in_open_quote("", b','));
    }
}
