//! An EAS response tree → the commands it carries, in document order.
//!
//! Sync responses carry Add, Change, Delete and SoftDelete per collection (and Fetch results
//! under Responses); GAL Search responses carry results. Both Add and Change become an
//! upsert that replaces the whole record: an export holds what the server sent, and a Change
//! in a log is the full ApplicationData unless the client negotiated ghosting (`Supported`),
//! which exports do not record. Replacing rather than merging means a field removed on the
//! server disappears here too. SoftDelete (item left the sync window) is a delete, as on a
//! device.
//!
//! A Sync response may carry several collections (one per synced folder). Those that are not
//! contacts (by their `Class`, or by the namespaces of their items' fields) are skipped with
//! one note for the file; a response with no contacts collection at all is an error.

use xxhash_rust::xxh3::xxh3_128;

use super::codepages::{namespace_name, Namespace};
use super::fields::{self, Options};
use super::tree::{Element, Ns, ParseError};
use crate::Contact;

#[derive(Debug, Clone)]
pub enum Command {
    Upsert(Box<Record>),
    Delete { uid: String },
}

/// A file's commands, and notes about the file as a whole (skipped collections).
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    pub commands: Vec<Command>,
    pub notes: Vec<String>,
}

/// One item as a contact, with where it came from (`ServerId 2:1`, `GAL a@b`) and notes on
/// fields that were left out.
#[derive(Debug, Clone)]
pub struct Record {
    pub origin: String,
    pub contact: Contact,
    pub warnings: Vec<String>,
}

/// The uid of a synced item: `eas-<CollectionId>-<ServerId>`, each part keeping
/// `[A-Za-z0-9.]` and writing every other byte as `_XX`, so the uid is a safe card name
/// (`eas-2-2_3A1` for `2:1`), stable across files and runs, and distinct items never share
/// one.
pub fn item_uid(collection: &str, server_id: &str) -> String {
    format!("eas-{}-{}", escape(collection), escape(server_id))
}

fn escape(part: &str) -> String {
    let mut out = String::with_capacity(part.len());
    for b in part.bytes() {
        if b.is_ascii_alphanumeric() || b == b'.' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("_{b:02X}"));
        }
    }
    out
}

/// The uid of a GAL entry: a hash of its lower-cased email address (or of its alias when it
/// has none), since addresses may hold characters card names cannot.
pub fn gal_uid(key: &str) -> String {
    format!("eas-gal-{:032x}", xxh3_128(key.to_lowercase().as_bytes()))
}

/// A top-level Status other than 1 means the response is an error and carries no data.
fn check_status(root: &Element, ns: Namespace) -> Result<(), ParseError> {
    if let Some(status) = root.child(ns, "Status") {
        let value = status.text_value()?;
        if value != "1" {
            return Err(ParseError::new(
                status.offset,
                format!(
                    "{} answered with Status {value:?}: an error response, no data",
                    root.label()
                ),
            ));
        }
    }
    Ok(())
}

fn required_text(parent: &Element, ns: Namespace, name: &str) -> Result<String, ParseError> {
    let value = match parent.child(ns, name) {
        Some(el) => el.text_value()?,
        None => String::new(),
    };
    if value.is_empty() {
        return Err(ParseError::new(
            parent.offset,
            format!("{} has no {name}", parent.label()),
        ));
    }
    Ok(value)
}

/// All commands of a decoded document. Anything but a Sync or Search response is an error
/// naming the root element.
pub fn commands(root: &Element, opts: &Options) -> Result<Parsed, ParseError> {
    if root.is(Namespace::AirSync, "Sync") {
        sync_commands(root, opts)
    } else if root.is(Namespace::Search, "Search") {
        Ok(Parsed {
            commands: search_commands(root, opts)?,
            notes: Vec::new(),
        })
    } else {
        Err(ParseError::new(
            root.offset,
            format!(
                "root element {} is not an EAS Sync or Search response",
                root.label()
            ),
        ))
    }
}

/// What a collection holds when it is not contacts (`Email`, `Calendar`, ...): its `Class`
/// when it has one (EAS 2.5, Syncroton), else the namespace of its items' fields; `None` for
/// contacts, and when nothing tells (fields without namespace, deletes only).
fn foreign_kind(collection: &Element, operations: &[&Element]) -> Option<String> {
    use Namespace::AirSync as A;
    if let Some(class) = collection.child(A, "Class") {
        let class = class.text.trim();
        if !class.is_empty() {
            return (!class.eq_ignore_ascii_case("Contacts")).then(|| class.to_string());
        }
    }
    let fields = operations
        .iter()
        .filter_map(|op| op.child(A, "ApplicationData"))
        .flat_map(|data| data.children.iter());
    let mut foreign = None;
    for field in fields {
        match &field.ns {
            Ns::Known(Namespace::Contacts | Namespace::Contacts2) => return None,
            Ns::Other(uri) if foreign.is_none() => foreign = Some(namespace_name(uri).to_string()),
            _ => {}
        }
    }
    foreign
}

fn sync_commands(root: &Element, opts: &Options) -> Result<Parsed, ParseError> {
    use Namespace::AirSync as A;
    check_status(root, A)?;
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    let mut contact_collections = 0;
    for collection in root
        .children_named(A, "Collections")
        .flat_map(|c| c.children_named(A, "Collection"))
    {
        let operations: Vec<&Element> = collection
            .children_named(A, "Commands")
            .flat_map(|c| c.children.iter())
            .chain(
                collection
                    .children_named(A, "Responses")
                    .flat_map(|r| r.children_named(A, "Fetch")),
            )
            .collect();
        if let Some(kind) = foreign_kind(collection, &operations) {
            let id = match collection.child(A, "CollectionId") {
                Some(id) => id.text_value()?,
                None => String::new(),
            };
            skipped.push(format!("CollectionId {id} ({kind})"));
            continue;
        }
        contact_collections += 1;
        if operations.is_empty() {
            continue;
        }
        let collection_id = required_text(collection, A, "CollectionId")?;
        for op in operations {
            let is = |name: &str| op.is(A, name);
            if is("Add") || is("Change") || is("Fetch") {
                let data = op.child(A, "ApplicationData");
                if is("Fetch") && data.is_none() {
                    continue; // a failed fetch: Status only
                }
                let server_id = required_text(op, A, "ServerId")?;
                let mapped = match data {
                    Some(data) => fields::from_application_data(data, opts)?,
                    None => fields::Mapped {
                        contact: Contact::default(),
                        warnings: Vec::new(),
                    },
                };
                let mut contact = mapped.contact;
                contact.uid = item_uid(&collection_id, &server_id);
                out.push(Command::Upsert(Box::new(Record {
                    origin: format!("CollectionId {collection_id} ServerId {server_id}"),
                    contact,
                    warnings: mapped.warnings,
                })));
            } else if is("Delete") || is("SoftDelete") {
                let server_id = required_text(op, A, "ServerId")?;
                out.push(Command::Delete {
                    uid: item_uid(&collection_id, &server_id),
                });
            }
        }
    }
    let mut notes = Vec::new();
    if !skipped.is_empty() {
        if contact_collections == 0 {
            return Err(ParseError::new(
                root.offset,
                format!(
                    "a Sync response with no contacts collection, only {}",
                    skipped.join(", ")
                ),
            ));
        }
        notes.push(format!(
            "skipped collections that are not contacts: {}",
            skipped.join(", ")
        ));
    }
    Ok(Parsed {
        commands: out,
        notes,
    })
}

fn search_commands(root: &Element, opts: &Options) -> Result<Vec<Command>, ParseError> {
    use Namespace::Search as S;
    check_status(root, S)?;
    let mut out = Vec::new();
    let results = root
        .children_named(S, "Response")
        .flat_map(|r| r.children_named(S, "Store"))
        .flat_map(|s| s.children_named(S, "Result"));
    for result in results {
        let Some(properties) = result.child(S, "Properties") else {
            continue; // an empty result: nothing matched
        };
        let mapped = fields::from_gal(properties, opts)?;
        let mut contact = mapped.contact;
        let email = contact.emails.first().map(|e| e.address.clone());
        let alias = contact
            .extra
            .iter()
            .find(|(name, _)| name == "X-ALIAS")
            .map(|(_, value)| value.clone());
        let (key, origin) = match (email, alias) {
            (Some(email), _) => (email.clone(), format!("GAL {email}")),
            (None, Some(alias)) => (format!("alias:{alias}"), format!("GAL alias {alias}")),
            (None, None) => {
                return Err(ParseError::new(
                    properties.offset,
                    "a GAL result without EmailAddress or Alias has no stable identity",
                ))
            }
        };
        contact.uid = gal_uid(&key);
        out.push(Command::Upsert(Box::new(Record {
            origin,
            contact,
            warnings: mapped.warnings,
        })));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_are_safe_and_injective() {
        assert_eq!(item_uid("2", "2:1"), "eas-2-2_3A1");
        assert_ne!(item_uid("a-b", "c"), item_uid("a", "b-c"));
        assert_ne!(item_uid("2", "2_3A1"), item_uid("2", "2:1"));
        let uid = item_uid("7", "ü/../x y");
        assert!(uid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')));
        assert_eq!(gal_uid("A@Example.com"), gal_uid("a@example.com"));
        assert!(gal_uid("a@example.com").starts_with("eas-gal-"));
    }
}
