//! The operator page's buttons: accept a poll the removal guard holds (what
//! `cardbridge accept` does, through the same publish step of the poller) and poll a source
//! now. Each is a form POST checked by `csrf.rs`; it waits until the poller has done what was
//! asked (within [`WAIT`]), then sends the browser back to the overview, which tells the
//! outcome (303 See Other, so a reload does not post again).

use std::time::Duration;

use percent_encoding::percent_decode_str;
use tokio::sync::oneshot;

use super::{csrf, html, personal, PATH};
use crate::app::AppState;
use crate::config::Origin;
use crate::dav::Reply;
use crate::web::page::escape;
use crate::web::{WebRequest, PREFIX};

/// The accept button's path under `/web/admin/`.
pub const ACCEPT: &str = "accept";
/// The "poll now" buttons' path under `/web/admin/`.
pub const POLL: &str = "poll";

/// How long a button waits for the poller before showing the page anyway (a slow source
/// still polls; the page then says it is under way).
const WAIT: Duration = Duration::from_secs(30);

/// `POST /web/admin/accept` with `book`: publishes the book's held poll.
pub async fn accept(app: &AppState, request: &WebRequest<'_>, user: &str) -> Reply {
    let form = match checked_form(app, request, user) {
        Ok(form) => form,
        Err(refused) => return refused,
    };
    let id = field(&form, "book");
    let Some(book) = app.books.get(id) else {
        return unknown(request, "address book", id);
    };
    if book.hold().is_none() {
        return html(
            request,
            409,
            "Nothing to accept",
            &format!(
                "<p>Address book <strong>{}</strong> has no held poll: it was accepted already, \
                 or a later poll no longer removes too much.</p>{BACK}",
                escape(id)
            ),
        );
    }
    tracing::warn!(book = %id, user, "held poll accepted on the operator page");
    let finished = finished(app.requests.accept(id)).await;
    back("accepted", id, finished)
}

/// `POST /web/admin/poll` with `source`: polls the source now, outside its schedule.
pub async fn poll(app: &AppState, request: &WebRequest<'_>, user: &str) -> Reply {
    let form = match checked_form(app, request, user) {
        Ok(form) => form,
        Err(refused) => return refused,
    };
    let id = field(&form, "source");
    if !app.config.sources.iter().any(|s| s.id == id) {
        return unknown(request, "source", id);
    }
    tracing::info!(source = %id, user, "poll asked on the operator page");
    let finished = finished(app.requests.poll_now(id)).await;
    back("polled", id, finished)
}

const BACK: &str = r#"<p><a href="/web/admin">Back to the operator overview</a></p>"#;

/// The form fields of a POST that comes from this server's operator page with `user`'s
/// token; a 403 page saying what to do otherwise.
fn checked_form(
    app: &AppState,
    request: &WebRequest<'_>,
    user: &str,
) -> Result<Vec<(String, String)>, Reply> {
    let form = std::str::from_utf8(request.body).map_or_else(|_| Vec::new(), fields);
    let own: Vec<String> = own_origins(app, request).iter().map(Origin::url).collect();
    let from_here = csrf::same_origin(request.origin, request.referer, &own);
    if from_here && csrf::verify(user, field(&form, "csrf")) {
        return Ok(form);
    }
    tracing::warn!(
        user,
        origin = ?request.origin,
        referer = ?request.referer,
        "operator form refused: not sent from the operator page with the user's token"
    );
    Err(html(
        request,
        403,
        "Request refused",
        &format!(
            "<p>This button press did not come from this server's operator page (its security \
             token is missing or wrong, or another site sent it), so nothing was done.</p>\
             <p>Open the operator page again and press the button there.</p>{BACK}"
        ),
    ))
}

/// Where this server's pages are: `[server] public_url` and the origin the request names.
fn own_origins(app: &AppState, request: &WebRequest<'_>) -> Vec<Origin> {
    let from_host = request
        .host
        .and_then(|host| Origin::from_host(host.trim(), request.secure));
    app.config
        .public_url
        .iter()
        .cloned()
        .chain(from_host)
        .collect()
}

/// The fields of an `application/x-www-form-urlencoded` text (a body or a query).
pub fn fields(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(name), decode(value))
        })
        .collect()
}

fn decode(text: &str) -> String {
    let spaced = text.replace('+', " ");
    percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
}

/// The value of field `name` ("" when absent).
pub fn field<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter()
        .find(|(n, _)| n == name)
        .map_or("", |(_, v)| v.as_str())
}

/// Whether the poller answered within [`WAIT`].
async fn finished(answer: oneshot::Receiver<()>) -> bool {
    matches!(tokio::time::timeout(WAIT, answer).await, Ok(Ok(())))
}

/// 303 to the overview, which tells what happened to `id` (`pending` when the poller had not
/// finished yet).
fn back(done: &str, id: &str, finished: bool) -> Reply {
    let id = percent_encoding::utf8_percent_encode(id, percent_encoding::NON_ALPHANUMERIC);
    let pending = if finished { "" } else { "&pending=1" };
    personal(Reply::new(303)).header("Location", format!("{PREFIX}{PATH}?{done}={id}{pending}"))
}

fn unknown(request: &WebRequest<'_>, what: &str, id: &str) -> Reply {
    html(
        request,
        404,
        "Not found",
        &format!(
            "<p>There is no {what} <strong>{}</strong> in the configuration.</p>{BACK}",
            escape(id)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_fields_are_decoded() {
        let form = fields("book=st%61ff&csrf=a-b_c&note=two+words&empty=&bare");
        assert_eq!(field(&form, "book"), "staff");
        assert_eq!(field(&form, "csrf"), "a-b_c");
        assert_eq!(field(&form, "note"), "two words");
        assert_eq!(field(&form, "empty"), "");
        assert_eq!(field(&form, "bare"), "");
        assert_eq!(field(&form, "missing"), "");
        assert_eq!(field(&fields("x=%FF%zz"), "x"), "\u{fffd}%zz");
    }
}
