//! How a source's checkpoint is written: its layout version, then the body in postcard. A
//! checkpoint of another version is refused before its body is read, so a restart after an
//! upgrade lists in full instead of misreading what an older release saved.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// `body` under layout `version`; `None` if it cannot be encoded (the source saves nothing).
pub(crate) fn encode<T: Serialize>(version: u32, body: &T) -> Option<Vec<u8>> {
    let mut bytes = postcard::to_stdvec(&version).ok()?;
    bytes.extend(postcard::to_stdvec(body).ok()?);
    Some(bytes)
}

/// The body of a checkpoint written under layout `version`, or why it cannot be used.
pub(crate) fn decode<T: DeserializeOwned>(version: u32, bytes: &[u8]) -> Result<T, String> {
    let (found, body) = postcard::take_from_bytes::<u32>(bytes)
        .map_err(|e| format!("unreadable checkpoint: {e}"))?;
    if found != version {
        return Err(format!(
            "checkpoint version {found} (this cardbridge reads {version})"
        ));
    }
    postcard::from_bytes(body).map_err(|e| format!("unreadable checkpoint: {e}"))
}

/// A source's state that knows whether what it holds has been saved since it last changed.
pub(crate) trait Checkpointed {
    /// Set when the state changes, cleared once a checkpoint of it is taken.
    fn unsaved(&mut self) -> &mut bool;
    /// The checkpoint of the state; `None` when there is nothing to go on from.
    fn save(&self) -> Option<Vec<u8>>;
}

/// The checkpoint of `state` if it changed since the last one taken (a state that cannot
/// be saved stays unsaved, to be tried after the next poll).
pub(crate) fn take_unsaved(state: &mut impl Checkpointed) -> Option<Vec<u8>> {
    if !*state.unsaved() {
        return None;
    }
    let saved = state.save();
    *state.unsaved() = saved.is_none();
    saved
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_version_is_refused_before_its_body_is_read() {
        let saved = encode(1, &("cookie", 7u8)).expect("encodes");
        assert_eq!(decode::<(String, u8)>(1, &saved), Ok(("cookie".into(), 7)));
        let err = decode::<u64>(2, &saved).expect_err("other version");
        assert!(err.contains("version 1"), "{err}");
        assert!(decode::<(String, u8)>(1, &saved[..2]).is_err());
        assert!(decode::<u8>(1, &[]).is_err());
    }
}
