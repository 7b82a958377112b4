//! Checking a Basic-auth login against the directory: find the user's DN with the service
//! account, bind as that DN with the given password, and see which of the groups that guard
//! books list the user.
//!
//! The user name only ever reaches the server escaped (RFC 4515), so `*` or `)(uid=*` cannot
//! widen the search; an empty password is refused before any bind, because LDAP servers
//! treat it as an anonymous bind that "succeeds".
//!
//! Membership counts through nested groups. AD answers that in one search with its in-chain
//! matching rule; other servers do not have it, so there the groups holding the user are
//! searched for, then the groups holding those, up to `MAX_NESTING` levels.

use std::collections::HashSet;
use std::time::Duration;

use ldap3::{ldap_escape, Ldap, Scope};
use serde::Deserialize;

use super::connect::{connect_as, connect_service, ConnectError};
use super::dn::{normalize_dn, parent_dn};
use super::groups::MAX_NESTING;
use super::search::{read_entry, search_all, Query};
use super::settings::{OneOrMany, Preset, ServerSettings};
use crate::SourceError;

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
    preset: Preset,
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
            preset: settings.preset,
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
            if self.is_member(service, group, &dn).await? {
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
                .map_err(|e| LoginError::Unavailable(e.to_string()))?;
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

impl Directory {
    /// Whether `dn` is a member of the group entry at `group`, directly or through groups
    /// nested in it.
    async fn is_member(
        &self,
        service: &mut Ldap,
        group: &str,
        dn: &str,
    ) -> Result<bool, LoginError> {
        if lists(service, group, &membership_filter(self.preset, dn)).await? {
            return Ok(true);
        }
        match self.preset {
            // The in-chain rule has answered for every level.
            Preset::ActiveDirectory => Ok(false),
            Preset::Openldap => in_nested_group(service, group, dn).await,
        }
    }
}

/// The filter a group entry matches when it holds `dn`: directly (`member`, `uniqueMember`),
/// or on AD at any depth by the LDAP_MATCHING_RULE_IN_CHAIN rule.
pub(super) fn membership_filter(preset: Preset, dn: &str) -> String {
    let dn = ldap_escape(dn);
    match preset {
        Preset::Openldap => format!("(|(member={dn})(uniqueMember={dn}))"),
        Preset::ActiveDirectory => format!("(member:1.2.840.113556.1.4.1941:={dn})"),
    }
}

/// Whether the group entry at `group` matches `filter`.
async fn lists(service: &mut Ldap, group: &str, filter: &str) -> Result<bool, LoginError> {
    let attrs = vec!["1.1".to_string()];
    let query = Query {
        base: group,
        scope: Scope::Base,
        filter,
        attrs: &attrs,
        page_size: 1,
    };
    match search_all(service, &query).await {
        Ok(entries) => Ok(!entries.is_empty()),
        // A group that does not exist has no members.
        Err(SourceError::Config(_)) => Ok(false),
        Err(e) => Err(LoginError::Unavailable(e.to_string())),
    }
}

/// Member values per search when walking up from the user: keeps filters short.
const FILTER_CHUNK: usize = 50;

/// Whether `group` holds `dn` through nested groups: the groups holding `dn` are searched for
/// in `group`'s naming context, then the groups holding those, level by level up to
/// [`MAX_NESTING`] (direct membership counts as the first). A group met twice is not
/// searched again, so cycles end.
async fn in_nested_group(service: &mut Ldap, group: &str, dn: &str) -> Result<bool, LoginError> {
    let target = normalize_dn(group);
    let base = naming_context(service, group).await;
    let attrs = vec!["1.1".to_string()];
    let mut seen = HashSet::new();
    let mut level = vec![dn.to_string()];
    for _ in 0..MAX_NESTING {
        let mut next = Vec::new();
        for chunk in level.chunks(FILTER_CHUNK) {
            let terms: String = chunk
                .iter()
                .map(|dn| {
                    let dn = ldap_escape(dn);
                    format!("(member={dn})(uniqueMember={dn})")
                })
                .collect();
            let filter = format!("(|{terms})");
            let query = Query {
                base: &base,
                scope: Scope::Subtree,
                filter: &filter,
                attrs: &attrs,
                page_size: 500,
            };
            let holders = search_all(service, &query)
                .await
                .map_err(|e| LoginError::Unavailable(e.to_string()))?;
            for holder in holders {
                let key = normalize_dn(&holder.dn);
                if key == target {
                    return Ok(true);
                }
                if seen.insert(key) {
                    next.push(holder.dn);
                }
            }
        }
        if next.is_empty() {
            break;
        }
        level = next;
    }
    Ok(false)
}

/// The naming context (from the root DSE) that holds `group`, where the groups nested in it
/// are searched for; the group's parent when the root DSE names none.
async fn naming_context(service: &mut Ldap, group: &str) -> String {
    let attrs = vec!["namingContexts".to_string()];
    // A root DSE the service account may not read leaves the fallback.
    let root = read_entry(service, "", &attrs).await.ok().flatten();
    let target = normalize_dn(group);
    let holding = root
        .iter()
        .flat_map(|e| e.texts("namingContexts"))
        .filter(|context| {
            let context = normalize_dn(context);
            target == context || target.ends_with(&format!(",{context}"))
        })
        .max_by_key(|context| context.len());
    holding.map_or_else(|| parent_dn(group).to_string(), str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn active_directory_asks_for_membership_in_chain() {
        assert_eq!(
            membership_filter(Preset::ActiveDirectory, "CN=Doe\\, Jane (*),OU=Staff"),
            "(member:1.2.840.113556.1.4.1941:=CN=Doe\\5c, Jane \\28\\2a\\29,OU=Staff)"
        );
        assert_eq!(
            membership_filter(Preset::Openldap, "uid=a*,o=x"),
            "(|(member=uid=a\\2a,o=x)(uniqueMember=uid=a\\2a,o=x))"
        );
    }
}
