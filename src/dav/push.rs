//! WebDAV-Push on the DAV side: a `POST` of `push-register` to a book registers (or renews)
//! a subscription; a `DELETE` of the registration URL it answered with unregisters. They are
//! the only requests this read-only server takes that change anything, and they change no
//! contact data; any other `POST` is refused as every write is (`readonly`).

use crate::store::unix_now;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use super::error::DavError;
use super::locate::not_found;
use super::paths::{self, Resource};
use super::readonly;
use super::reply::Reply;
use super::request::push_register;
use super::RequestHead;
use crate::app::AppState;
use crate::push::{check_registration, Invalid, RawRegistration, RegisterError};

/// A POST to a book: a registration when the body is a `push-register`, else refused.
pub fn post(
    app: &Arc<AppState>,
    head: &RequestHead,
    user: &str,
    resource: &Resource,
    body: &[u8],
) -> Reply {
    match push_register::parse(body) {
        Ok(Some(raw)) => register(app, head, user, resource, &raw),
        Ok(None) | Err(_) => readonly::refuse_write(app, head, user, resource),
    }
}

fn push_error(condition: &'static str, description: impl Into<String>) -> Reply {
    DavError::Push {
        condition,
        description: description.into(),
    }
    .into()
}

/// Registers `raw` for `user`'s view of the book: 201 with the registration URL
/// (`Location`) and its expiry (`Expires`) when new, 204 with both when renewed.
fn register(
    app: &Arc<AppState>,
    head: &RequestHead,
    user: &str,
    resource: &Resource,
    raw: &RawRegistration,
) -> Reply {
    let Some(push) = app.push.as_deref() else {
        return readonly::refuse_write(app, head, user, resource);
    };
    let Resource::Book { user: owner, book } = resource else {
        return readonly::refuse_write(app, head, user, resource);
    };
    // Books the user may not read do not exist for them, as for every other request.
    if owner != user || app.readable_book(user, book).is_none() {
        return not_found();
    }
    let registration = match check_registration(raw, &push.settings, push.registry.rng()) {
        Ok(registration) => registration,
        Err(Invalid::Subscription(why)) => return push_error("invalid-subscription", why),
        Err(Invalid::NoTrigger) => {
            return push_error("no-trigger-supported", Invalid::NoTrigger.to_string())
        }
        Err(Invalid::BadRequest(why)) => return DavError::BadRequest(why.into()).into(),
    };
    let now = unix_now();
    match push
        .registry
        .register(user, book, registration, now, &push.settings)
    {
        Ok(registered) => {
            tracing::info!(%user, %book, subscription = %registered.id, new = registered.created, "push registered");
            let expires = UNIX_EPOCH + Duration::from_secs(registered.expires);
            let location = format!(
                "{}{}",
                head.origin(),
                paths::push_subscription_href(&registered.id)
            );
            Reply::new(if registered.created { 201 } else { 204 })
                .header("Location", location)
                .header("Expires", httpdate::fmt_http_date(expires))
        }
        Err(e @ RegisterError::TooMany(_)) => push_error("push-not-available", e.to_string()),
        Err(e @ RegisterError::Expired) => DavError::BadRequest(e.to_string().into()).into(),
        Err(RegisterError::Unsaved(e)) => {
            tracing::error!("push registration not saved: {e}");
            DavError::Internal("the push registration could not be saved").into()
        }
    }
}

/// DELETE of a registration URL: 204 when it was `user`'s, 404 when unknown or expired.
pub fn unregister(app: &Arc<AppState>, user: &str, resource: &Resource) -> Reply {
    let (Some(push), Resource::PushSubscription { id }) = (app.push.as_deref(), resource) else {
        return not_found();
    };
    match push.registry.unregister(user, id, unix_now()) {
        Ok(true) => {
            tracing::info!(%user, subscription = %id, "push unregistered");
            Reply::new(204)
        }
        Ok(false) => not_found(),
        Err(e) => {
            tracing::error!("push unregistration not saved: {e}");
            DavError::Internal("the push registration could not be removed").into()
        }
    }
}
