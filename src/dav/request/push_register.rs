//! The WebDAV-Push `push-register` body (draft §"Subscription Registration"), read into its
//! fields as text; `crate::push` checks them.

use super::xml_tree::{self, Element};
use super::RequestError;
use crate::dav::xml::NS_PUSH;
use crate::push::RawRegistration;

fn text(parent: Option<&Element>, local: &str) -> Option<String> {
    parent?
        .child(NS_PUSH, local)
        .map(|e| e.text.trim().to_string())
}

/// The registration a body asks for; `Ok(None)` when its root is not `push-register` (a
/// POST that is not about push, refused as every write is).
pub fn parse(body: &[u8]) -> Result<Option<RawRegistration>, RequestError> {
    let root = xml_tree::parse(body)?;
    if !root.is(NS_PUSH, "push-register") {
        return Ok(None);
    }
    let web_push = root
        .child(NS_PUSH, "subscription")
        .and_then(|s| s.child(NS_PUSH, "web-push-subscription"));
    let key = web_push.and_then(|w| w.child(NS_PUSH, "subscription-public-key"));
    let trigger = root.child(NS_PUSH, "trigger");
    Ok(Some(RawRegistration {
        web_push: web_push.is_some(),
        push_resource: text(web_push, "push-resource"),
        content_encoding: text(web_push, "content-encoding"),
        key_type: key.and_then(|k| k.attr("type")).map(str::to_string),
        public_key: key.map(|k| k.text.trim().to_string()),
        auth_secret: text(web_push, "auth-secret"),
        content_update: trigger.is_some_and(|t| t.child(NS_PUSH, "content-update").is_some()),
        expires: text(Some(&root), "expires"),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The draft's own sample (notes: webdav-push `sample-push-register.xml`).
    const SAMPLE: &str = r#"<push-register xmlns="https://bitfire.at/webdav-push" xmlns:D="DAV:">
  <subscription>
    <web-push-subscription>
      <push-resource>https://up.example.net/yohd4yai5Phiz1wi</push-resource>
      <content-encoding>aes128gcm</content-encoding>
      <subscription-public-key type="p256dh">BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4</subscription-public-key>
      <auth-secret>BTBZMqHH6r4Tts7J_aSIgg</auth-secret>
    </web-push-subscription>
  </subscription>
  <trigger>
    <content-update>
      <D:depth>infinity</D:depth>
    </content-update>
    <property-update>
      <D:depth>0</D:depth>
      <D:prop>
        <D:displayname/>
        <D:owner/>
      </D:prop>
    </property-update>
  </trigger>
  <expires>Wed, 20 Dec 2023 10:03:31 GMT</expires>
</push-register>"#;

    #[test]
    fn the_drafts_sample_reads_into_its_fields() {
        let raw = parse(SAMPLE.as_bytes()).unwrap().unwrap();
        assert!(raw.web_push && raw.content_update);
        assert_eq!(
            raw.push_resource.as_deref(),
            Some("https://up.example.net/yohd4yai5Phiz1wi")
        );
        assert_eq!(raw.content_encoding.as_deref(), Some("aes128gcm"));
        assert_eq!(raw.key_type.as_deref(), Some("p256dh"));
        assert_eq!(raw.auth_secret.as_deref(), Some("BTBZMqHH6r4Tts7J_aSIgg"));
        assert_eq!(
            raw.expires.as_deref(),
            Some("Wed, 20 Dec 2023 10:03:31 GMT")
        );
        let other = parse(b"<D:propertyupdate xmlns:D=\"DAV:\"/>").unwrap();
        assert_eq!(other, None);
    }
}
