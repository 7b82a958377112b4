//! One resource's `<D:response>` as a model: found properties in a 200 propstat first
//! (Thunderbird reads only the first status), missing ones in a 404 propstat after it.

use std::borrow::Cow;

use super::multistatus::{Prop, Propstat, Response};
use super::props::{self, PropContext, Target};
use super::xml::QName;

/// Which properties to report.
#[derive(Debug, Clone)]
pub enum Selection {
    /// `allprop`, plus the properties named in `include`.
    All(Vec<QName>),
    Names,
    Props(Vec<QName>),
}

/// The response for `target` at `href`. `extra` is a property the caller computed itself
/// (`address-data` in reports), used when `selection` names it. With `minimal` (iOS's
/// `Brief: t` / `Prefer: return=minimal`) the 404 propstat is left out.
pub fn describe<'a>(
    ctx: &PropContext<'a>,
    target: &Target<'a>,
    href: Cow<'a, str>,
    selection: &'a Selection,
    extra: Option<Prop<'a>>,
    minimal: bool,
) -> Response<'a> {
    let mut found: Vec<Prop<'a>> = Vec::new();
    let mut missing: Vec<Prop<'a>> = Vec::new();
    match selection {
        Selection::Names => {
            let props = props::all_names(ctx, target)
                .into_iter()
                .map(Prop::name_only)
                .collect();
            return Response::propstats(href, vec![Propstat::new(200, props)]);
        }
        Selection::All(include) => {
            let names = props::allprop_names(target);
            found.reserve_exact(names.len() + include.len());
            let names = names.iter().copied();
            for name in names.chain(include.iter().map(QName::name)) {
                if found.iter().any(|p| p.name == name) {
                    continue;
                }
                if let Some(value) = props::resolve(ctx, target, &href, name) {
                    found.push(Prop { name, value });
                }
            }
        }
        Selection::Props(names) => {
            found.reserve_exact(names.len());
            let mut extra = extra;
            for name in names.iter().map(QName::name) {
                if let Some(prop) = extra.take_if(|p| p.name == name) {
                    found.push(prop);
                } else if let Some(value) = props::resolve(ctx, target, &href, name) {
                    found.push(Prop { name, value });
                } else {
                    missing.push(Prop::name_only(name));
                }
            }
        }
    }
    let mut propstats = Vec::with_capacity(2);
    let report_missing = !missing.is_empty() && (!minimal || found.is_empty());
    if !found.is_empty() {
        propstats.push(Propstat::new(200, found));
    }
    if report_missing {
        propstats.push(Propstat::new(404, missing));
    }
    Response::propstats(href, propstats)
}
