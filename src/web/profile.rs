//! The Apple configuration profile (`.mobileconfig`): one `com.apple.carddav.account`
//! payload with the host, port, TLS, principal URL and user name, so an iPhone, iPad or Mac
//! installs the account in a few taps.
//!
//! Identifiers and UUIDs are derived from the origin and the user, so installing the profile
//! again replaces the account instead of adding a second one, and two users of one Mac get two.
//! The password is left out unless `[web] profile_password` is on, and then it is only the one
//! this very request logged in with. With `[web] profile_cert_file` the profile is signed
//! (`signing.rs`); unsigned, devices install it as "Not Verified".

use xxhash_rust::xxh3::xxh3_128;

use super::page::{escape, personal};
use super::site::Site;
use super::WebRequest;
use crate::app::AppState;
use crate::auth::{parse_basic, Identity};
use crate::dav::{DavError, Reply};

/// Its path under [`super::PREFIX`].
pub const PATH: &str = "cardbridge.mobileconfig";

const CONTENT_TYPE: &str = "application/x-apple-aspen-config";

pub fn reply(app: &AppState, request: &WebRequest<'_>) -> Reply {
    let site = Site::of(app, request);
    let password = if app.config.web.profile_password {
        own_password(request)
    } else {
        None
    };
    let file_name = format!("cardbridge-{}.mobileconfig", file_safe(&site.origin.host));
    let text = plist(&site, password.as_deref());
    let body = match &app.profile_signer {
        None => text.into_bytes(),
        Some(signer) => match signer.sign(text.as_bytes()) {
            Ok(signed) => signed,
            Err(e) => {
                tracing::error!("{e}");
                return Reply::from(DavError::Internal("the profile could not be signed"));
            }
        },
    };
    personal(Reply::new(200))
        .header(
            "Content-Disposition",
            format!("attachment; filename=\"{file_name}\""),
        )
        .body(CONTENT_TYPE, body)
}

/// The password of the request's own Basic login, for the user it authenticated.
fn own_password(request: &WebRequest<'_>) -> Option<String> {
    let Identity::User(user) = request.identity else {
        return None;
    };
    let (name, password) = parse_basic(request.authorization?).ok()?;
    (&name == user).then_some(password)
}

/// The profile as an XML property list.
fn plist(site: &Site, password: Option<&str>) -> String {
    let origin = &site.origin;
    let key = format!("{}:{}\0{}", origin.host, origin.port, site.user);
    let id = format!("cardbridge.{:032x}", xxh3_128(key.as_bytes()));
    // An IPv6 host goes without its URL brackets.
    let host = origin.host.trim_start_matches('[').trim_end_matches(']');
    let description = format!("Contacts at {host}");
    let password = password
        .map(|p| {
            format!(
                "\t\t\t<key>CardDAVPassword</key>\n\t\t\t<string>{}</string>\n",
                escape(p)
            )
        })
        .unwrap_or_default();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>PayloadContent</key>
	<array>
		<dict>
			<key>CardDAVAccountDescription</key>
			<string>{description}</string>
			<key>CardDAVHostName</key>
			<string>{host}</string>
{password}			<key>CardDAVPort</key>
			<integer>{port}</integer>
			<key>CardDAVPrincipalURL</key>
			<string>{principal}</string>
			<key>CardDAVUseSSL</key>
			<{ssl}/>
			<key>CardDAVUsername</key>
			<string>{user}</string>
			<key>PayloadDescription</key>
			<string>The read-only address books of {user} at {host}</string>
			<key>PayloadDisplayName</key>
			<string>{description}</string>
			<key>PayloadIdentifier</key>
			<string>{id}.carddav</string>
			<key>PayloadType</key>
			<string>com.apple.carddav.account</string>
			<key>PayloadUUID</key>
			<string>{payload_uuid}</string>
			<key>PayloadVersion</key>
			<integer>1</integer>
		</dict>
	</array>
	<key>PayloadDescription</key>
	<string>Adds the address books cardbridge publishes for {user} at {host}.</string>
	<key>PayloadDisplayName</key>
	<string>{description}</string>
	<key>PayloadIdentifier</key>
	<string>{id}</string>
	<key>PayloadRemovalDisallowed</key>
	<false/>
	<key>PayloadType</key>
	<string>Configuration</string>
	<key>PayloadUUID</key>
	<string>{profile_uuid}</string>
	<key>PayloadVersion</key>
	<integer>1</integer>
</dict>
</plist>
"#,
        description = escape(&description),
        host = escape(host),
        port = origin.port,
        principal = escape(&site.principal_url()),
        ssl = origin.secure,
        user = escape(&site.user),
        payload_uuid = uuid(&key, "carddav"),
        profile_uuid = uuid(&key, "profile"),
    )
}

/// A UUID (version 8: custom) derived from `key` and `part`: the same every download.
fn uuid(key: &str, part: &str) -> String {
    let mut bits = xxh3_128(format!("{part}\0{key}").as_bytes());
    bits = (bits & !(0xf << 76)) | (0x8 << 76);
    bits = (bits & !(0x3 << 62)) | (0x2 << 62);
    let hex = format!("{bits:032X}");
    let part = |from: usize, to: usize| hex.get(from..to).unwrap_or("");
    format!(
        "{}-{}-{}-{}-{}",
        part(0, 8),
        part(8, 12),
        part(12, 16),
        part(16, 20),
        part(20, 32)
    )
}

/// `host` with anything but letters, digits, dots and dashes dropped, for a file name.
fn file_safe(host: &str) -> String {
    host.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-')
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Origin;

    fn site(user: &str) -> Site {
        Site {
            origin: Origin::parse_url("https://dav.example").unwrap(),
            user: user.into(),
        }
    }

    #[test]
    fn identifiers_are_stable_per_user() {
        assert_eq!(plist(&site("ann"), None), plist(&site("ann"), None));
        assert_ne!(uuid("a", "profile"), uuid("b", "profile"));
        let id = uuid("a", "profile");
        assert_eq!(id.len(), 36);
        assert_eq!(id.get(14..15), Some("8"));
        assert!(matches!(id.get(19..20), Some("8" | "9" | "A" | "B")));
    }

    #[test]
    fn values_are_escaped_and_the_password_optional() {
        let text = plist(&site("<ann>"), None);
        assert!(text.contains("<string>&lt;ann&gt;</string>"));
        assert!(!text.contains("CardDAVPassword"));
        assert!(plist(&site("ann"), Some("a&b")).contains("<string>a&amp;b</string>"));
    }
}
