//! Building configured sources, polling them, and merging their listings into book members.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use cardbridge_connectors::activesync::ActiveSyncSource;
use cardbridge_connectors::csv::CsvSource;
use cardbridge_connectors::google::GoogleSource;
use cardbridge_connectors::ldap::LdapSource;
use cardbridge_connectors::{Cancel, Contact, PollOutcome, SkippedRecord, Source, SourceError};

use crate::config::{BookConfig, Config, SourceConfig, SourceSettings};
use crate::store::Member;
use crate::vcard::caps::Caps;

/// Instantiates the source a `[[source]]` table describes.
pub fn build(config: &SourceConfig) -> Result<Arc<dyn Source>, String> {
    let built = match &config.settings {
        SourceSettings::Csv(settings) => CsvSource::new(config.id.clone(), settings.clone())
            .map(|s| Arc::new(s) as Arc<dyn Source>),
        SourceSettings::ActiveSync(settings) => {
            ActiveSyncSource::new(config.id.clone(), settings.clone())
                .map(|s| Arc::new(s) as Arc<dyn Source>)
        }
        SourceSettings::Ldap(settings) => {
            LdapSource::new(config.id.clone(), settings.as_ref().clone())
                .map(|s| Arc::new(s) as Arc<dyn Source>)
        }
        SourceSettings::Google(settings) => {
            GoogleSource::new(config.id.clone(), settings.as_ref().clone())
                .map(|s| Arc::new(s) as Arc<dyn Source>)
        }
    };
    built.map_err(|e| format!("[[source]] {:?}: {e}", config.id))
}

/// A configured source and its instance.
pub type Configured = (SourceConfig, Arc<dyn Source>);

/// Builds every configured source.
pub fn build_all(config: &Config) -> Result<Vec<Configured>, String> {
    config
        .sources
        .iter()
        .map(|sc| build(sc).map(|s| (sc.clone(), s)))
        .collect()
}

/// The contacts of one successful poll, shared with the book members built from them.
pub type Listing = Arc<Vec<Arc<Contact>>>;

pub fn listing(contacts: Vec<Arc<Contact>>) -> Listing {
    Arc::new(contacts)
}

/// Polls every source once (for `check` and `export`), with the card size caps applied.
pub async fn poll_all(
    config: &Config,
) -> Result<HashMap<String, Result<PollOutcome, SourceError>>, String> {
    let mut results = HashMap::new();
    for (sc, source) in build_all(config)? {
        let mut result = source.poll(&Cancel::default()).await;
        if let Ok(outcome) = &mut result {
            apply_caps(outcome, &config.server.caps());
        }
        results.insert(sc.id.clone(), result);
    }
    Ok(results)
}

/// Shortens the contacts of a poll to the card size caps; each value cut is added to the
/// poll's notices, naming the card.
pub fn apply_caps(outcome: &mut PollOutcome, caps: &Caps) {
    for contact in &mut outcome.contacts {
        let card = format!(
            "card {:?} ({:?})",
            contact.uid,
            crate::vcard::formatted_name(contact)
                .chars()
                .take(40)
                .collect::<String>()
        );
        let cuts = crate::vcard::caps::apply(contact, caps);
        outcome
            .notices
            .extend(cuts.into_iter().map(|cut| format!("{card}: {cut}")));
    }
}

/// The members of `book` from the latest listing of each of its sources (sources without a
/// listing yet contribute nothing). A uid already provided by an earlier source of the book is
/// skipped and reported.
pub fn book_members(
    book: &BookConfig,
    listings: &HashMap<String, Listing>,
) -> (Vec<Member>, Vec<SkippedRecord>) {
    let mut members = Vec::new();
    let mut skipped = Vec::new();
    let mut names = HashSet::new();
    for source in &book.sources {
        let Some(contacts) = listings.get(source) else {
            continue;
        };
        for contact in contacts.iter() {
            let member = Member::shared(Arc::clone(contact));
            if names.insert(member.name.clone()) {
                members.push(member);
            } else {
                skipped.push(SkippedRecord {
                    location: format!("source {source:?}, uid {:?}", contact.uid),
                    reason: format!("book {:?} already has a card with this uid", book.id),
                });
            }
        }
    }
    (members, skipped)
}
