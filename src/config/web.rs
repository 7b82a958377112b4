//! The `[web]` table: what the web face's setup downloads may contain.

use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WebSettings {
    /// Put the password the user logged in with into their Apple profile, so installing it
    /// asks for nothing. Off by default: a profile file is easily forwarded or left in a
    /// downloads folder.
    #[serde(default)]
    pub profile_password: bool,
}
