//! Content-line writer shared by both vCard versions: value escaping, parameters and folding.
//!
//! Everything is appended to one `String` while tracking the octets of the current physical
//! line, so folding costs no second pass and no per-line allocation.

/// RFC 2426 §2.6 / RFC 6350 §3.2: physical lines SHOULD NOT exceed 75 octets, excluding CRLF.
const MAX_OCTETS: usize = 75;
/// Fold = CRLF plus one space; the space counts towards the next line's 75 octets.
const FOLD: &str = "\r\n ";
const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// How one kind of value is written: `inspect` marks the bytes that may start a character
/// `map` does not keep, so runs of ordinary bytes are copied without per-character work.
/// Tables never mark UTF-8 continuation bytes, so inspection always starts at a character.
struct Mode {
    inspect: [bool; 256],
    map: fn(char) -> Piece,
}

/// Marks `ascii`, optionally the C0 controls, DEL and `0xC2` (the lead byte of the C1
/// controls), and optionally every non-ASCII lead byte.
const fn table(ascii: &[u8], controls: bool, non_ascii: bool) -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < ascii.len() {
        t[ascii[i] as usize] = true;
        i += 1;
    }
    if controls {
        let mut b = 0;
        while b < 0x20 {
            t[b] = true;
            b += 1;
        }
        t[0x7f] = true;
        t[0xc2] = true;
    }
    if non_ascii {
        let mut b = 0xc0;
        while b < 0x100 {
            t[b] = true;
            b += 1;
        }
    }
    t
}

const PARAM: Mode = Mode {
    inspect: table(b"\"", true, false),
    map: |c| {
        if c == '"' || c.is_control() {
            Piece::Drop
        } else {
            Piece::Keep
        }
    },
};

const TEXT: Mode = Mode {
    inspect: table(b"\\,;", true, false),
    map: |c| match c {
        '\\' => Piece::Replace("\\\\"),
        ',' => Piece::Replace("\\,"),
        ';' => Piece::Replace("\\;"),
        '\n' => Piece::Replace("\\n"),
        '\t' => Piece::Replace(" "),
        c if c.is_control() => Piece::Drop,
        _ => Piece::Keep,
    },
};

const URI: Mode = Mode {
    inspect: table(b" \"\\<>^`{|},;", true, false),
    map: |c| match c {
        ',' => Piece::Replace("\\,"),
        ';' => Piece::Replace("\\;"),
        ' ' | '"' | '\\' | '<' | '>' | '^' | '`' | '{' | '|' | '}' => Piece::Percent,
        c if c.is_control() => Piece::Drop,
        _ => Piece::Keep,
    },
};

const UID: Mode = Mode {
    // Every ASCII byte outside the kept set below.
    inspect: table(b" !\"#$%&'()*,;<>?[\\]^`{|}", true, true),
    map: |c| match c {
        'A'..='Z' | 'a'..='z' | '0'..='9' => Piece::Keep,
        '.' | '_' | '~' | '@' | ':' | '/' | '+' | '=' | '-' => Piece::Keep,
        _ => Piece::Percent,
    },
};

/// What one input character becomes in the output.
enum Piece {
    Keep,
    Drop,
    /// Written unsplit, so no fold lands inside an escape sequence (lenient parsers unescape
    /// per physical line).
    Replace(&'static str),
    /// Every UTF-8 octet of the character as `%XX`.
    Percent,
}

pub(crate) struct LineWriter {
    out: String,
    /// Octets on the current physical line.
    col: usize,
}

impl LineWriter {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            out: String::with_capacity(capacity),
            col: 0,
        }
    }

    pub(crate) fn finish(self) -> String {
        self.out
    }

    /// Octets written so far.
    pub(crate) fn len(&self) -> usize {
        self.out.len()
    }

    /// Starts a content line: an optional Apple `itemN.` group, then the property name.
    /// `name` must be a valid property name (`[A-Za-z0-9-]`).
    pub(crate) fn start(&mut self, group: Option<u32>, name: &str) {
        debug_assert_eq!(self.col, 0, "previous line not ended");
        if let Some(item) = group {
            self.push_run("item");
            self.number(item, 1);
            self.push_run(".");
        }
        self.push_run(name);
    }

    /// `;NAME=value`. Values holding `;`, `:` or `,` are quoted; `"` and control characters
    /// are dropped because neither vCard 3.0 nor 4.0 (without RFC 6868) can carry them.
    pub(crate) fn param(&mut self, name: &str, value: &str) {
        self.push_run(";");
        self.push_run(name);
        self.push_run("=");
        let quote = value.contains([';', ':', ',']);
        if quote {
            self.push_run("\"");
        }
        self.mapped(value, &PARAM);
        if quote {
            self.push_run("\"");
        }
    }

    /// `;NAME=a,b` from fixed tokens; `None` entries are skipped and nothing is written when
    /// all are `None`.
    pub(crate) fn param_list(&mut self, name: &str, values: &[Option<&'static str>]) {
        let mut first = true;
        for value in values.iter().flatten() {
            if first {
                self.push_run(";");
                self.push_run(name);
                self.push_run("=");
                first = false;
            } else {
                self.push_run(",");
            }
            self.push_run(value);
        }
    }

    /// Ends the name and parameters; the value follows.
    pub(crate) fn colon(&mut self) {
        self.push_run(":");
    }

    /// A TEXT value: `\`, `,`, `;` and newlines escaped, tabs turned into spaces (so words stay
    /// apart), other control characters dropped.
    pub(crate) fn text(&mut self, value: &str) {
        self.mapped(value, &TEXT);
    }

    /// A URI value (URL, IMPP). `,` and `;` are backslash-escaped: RFC 6350 §3.4 requires it
    /// for `,` in every value, and parsers that split values (vobject, strict readers) cut an
    /// unescaped URI there; percent-encoding them instead would change the URI (RFC 3986
    /// §2.2: they are reserved). Characters that RFC 3986 forbids and that vCard parsers would
    /// misread (space, `"`, `\`, …) are percent-encoded and control characters dropped.
    /// Non-ASCII stays as UTF-8 (IRIs read better on a phone).
    pub(crate) fn uri(&mut self, value: &str) {
        self.mapped(value, &URI);
    }

    /// A contact uid, written identically in `UID` and in `urn:uuid:` member references so
    /// clients match them whether they read the value as TEXT or as a URI: everything outside
    /// `[A-Za-z0-9._~@:/+=-]` (including `%` itself, keeping the mapping injective) is
    /// percent-encoded.
    pub(crate) fn uid(&mut self, value: &str) {
        self.mapped(value, &UID);
    }

    /// Literal ASCII composed by the renderer (separators, tokens, base64, `data:` prefixes)
    /// that needs no escaping.
    pub(crate) fn raw(&mut self, value: &str) {
        debug_assert!(value.bytes().all(|b| (0x20..0x7f).contains(&b)));
        self.push_run(value);
    }

    /// A decimal number, zero-padded to at least `width` digits (at most 10).
    pub(crate) fn number(&mut self, mut n: u32, width: usize) {
        let mut digits = [b'0'; 10];
        let mut start = digits.len();
        while n > 0 || digits.len() - start < width.clamp(1, 10) {
            start -= 1;
            // `n % 10` is below 10, so the cast cannot truncate.
            digits[start] = b'0' + (n % 10) as u8;
            n /= 10;
        }
        for &d in &digits[start..] {
            self.fit(1);
            self.out.push(char::from(d));
            self.col += 1;
        }
    }

    /// Whole content lines `write` appends itself (folded, each ending in CRLF), between
    /// lines.
    pub(crate) fn whole_lines(&mut self, write: impl FnOnce(&mut String)) {
        debug_assert_eq!(self.col, 0, "previous line not ended");
        write(&mut self.out);
    }

    /// Ends the content line.
    pub(crate) fn end(&mut self) {
        self.out.push_str("\r\n");
        self.col = 0;
    }

    fn mapped(&mut self, value: &str, mode: &Mode) {
        let bytes = value.as_bytes();
        let (mut i, mut run) = (0, 0);
        while i < bytes.len() {
            if !mode.inspect[usize::from(bytes[i])] {
                i += 1;
                continue;
            }
            let Some(c) = value.get(i..).and_then(|rest| rest.chars().next()) else {
                i += 1;
                continue;
            };
            let start = i;
            i += c.len_utf8();
            let piece = (mode.map)(c);
            if matches!(piece, Piece::Keep) {
                continue;
            }
            self.push_run(&value[run..start]);
            run = i;
            match piece {
                Piece::Keep | Piece::Drop => {}
                Piece::Replace(s) => {
                    self.fit(s.len());
                    self.out.push_str(s);
                    self.col += s.len();
                }
                Piece::Percent => {
                    let mut utf8 = [0u8; 4];
                    for &b in c.encode_utf8(&mut utf8).as_bytes() {
                        self.fit(3);
                        self.out.push('%');
                        self.out.push(char::from(HEX[usize::from(b >> 4)]));
                        self.out.push(char::from(HEX[usize::from(b & 0x0f)]));
                        self.col += 3;
                    }
                }
            }
        }
        self.push_run(&value[run..]);
    }

    /// Folds first when `len` more octets would overflow the line.
    fn fit(&mut self, len: usize) {
        if self.col + len > MAX_OCTETS {
            self.out.push_str(FOLD);
            self.col = 1;
        }
    }

    /// Appends `s` verbatim, folding at character boundaries only.
    #[inline]
    fn push_run(&mut self, s: &str) {
        if self.col + s.len() <= MAX_OCTETS {
            self.out.push_str(s);
            self.col += s.len();
        } else {
            self.push_folded(s);
        }
    }

    #[inline(never)]
    fn push_folded(&mut self, mut s: &str) {
        while self.col + s.len() > MAX_OCTETS {
            let mut cut = MAX_OCTETS.saturating_sub(self.col);
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            self.out.push_str(&s[..cut]);
            self.out.push_str(FOLD);
            self.col = 1;
            s = &s[cut..];
        }
        self.out.push_str(s);
        self.col += s.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(f: impl FnOnce(&mut LineWriter)) -> String {
        let mut w = LineWriter::with_capacity(64);
        f(&mut w);
        w.end();
        w.finish()
    }

    fn unfold(s: &str) -> String {
        s.replace("\r\n ", "")
    }

    fn assert_folded_ok(s: &str) {
        assert!(s.ends_with("\r\n"));
        for (i, l) in s[..s.len() - 2].split("\r\n").enumerate() {
            assert!(
                l.len() <= MAX_OCTETS,
                "line {i} has {} octets: {l:?}",
                l.len()
            );
            assert!(!l.contains(['\r', '\n']), "bare CR/LF in {l:?}");
            if i > 0 {
                assert!(l.starts_with(' ') && l.len() > 1, "bad continuation {l:?}");
            }
        }
    }

    #[test]
    fn inspect_tables_cover_every_changed_character() {
        let samples = [
            '\u{80}', '\u{85}', '\u{9f}', '\u{a0}', 'é', 'ß', '€', '😀', '\u{2028}',
        ];
        for (name, mode) in [
            ("param", &PARAM),
            ("text", &TEXT),
            ("uri", &URI),
            ("uid", &UID),
        ] {
            let ascii = (0u8..0x80).map(char::from);
            for c in ascii.chain(samples) {
                let mut utf8 = [0u8; 4];
                let lead = c.encode_utf8(&mut utf8).as_bytes()[0];
                if !mode.inspect[usize::from(lead)] {
                    assert!(matches!((mode.map)(c), Piece::Keep), "{name}: {c:?}");
                }
            }
            assert!(
                (0x80..0xc0).all(|b| !mode.inspect[b]),
                "{name} marks continuations"
            );
        }
    }

    #[test]
    fn escapes_text() {
        let s = line(|w| {
            w.start(None, "NOTE");
            w.colon();
            w.text("a\\b,c;d\ne\r\nf\tg\u{0}h\u{7f}i\u{85}j: ok");
        });
        assert_eq!(s, "NOTE:a\\\\b\\,c\\;d\\ne\\nf ghij: ok\r\n");
    }

    #[test]
    fn quotes_params_when_needed() {
        let s = line(|w| {
            w.start(Some(12), "X-A");
            w.param("P", "a,b");
            w.param("Q", "x\"y\u{1}z");
            w.param("R", "plain");
            w.param_list("TYPE", &[None, Some("CELL"), None, Some("PREF")]);
            w.param_list("EMPTY", &[None]);
            w.colon();
            w.text("v");
        });
        assert_eq!(s, "item12.X-A;P=\"a,b\";Q=xyz;R=plain;TYPE=CELL,PREF:v\r\n");
    }

    #[test]
    fn uri_and_uid_encoding() {
        let s = line(|w| {
            w.start(None, "URL");
            w.colon();
            w.uri("https://ex.com/a b?q=1,2;x\\\"\u{1}ü");
        });
        assert_eq!(s, "URL:https://ex.com/a%20b?q=1\\,2\\;x%5C%22ü\r\n");
        let s = line(|w| {
            w.start(None, "UID");
            w.colon();
            w.uid("abc-DEF_1.2@x:/+=~ ,;%\\ü");
        });
        assert_eq!(s, "UID:abc-DEF_1.2@x:/+=~%20%2C%3B%25%5C%C3%BC\r\n");
    }

    #[test]
    fn numbers_are_padded() {
        let s = line(|w| {
            w.start(None, "X");
            w.colon();
            w.number(0, 1);
            w.raw("|");
            w.number(7, 2);
            w.raw("|");
            w.number(1604, 4);
            w.raw("|");
            w.number(12, 4);
            w.raw("|");
            w.number(u32::MAX, 1);
        });
        assert_eq!(s, "X:0|07|1604|0012|4294967295\r\n");
    }

    #[test]
    fn folds_at_75_octets_without_splitting_utf8() {
        // Every alignment of 2-, 3- and 4-octet characters against the fold boundary.
        for ch in ["é", "€", "😀", "a"] {
            for prefix in 0..8 {
                let value: String = "x".repeat(prefix) + &ch.repeat(120);
                let s = line(|w| {
                    w.start(None, "NOTE");
                    w.colon();
                    w.text(&value);
                });
                assert_folded_ok(&s);
                // A fold that split a character would leave invalid UTF-8 per physical line;
                // `str::split` already guarantees char boundaries, so also check the bytes.
                for l in s.as_bytes().split(|&b| b == b'\n') {
                    assert!(std::str::from_utf8(l).is_ok());
                }
                assert_eq!(unfold(&s), format!("NOTE:{value}\r\n"));
                // Lines are filled: only a character that does not fit forces an early fold.
                for l in s.split("\r\n").filter(|l| !l.is_empty()) {
                    let next_char_len = ch.len();
                    assert!(l.len() + next_char_len > MAX_OCTETS || l.len() < MAX_OCTETS);
                }
            }
        }
    }

    #[test]
    fn escape_sequences_are_never_split() {
        for prefix in 0..4 {
            let value = "y".repeat(prefix) + &",".repeat(100);
            let s = line(|w| {
                w.start(None, "NOTE");
                w.colon();
                w.text(&value);
            });
            assert_folded_ok(&s);
            for l in s.split("\r\n").skip(1).filter(|l| !l.is_empty()) {
                assert!(
                    l.starts_with(" \\,") || l.starts_with(" y"),
                    "split escape: {l:?}"
                );
            }
            assert_eq!(
                unfold(&s),
                format!("NOTE:{}\r\n", value.replace(',', "\\,"))
            );
        }
    }

    #[test]
    fn folds_long_names_params_and_raw() {
        let b64 = "QUJD".repeat(300);
        let s = line(|w| {
            w.start(Some(3), "PHOTO");
            w.param("ENCODING", "b");
            w.param_list("TYPE", &[Some("JPEG")]);
            w.colon();
            w.raw(&b64);
        });
        assert_folded_ok(&s);
        assert_eq!(
            unfold(&s),
            format!("item3.PHOTO;ENCODING=b;TYPE=JPEG:{b64}\r\n")
        );
        // The first line is filled to exactly 75 octets, continuations to 74 + the space.
        let lines: Vec<&str> = s.split("\r\n").collect();
        assert_eq!(lines[0].len(), 75);
        assert_eq!(lines[1].len(), 75);
    }
}
