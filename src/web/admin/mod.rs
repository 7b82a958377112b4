//! The operator pages under `/web/admin`, for the users named in `[auth] admins` and whoever
//! connects on `[server] admin_listen`: every book and source at a glance, polls held by the
//! removal guard with an Accept button, a "Poll now" button per source, and the same data as
//! JSON for scripts (fields in `docs/operator-pages.md`). Everyone else gets 403.
//!
//! | path | answer |
//! |---|---|
//! | `GET /web/admin` | the overview page (`page.rs`) |
//! | `GET /web/admin/status.json` | the same data as JSON (`model.rs` documents the fields) |
//! | `POST /web/admin/accept` | `book`, `csrf`: publishes the book's held poll (`actions.rs`) |
//! | `POST /web/admin/poll` | `source`, `csrf`: polls the source now |
//!
//! The buttons are plain forms; `csrf.rs` makes sure a POST comes from this page.

mod actions;
mod csrf;
mod model;
mod page;

use super::page::{html, personal};
use super::{WebRequest, PREFIX};
use crate::app::AppState;
use crate::auth::Identity;
use crate::dav::Reply;

/// The operator pages' path under `/web/`.
pub const PATH: &str = "admin";

/// The answer when the request is for an operator path; `None` otherwise, and for methods
/// other than GET, HEAD and POST (the DAV layer answers those as for any other path).
pub async fn answer(app: &AppState, request: &WebRequest<'_>) -> Option<Reply> {
    let rest = request.head.path.strip_prefix(PREFIX)?;
    let query = request.query.unwrap_or("");
    let sub = match rest.strip_prefix(PATH)? {
        "" | "/" => "",
        sub => sub.strip_prefix('/')?,
    };
    let method = request.head.method.as_str();
    if !matches!(method, "GET" | "HEAD" | "POST") {
        return None;
    }
    let Some(user) = operator(request) else {
        return Some(forbidden(request, sub));
    };
    Some(match (method, sub) {
        ("GET" | "HEAD", "") => page::overview(app, request, user, query),
        ("GET" | "HEAD", model::JSON_PATH) => model::reply(app),
        ("POST", actions::ACCEPT) => actions::accept(app, request, user).await,
        ("POST", actions::POLL) => actions::poll(app, request, user).await,
        ("POST", "" | model::JSON_PATH) => not_allowed(request, "GET, HEAD"),
        (_, actions::ACCEPT | actions::POLL) => not_allowed(request, "POST"),
        _ => super::page::not_found(request),
    })
}

/// Whether `identity` is an operator: a user in `[auth] admins`, or anyone connected on
/// `[server] admin_listen` (`on_admin_listener`).
pub fn is_operator(app: &AppState, identity: &Identity, on_admin_listener: bool) -> bool {
    match identity {
        _ if on_admin_listener => true,
        Identity::User(name) if !app.config.admins.is_empty() => {
            app.config.is_admin(name, &app.auth.groups(name))
        }
        _ => false,
    }
}

/// The name the operator's buttons are signed for, when the request comes from an operator.
fn operator<'a>(request: &WebRequest<'a>) -> Option<&'a str> {
    let identity: &'a Identity = request.identity;
    request.operator.then(|| identity.principal_name())
}

fn not_allowed(request: &WebRequest<'_>, allow: &'static str) -> Reply {
    html(
        request,
        405,
        "Not allowed here",
        "<p>This address does not take that kind of request.</p>",
    )
    .header("Allow", allow)
}

/// 403 for a user who is not an operator: a page, or JSON for the JSON path.
fn forbidden(request: &WebRequest<'_>, sub: &str) -> Reply {
    const WHY: &str = "operators only: this user is not in [auth] admins (or connect on \
                       [server] admin_listen)";
    if sub == model::JSON_PATH {
        return personal(Reply::new(403)).body(
            "application/json",
            serde_json::json!({ "error": WHY }).to_string(),
        );
    }
    html(
        request,
        403,
        "Operators only",
        "<p>These pages are for operators: the users named in <code>[auth] admins</code> of \
         the server's configuration, and whoever connects on its operators' address \
         (<code>[server] admin_listen</code>).</p>",
    )
}
