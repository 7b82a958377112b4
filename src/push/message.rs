//! The WebDAV-Push `push-message` bodies (before encryption).

/// The namespace of every WebDAV-Push element.
pub const NS_PUSH: &str = "https://bitfire.at/webdav-push";

const OPEN: &str = concat!(
    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n",
    "<push-message xmlns=\"https://bitfire.at/webdav-push\" xmlns:D=\"DAV:\">"
);

/// A content update of the book with `topic`, now at `sync_token`. Both are minted here from
/// characters XML carries as they are (base64url, `urn:cardbridge:sync:` and hex digits).
pub fn content_update(topic: &str, sync_token: &str) -> String {
    format!(
        "{OPEN}<topic>{topic}</topic><content-update><D:sync-token>{sync_token}</D:sync-token>\
         </content-update></push-message>\n"
    )
}

/// The key rotation message (draft §"Key Rotation"): a property update of `transports`, with
/// no topic, telling the phone to fetch the new VAPID key and register again.
pub fn key_rotation() -> String {
    format!(
        "{OPEN}<property-update><D:prop><transports/></D:prop></property-update></push-message>\n"
    )
}
