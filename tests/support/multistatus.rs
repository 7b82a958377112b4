//! Reading multistatus bodies by namespace (not by prefix), as a client does.

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

pub const DAV: &str = "DAV:";
pub const CARDDAV: &str = "urn:ietf:params:xml:ns:carddav";
pub const CS: &str = "http://calendarserver.org/ns/";

#[derive(Debug, Clone, Default)]
pub struct Prop {
    pub ns: String,
    pub name: String,
    /// Text content (entities resolved), e.g. the etag or the card.
    pub text: String,
    /// Local names of child elements, e.g. `collection`, `addressbook`, `href` texts aside.
    pub children: Vec<String>,
    /// Texts of `<D:href>` children.
    pub hrefs: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Propstat {
    pub status: String,
    pub props: Vec<Prop>,
}

#[derive(Debug, Clone, Default)]
pub struct Resp {
    pub href: String,
    /// `<D:status>` directly in the response (removed members, 507).
    pub status: Option<String>,
    pub propstats: Vec<Propstat>,
    /// Local names found under a `<D:error>` of the response.
    pub errors: Vec<String>,
}

impl Resp {
    /// The property from the 200 propstat.
    pub fn prop(&self, ns: &str, name: &str) -> Option<&Prop> {
        self.propstats
            .iter()
            .filter(|ps| ps.status == "HTTP/1.1 200 OK")
            .flat_map(|ps| ps.props.iter())
            .find(|p| p.ns == ns && p.name == name)
    }

    pub fn text(&self, ns: &str, name: &str) -> Option<String> {
        self.prop(ns, name).map(|p| p.text.clone())
    }

    /// Whether `name` is reported in a propstat with `status`.
    pub fn has_in(&self, status: &str, ns: &str, name: &str) -> bool {
        self.propstats
            .iter()
            .filter(|ps| ps.status == status)
            .any(|ps| ps.props.iter().any(|p| p.ns == ns && p.name == name))
    }
}

#[derive(Debug, Clone, Default)]
pub struct Multistatus {
    pub responses: Vec<Resp>,
    pub sync_token: Option<String>,
}

impl Multistatus {
    pub fn parse(body: &[u8]) -> Multistatus {
        let text = std::str::from_utf8(body).expect("UTF-8 multistatus");
        let mut reader = NsReader::from_str(text);
        let mut out = Multistatus::default();
        // Element path as (ns, local).
        let mut path: Vec<(String, String)> = Vec::new();
        let mut text_buf = String::new();
        let mut saw_root = false;
        loop {
            let (resolve, event) = reader.read_resolved_event().expect("well-formed XML");
            let ns_of = |r: &ResolveResult| match r {
                ResolveResult::Bound(ns) => ns.as_ref().to_string(),
                ResolveResult::Unbound => String::new(),
                ResolveResult::Unknown(p) => panic!("server wrote unbound prefix {p}"),
            };
            match event {
                Event::Start(ref e) | Event::Empty(ref e) => {
                    let ns = ns_of(&resolve);
                    let local = e.local_name().as_ref().to_string();
                    if !saw_root {
                        assert_eq!(
                            (ns.as_str(), local.as_str()),
                            (DAV, "multistatus"),
                            "root element"
                        );
                        saw_root = true;
                    }
                    let empty = matches!(event, Event::Empty(_));
                    out.open(&path, &ns, &local);
                    path.push((ns, local));
                    text_buf.clear();
                    if empty {
                        out.close(&path, "");
                        path.pop();
                    }
                }
                Event::End(_) => {
                    out.close(&path, &text_buf);
                    text_buf.clear();
                    path.pop();
                }
                Event::Text(t) => text_buf.push_str(&t.xml10_content()),
                Event::GeneralRef(r) => match r.resolve_char_ref().expect("char ref") {
                    Some(c) => text_buf.push(c),
                    None => text_buf.push_str(match r.xml10_content().as_ref() {
                        "amp" => "&",
                        "lt" => "<",
                        "gt" => ">",
                        "quot" => "\"",
                        "apos" => "'",
                        other => panic!("unknown entity {other}"),
                    }),
                },
                Event::CData(c) => text_buf.push_str(&c.xml10_content()),
                Event::Eof => break,
                _ => {}
            }
        }
        out
    }

    fn open(&mut self, path: &[(String, String)], ns: &str, local: &str) {
        let depth = path.len();
        let is = |i: usize, n: &str| path.get(i).is_some_and(|(a, b)| a == DAV && b == n);
        if depth == 1 && ns == DAV && local == "response" {
            self.responses.push(Resp::default());
        } else if depth == 2 && is(1, "response") && ns == DAV && local == "propstat" {
            self.last().propstats.push(Propstat::default());
        } else if depth == 4 && is(2, "propstat") && is(3, "prop") {
            if let Some(ps) = self.last().propstats.last_mut() {
                ps.props.push(Prop {
                    ns: ns.to_string(),
                    name: local.to_string(),
                    ..Prop::default()
                });
            }
        } else if depth >= 5 && is(2, "propstat") && is(3, "prop") {
            if let Some(p) = self
                .last()
                .propstats
                .last_mut()
                .and_then(|ps| ps.props.last_mut())
            {
                p.children.push(local.to_string());
            }
        } else if depth >= 3 && is(1, "response") && is(2, "error") {
            self.last().errors.push(local.to_string());
        }
    }

    fn close(&mut self, path: &[(String, String)], text: &str) {
        let depth = path.len();
        let Some((ns, local)) = path.last() else {
            return;
        };
        if ns != DAV && depth != 5 {
            return;
        }
        let is = |i: usize, n: &str| path.get(i).is_some_and(|(a, b)| a == DAV && b == n);
        match depth {
            2 if local == "sync-token" => self.sync_token = Some(text.trim().to_string()),
            3 if is(1, "response") && local == "href" => self.last().href = text.trim().to_string(),
            3 if is(1, "response") && local == "status" => {
                self.last().status = Some(text.trim().to_string())
            }
            4 if is(2, "propstat") && local == "status" => {
                if let Some(ps) = self.last().propstats.last_mut() {
                    ps.status = text.trim().to_string();
                }
            }
            5 if is(2, "propstat") && is(3, "prop") => {
                if let Some(p) = self
                    .last()
                    .propstats
                    .last_mut()
                    .and_then(|ps| ps.props.last_mut())
                {
                    p.text = text.to_string();
                }
            }
            _ if depth >= 6 && is(2, "propstat") && local == "href" => {
                if let Some(p) = self
                    .last()
                    .propstats
                    .last_mut()
                    .and_then(|ps| ps.props.last_mut())
                {
                    p.hrefs.push(text.trim().to_string());
                }
            }
            _ => {}
        }
    }

    fn last(&mut self) -> &mut Resp {
        self.responses.last_mut().expect("inside a response")
    }

    pub fn by_href(&self, href: &str) -> Option<&Resp> {
        self.responses.iter().find(|r| r.href == href)
    }

    /// Hrefs of responses that carry a 200 propstat.
    pub fn present(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .responses
            .iter()
            .filter(|r| r.propstats.iter().any(|ps| ps.status == "HTTP/1.1 200 OK"))
            .map(|r| r.href.clone())
            .collect();
        v.sort();
        v
    }

    /// Hrefs reported with a bare status (e.g. removed members: 404).
    pub fn with_status(&self, status: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .responses
            .iter()
            .filter(|r| r.status.as_deref() == Some(status))
            .map(|r| r.href.clone())
            .collect();
        v.sort();
        v
    }
}
