//! The JPEG marker walk: whether a JPEG is complete and plain enough to serve unchanged.

/// Why a JPEG cannot be served: its structure is broken or it is incomplete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(super) enum JpegError {
    #[error("corrupt headers (no marker at byte {0})")]
    NoMarker(usize),
    #[error("corrupt headers (bad length at byte {0})")]
    BadLength(usize),
    #[error("the file ends in its headers (truncated?)")]
    EndsInHeaders,
    #[error("the file has no image data")]
    NoImageData,
    #[error("the file is cut off (truncated?)")]
    CutOff,
}

/// What the marker walk learned about a JPEG.
#[derive(Clone, Copy)]
pub(super) struct JpegStructure {
    /// Baseline, extended or progressive Huffman coding with 1 or 3 components: what every
    /// client decodes, so it can be served as it is. CMYK (4 components) is not, e.g. on
    /// Android, and arithmetic or lossless coding hardly anywhere.
    pub plain: bool,
}

/// Walks the JPEG markers to the first scan and checks that an end-of-image marker follows.
///
/// The JPEG decoder is lenient and paints missing data grey, so a truncated download would
/// otherwise be served as a half-grey photo; a missing EOI is the reliable sign of it.
pub(super) fn jpeg_structure(data: &[u8]) -> Result<JpegStructure, JpegError> {
    let mut pos = 2;
    let mut frame: Option<(u8, u8)> = None;
    loop {
        // Markers may be preceded by any number of 0xFF fill bytes.
        while data.get(pos) == Some(&0xFF) && data.get(pos + 1) == Some(&0xFF) {
            pos += 1;
        }
        let marker = match (data.get(pos), data.get(pos + 1)) {
            (Some(0xFF), Some(&marker)) => marker,
            (Some(_), Some(_)) => return Err(JpegError::NoMarker(pos)),
            _ => return Err(JpegError::EndsInHeaders),
        };
        pos += 2;
        if marker == 0xD9 {
            return Err(JpegError::NoImageData);
        }
        if (0xD0..=0xD7).contains(&marker) || marker == 0x01 {
            continue; // standalone markers carry no length
        }
        let (Some(&hi), Some(&lo)) = (data.get(pos), data.get(pos + 1)) else {
            return Err(JpegError::EndsInHeaders);
        };
        let length = usize::from(u16::from_be_bytes([hi, lo]));
        if length < 2 {
            return Err(JpegError::BadLength(pos));
        }
        if pos + length > data.len() {
            return Err(JpegError::EndsInHeaders);
        }
        let is_frame = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_frame && frame.is_none() {
            // SOFn payload: precision, height (2), width (2), component count.
            frame = data.get(pos + 7).map(|&components| (marker, components));
        }
        if marker == 0xDA {
            break;
        }
        pos += length;
    }
    // Inside entropy-coded data a literal 0xFF is always followed by 0x00 or a restart
    // marker, so FF D9 after the first scan header can only be the end-of-image marker.
    let scan = data.get(pos..).unwrap_or_default();
    if !scan.windows(2).any(|w| w == [0xFF, 0xD9]) {
        return Err(JpegError::CutOff);
    }
    let plain = matches!(frame, Some((0xC0..=0xC2, 1 | 3)));
    Ok(JpegStructure { plain })
}
