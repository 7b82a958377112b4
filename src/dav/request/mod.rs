//! Parsing of PROPFIND, PROPPATCH and REPORT request bodies into what the handlers need.
//!
//! One pass builds a guarded element tree (`xml_tree`); the functions here read it. Errors
//! carry a message fit for the 400 body a client (or its user) sees. Names and namespaces
//! (`QName`, `NS_*`) are the XML module's, re-exported here for the handlers.

pub mod push_register;
mod xml_tree;

use xml_tree::Element;

use std::collections::HashSet;
use std::hash::Hash;

use super::filter::{Collation, Filter, MatchType, ParamFilter, PropFilter, Test, TextMatch};
use crate::config::ServerSettings;

pub use super::xml::{QName, NS_CARDDAV, NS_CS, NS_DAV};

/// What one request body may ask for, so that the work it causes stays bounded
/// (`[server]` settings).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub prop_filters: usize,
    pub matches: usize,
    pub text_bytes: usize,
    pub properties: usize,
}

impl From<&ServerSettings> for Limits {
    fn from(server: &ServerSettings) -> Limits {
        Limits {
            prop_filters: server.query_max_prop_filters,
            matches: server.query_max_matches,
            text_bytes: server.query_max_text_bytes,
            properties: server.max_requested_properties,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Propfind {
    AllProp { include: Vec<QName> },
    PropName,
    Prop(Vec<QName>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Proppatch {
    /// Every property named in `set` or `remove`.
    pub props: Vec<QName>,
}

/// `<C:address-data>` in a report's `<D:prop>`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AddressData {
    pub version: Option<String>,
    pub content_type: Option<String>,
    /// `<C:prop name="…"/>` names, uppercased; empty means the whole card.
    pub props: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SyncCollection {
    /// Empty for an initial sync.
    pub token: String,
    pub level: String,
    pub limit: Option<usize>,
    pub props: Vec<QName>,
    pub address_data: Option<AddressData>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Multiget {
    pub hrefs: Vec<String>,
    pub props: Vec<QName>,
    pub address_data: Option<AddressData>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub filter: Filter,
    pub limit: Option<usize>,
    pub props: Vec<QName>,
    pub address_data: Option<AddressData>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Report {
    SyncCollection(SyncCollection),
    Multiget(Multiget),
    Query(Query),
    Unsupported(QName),
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RequestError {
    #[error("request body is empty")]
    Empty,
    #[error("request body is not UTF-8")]
    NotUtf8,
    #[error("malformed XML at byte {at}: {message}")]
    Malformed { message: String, at: u64 },
    #[error("DTDs (<!DOCTYPE>) are not accepted in request bodies")]
    Doctype,
    #[error("namespace prefix {prefix:?} is not declared (element or attribute {element:?} at byte {at})")]
    UnboundPrefix {
        prefix: String,
        element: String,
        at: u64,
    },
    #[error("XML nested deeper than {0} levels")]
    TooDeep(usize),
    #[error("more than {0} XML elements")]
    TooManyElements(usize),
    #[error("expected a <{expected}> root element, found {{{ns}}}{found}")]
    WrongRoot {
        expected: &'static str,
        ns: String,
        found: String,
    },
    #[error("{0}")]
    Invalid(String),
    /// A filter beyond [`Limits`]: answered 400 with `CARDDAV:supported-filter`.
    #[error("{0}")]
    FilterTooLarge(String),
    #[error("more than {0} distinct properties requested")]
    TooManyProperties(usize),
    #[error(
        "collation {0:?} is not supported (use i;unicode-casemap, i;ascii-casemap or i;octet)"
    )]
    UnsupportedCollation(String),
}

fn expect_root(root: &Element, ns: &str, local: &'static str) -> Result<(), RequestError> {
    if root.is(ns, local) {
        Ok(())
    } else {
        Err(RequestError::WrongRoot {
            expected: local,
            ns: root.name.ns.clone(),
            found: root.name.local.clone(),
        })
    }
}

/// `items` each once, in request order, and at most `limits.properties` distinct ones:
/// requested properties multiply the reply by the number of resources, and repeats would
/// multiply it for nothing.
fn distinct<T: Eq + Hash + Clone>(
    items: impl Iterator<Item = T>,
    limits: &Limits,
) -> Result<Vec<T>, RequestError> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for item in items {
        if seen.insert(item.clone()) {
            if out.len() == limits.properties {
                return Err(RequestError::TooManyProperties(limits.properties));
            }
            out.push(item);
        }
    }
    Ok(out)
}

/// The property names under `prop`.
fn names(prop: &Element, limits: &Limits) -> Result<Vec<QName>, RequestError> {
    distinct(prop.children.iter().map(|c| c.name.clone()), limits)
}

pub fn parse_propfind(body: &[u8], limits: &Limits) -> Result<Propfind, RequestError> {
    let root = xml_tree::parse(body)?;
    expect_root(&root, NS_DAV, "propfind")?;
    if root.child(NS_DAV, "propname").is_some() {
        return Ok(Propfind::PropName);
    }
    if root.child(NS_DAV, "allprop").is_some() {
        let include = match root.child(NS_DAV, "include") {
            Some(include) => names(include, limits)?,
            None => Vec::new(),
        };
        return Ok(Propfind::AllProp { include });
    }
    match root.child(NS_DAV, "prop") {
        Some(prop) => Ok(Propfind::Prop(names(prop, limits)?)),
        None if root.children.is_empty() => Ok(Propfind::AllProp {
            include: Vec::new(),
        }),
        None => Err(RequestError::Invalid(
            "<D:propfind> needs <D:prop>, <D:allprop> or <D:propname>".into(),
        )),
    }
}

pub fn parse_proppatch(body: &[u8], limits: &Limits) -> Result<Proppatch, RequestError> {
    let root = xml_tree::parse(body)?;
    expect_root(&root, NS_DAV, "propertyupdate")?;
    let props = root
        .children
        .iter()
        .filter(|c| c.is(NS_DAV, "set") || c.is(NS_DAV, "remove"))
        .filter_map(|c| c.child(NS_DAV, "prop"))
        .flat_map(|prop| prop.children.iter().map(|c| c.name.clone()));
    Ok(Proppatch {
        props: distinct(props, limits)?,
    })
}

pub fn parse_report(body: &[u8], limits: &Limits) -> Result<Report, RequestError> {
    let root = xml_tree::parse(body)?;
    if root.is(NS_DAV, "sync-collection") {
        let (props, address_data) = report_props(&root, limits)?;
        Ok(Report::SyncCollection(SyncCollection {
            token: root
                .child(NS_DAV, "sync-token")
                .map(|t| t.text.trim().to_string())
                .unwrap_or_default(),
            level: root
                .child(NS_DAV, "sync-level")
                .map_or_else(|| "1".to_string(), |l| l.text.trim().to_string()),
            limit: limit(&root, NS_DAV)?,
            props,
            address_data,
        }))
    } else if root.is(NS_CARDDAV, "addressbook-multiget") {
        let (props, address_data) = report_props(&root, limits)?;
        let hrefs = root
            .children
            .iter()
            .filter(|c| c.is(NS_DAV, "href"))
            .map(|h| h.text.trim().to_string())
            .collect();
        Ok(Report::Multiget(Multiget {
            hrefs,
            props,
            address_data,
        }))
    } else if root.is(NS_CARDDAV, "addressbook-query") {
        let (props, address_data) = report_props(&root, limits)?;
        let filter = match root.child(NS_CARDDAV, "filter") {
            Some(filter) => parse_filter(filter, limits)?,
            None => Filter::default(),
        };
        Ok(Report::Query(Query {
            filter,
            limit: limit(&root, NS_CARDDAV)?,
            props,
            address_data,
        }))
    } else {
        Ok(Report::Unsupported(root.name))
    }
}

/// `<D:prop>` of a report, with `address-data` details pulled out.
fn report_props(
    root: &Element,
    limits: &Limits,
) -> Result<(Vec<QName>, Option<AddressData>), RequestError> {
    let Some(prop) = root.child(NS_DAV, "prop") else {
        return Ok((Vec::new(), None));
    };
    let address_data = prop
        .child(NS_CARDDAV, "address-data")
        .map(|ad| {
            let props = ad
                .children
                .iter()
                .filter(|c| c.is(NS_CARDDAV, "prop"))
                .filter_map(|c| c.attr("name"))
                .map(str::to_ascii_uppercase);
            Ok::<_, RequestError>(AddressData {
                version: ad.attr("version").map(str::to_string),
                content_type: ad.attr("content-type").map(str::to_string),
                props: distinct(props, limits)?,
            })
        })
        .transpose()?;
    Ok((names(prop, limits)?, address_data))
}

/// `<limit><nresults>N</nresults></limit>` (DAV: in sync-collection, CardDAV in queries;
/// either namespace is accepted, as clients mix them up).
fn limit(root: &Element, ns: &str) -> Result<Option<usize>, RequestError> {
    let limit = root
        .child(ns, "limit")
        .or_else(|| root.child(NS_DAV, "limit"))
        .or_else(|| root.child(NS_CARDDAV, "limit"));
    let Some(limit) = limit else {
        return Ok(None);
    };
    let nresults = limit
        .children
        .iter()
        .find(|c| c.name.local == "nresults")
        .ok_or_else(|| RequestError::Invalid("<limit> without <nresults>".into()))?;
    match nresults.text.trim().parse::<usize>() {
        Ok(n) if n > 0 => Ok(Some(n)),
        _ => Err(RequestError::Invalid(format!(
            "<nresults> must be a positive integer, got {:?}",
            nresults.text.trim()
        ))),
    }
}

fn test_attr(element: &Element) -> Result<Test, RequestError> {
    match element.attr("test") {
        None | Some("anyof") => Ok(Test::AnyOf),
        Some("allof") => Ok(Test::AllOf),
        Some(other) => Err(RequestError::Invalid(format!(
            "test={other:?}: use \"anyof\" or \"allof\""
        ))),
    }
}

fn parse_filter(filter: &Element, limits: &Limits) -> Result<Filter, RequestError> {
    let prop_filters: Vec<_> = filter
        .children
        .iter()
        .filter(|c| c.is(NS_CARDDAV, "prop-filter"))
        .collect();
    if prop_filters.len() > limits.prop_filters {
        return Err(RequestError::FilterTooLarge(format!(
            "{} prop-filters in one addressbook-query; at most {} are accepted",
            prop_filters.len(),
            limits.prop_filters
        )));
    }
    let prop_filters = prop_filters
        .into_iter()
        .map(|p| parse_prop_filter(p, limits))
        .collect::<Result<_, _>>()?;
    Ok(Filter {
        test: test_attr(filter)?,
        prop_filters,
    })
}

fn required_name(element: &Element) -> Result<String, RequestError> {
    element
        .attr("name")
        .filter(|n| !n.trim().is_empty())
        .map(|n| n.trim().to_ascii_uppercase())
        .ok_or_else(|| {
            RequestError::Invalid(format!("<{}> needs a name attribute", element.name.local))
        })
}

fn parse_prop_filter(element: &Element, limits: &Limits) -> Result<PropFilter, RequestError> {
    let matches = element
        .children
        .iter()
        .filter(|c| c.is(NS_CARDDAV, "text-match") || c.is(NS_CARDDAV, "param-filter"))
        .count();
    if matches > limits.matches {
        return Err(RequestError::FilterTooLarge(format!(
            "{matches} text-matches and param-filters in one prop-filter; at most {} are accepted",
            limits.matches
        )));
    }
    Ok(PropFilter {
        name: required_name(element)?,
        test: test_attr(element)?,
        is_not_defined: element.child(NS_CARDDAV, "is-not-defined").is_some(),
        text_matches: element
            .children
            .iter()
            .filter(|c| c.is(NS_CARDDAV, "text-match"))
            .map(|t| parse_text_match(t, limits))
            .collect::<Result<_, _>>()?,
        param_filters: element
            .children
            .iter()
            .filter(|c| c.is(NS_CARDDAV, "param-filter"))
            .map(|p| {
                Ok(ParamFilter {
                    name: required_name(p)?,
                    is_not_defined: p.child(NS_CARDDAV, "is-not-defined").is_some(),
                    text_match: p
                        .child(NS_CARDDAV, "text-match")
                        .map(|t| parse_text_match(t, limits))
                        .transpose()?,
                })
            })
            .collect::<Result<_, RequestError>>()?,
    })
}

fn parse_text_match(element: &Element, limits: &Limits) -> Result<TextMatch, RequestError> {
    if element.text.len() > limits.text_bytes {
        return Err(RequestError::FilterTooLarge(format!(
            "text-match of {} bytes; at most {} bytes are accepted",
            element.text.len(),
            limits.text_bytes
        )));
    }
    let collation = match element.attr("collation").unwrap_or("i;unicode-casemap") {
        "i;unicode-casemap" => Collation::UnicodeCasemap,
        "i;ascii-casemap" => Collation::AsciiCasemap,
        "i;octet" => Collation::Octet,
        other => return Err(RequestError::UnsupportedCollation(other.to_string())),
    };
    let match_type = match element.attr("match-type").unwrap_or("contains") {
        "equals" => MatchType::Equals,
        "contains" => MatchType::Contains,
        "starts-with" => MatchType::StartsWith,
        "ends-with" => MatchType::EndsWith,
        other => {
            return Err(RequestError::Invalid(format!(
                "match-type={other:?}: use equals, contains, starts-with or ends-with"
            )))
        }
    };
    let negate = match element.attr("negate-condition").unwrap_or("no") {
        "yes" => true,
        "no" => false,
        other => {
            return Err(RequestError::Invalid(format!(
                "negate-condition={other:?}: use \"yes\" or \"no\""
            )))
        }
    };
    Ok(TextMatch::new(&element.text, collation, match_type, negate))
}

#[cfg(test)]
mod tests;
