//! Compressed answers (RFC 9110 §8.4, §12.5.3): a multistatus larger than [`MIN_BYTES`] is
//! sent in the best coding the client accepts, zstd or gzip, streamed as it is produced.
//! Smaller bodies, and vCards sent by GET (whose strong ETag DAV clients compare with
//! `getetag`, and which a coded representation would have to change), go as they are.
//!
//! zstd and gzip because pingora already links both (libzstd, zlib-ng): no new build cost.
//! zstd compresses a multistatus better than gzip at a fraction of its CPU; gzip is what
//! every HTTP client accepts. Brotli's levels that match zstd's ratio cost several times
//! the CPU, so it is left out.

use std::io::Write;
use std::sync::Arc;

use bytes::Bytes;

use super::zstd_stream::ZstdStream;
use crate::dav::reply::{Encodings, XML_TYPE};
use crate::dav::{Body, BodyProducer};

/// Bodies smaller than this are sent as they are: compressing them saves less than it costs.
pub const MIN_BYTES: usize = 1024;

/// How much compressed output is gathered before it is handed to the connection.
const OUT_CHUNK: usize = 32 * 1024;

/// gzip level: zlib-ng's fast strategies (1–2) compress XML almost as well as its default at
/// a third of the CPU; 2 keeps lazy matching for a few per cent smaller output.
const GZIP_LEVEL: u32 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    Gzip,
    Zstd,
}

impl Coding {
    pub fn token(self) -> &'static str {
        match self {
            Coding::Gzip => "gzip",
            Coding::Zstd => "zstd",
        }
    }
}

/// The coding to answer in for an `Accept-Encoding` value: the acceptable one (q > 0) with
/// the highest weight, zstd on a tie; `*` stands for any coding not named.
pub fn negotiate(accept: &str) -> Option<Coding> {
    let (mut gzip, mut zstd, mut any) = (None, None, None);
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or_default().trim();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q=").or(p.trim().strip_prefix("Q=")))
            .find_map(|v| v.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if name.eq_ignore_ascii_case("gzip") || name.eq_ignore_ascii_case("x-gzip") {
            gzip = Some(q);
        } else if name.eq_ignore_ascii_case("zstd") {
            zstd = Some(q);
        } else if name == "*" {
            any = Some(q);
        }
    }
    let (gzip, zstd) = (gzip.or(any).unwrap_or(0.0), zstd.or(any).unwrap_or(0.0));
    if zstd > 0.0 && zstd >= gzip {
        Some(Coding::Zstd)
    } else if gzip > 0.0 {
        Some(Coding::Gzip)
    } else {
        None
    }
}

/// Whether a reply's body is one that may be compressed: a multistatus (a 207, or a 200
/// with XML).
pub fn compressible(status: u16, headers: &[(&'static str, String)]) -> bool {
    matches!(status, 200 | 207)
        && headers
            .iter()
            .any(|(name, value)| name.eq_ignore_ascii_case("content-type") && value == XML_TYPE)
}

/// `body` (whose first chunks are already produced: `head`) in `coding`. With `keep`, the
/// coded body is kept there when it has been produced to the end, and taken from there
/// when it was kept before.
pub fn encode(
    coding: Coding,
    head: Vec<Bytes>,
    rest: Option<Box<dyn BodyProducer>>,
    keep: Option<Arc<Encodings>>,
) -> Body {
    if let Some(kept) = keep.as_ref().and_then(|k| k.get(coding.token())) {
        return Body::Chunks(kept);
    }
    let encoder = match coding {
        Coding::Gzip => Encoder::Gzip(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::new(GZIP_LEVEL),
        )),
        Coding::Zstd => match ZstdStream::new() {
            Ok(encoder) => Encoder::Zstd(encoder),
            // Out of memory for the context: send the gzip form instead.
            Err(_) => return encode(Coding::Gzip, head, rest, keep),
        },
    };
    Body::Stream(Box::new(Encoding {
        head: head.into_iter(),
        rest,
        encoder: Some(encoder),
        keep: keep.map(|k| (k, Vec::new(), coding.token())),
    }))
}

enum Encoder {
    Gzip(flate2::write::GzEncoder<Vec<u8>>),
    Zstd(ZstdStream),
}

impl Encoder {
    fn write(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        match self {
            Encoder::Gzip(e) => e.write_all(chunk),
            Encoder::Zstd(e) => e.write(chunk),
        }
    }

    fn output(&mut self) -> &mut Vec<u8> {
        match self {
            Encoder::Gzip(e) => e.get_mut(),
            Encoder::Zstd(e) => e.output(),
        }
    }

    fn finish(self) -> std::io::Result<Vec<u8>> {
        match self {
            Encoder::Gzip(e) => e.finish(),
            Encoder::Zstd(e) => e.finish(),
        }
    }
}

/// A body compressed as it is produced; never yields an empty chunk (that would end a
/// chunked body early).
struct Encoding {
    head: std::vec::IntoIter<Bytes>,
    rest: Option<Box<dyn BodyProducer>>,
    /// `None` once the end has been written.
    encoder: Option<Encoder>,
    keep: Option<(Arc<Encodings>, Vec<Bytes>, &'static str)>,
}

impl Encoding {
    fn input(&mut self) -> Option<Bytes> {
        self.head
            .next()
            .or_else(|| self.rest.as_mut().and_then(|r| r.next_chunk()))
    }

    fn emit(&mut self, out: Vec<u8>) -> Option<Bytes> {
        let chunk = Bytes::from(out);
        if let Some((_, chunks, _)) = self.keep.as_mut() {
            chunks.push(chunk.clone());
        }
        Some(chunk)
    }
}

impl BodyProducer for Encoding {
    fn next_chunk(&mut self) -> Option<Bytes> {
        loop {
            self.encoder.as_ref()?;
            match self.input() {
                Some(chunk) => {
                    let encoder = self.encoder.as_mut()?;
                    // Writing into a Vec fails only when memory does; the body then ends
                    // short and the client sees a broken stream, as with a dropped connection.
                    encoder.write(&chunk).ok()?;
                    let output = encoder.output();
                    if output.len() >= OUT_CHUNK {
                        let out = std::mem::take(output);
                        return self.emit(out);
                    }
                }
                None => {
                    let out = self.encoder.take()?.finish().ok()?;
                    if let Some((encodings, chunks, coding)) = self.keep.take() {
                        let mut chunks = chunks;
                        if !out.is_empty() {
                            chunks.push(Bytes::from(out.clone()));
                        }
                        encodings.keep(coding, chunks.into());
                    }
                    return (!out.is_empty()).then(|| Bytes::from(out));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation() {
        assert_eq!(negotiate("gzip"), Some(Coding::Gzip));
        assert_eq!(negotiate("gzip, deflate, br, zstd"), Some(Coding::Zstd));
        assert_eq!(negotiate("zstd;q=0.5, gzip"), Some(Coding::Gzip));
        assert_eq!(negotiate("gzip;q=0, zstd;q=0"), None);
        assert_eq!(negotiate("gzip;q=0"), None);
        assert_eq!(negotiate("br, deflate"), None);
        assert_eq!(negotiate("*"), Some(Coding::Zstd));
        assert_eq!(negotiate("*, zstd;q=0"), Some(Coding::Gzip));
        assert_eq!(negotiate("identity"), None);
        assert_eq!(negotiate(""), None);
    }

    fn produce(body: Body) -> Vec<u8> {
        let mut out = Vec::new();
        match body {
            Body::Stream(mut producer) => {
                while let Some(chunk) = producer.next_chunk() {
                    assert!(!chunk.is_empty());
                    out.extend_from_slice(&chunk);
                }
            }
            Body::Full(bytes) => out.extend_from_slice(&bytes),
            Body::Chunks(chunks) => chunks.iter().for_each(|c| out.extend_from_slice(c)),
            Body::Empty => {}
        }
        out
    }

    #[test]
    fn decodes_to_the_same_bytes_and_is_kept() {
        let text: String = (0..20_000).map(|i| format!("<r>{i}</r>")).collect();
        let head = vec![Bytes::from(text.clone())];
        let keep = Arc::new(Encodings::default());
        let gz = produce(encode(Coding::Gzip, head.clone(), None, Some(keep.clone())));
        let mut plain = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut plain).unwrap();
        assert_eq!(plain, text.as_bytes());
        let zst = produce(encode(Coding::Zstd, head.clone(), None, None));
        assert_eq!(zstd::decode_all(&zst[..]).unwrap(), text.as_bytes());
        let again = produce(encode(Coding::Gzip, Vec::new(), None, Some(keep)));
        assert_eq!(again, gz, "the kept form is sent again");
    }
}
