//! Checking a Basic-auth login against the directory: find the user's DN with the service
//! account, bind as that DN with the given password, and see which of the groups that guard
//! books list the user.
//!
//! The user name only ever reaches the server escaped (RFC 4515), so `*` or `)(uid=*` cannot
//! widen the search; an empty password is refused before any bind, because LDAP servers
//! treat it as an anonymous bind that "succeeds".

use std::time::Duration;

use ldap3::{ldap_escape, Ldap, Scope};
use serde::Deserialize;

use super::connect::{connect_as, connect_service, ConnectError};
use super::groups::normalize_dn;
use super::search::{search_all, Query};
use super::settings::{OneOrMany, Preset, ServerSettings};

/// `[auth.ldap]` apart from where the server is (the server's config resolves that).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginSettings {
    /// Where to look for users.
    pub user_base: OneOrMany,
    /// `{user}` is replaced by the escaped login name; the preset's filter when absent
    /// (uid or mail on OpenLDAP; sAMAccountName, userPrincipalName or mail on AD).
    pub user_filter: Option<String>,
    #[serde(default)]
    pub preset: Preset,
    /// How long a successful login is remembered.
    #[serde(default = "default_cache_ttl", with = "crate::duration")]
    pub cache_ttl: Duration,
}

fn default_cache_ttl() -> Duration {
    Duration::from_secs(300)
}

/// Why a login did not succeed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LoginError {
    /// Wrong password, unknown or ambiguous user: 401.
    #[error("login refused: {0}")]
    Denied(String),
    /// The directory could not answer: 503, the client retries later.
    #[error("directory unavailable: {0}")]
    Unavailable(String),
}

/// A successful login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    pub dn: String,
    /// The asked-for groups (normalized DNs) that list the user as a member.
    pub groups: Vec<String>,
}

pub struct Directory {
    server: ServerSettings,
    bases: Vec<String>,
    filter: String,
}

impl Directory {
    pub fn new(server: ServerSettings, settings: &LoginSettings) -> Result<Directory, String> {
        server.validate()?;
        let filter = settings
            .user_filter
            .clone()
            .unwrap_or_else(|| default_filter(settings.preset).to_string());
        if !filter.contains("{user}") {
            return Err(format!("user_filter: {filter:?} must contain {{user}}"));
        }
        let bases = settings.user_base.clone().into_vec();
        if bases.is_empty() {
            return Err("user_base: give one or more base DNs".into());
        }
        Ok(Directory {
            server,
            bases,
            filter,
        })
    }

    /// Checks `user` / `password` and membership of `groups` (DNs).
    pub async fn login(
        &self,
        user: &str,
        password: &str,
        groups: &[String],
    ) -> Result<Login, LoginError> {
        if user.is_empty() || password.is_empty() {
            return Err(LoginError::Denied("empty user name or password".into()));
        }
        let mut service = connect_service(&self.server)
            .await
            .map_err(|e| LoginError::Unavailable(e.to_string()))?;
        let result = self.check(&mut service, user, password, groups).await;
        let _ = service.unbind().await;
        result
    }

    async fn check(
        &self,
        service: &mut Ldap,
        user: &str,
        password: &str,
        groups: &[String],
    ) -> Result<Login, LoginError> {
        let dn = self.find_user(service, user).await?;
        match connect_as(&self.server, &dn, password).await {
            Ok(mut as_user) => {
                let _ = as_user.unbind().await;
            }
            Err(ConnectError::Rejected { .. }) => {
                return Err(LoginError::Denied(format!("{dn}: wrong password")))
            }
            Err(e) => return Err(LoginError::Unavailable(e.to_string())),
        }
        let mut member_of = Vec::new();
        for group in groups {
            if is_member(service, group, &dn).await? {
                member_of.push(normalize_dn(group));
            }
        }
        Ok(Login {
            dn,
            groups: member_of,
        })
    }

    async fn find_user(&self, service: &mut Ldap, user: &str) -> Result<String, LoginError> {
        let filter = self.filter.replace("{user}", &ldap_escape(user));
        let attrs = vec!["1.1".to_string()];
        let mut found = Vec::new();
        for base in &self.bases {
            let query = Query {
                base,
                scope: Scope::Subtree,
                filter: &filter,
                attrs: &attrs,
                page_size: 2,
            };
            let entries = search_all(service, &query)
                .await
                .map_err(LoginError::Unavailable)?;
            found.extend(entries.into_iter().map(|e| e.dn));
        }
        match found.len() {
            1 => Ok(found.remove(0)),
            0 => Err(LoginError::Denied(format!("no user matches {filter}"))),
            n => Err(LoginError::Denied(format!(
                "{n} entries match {filter}; a login must name one user"
            ))),
        }
    }
}

fn default_filter(preset: Preset) -> &'static str {
    match preset {
        Preset::Openldap => "(&(objectClass=inetOrgPerson)(|(uid={user})(mail={user})))",
        Preset::ActiveDirectory => {
            "(&(objectClass=user)(|(sAMAccountName={user})(userPrincipalName={user})(mail={user})))"
        }
    }
}

/// Whether the group entry at `group` lists `dn` as `member` or `uniqueMember`.
async fn is_member(service: &mut Ldap, group: &str, dn: &str) -> Result<bool, LoginError> {
    let dn = ldap_escape(dn);
    let filter = format!("(|(member={dn})(uniqueMember={dn}))");
    let attrs = vec!["1.1".to_string()];
    let query = Query {
        base: group,
        scope: Scope::Base,
        filter: &filter,
        attrs: &attrs,
        page_size: 1,
    };
    match search_all(service, &query).await {
        Ok(entries) => Ok(!entries.is_empty()),
        // A group that does not exist has no members.
        Err(e) if e.contains("result code 32") => Ok(false),
        Err(e) => Err(LoginError::Unavailable(e)),
    }
}
