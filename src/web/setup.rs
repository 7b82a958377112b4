//! The setup page: the Apple profile download, and step-by-step instructions for DAVx5,
//! Thunderbird and Evolution with the exact addresses to paste.
//!
//! DAVx5 is given its "Login with URL and user name" form with the base URL: the server
//! answers RFC 6764 discovery (`/.well-known/carddav`), so the base URL finds every book.

use super::page::{escape, html};
use super::site::Site;
use super::{profile, WebRequest, PREFIX};
use crate::app::AppState;
use crate::dav::Reply;

/// Its path under [`super::PREFIX`].
pub const PATH: &str = "setup";

pub fn page(app: &AppState, request: &WebRequest<'_>) -> Reply {
    let site = Site::of(app, request);
    let base = escape(&site.base_url());
    let user = escape(&site.user);
    let url = site.origin.url();
    let host = escape(url.split_once("://").map_or(url.as_str(), |(_, host)| host));
    let books: Vec<String> = app
        .readable_books(&site.user)
        .map(|b| {
            format!(
                r#"<li>{}: <span class="url">{}</span></li>"#,
                escape(b.display_name()),
                escape(&site.book_url(&b.id))
            )
        })
        .collect();
    let first_book = app
        .readable_books(&site.user)
        .next()
        .map(|b| escape(&site.book_url(&b.id)))
        .unwrap_or_else(|| base.clone());
    let password_note = if app.config.web.profile_password {
        "The profile carries the password you signed in with: keep the file to yourself."
    } else {
        "Your device asks for your password while installing; the profile does not contain it."
    };
    let signed_note = if app.profile_signer.is_some() {
        "The profile is signed: the device shows who vouches for it."
    } else {
        "The profile is not signed, so the device calls it \"Not Verified\"."
    };
    let credentials = if app.auth.is_anonymous() {
        "<dt>User name and password</dt><dd>none needed: leave them empty, or type anything \
         if your device insists</dd>"
            .to_string()
    } else {
        format!(
            "<dt>User name</dt><dd><span class=\"url\">{user}</span></dd>\n\
             <dt>Password</dt><dd>the one you signed in to this page with</dd>"
        )
    };
    let plain_note = if site.origin.secure {
        ""
    } else {
        " This server speaks plain HTTP: if the device cannot connect, turn <strong>Use SSL</strong> \
         off under <strong>Advanced Settings</strong>."
    };
    let main = format!(
        r#"<p>Your contacts are read-only address books. Add this server to your device once;
it keeps them up to date by itself.</p>
<dl>
<dt>Server address</dt><dd><span class="url">{base}</span></dd>
{credentials}
<dt>Principal URL</dt><dd><span class="url">{principal}</span></dd>
</dl>
<p>Address books (for programs that want one book's address):</p>
<ul>
{books}
</ul>

<h2 id="apple">iPhone, iPad and Mac</h2>
<p><a class="button" href="{PREFIX}{profile}" download>Download the setup profile</a></p>
<ol>
<li>Open this page on the device, in Safari, and tap <strong>Download the setup profile</strong>; allow the download.</li>
<li>iPhone and iPad: open <strong>Settings</strong>, tap <strong>Profile Downloaded</strong> near the top, then <strong>Install</strong>.
Mac: open the downloaded file, then <strong>System Settings</strong>, search for <strong>Profiles</strong> and choose <strong>Install</strong>.</li>
<li>Enter your password when asked. The address books appear in Contacts.</li>
</ol>
<p class="note">{password_note} Installing it again replaces the account rather than adding a second one.
{signed_note}</p>
<p>Without the profile: Settings → Contacts → Accounts → Add Account → Other → <strong>Add CardDAV Account</strong>;
Server <span class="url">{host}</span> User name <strong>{user}</strong> and your password.{plain_note}</p>

<h2 id="davx5">Android with DAVx5</h2>
<ol>
<li>Install <strong>DAVx5</strong> (F-Droid or Google Play) and open it.</li>
<li>Tap <strong>+</strong> and choose <strong>Login with URL and user name</strong>.</li>
<li>Base URL: <span class="url">{base}</span></li>
<li>User name <strong>{user}</strong> and your password, then <strong>Login</strong> and <strong>Create account</strong>.</li>
<li>On the <strong>CardDAV</strong> tab, tick the address books to sync.</li>
</ol>

<h2 id="thunderbird">Thunderbird</h2>
<ol>
<li>Open the <strong>Address Book</strong>, then <strong>New Address Book</strong> → <strong>Add CardDAV Address Book</strong>.</li>
<li>Username <strong>{user}</strong>; Location: <span class="url">{base}</span></li>
<li>Choose <strong>Continue</strong>, enter your password, and tick the address books to add.</li>
</ol>

<h2 id="evolution">Evolution (GNOME)</h2>
<ol>
<li><strong>File</strong> → <strong>New</strong> → <strong>Address Book</strong>; Type: <strong>CardDAV</strong>.</li>
<li>URL: <span class="url">{first_book}</span> (or the server address and <strong>Find Address Books</strong>).</li>
<li>User: <strong>{user}</strong>; choose <strong>OK</strong> and enter your password when asked.</li>
</ol>"#,
        principal = escape(&site.principal_url()),
        books = books.join("\n"),
        profile = profile::PATH,
    );
    html(request, 200, "Set up a device", &main)
}
