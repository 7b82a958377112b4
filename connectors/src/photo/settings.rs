//! The `[photos]` configuration section and its startup check.

use serde::Deserialize;

use super::{PhotoError, MIB};

/// How photos are served; one section of the configuration, shared by all sources.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PhotoSettings {
    /// Longest side, in pixels, of a served photo. Larger photos are downscaled.
    pub max_dimension: u32,
    /// JPEG quality (1–100) used when a photo has to be re-encoded.
    pub quality: u8,
    /// Inputs larger than this are refused without being decoded.
    pub max_input_bytes: usize,
}

impl Default for PhotoSettings {
    fn default() -> Self {
        Self {
            max_dimension: 256,
            quality: 85,
            max_input_bytes: 10 * MIB,
        }
    }
}

impl PhotoSettings {
    /// Checks the values [`super::normalize_photo`] would reject, so a bad configuration can fail at
    /// startup instead of on every photo.
    pub fn validate(&self) -> Result<(), PhotoError> {
        if !(1..=100).contains(&self.quality) {
            return Err(PhotoError::InvalidSettings(format!(
                "quality must be 1 to 100, got {}",
                self.quality
            )));
        }
        if self.max_dimension == 0 {
            return Err(PhotoError::InvalidSettings(
                "max_dimension must be at least 1 pixel".into(),
            ));
        }
        if self.max_input_bytes == 0 {
            return Err(PhotoError::InvalidSettings(
                "max_input_bytes must be at least 1".into(),
            ));
        }
        Ok(())
    }
}
