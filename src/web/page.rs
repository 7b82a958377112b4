//! What every page shares: the layout, the one escaping function every value from a source,
//! the configuration or the request goes through, and the safe headers.

use super::{style, WebRequest, PREFIX};
use crate::auth::Identity;
use crate::dav::Reply;

const HTML: &str = "text/html; charset=utf-8";

/// Scripts, frames, plugins, forms to elsewhere: none. Styles and images only from here.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
                       form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// `text` as HTML text or a quoted attribute value: `<script>` shows as text.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Headers every web reply carries: no framing (clickjacking), no content sniffing, no
/// referrer leaking a user's URLs to other sites, and the Content-Security-Policy. Referrers
/// stay on for this server itself (`same-origin`): with `no-referrer` a browser sends
/// `Origin: null` on a form post, and the operator forms' CSRF check needs the real origin.
pub fn safe_headers(reply: Reply) -> Reply {
    reply
        .header("Content-Security-Policy", CSP)
        .header("X-Frame-Options", "DENY")
        .header("X-Content-Type-Options", "nosniff")
        .header("Referrer-Policy", "same-origin")
}

/// A reply with the user's own data: never stored by the browser or a proxy.
pub fn personal(reply: Reply) -> Reply {
    safe_headers(reply).header("Cache-Control", "no-store")
}

/// A page for the logged-in user: `title` (plain text) and `main` (HTML, escaped by the
/// caller) in the shared layout.
pub fn html(request: &WebRequest<'_>, status: u16, title: &str, main: &str) -> Reply {
    let who = match request.identity {
        Identity::User(name) => format!("Signed in as <strong>{}</strong>", escape(name)),
        Identity::Anonymous => "Open to everyone: no sign-in".to_string(),
    };
    let title = escape(title);
    let body = format!(
        r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>{title} · cardbridge</title>
<link rel="stylesheet" href="{PREFIX}{css}">
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header>
<a class="brand" href="{PREFIX}">cardbridge</a>
<nav aria-label="Main">
<ul>
<li><a href="{PREFIX}">Address books</a></li>
<li><a href="{PREFIX}{setup}">Set up a device</a></li>{operator}
</ul>
</nav>
<p class="who">{who}</p>
</header>
<main id="main">
<h1>{title}</h1>
{main}
</main>
<footer>cardbridge publishes these address books read-only: changes are made at their source.</footer>
</body>
</html>
"##,
        css = style::PATH,
        setup = super::setup::PATH,
        operator = if request.operator {
            format!(
                "\n<li><a href=\"{PREFIX}{}\">Operator overview</a></li>",
                super::admin::PATH
            )
        } else {
            String::new()
        },
    );
    personal(Reply::new(status))
        .header("Vary", "Accept, Authorization")
        .body(HTML, body)
}

/// A web path that does not exist.
pub fn not_found(request: &WebRequest<'_>) -> Reply {
    html(
        request,
        404,
        "Page not found",
        &format!(
            r#"<p>There is no such page. <a href="{PREFIX}">Back to your address books</a>.</p>"#
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            escape(r#"<script>alert("1" & '2')</script>"#),
            "&lt;script&gt;alert(&quot;1&quot; &amp; &#39;2&#39;)&lt;/script&gt;"
        );
        assert_eq!(escape("Zoë"), "Zoë");
    }
}
