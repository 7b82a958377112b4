//! XML for the DAV layer: names and namespaces (shared by request parsing and replies), the
//! characters XML allows ([`chars`]), and the one [`writer`] every reply body goes through.

pub mod chars;
pub mod writer;

pub const NS_DAV: &str = "DAV:";
pub const NS_CARDDAV: &str = "urn:ietf:params:xml:ns:carddav";
pub const NS_CS: &str = "http://calendarserver.org/ns/";
pub const NS_PUSH: &str = crate::push::NS_PUSH;

/// A namespaced element or property name, as parsed from a request body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct QName {
    pub ns: String,
    pub local: String,
}

impl QName {
    /// The borrowed form replies are written from.
    pub fn name(&self) -> Name<'_> {
        Name {
            ns: &self.ns,
            local: &self.local,
        }
    }
}

/// A borrowed namespaced name: what reply models hold, so a property name costs no
/// allocation whether it comes from a request or is one of the server's own (`Name::dav`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Name<'a> {
    pub ns: &'a str,
    pub local: &'a str,
}

impl Name<'static> {
    pub const fn dav(local: &'static str) -> Name<'static> {
        Name { ns: NS_DAV, local }
    }

    pub const fn carddav(local: &'static str) -> Name<'static> {
        Name {
            ns: NS_CARDDAV,
            local,
        }
    }

    pub const fn cs(local: &'static str) -> Name<'static> {
        Name { ns: NS_CS, local }
    }

    pub const fn push(local: &'static str) -> Name<'static> {
        Name { ns: NS_PUSH, local }
    }
}

impl PartialEq<QName> for Name<'_> {
    fn eq(&self, other: &QName) -> bool {
        self.ns == other.ns && self.local == other.local
    }
}
