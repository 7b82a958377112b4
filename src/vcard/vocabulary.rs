//! The vCard words cardbridge speaks, in one place: property names, and the TYPE values of
//! labels, phone kinds and card kinds. The renderer writes them and the addressbook-query
//! filter (`dav::filter`) matches clients' prop-filters against them, so a filter on
//! `TEL` with `TYPE=cell` finds exactly the numbers a card shows that way.

use cardbridge_connectors::contact::{ContactKind, Label, PhoneKind};

/// Property names (RFC 6350, and the Apple extensions 3.0 cards carry).
pub mod prop {
    pub const BEGIN: &str = "BEGIN";
    pub const END: &str = "END";
    pub const VERSION: &str = "VERSION";
    pub const PRODID: &str = "PRODID";
    pub const UID: &str = "UID";
    pub const FN: &str = "FN";
    pub const N: &str = "N";
    pub const KIND: &str = "KIND";
    pub const NICKNAME: &str = "NICKNAME";
    pub const ORG: &str = "ORG";
    pub const TITLE: &str = "TITLE";
    pub const ROLE: &str = "ROLE";
    pub const EMAIL: &str = "EMAIL";
    pub const TEL: &str = "TEL";
    pub const ADR: &str = "ADR";
    pub const URL: &str = "URL";
    pub const IMPP: &str = "IMPP";
    pub const BDAY: &str = "BDAY";
    pub const ANNIVERSARY: &str = "ANNIVERSARY";
    pub const RELATED: &str = "RELATED";
    pub const CATEGORIES: &str = "CATEGORIES";
    pub const NOTE: &str = "NOTE";
    pub const MEMBER: &str = "MEMBER";
    pub const PHOTO: &str = "PHOTO";
    /// KIND as Apple's 3.0 clients read it.
    pub const X_ADDRESSBOOKSERVER_KIND: &str = "X-ADDRESSBOOKSERVER-KIND";
    /// MEMBER as Apple's 3.0 clients read it.
    pub const X_ADDRESSBOOKSERVER_MEMBER: &str = "X-ADDRESSBOOKSERVER-MEMBER";
    /// The custom label of the property in the same `itemN.` group.
    pub const X_ABLABEL: &str = "X-ABLabel";
    /// A labelled date (3.0 anniversaries).
    pub const X_ABDATE: &str = "X-ABDATE";
    /// A labelled related name (3.0 relations).
    pub const X_ABRELATEDNAMES: &str = "X-ABRELATEDNAMES";
    /// `COMPANY`: the card is an organisation's.
    pub const X_ABSHOWAS: &str = "X-ABShowAs";
    /// A custom field's value (its label in `X-ABLabel`).
    pub const X_CUSTOM: &str = "X-CUSTOM";
}

/// The TYPE parameter's name.
pub const TYPE: &str = "TYPE";

/// A TYPE value: 3.0 cards write it in capitals (what Apple's clients look for), 4.0 cards
/// and filters in lowercase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeValue {
    pub lower: &'static str,
    pub upper: &'static str,
}

impl TypeValue {
    const fn new(lower: &'static str, upper: &'static str) -> TypeValue {
        TypeValue { lower, upper }
    }

    /// The spelling a card of that version carries.
    pub fn cased(self, v3: bool) -> &'static str {
        if v3 {
            self.upper
        } else {
            self.lower
        }
    }
}

/// The TYPE value of a label; custom labels have none (they go to `X-ABLabel`).
pub fn label_type(label: &Label) -> Option<TypeValue> {
    match label {
        Label::Home => Some(TypeValue::new("home", "HOME")),
        Label::Work => Some(TypeValue::new("work", "WORK")),
        Label::Other => Some(TypeValue::new("other", "OTHER")),
        Label::Custom(_) => None,
    }
}

/// The TEL TYPE value of a phone kind.
pub fn phone_type(kind: PhoneKind) -> TypeValue {
    match kind {
        PhoneKind::Voice => TypeValue::new("voice", "VOICE"),
        PhoneKind::Cell => TypeValue::new("cell", "CELL"),
        PhoneKind::Fax => TypeValue::new("fax", "FAX"),
        PhoneKind::Pager => TypeValue::new("pager", "PAGER"),
        PhoneKind::Text => TypeValue::new("text", "TEXT"),
        PhoneKind::Video => TypeValue::new("video", "VIDEO"),
    }
}

/// The KIND (and `X-ADDRESSBOOKSERVER-KIND`) value of a card.
pub fn kind_value(kind: &ContactKind) -> &'static str {
    match kind {
        ContactKind::Individual => "individual",
        ContactKind::Group => "group",
    }
}
