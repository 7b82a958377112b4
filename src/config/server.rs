//! The `[server]` table: listening, request and card size limits, timeouts, the render cache
//! size. Checked with the rest of the configuration in `Config::validate`.

use std::path::PathBuf;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// Socket addresses to listen on with plain HTTP (may be empty when `[server.tls]`
    /// listens).
    #[serde(default = "default_listen")]
    pub listen: Vec<String>,
    /// HTTPS: addresses, certificate and key.
    #[serde(default)]
    pub tls: Option<TlsSettings>,
    /// Worker threads; 0 means one per core.
    #[serde(default)]
    pub threads: usize,
    /// Largest PROPFIND/PROPPATCH body accepted, in bytes.
    #[serde(default = "default_propfind_limit")]
    pub propfind_body_limit: usize,
    /// Largest REPORT body accepted, in bytes: Thunderbird's first sync is one multiget naming
    /// every card.
    #[serde(default = "default_report_limit")]
    pub report_body_limit: usize,
    /// Most `prop-filter`s in one addressbook-query; more get 400 `CARDDAV:supported-filter`.
    #[serde(default = "default_query_prop_filters")]
    pub query_max_prop_filters: usize,
    /// Most `text-match`es plus `param-filter`s in one `prop-filter`.
    #[serde(default = "default_query_matches")]
    pub query_max_matches: usize,
    /// Longest `text-match` text, in bytes.
    #[serde(default = "default_query_text_bytes")]
    pub query_max_text_bytes: usize,
    /// Filter evaluations (cards × checks) one addressbook-query may spend; beyond it the
    /// result is cut short with a 507 on the book, as RFC 6352 §8.6.1 allows.
    #[serde(default = "default_query_evaluations")]
    pub query_max_evaluations: u64,
    /// Most distinct properties one PROPFIND, PROPPATCH or REPORT may name; more get 400.
    #[serde(default = "default_max_properties")]
    pub max_requested_properties: usize,
    /// Bytes of rendered vCards kept in memory.
    #[serde(default = "default_cache_bytes")]
    pub card_cache_bytes: u64,
    /// Bytes of whole answers kept for the book state they came from (PROPFIND Depth 1 on a
    /// book): every client asking the same of the same state gets the same bytes. Their
    /// compressed forms (a tenth of the size) are kept beside them, uncounted.
    #[serde(default = "default_response_cache_bytes")]
    pub response_cache_bytes: u64,
    /// Basic auth realm shown by clients.
    #[serde(default = "default_realm")]
    pub realm: String,
    /// Status for an unknown or expired sync token when the client is Thunderbird, which only
    /// recovers from 400 (every other client gets 403 with DAV:valid-sync-token).
    #[serde(default = "default_thunderbird_status")]
    pub thunderbird_invalid_token_status: u16,
    /// Largest text value of one vCard property (a NOTE, an ORG), in bytes as written;
    /// longer text is cut with a visible `"… [truncated]"`.
    #[serde(default = "default_property_bytes")]
    pub max_property_bytes: usize,
    /// Largest vCard without its photo, in bytes; the least needed values go first.
    #[serde(default = "default_card_bytes")]
    pub max_card_bytes: usize,
    /// Time a client has to send a whole request head ("10s"), counted from the connection
    /// or, on a kept-alive one, from the request's first byte: a head dribbled byte by byte
    /// would otherwise hold its connection forever.
    #[serde(default = "default_header_timeout")]
    pub header_timeout: String,
    /// Time a request body may take ("20s"), plus one second per `body_min_rate` bytes
    /// received: enough for any honest link, not for a body dribbled a byte a minute.
    #[serde(default = "default_body_timeout")]
    pub body_timeout: String,
    /// Bytes per second that earn a slow body more time (see `body_timeout`).
    #[serde(default = "default_body_min_rate")]
    pub body_min_rate: u64,
    /// Client addresses (IPs or CIDR ranges) that may read `/metrics`; loopback by default.
    /// Everyone else gets 404, as if there were no such path.
    #[serde(default = "default_metrics_allow")]
    pub metrics_allow: Vec<String>,
    /// Reverse proxies (IPs or CIDR ranges) whose `X-Forwarded-For` names the client, for
    /// the request log, login throttling and `metrics_allow`. From anyone else the header is
    /// ignored, so a client cannot pick the address it is judged by.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// A source failing for longer than this ("15m", counted from its last success or from
    /// the start) makes `/readyz` answer 503, so a load balancer prefers replicas that are
    /// current.
    #[serde(default = "default_ready_max_failing")]
    pub ready_max_failing: String,
    /// Open connections at most; unset = derived from the file-descriptor limit.
    #[serde(default)]
    pub max_connections: Option<usize>,
    /// Open connections per client address at most; unset = a quarter of `max_connections`.
    #[serde(default)]
    pub max_connections_per_client: Option<usize>,
    /// The address clients use (`https://contacts.example.com`) when it is not the one they
    /// connect to, behind a reverse proxy: the web face's setup pages and profiles name it.
    /// Unset = the request's `Host` and whether its connection is TLS.
    #[serde(default)]
    pub public_url: Option<String>,
    /// Plain-HTTP addresses on which whoever connects is an operator (sees `/web/admin`),
    /// also in anonymous mode: bind them to loopback or a management network only. Requests
    /// there are otherwise answered as on `listen`.
    #[serde(default)]
    pub admin_listen: Vec<String>,
}

fn default_listen() -> Vec<String> {
    vec!["127.0.0.1:8008".into()]
}
fn default_propfind_limit() -> usize {
    1024 * 1024
}
fn default_report_limit() -> usize {
    32 * 1024 * 1024
}
fn default_query_prop_filters() -> usize {
    64
}
fn default_query_matches() -> usize {
    16
}
fn default_query_text_bytes() -> usize {
    1024
}
fn default_query_evaluations() -> u64 {
    2_000_000
}
fn default_max_properties() -> usize {
    100
}
fn default_cache_bytes() -> u64 {
    64 * 1024 * 1024
}
fn default_response_cache_bytes() -> u64 {
    512 * 1024 * 1024
}
fn default_property_bytes() -> usize {
    32 * 1024
}
fn default_card_bytes() -> usize {
    256 * 1024
}
fn default_realm() -> String {
    "cardbridge".into()
}
fn default_thunderbird_status() -> u16 {
    400
}
fn default_header_timeout() -> String {
    "10s".into()
}
fn default_body_timeout() -> String {
    "20s".into()
}
fn default_body_min_rate() -> u64 {
    500
}
fn default_metrics_allow() -> Vec<String> {
    vec!["127.0.0.0/8".into(), "::1/128".into()]
}
fn default_ready_max_failing() -> String {
    "15m".into()
}
impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            listen: default_listen(),
            tls: None,
            threads: 0,
            propfind_body_limit: default_propfind_limit(),
            report_body_limit: default_report_limit(),
            query_max_prop_filters: default_query_prop_filters(),
            query_max_matches: default_query_matches(),
            query_max_text_bytes: default_query_text_bytes(),
            query_max_evaluations: default_query_evaluations(),
            max_requested_properties: default_max_properties(),
            card_cache_bytes: default_cache_bytes(),
            response_cache_bytes: default_response_cache_bytes(),
            realm: default_realm(),
            thunderbird_invalid_token_status: default_thunderbird_status(),
            max_property_bytes: default_property_bytes(),
            max_card_bytes: default_card_bytes(),
            header_timeout: default_header_timeout(),
            body_timeout: default_body_timeout(),
            body_min_rate: default_body_min_rate(),
            metrics_allow: default_metrics_allow(),
            trusted_proxies: Vec::new(),
            ready_max_failing: default_ready_max_failing(),
            max_connections: None,
            max_connections_per_client: None,
            public_url: None,
            admin_listen: Vec::new(),
        }
    }
}

/// The `[server.tls]` table.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    /// Socket addresses to listen on with HTTPS.
    pub listen: Vec<String>,
    /// The certificate chain (PEM, the server's certificate first), relative to the config
    /// file. Re-read when it changes.
    pub cert_file: PathBuf,
    /// The private key (PEM: PKCS#8, PKCS#1 or SEC1), relative to the config file.
    pub key_file: PathBuf,
    /// Answer every request on the plain `listen` addresses with a redirect to HTTPS (308, so
    /// clients repeat the method and body).
    #[serde(default)]
    pub redirect_plain: bool,
}

impl TlsSettings {
    /// The address clients are redirected to: the first HTTPS port.
    pub fn https_port(&self) -> Option<u16> {
        self.listen
            .first()
            .and_then(|a| a.parse::<std::net::SocketAddr>().ok())
            .map(|a| a.port())
    }
}

impl ServerSettings {
    /// The card size caps applied to every source's contacts.
    pub fn caps(&self) -> crate::vcard::caps::Caps {
        crate::vcard::caps::Caps {
            property_bytes: self.max_property_bytes,
            card_bytes: self.max_card_bytes,
        }
    }
}
