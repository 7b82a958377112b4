//! The `[[source]] kind = "activesync"` settings.

use std::path::PathBuf;

use serde::Deserialize;

use crate::photo::PhotoSettings;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActiveSyncSettings {
    /// One export file, or a folder whose files are replayed in file-name order (hidden files
    /// and subfolders are ignored). Each file is EAS XML, WBXML or base64 WBXML.
    pub path: PathBuf,
    /// ISO 3166 region for national-format phone numbers.
    #[serde(default)]
    pub default_region: Option<String>,
    /// Size cap and downscaling of contact and GAL pictures.
    #[serde(default)]
    pub photos: PhotoSettings,
}

impl ActiveSyncSettings {
    /// Checks what can be checked without reading the files.
    pub fn validate(&self) -> Result<(), String> {
        crate::phone::check_region(self.default_region.as_deref())?;
        self.photos.validate().map_err(|e| format!("photos: {e}"))
    }
}
