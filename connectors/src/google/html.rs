//! An HTML biography (`contentType: TEXT_HTML`) as the plain text a NOTE holds.
//!
//! Not an HTML parser: tags are dropped, `<br>` is a line break, block elements (`<p>`,
//! `<div>`, headings, lists) are paragraph breaks, character references are decoded and runs
//! of white space collapse as a browser shows them. One pass over the input, so the time is
//! linear and the output is never longer than the input; a `<` that starts no tag, an
//! unclosed tag or comment and an unknown entity stay as they were written.

/// Longest entity name looked up (`&thetasym;` is the longest common one).
const MAX_ENTITY: usize = 10;

pub fn to_text(html: &str) -> String {
    let mut out = Text::default();
    let mut closers = Closers {
        tag: true,
        comment: true,
    };
    let mut rest = html;
    loop {
        let mut chars = rest.chars();
        let Some(ch) = chars.next() else {
            break;
        };
        let after = chars.as_str();
        match ch {
            '<' => match tag(after, &mut closers) {
                Some((name, closing, tail)) => {
                    out.tag(&name, closing);
                    rest = match name.as_str() {
                        "script" | "style" if !closing => skip_element(tail, &name),
                        _ => tail,
                    };
                }
                None => {
                    out.push('<');
                    rest = after;
                }
            },
            '&' => match entity(after) {
                Some((decoded, tail)) => {
                    out.push(decoded);
                    rest = tail;
                }
                None => {
                    out.push('&');
                    rest = after;
                }
            },
            _ => {
                out.push(ch);
                rest = after;
            }
        }
    }
    out.finish()
}

/// Whether a `>` / `-->` may still come: once a search for one fails, none is in the rest,
/// and looking again at every later `<` would make the time quadratic.
struct Closers {
    tag: bool,
    comment: bool,
}

/// After a `<`: the lower-case tag name, whether it closes, and the text after the `>`.
/// Comments and declarations (`<!-- -->`, `<!DOCTYPE>`) have an empty name.
fn tag<'a>(text: &'a str, closers: &mut Closers) -> Option<(String, bool, &'a str)> {
    if let Some(comment) = text.strip_prefix("!--").filter(|_| closers.comment) {
        let Some(end) = comment.find("-->") else {
            closers.comment = false;
            return None;
        };
        return Some((String::new(), false, comment.get(end + 3..)?));
    }
    if !closers.tag {
        return None;
    }
    let (closing, body) = match text.strip_prefix('/') {
        Some(body) => (true, body),
        None => (false, text),
    };
    let first = body.chars().next()?;
    if !(first.is_ascii_alphabetic() || (first == '!' && !closing)) {
        return None;
    }
    let Some(end) = body.find('>') else {
        closers.tag = false;
        return None;
    };
    let inside = body.get(..end)?;
    let name = inside
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    Some((name, closing, body.get(end + 1..)?))
}

/// The text after `</name>` (case-insensitive), or nothing when it is never closed.
fn skip_element<'a>(text: &'a str, name: &str) -> &'a str {
    let mut from = 0;
    while let Some(found) = text.get(from..).and_then(|t| t.find("</")) {
        // After the ASCII `</`: a character boundary.
        let start = from + found + 2;
        let named = text
            .as_bytes()
            .get(start..start + name.len())
            .is_some_and(|b| b.eq_ignore_ascii_case(name.as_bytes()));
        if named {
            return text
                .get(start..)
                .and_then(|t| t.find('>').and_then(|e| t.get(e + 1..)))
                .unwrap_or("");
        }
        from = start;
    }
    ""
}

/// After a `&`: the character a reference names and the text after its `;`.
fn entity(text: &str) -> Option<(char, &str)> {
    let end = text
        .char_indices()
        .take(MAX_ENTITY + 2)
        .find(|(_, c)| *c == ';')
        .map(|(i, _)| i)?;
    let name = text.get(..end)?;
    let tail = text.get(end + 1..)?;
    let decoded = match name.strip_prefix('#') {
        Some(number) => {
            let code = match number.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => number.parse::<u32>().ok()?,
            };
            char::from_u32(code).filter(|c| *c != '\0')?
        }
        None => named(name)?,
    };
    Some((decoded, tail))
}

/// The named references biographies use (rich-text editors write most others as numbers).
fn named(name: &str) -> Option<char> {
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        "mdash" => '—',
        "ndash" => '–',
        "hellip" => '…',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "laquo" => '«',
        "raquo" => '»',
        "bull" => '•',
        "middot" => '·',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "euro" => '€',
        "pound" => '£',
        "deg" => '°',
        "times" => '×',
        "auml" => 'ä',
        "ouml" => 'ö',
        "uuml" => 'ü',
        "Auml" => 'Ä',
        "Ouml" => 'Ö',
        "Uuml" => 'Ü',
        "szlig" => 'ß',
        "eacute" => 'é',
        "egrave" => 'è',
        "aring" => 'å',
        "Aring" => 'Å',
        "oslash" => 'ø',
        "Oslash" => 'Ø',
        "aelig" => 'æ',
        "AElig" => 'Æ',
        "ccedil" => 'ç',
        "ntilde" => 'ñ',
        _ => return None,
    })
}

/// The text being written: white space collapsed, breaks held back until more text follows
/// (so none leads or trails).
#[derive(Default)]
struct Text {
    out: String,
    /// Line breaks wanted before the next text (at most 2: a paragraph).
    breaks: usize,
    space: bool,
}

impl Text {
    fn push(&mut self, ch: char) {
        if ch.is_whitespace() {
            self.space = true;
            return;
        }
        if !self.out.is_empty() {
            if self.breaks > 0 {
                self.out.extend(std::iter::repeat_n('\n', self.breaks));
            } else if self.space {
                self.out.push(' ');
            }
        }
        self.breaks = 0;
        self.space = false;
        self.out.push(ch);
    }

    fn tag(&mut self, name: &str, closing: bool) {
        match name {
            "br" if !closing => self.breaks = (self.breaks + 1).min(2),
            "li" | "tr" | "dt" | "dd" => self.breaks = self.breaks.max(1),
            "p" | "div" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "ul" | "ol" | "dl"
            | "table" | "blockquote" | "pre" | "hr" => self.breaks = 2,
            _ => return,
        }
        self.space = false;
    }

    fn finish(self) -> String {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_becomes_lines() {
        assert_eq!(
            to_text("<p>Runs the <b>Oslo</b> office &amp; the choir.</p><p>Call before 10<br>not on Fridays &mdash; ever.</p>"),
            "Runs the Oslo office & the choir.\n\nCall before 10\nnot on Fridays — ever."
        );
        assert_eq!(to_text("a<br/><br />b"), "a\n\nb");
        assert_eq!(
            to_text("<ul><li>one</li><li>two</li></ul>after"),
            "one\ntwo\n\nafter"
        );
        assert_eq!(to_text("<div>\n  spaced\n   out  </div>"), "spaced out");
    }

    /// Unclosed tags, comments and scripts are each looked for once, not once per `<`: a
    /// quadratic scan would take hours on these.
    #[test]
    fn unclosed_constructs_take_linear_time() {
        for unit in ["<a", "<!--", "<script></scrip", "<script>x"] {
            let input = unit.repeat(1 << 18);
            let text = to_text(&input);
            assert!(text.len() <= input.len(), "{unit}");
        }
    }

    #[test]
    fn references_decode_and_broken_html_stays_text() {
        assert_eq!(to_text("&#228;&#xE4;&lt;tag&gt;"), "ää<tag>");
        assert_eq!(to_text("1 < 2 and 3 > 2"), "1 < 2 and 3 > 2");
        assert_eq!(to_text("a <b unclosed"), "a <b unclosed");
        assert_eq!(
            to_text("AT&T &unknown; &#0; &#xZZ;"),
            "AT&T &unknown; &#0; &#xZZ;"
        );
        assert_eq!(to_text("x<!-- hidden -->y<!-- open"), "xy<!-- open");
        assert_eq!(to_text("<style>p{}</style>seen<script>never"), "seen");
        assert_eq!(
            to_text("&#1114112;&#99999999999;"),
            "&#1114112;&#99999999999;"
        );
    }
}
