//! Resolving a parsed path to what it names, for one user: other users' paths and books the
//! user may not read do not exist for them (404, no hint of existence).

use std::sync::Arc;

use super::paths::Resource;
use super::reply::Reply;
use crate::app::AppState;
use crate::config::BookConfig;
use crate::store::{Member, PublishedBook};

pub enum Located<'a> {
    Root,
    Principals,
    Principal,
    Home,
    Book {
        id: &'a str,
        config: &'a BookConfig,
        state: Arc<PublishedBook>,
    },
    Card {
        member: Arc<Member>,
    },
}

pub fn not_found() -> Reply {
    Reply::new(404).body("text/plain; charset=utf-8", "Not Found\n")
}

/// A book whose sources have not answered yet since a start without its state: an empty book
/// would make phones delete every card, so they are asked to come back.
fn not_ready() -> Reply {
    Reply::new(503).header("Retry-After", "30").body(
        "text/plain; charset=utf-8",
        "This address book is being loaded from its sources; try again shortly.\n",
    )
}

pub fn locate<'a>(
    app: &'a AppState,
    user: &str,
    resource: &Resource,
) -> Result<Located<'a>, Reply> {
    let own = |owner: &str| {
        if owner == user {
            Ok(())
        } else {
            Err(not_found())
        }
    };
    let book =
        |owner: &str, id: &str| -> Result<(&'a str, &'a BookConfig, Arc<PublishedBook>), Reply> {
            own(owner)?;
            let (config, book) = app.readable_book(user, id).ok_or_else(not_found)?;
            let state = book.state();
            if !state.ready {
                return Err(not_ready());
            }
            Ok((config.id.as_str(), config, state))
        };
    match resource {
        Resource::WellKnown | Resource::Root => Ok(Located::Root),
        Resource::Principals => Ok(Located::Principals),
        Resource::Principal { user: owner } => own(owner).map(|()| Located::Principal),
        Resource::Home { user: owner } => own(owner).map(|()| Located::Home),
        Resource::Book {
            user: owner,
            book: id,
        } => {
            let (id, config, state) = book(owner, id)?;
            Ok(Located::Book { id, config, state })
        }
        Resource::Card {
            user: owner,
            book: id,
            name,
        } => {
            let (_, _, state) = book(owner, id)?;
            let member = state.snapshot.get(name).cloned().ok_or_else(not_found)?;
            Ok(Located::Card { member })
        }
        // Registrations are only deleted (`dav::push`); there is nothing to read there.
        Resource::PushSubscription { .. } => Err(not_found()),
    }
}
