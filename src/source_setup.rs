//! Source setup: instantiates the sources the configuration describes, once when the server
//! starts (the poller owns them), and for the one-off `check` and `export` commands.
//!
//! What a source is and must do (the `Source` trait) is in `connectors/src/source.rs`.

use std::collections::HashMap;
use std::sync::Arc;

use cardbridge_connectors::activesync::ActiveSyncSource;
use cardbridge_connectors::csv::CsvSource;
use cardbridge_connectors::google::GoogleSource;
use cardbridge_connectors::ldap::LdapSource;
use cardbridge_connectors::{Cancel, PollOutcome, Source, SourceError};

use crate::store::{self, Listing};

use crate::config::{Config, SourceConfig, SourceSettings};

/// Instantiates the source a `[[source]]` table describes.
pub fn build(config: &SourceConfig) -> Result<Arc<dyn Source>, String> {
    let built = match &config.settings {
        SourceSettings::Csv(settings) => CsvSource::new(config.id.clone(), settings.clone())
            .map(|s| Arc::new(s) as Arc<dyn Source>),
        SourceSettings::ActiveSync(settings) => {
            ActiveSyncSource::new(config.id.clone(), settings.clone())
                .map(|s| Arc::new(s) as Arc<dyn Source>)
        }
        SourceSettings::Ldap(settings) => {
            LdapSource::new(config.id.clone(), settings.as_ref().clone())
                .map(|s| Arc::new(s) as Arc<dyn Source>)
        }
        SourceSettings::Google(settings) => {
            GoogleSource::new(config.id.clone(), settings.as_ref().clone())
                .map(|s| Arc::new(s) as Arc<dyn Source>)
        }
    };
    built.map_err(|e| format!("[[source]] {:?}: {e}", config.id))
}

/// A configured source and its instance.
pub type Configured = (SourceConfig, Arc<dyn Source>);

/// Builds every configured source.
pub fn build_all(config: &Config) -> Result<Vec<Configured>, String> {
    config
        .sources
        .iter()
        .map(|sc| build(sc).map(|s| (sc.clone(), s)))
        .collect()
}

/// Polls every source once (for `check` and `export`), with the card size caps applied.
pub async fn poll_all(
    config: &Config,
) -> Result<HashMap<String, Result<(PollOutcome, Listing), SourceError>>, String> {
    let mut results = HashMap::new();
    for (sc, source) in build_all(config)? {
        let result = store::poll(source.as_ref(), &Cancel::default(), config.server.caps()).await;
        results.insert(sc.id.clone(), result);
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::Config;

    #[test]
    fn the_shipped_configs_sources_build() {
        for name in ["example.toml", "demo.toml"] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("config")
                .join(name);
            let config = Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
            super::build_all(&config).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
}
