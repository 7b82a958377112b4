//! Contact photos: downloaded from the URLs the People API lists, capped and downscaled by
//! the shared normalizer, and cached by URL (Google's photo URLs change when the photo does).
//!
//! Photo hosts get no access token: the URLs need none, and a token must not travel to other
//! hosts. A photo that cannot be used (404, too large, not an image) is cached as such and
//! reported; a download that fails for a passing reason (network, 429, 5xx) is not cached,
//! so the next poll tries again.

use std::collections::HashMap;

use tokio::task::JoinSet;

use crate::photo::{normalize_photo, PhotoError, PhotoSettings};
use crate::{Cancel, Photo, SourceError};

/// Downloads running at once.
const PARALLEL: usize = 6;

/// The cache: URL → the served photo, or why the photo is left out.
pub type PhotoCache = HashMap<String, Result<Photo, Unusable>>;

/// Why a photo is left out until its URL changes.
#[derive(Debug, thiserror::Error)]
pub enum Unusable {
    /// The photo host refused it for good (404, 403, …).
    #[error("{url}: HTTP {status}")]
    Status {
        url: String,
        status: reqwest::StatusCode,
    },
    /// Too large, or no image the normalizer takes.
    #[error(transparent)]
    Photo(#[from] PhotoError),
}

enum Fetched {
    Done(Result<Photo, Unusable>),
    /// Try again at the next poll; the error says why (unreachable, rate-limited).
    Later(SourceError),
}

/// Downloads `urls` into `cache` (as each finishes, so a poll cut short keeps what it got);
/// returns the URLs that failed for now, with the cause.
pub async fn download(
    http: &reqwest::Client,
    urls: Vec<String>,
    settings: &PhotoSettings,
    cache: &mut PhotoCache,
    cancel: &Cancel,
) -> Vec<(String, SourceError)> {
    let mut later = Vec::new();
    let mut pending = urls.into_iter();
    let mut running = JoinSet::new();
    loop {
        while running.len() < PARALLEL {
            let Some(url) = pending.next() else {
                break;
            };
            let http = http.clone();
            let settings = settings.clone();
            let cancel = cancel.clone();
            running.spawn(async move {
                let fetched = fetch(&http, &url, &settings, &cancel).await;
                (url, fetched)
            });
        }
        let Some(joined) = running.join_next().await else {
            return later;
        };
        match joined {
            Ok((url, Fetched::Done(result))) => {
                cache.insert(url, result);
            }
            Ok((url, Fetched::Later(reason))) => later.push((url, reason)),
            Err(e) => later.push((
                String::new(),
                SourceError::Unreachable(format!("photo download crashed: {e}")),
            )),
        }
    }
}

async fn fetch(
    http: &reqwest::Client,
    url: &str,
    settings: &PhotoSettings,
    cancel: &Cancel,
) -> Fetched {
    let mut response = match http.get(url).send().await {
        Ok(response) => response,
        Err(e) => {
            return Fetched::Later(SourceError::Unreachable(format!(
                "cannot download {url}: {e}"
            )))
        }
    };
    let status = response.status();
    if status.as_u16() == 429 {
        return Fetched::Later(SourceError::RateLimited {
            retry_after: None,
            message: format!("{url}: HTTP {status}"),
        });
    }
    if status.is_server_error() {
        return Fetched::Later(SourceError::Unreachable(format!("{url}: HTTP {status}")));
    }
    if !status.is_success() {
        return Fetched::Done(Err(Unusable::Status {
            url: url.to_string(),
            status,
        }));
    }
    let limit = settings.max_input_bytes;
    let too_large = |size: usize| Fetched::Done(Err(PhotoError::TooLarge { size, limit }.into()));
    if let Some(length) = response.content_length() {
        if length > limit as u64 {
            return too_large(usize::try_from(length).unwrap_or(usize::MAX));
        }
    }
    let mut bytes = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                bytes.extend_from_slice(&chunk);
                if bytes.len() > limit {
                    return too_large(bytes.len());
                }
            }
            Ok(None) => break,
            Err(e) => {
                return Fetched::Later(SourceError::Unreachable(format!("downloading {url}: {e}")))
            }
        }
    }
    let settings = settings.clone();
    // Counted as the poll's work: a decode outliving a timed-out poll keeps the source busy.
    match cancel
        .spawn_blocking(move || normalize_photo(&bytes, &settings))
        .await
    {
        Ok(result) => Fetched::Done(result.map_err(Unusable::from)),
        Err(e) => Fetched::Later(SourceError::Unreachable(format!("converting {url}: {e}"))),
    }
}
