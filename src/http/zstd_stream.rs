//! zstd compression on contexts kept between responses. A context at level 3 carries a few
//! MB of match tables; creating one per response allocated them afresh (pages the kernel
//! zeroes) and set them up again for every compressed answer. Contexts are taken from a
//! small pool and given back when the response is done, so each worker thread in practice
//! reuses one.

use std::io;
use std::sync::{Mutex, PoisonError};

use zstd::zstd_safe::{self, CCtx, CParameter, InBuffer, OutBuffer, ResetDirective};

/// zstd level: every pooled context is set to it.
const LEVEL: i32 = 3;

/// Contexts kept for later responses; more than the server's worker threads are rarely in
/// use at once, and any beyond this are freed.
const POOLED: usize = 8;

static POOL: Mutex<Vec<CCtx<'static>>> = Mutex::new(Vec::new());

/// One zstd frame being written into a `Vec`.
pub struct ZstdStream {
    /// `None` only once the context went back to the pool.
    context: Option<CCtx<'static>>,
    out: Vec<u8>,
}

fn error(code: zstd_safe::ErrorCode) -> io::Error {
    io::Error::other(zstd_safe::get_error_name(code))
}

impl ZstdStream {
    pub fn new() -> io::Result<ZstdStream> {
        let pooled = POOL.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let context = match pooled {
            Some(mut context) => {
                // A frame left unfinished by a dropped response is discarded; the level
                // set before is kept.
                context.reset(ResetDirective::SessionOnly).map_err(error)?;
                context
            }
            None => {
                let mut context = CCtx::try_create()
                    .ok_or_else(|| io::Error::other("no memory for a zstd context"))?;
                context
                    .set_parameter(CParameter::CompressionLevel(LEVEL))
                    .map_err(error)?;
                context
            }
        };
        Ok(ZstdStream {
            context: Some(context),
            out: Vec::new(),
        })
    }

    /// The compressed output so far (taken by the caller as it is sent).
    pub fn output(&mut self) -> &mut Vec<u8> {
        &mut self.out
    }

    pub fn write(&mut self, chunk: &[u8]) -> io::Result<()> {
        let mut input = InBuffer::around(chunk);
        while input.pos() < chunk.len() {
            self.step(
                &mut input,
                zstd_safe::zstd_sys::ZSTD_EndDirective::ZSTD_e_continue,
            )?;
        }
        Ok(())
    }

    /// Ends the frame; the rest of the output.
    pub fn finish(mut self) -> io::Result<Vec<u8>> {
        let mut input = InBuffer::around(&[]);
        while self.step(
            &mut input,
            zstd_safe::zstd_sys::ZSTD_EndDirective::ZSTD_e_end,
        )? > 0
        {}
        Ok(std::mem::take(&mut self.out))
    }

    /// One call into zstd with room for a block of output; what it has left to flush.
    fn step(
        &mut self,
        input: &mut InBuffer,
        directive: zstd_safe::zstd_sys::ZSTD_EndDirective,
    ) -> io::Result<usize> {
        let context = self
            .context
            .as_mut()
            .ok_or_else(|| io::Error::other("zstd context already returned"))?;
        self.out.reserve(CCtx::out_size());
        let at = self.out.len();
        let mut output = OutBuffer::around_pos(&mut self.out, at);
        context
            .compress_stream2(&mut output, input, directive)
            .map_err(error)
    }
}

impl Drop for ZstdStream {
    fn drop(&mut self) {
        if let Some(context) = self.context.take() {
            let mut pool = POOL.lock().unwrap_or_else(PoisonError::into_inner);
            if pool.len() < POOLED {
                pool.push(context);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A context used for a finished frame, and one left mid-frame, each compress the next
    /// body to bytes that decode to it.
    #[test]
    fn reused_contexts_write_whole_frames() {
        let text: Vec<u8> = (0..50_000)
            .flat_map(|i| format!("<r>{i}</r>").into_bytes())
            .collect();
        for _ in 0..3 {
            let mut stream = ZstdStream::new().unwrap();
            for part in text.chunks(7_000) {
                stream.write(part).unwrap();
            }
            let mut coded = std::mem::take(stream.output());
            coded.extend(stream.finish().unwrap());
            assert_eq!(zstd::decode_all(&coded[..]).unwrap(), text);
            let mut abandoned = ZstdStream::new().unwrap();
            abandoned.write(&text[..10_000]).unwrap();
        }
    }
}
