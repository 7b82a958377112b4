//! vCard 3.0 / 4.0 rendering of the normalized contact model.
//!
//! `line` writes escaped, folded content lines; `names` derives FN; `dates` formats partial
//! dates; `caps` bounds what a card carries; `photo_lines` writes a photo where it is sent; `render` maps a contact onto each version's dialect;
//! `vocabulary` holds the property names and TYPE values it shares with the query filter.

pub mod caps;
mod dates;
mod line;
mod names;
mod photo_lines;
#[cfg(test)]
mod props;
mod render;
#[cfg(test)]
mod tests;
pub mod vocabulary;

pub use names::formatted_name;
pub use photo_lines::{LineEnd, PhotoLines};
pub use render::{render, render_revised, render_without_photo, WithoutPhoto};

/// Bumped whenever rendering output changes, so content-hash ETags change with it.
pub const RENDER_REVISION: u32 = 2;

/// vCard version served: 3.0 by default (Apple rejects 4.0), 4.0 when a client asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VcardVersion {
    V3,
    V4,
}

impl VcardVersion {
    /// The `VERSION` value: "3.0" / "4.0".
    pub fn as_str(&self) -> &'static str {
        match self {
            VcardVersion::V3 => "3.0",
            VcardVersion::V4 => "4.0",
        }
    }
}
