//! The EAS namespaces this source reads, their WBXML code pages and tag tokens (MS-ASWBXML
//! §2.1.2.1), and the other spellings decoders print for the same tags and namespaces.
//!
//! Only the tags of the pages a contacts export needs are known. The other EAS pages (Email,
//! Calendar, Tasks, ...) are known by name only: their elements are decoded as foreign, so a
//! Sync response mixing collections can skip those collections instead of guessing what their
//! tokens mean.

/// An EAS namespace (one WBXML code page).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Namespace {
    AirSync,
    Contacts,
    Contacts2,
    Search,
    Gal,
    AirSyncBase,
}

/// Code page 0: AirSync (the Sync command).
const AIRSYNC: &[(u8, &str)] = &[
    (0x05, "Sync"),
    (0x06, "Responses"),
    (0x07, "Add"),
    (0x08, "Change"),
    (0x09, "Delete"),
    (0x0A, "Fetch"),
    (0x0B, "SyncKey"),
    (0x0C, "ClientId"),
    (0x0D, "ServerId"),
    (0x0E, "Status"),
    (0x0F, "Collection"),
    (0x10, "Class"),
    (0x12, "CollectionId"),
    (0x13, "GetChanges"),
    (0x14, "MoreAvailable"),
    (0x15, "WindowSize"),
    (0x16, "Commands"),
    (0x17, "Options"),
    (0x18, "FilterType"),
    (0x19, "Truncation"),
    (0x1B, "Conflict"),
    (0x1C, "Collections"),
    (0x1D, "ApplicationData"),
    (0x1E, "DeletesAsMoves"),
    (0x20, "Supported"),
    (0x21, "SoftDelete"),
    (0x22, "MIMESupport"),
    (0x23, "MIMETruncation"),
    (0x24, "Wait"),
    (0x25, "Limit"),
    (0x26, "Partial"),
    (0x27, "ConversationMode"),
    (0x28, "MaxItems"),
    (0x29, "HeartbeatInterval"),
];

/// Code page 1: Contacts (MS-ASCNTC).
const CONTACTS: &[(u8, &str)] = &[
    (0x05, "Anniversary"),
    (0x06, "AssistantName"),
    (0x07, "AssistantPhoneNumber"),
    (0x08, "Birthday"),
    (0x09, "Body"),
    (0x0A, "BodySize"),
    (0x0B, "BodyTruncated"),
    (0x0C, "Business2PhoneNumber"),
    (0x0D, "BusinessAddressCity"),
    (0x0E, "BusinessAddressCountry"),
    (0x0F, "BusinessAddressPostalCode"),
    (0x10, "BusinessAddressState"),
    (0x11, "BusinessAddressStreet"),
    (0x12, "BusinessFaxNumber"),
    (0x13, "BusinessPhoneNumber"),
    (0x14, "CarPhoneNumber"),
    (0x15, "Categories"),
    (0x16, "Category"),
    (0x17, "Children"),
    (0x18, "Child"),
    (0x19, "CompanyName"),
    (0x1A, "Department"),
    (0x1B, "Email1Address"),
    (0x1C, "Email2Address"),
    (0x1D, "Email3Address"),
    (0x1E, "FileAs"),
    (0x1F, "FirstName"),
    (0x20, "Home2PhoneNumber"),
    (0x21, "HomeAddressCity"),
    (0x22, "HomeAddressCountry"),
    (0x23, "HomeAddressPostalCode"),
    (0x24, "HomeAddressState"),
    (0x25, "HomeAddressStreet"),
    (0x26, "HomeFaxNumber"),
    (0x27, "HomePhoneNumber"),
    (0x28, "JobTitle"),
    (0x29, "LastName"),
    (0x2A, "MiddleName"),
    (0x2B, "MobilePhoneNumber"),
    (0x2C, "OfficeLocation"),
    (0x2D, "OtherAddressCity"),
    (0x2E, "OtherAddressCountry"),
    (0x2F, "OtherAddressPostalCode"),
    (0x30, "OtherAddressState"),
    (0x31, "OtherAddressStreet"),
    (0x32, "PagerNumber"),
    (0x33, "RadioPhoneNumber"),
    (0x34, "Spouse"),
    (0x35, "Suffix"),
    (0x36, "Title"),
    (0x37, "WebPage"),
    (0x38, "YomiCompanyName"),
    (0x39, "YomiFirstName"),
    (0x3A, "YomiLastName"),
    (0x3B, "CompressedRTF"),
    (0x3C, "Picture"),
    (0x3D, "Alias"),
    (0x3E, "WeightedRank"),
];

/// Code page 12: Contacts2 (MS-ASCNTC).
const CONTACTS2: &[(u8, &str)] = &[
    (0x05, "CustomerId"),
    (0x06, "GovernmentId"),
    (0x07, "IMAddress"),
    (0x08, "IMAddress2"),
    (0x09, "IMAddress3"),
    (0x0A, "ManagerName"),
    (0x0B, "CompanyMainPhone"),
    (0x0C, "AccountName"),
    (0x0D, "NickName"),
    (0x0E, "MMS"),
];

/// Code page 15: Search (GAL results arrive inside Search responses).
const SEARCH: &[(u8, &str)] = &[
    (0x05, "Search"),
    (0x07, "Store"),
    (0x08, "Name"),
    (0x09, "Query"),
    (0x0A, "Options"),
    (0x0B, "Range"),
    (0x0C, "Status"),
    (0x0D, "Response"),
    (0x0E, "Result"),
    (0x0F, "Properties"),
    (0x10, "Total"),
    (0x11, "EqualTo"),
    (0x12, "Value"),
    (0x13, "And"),
    (0x14, "Or"),
    (0x15, "FreeText"),
    (0x17, "DeepTraversal"),
    (0x18, "LongId"),
    (0x19, "RebuildResults"),
    (0x1A, "LessThan"),
    (0x1B, "GreaterThan"),
    (0x1E, "UserName"),
    (0x1F, "Password"),
    (0x20, "ConversationId"),
    (0x21, "Picture"),
    (0x22, "MaxSize"),
    (0x23, "MaxPictures"),
];

/// Code page 16: GAL.
const GAL: &[(u8, &str)] = &[
    (0x05, "DisplayName"),
    (0x06, "Phone"),
    (0x07, "Office"),
    (0x08, "Title"),
    (0x09, "Company"),
    (0x0A, "Alias"),
    (0x0B, "FirstName"),
    (0x0C, "LastName"),
    (0x0D, "HomePhone"),
    (0x0E, "MobilePhone"),
    (0x0F, "EmailAddress"),
    (0x10, "Picture"),
    (0x11, "Status"),
    (0x12, "Data"),
];

/// Code page 17: AirSyncBase (bodies). Tokens added in 16.x for calendar locations are not
/// listed: contacts never carry them.
const AIRSYNCBASE: &[(u8, &str)] = &[
    (0x05, "BodyPreference"),
    (0x06, "Type"),
    (0x07, "TruncationSize"),
    (0x08, "AllOrNone"),
    (0x0A, "Body"),
    (0x0B, "Data"),
    (0x0C, "EstimatedDataSize"),
    (0x0D, "Truncated"),
    (0x0E, "Attachments"),
    (0x0F, "Attachment"),
    (0x10, "DisplayName"),
    (0x11, "FileReference"),
    (0x12, "Method"),
    (0x13, "ContentId"),
    (0x14, "ContentLocation"),
    (0x15, "IsInline"),
    (0x16, "NativeBodyType"),
    (0x17, "ContentType"),
    (0x18, "Preview"),
    (0x19, "BodyPartPreference"),
    (0x1A, "BodyPart"),
    (0x1B, "Status"),
];

/// Names other decoders print for Contacts tags (libwbxml, older EAS documents, Z-Push), as
/// (alias, canonical MS-ASWBXML name).
const CONTACTS_ALIASES: &[(&str, &str)] = &[
    ("AssistantTelephoneNumber", "AssistantPhoneNumber"),
    ("AssistnamePhoneNumber", "AssistantPhoneNumber"),
    ("BusinessCity", "BusinessAddressCity"),
    ("BusinessCountry", "BusinessAddressCountry"),
    ("BusinessPostalCode", "BusinessAddressPostalCode"),
    ("BusinessState", "BusinessAddressState"),
    ("BusinessStreet", "BusinessAddressStreet"),
    ("HomeCity", "HomeAddressCity"),
    ("HomeCountry", "HomeAddressCountry"),
    ("HomePostalCode", "HomeAddressPostalCode"),
    ("HomeState", "HomeAddressState"),
    ("HomeStreet", "HomeAddressStreet"),
    ("OtherCity", "OtherAddressCity"),
    ("OtherCountry", "OtherAddressCountry"),
    ("OtherPostalCode", "OtherAddressPostalCode"),
    ("OtherState", "OtherAddressState"),
    ("OtherStreet", "OtherAddressStreet"),
];

/// The bare namespace name of an XML namespace URI in any of the spellings [`Namespace::from_uri`]
/// lists (`uri:Email` → `Email`), for matching and for messages.
pub fn namespace_name(uri: &str) -> &str {
    let name = uri.trim();
    let name = name.strip_suffix(':').unwrap_or(name);
    let name = match name.get(..4) {
        Some(scheme) if scheme.eq_ignore_ascii_case("uri:") => name.get(4..).unwrap_or(name),
        _ => name,
    };
    match name.rsplit_once('/') {
        Some((base, last)) if base.contains("airsync") => last,
        _ => name,
    }
}

/// The name of an EAS code page this source reads no tags of (MS-ASWBXML §2.1.2.1), `None`
/// for numbers EAS does not define.
pub fn other_page_name(page: u8) -> Option<&'static str> {
    Some(match page {
        2 => "Email",
        3 => "AirNotify",
        4 => "Calendar",
        5 => "Move",
        6 => "GetItemEstimate",
        7 => "FolderHierarchy",
        8 => "MeetingResponse",
        9 => "Tasks",
        10 => "ResolveRecipients",
        11 => "ValidateCert",
        13 => "Ping",
        14 => "Provision",
        18 => "Settings",
        19 => "DocumentLibrary",
        20 => "ItemOperations",
        21 => "ComposeMail",
        22 => "Email2",
        23 => "Notes",
        24 => "RightsManagement",
        25 => "Find",
        _ => return None,
    })
}

impl Namespace {
    /// The namespace of a WBXML code page, `None` for pages this source does not read.
    pub fn from_page(page: u8) -> Option<Namespace> {
        Some(match page {
            0 => Namespace::AirSync,
            1 => Namespace::Contacts,
            12 => Namespace::Contacts2,
            15 => Namespace::Search,
            16 => Namespace::Gal,
            17 => Namespace::AirSyncBase,
            _ => return None,
        })
    }

    /// The namespace an XML namespace URI (or an undeclared prefix) names. MS-ASWBXML writes
    /// `Contacts`, libwbxml `Contacts:`, Z-Push `POOMCONTACTS:`, Syncroton (tine20, Kolab)
    /// `uri:Contacts`, libwbxml's SynCE table `http://synce.org/formats/airsync_wm5/contacts`;
    /// case varies.
    pub fn from_uri(uri: &str) -> Option<Namespace> {
        Some(match namespace_name(uri).to_ascii_lowercase().as_str() {
            "airsync" => Namespace::AirSync,
            "contacts" | "poomcontacts" => Namespace::Contacts,
            "contacts2" | "poomcontacts2" => Namespace::Contacts2,
            "search" => Namespace::Search,
            "gal" => Namespace::Gal,
            "airsyncbase" => Namespace::AirSyncBase,
            _ => return None,
        })
    }

    /// The MS-ASWBXML name, used in messages (`Contacts:FirstName`).
    pub fn name(self) -> &'static str {
        match self {
            Namespace::AirSync => "AirSync",
            Namespace::Contacts => "Contacts",
            Namespace::Contacts2 => "Contacts2",
            Namespace::Search => "Search",
            Namespace::Gal => "GAL",
            Namespace::AirSyncBase => "AirSyncBase",
        }
    }

    pub fn page(self) -> u8 {
        match self {
            Namespace::AirSync => 0,
            Namespace::Contacts => 1,
            Namespace::Contacts2 => 12,
            Namespace::Search => 15,
            Namespace::Gal => 16,
            Namespace::AirSyncBase => 17,
        }
    }

    fn table(self) -> &'static [(u8, &'static str)] {
        match self {
            Namespace::AirSync => AIRSYNC,
            Namespace::Contacts => CONTACTS,
            Namespace::Contacts2 => CONTACTS2,
            Namespace::Search => SEARCH,
            Namespace::Gal => GAL,
            Namespace::AirSyncBase => AIRSYNCBASE,
        }
    }

    /// The tag a WBXML token (without its content/attribute bits) stands for on this page.
    pub fn tag(self, token: u8) -> Option<&'static str> {
        self.table()
            .iter()
            .find(|(t, _)| *t == token)
            .map(|(_, name)| *name)
    }

    /// The MS-ASWBXML spelling of an element name read from XML: the same name in any case,
    /// or a known alias. `None` when the namespace has no such element.
    pub fn canonical(self, name: &str) -> Option<&'static str> {
        let direct = self
            .table()
            .iter()
            .map(|(_, n)| *n)
            .find(|n| n.eq_ignore_ascii_case(name));
        direct.or_else(|| match self {
            Namespace::Contacts => CONTACTS_ALIASES
                .iter()
                .find(|(alias, _)| alias.eq_ignore_ascii_case(name))
                .map(|(_, canonical)| *canonical),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_and_tokens() {
        for page in 0..=255u8 {
            if let Some(ns) = Namespace::from_page(page) {
                assert_eq!(ns.page(), page);
                assert_eq!(Namespace::from_uri(ns.name()), Some(ns));
            }
        }
        assert_eq!(Namespace::Contacts.tag(0x1E), Some("FileAs"));
        assert_eq!(Namespace::Contacts2.tag(0x0A), Some("ManagerName"));
        assert_eq!(Namespace::Gal.tag(0x12), Some("Data"));
        assert_eq!(Namespace::AirSync.tag(0x11), None);
        assert_eq!(
            Namespace::from_page(2),
            None,
            "Email is not a contacts page"
        );
        for page in 0..=25u8 {
            assert!(
                Namespace::from_page(page).is_some() != other_page_name(page).is_some(),
                "page {page}"
            );
        }
        assert_eq!(other_page_name(26), None);
    }

    #[test]
    fn spellings() {
        assert_eq!(
            Namespace::from_uri("POOMCONTACTS:"),
            Some(Namespace::Contacts)
        );
        assert_eq!(Namespace::from_uri("Contacts"), Some(Namespace::Contacts));
        assert_eq!(
            Namespace::from_uri("contacts2:"),
            Some(Namespace::Contacts2)
        );
        assert_eq!(Namespace::from_uri("Gal:"), Some(Namespace::Gal));
        assert_eq!(Namespace::from_uri("Email:"), None);
        assert_eq!(
            Namespace::from_uri("uri:Contacts"),
            Some(Namespace::Contacts)
        );
        assert_eq!(Namespace::from_uri("URI:AirSync"), Some(Namespace::AirSync));
        assert_eq!(
            Namespace::from_uri("http://synce.org/formats/airsync_wm5/contacts2"),
            Some(Namespace::Contacts2)
        );
        assert_eq!(namespace_name("uri:Email"), "Email");
        assert_eq!(namespace_name("POOMMAIL:"), "POOMMAIL");
        assert_eq!(Namespace::from_uri("http://example.com/contacts"), None);
        assert_eq!(
            Namespace::Contacts.canonical("BusinessCity"),
            Some("BusinessAddressCity")
        );
        assert_eq!(
            Namespace::Contacts.canonical("assistanttelephonenumber"),
            Some("AssistantPhoneNumber")
        );
        assert_eq!(Namespace::Contacts.canonical("Webpage"), Some("WebPage"));
        assert_eq!(Namespace::Contacts2.canonical("Nickname"), Some("NickName"));
        assert_eq!(Namespace::Contacts.canonical("Subject"), None);
    }
}
