//! The Prometheus text exposition format (version 0.0.4): `# HELP`, `# TYPE`, then one line
//! per sample. Label values are escaped here, so no caller can break a line with a book id or
//! a source name.

use std::fmt::Write;

/// `Content-Type` of a scrape answer.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The kind of a metric family.
#[derive(Clone, Copy)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// Writes one scrape answer. Every family is introduced once, then its samples follow.
#[derive(Default)]
pub struct Exposition {
    out: String,
}

impl Exposition {
    /// Starts family `name`: the samples' name, `_total` included for counters (what
    /// Prometheus's own parser expects of the 0.0.4 format); histograms without their
    /// `_bucket`/`_sum`/`_count` suffixes.
    pub fn family(&mut self, name: &str, kind: Kind, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.out, "# TYPE {name} {}", kind.as_str());
    }

    /// One sample: `name{label="value",…} value`.
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (label, text)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                self.out.push_str(label);
                self.out.push_str("=\"");
                escape_label_into(&mut self.out, text);
                self.out.push('"');
            }
            self.out.push('}');
        }
        self.out.push(' ');
        push_value(&mut self.out, value);
        self.out.push('\n');
    }

    /// A family with a single unlabelled sample.
    pub fn single(&mut self, name: &str, kind: Kind, help: &str, value: f64) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }

    pub fn finish(self) -> String {
        self.out
    }
}

/// Integers print without a fraction, the rest as Rust prints them (`0.25`, `NaN`, `+Inf`).
fn push_value(out: &mut String, value: f64) {
    if value.is_infinite() {
        out.push_str(if value > 0.0 { "+Inf" } else { "-Inf" });
    } else if value.fract() == 0.0 && value.abs() < 1e15 {
        let _ = write!(out, "{}", value as i64);
    } else {
        let _ = write!(out, "{value}");
    }
}

/// `\`, `"` and line feeds are escaped in label values.
fn escape_label_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// `\` and line feeds are escaped in help texts.
fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_samples_and_escapes() {
        let mut e = Exposition::default();
        e.family(
            "cardbridge_book_cards",
            Kind::Gauge,
            "Cards a book publishes.",
        );
        e.sample("cardbridge_book_cards", &[("book", "a\"b\\c\nd")], 3.0);
        e.sample("cardbridge_x", &[], 0.25);
        e.sample("cardbridge_y", &[("le", "+Inf")], f64::INFINITY);
        assert_eq!(
            e.finish(),
            "# HELP cardbridge_book_cards Cards a book publishes.\n\
             # TYPE cardbridge_book_cards gauge\n\
             cardbridge_book_cards{book=\"a\\\"b\\\\c\\nd\"} 3\n\
             cardbridge_x 0.25\n\
             cardbridge_y{le=\"+Inf\"} +Inf\n"
        );
    }
}
