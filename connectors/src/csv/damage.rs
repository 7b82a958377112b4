//! Which rows and fields held the invalid bytes decoding replaced, so the report can name
//! them ("line 14 field Name") instead of a byte offset nobody can find in a spreadsheet.

use super::row::Header;

/// Rows named in the one-line summary; `cardbridge check` lists every field.
const SUMMARY_ROWS: usize = 5;

/// Characters of a damaged value quoted in its report line.
const QUOTED_CHARS: usize = 60;

pub struct Damage<'a> {
    text: &'a str,
    /// (byte offset, line) up to which lines were counted.
    counted: (usize, u64),
    /// Offsets (in the decoded text) of replacements not yet attributed to a row.
    pending: &'a [usize],
    header: bool,
    /// (line, [(field, value)]) of each damaged row.
    rows: Vec<(u64, Vec<(String, String)>)>,
}

impl<'a> Damage<'a> {
    /// `text` and `replaced` as `decode::Decoded` gives them; `header_end` is where the
    /// header row ends.
    pub fn new(text: &'a str, replaced: &'a [usize], header_end: u64) -> Damage<'a> {
        let in_header = replaced.partition_point(|&o| (o as u64) < header_end);
        Damage {
            text,
            counted: (0, 1),
            pending: replaced.get(in_header..).unwrap_or_default(),
            header: in_header > 0,
            rows: Vec::new(),
        }
    }

    /// Attributes replacements before `end` (where the record ends) to `record`.
    pub fn record(&mut self, header: &Header, record: &csv::StringRecord, end: u64) {
        let count = self.pending.partition_point(|&o| (o as u64) < end);
        if count == 0 {
            return;
        }
        self.pending = self.pending.get(count..).unwrap_or_default();
        let fields = record
            .iter()
            .enumerate()
            .filter(|(_, value)| value.contains(char::REPLACEMENT_CHARACTER))
            .map(|(i, value)| {
                let name = header
                    .names
                    .get(i)
                    .filter(|n| !n.is_empty())
                    .cloned()
                    .unwrap_or_else(|| format!("column {}", i + 1));
                (name, value.chars().take(QUOTED_CHARS).collect())
            })
            .collect();
        let start = record.position().map_or(0, |p| p.byte());
        let line = self.line_at(usize::try_from(start).unwrap_or(usize::MAX));
        self.rows.push((line, fields));
    }

    /// The physical line of the row starting at byte `offset`. The `csv` crate's own count
    /// lags on CRLF files (a row starts at the `\n` of the previous row's CRLF); rows come in
    /// order, so lines are counted once.
    fn line_at(&mut self, offset: usize) -> u64 {
        let rest = self.text.as_bytes().get(offset..).unwrap_or_default();
        let offset = offset
            + rest
                .iter()
                .take_while(|b| matches!(b, b'\r' | b'\n'))
                .count();
        let (from, line) = self.counted;
        let newlines = self
            .text
            .as_bytes()
            .get(from..offset)
            .map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count());
        self.counted = (offset.max(from), line + newlines as u64);
        self.counted.1
    }

    /// The encoding decision with the damaged rows (first the summary line, then one line per
    /// damaged field).
    pub fn report(self, path: &str, encoding: &str) -> Vec<String> {
        let count = self.rows.len() + usize::from(self.header);
        if count == 0 {
            return vec![format!("{path}: {encoding}")];
        }
        let mut places: Vec<String> = self
            .header
            .then(|| "line 1 (header)".into())
            .into_iter()
            .collect();
        places.extend(self.rows.iter().map(|(line, fields)| {
            let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
            format!("line {line} field {}", names.join(", "))
        }));
        let more = if places.len() > SUMMARY_ROWS {
            ", …"
        } else {
            ""
        };
        places.truncate(SUMMARY_ROWS);
        let rows = if count == 1 { "row" } else { "rows" };
        let mut lines = vec![format!(
            "{path}: {encoding} ({count} {rows} with invalid bytes, replaced with U+FFFD: {}{more})",
            places.join("; ")
        )];
        for (line, fields) in &self.rows {
            for (name, value) in fields {
                lines.push(format!(
                    "{path}:{line}: field {name}: invalid bytes replaced with U+FFFD: {value:?}"
                ));
            }
        }
        lines
    }
}
