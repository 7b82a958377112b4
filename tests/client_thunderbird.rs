//! Thunderbird (153 ESR, Debian's package) syncs cardbridge with its own CardDAV code, driven
//! headless through Marionette (tests/clients/thunderbird/carddav.js runs in its chrome
//! context): discovery from the root URL, the first sync of the 2,000-card book, the delta
//! after a source change, the guest's view, refused writes, and a forgotten sync token.
//! Thunderbird starts once (a few seconds); every check runs in the one test below.

mod support;

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::{json, Value};

use support::clients::{
    digits, expected, staff_csv, Exchange, Expected, World, ALICE, CARDS, GUEST, ROOMS,
};
use support::marionette::Gecko;
use support::server::standard_config;
use support::{Server, ServerSpec};

const DRIVER: &str = include_str!("clients/thunderbird/carddav.js");

/// A well-formed sync token this server never issued: one it has forgotten, as after a wiped
/// state directory.
const FORGOTTEN: &str = "urn:cardbridge:sync:000000000000000000000000000000aa";

const OK: &str = "HTTP/1.1 200 OK";

struct Thunderbird(Gecko);

impl Thunderbird {
    fn start() -> Thunderbird {
        let binary = support::tools::binary(
            "thunderbird",
            "run scripts/setup.sh test (or: sudo apt-get install thunderbird)",
        );
        Thunderbird(Gecko::start(&binary))
    }

    fn version(&self) -> String {
        self.0.capabilities["browserVersion"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Runs one operation of the driver script.
    fn call(&mut self, op: &str, args: &[Value]) -> Value {
        let mut all = vec![json!(op)];
        all.extend_from_slice(args);
        self.0.run(DRIVER, Value::Array(all))
    }

    /// The cards of book `uid` as Thunderbird shows them, keyed by name.
    fn cards(&mut self, uid: &str) -> BTreeMap<String, Expected> {
        let cards = self.call("cards", &[json!(uid)]);
        let list = cards.as_array().expect("cards");
        let held: BTreeMap<String, Expected> = list
            .iter()
            .map(|c| {
                let text = |k: &str| c[k].as_str().unwrap_or_default().to_string();
                let phones = c["phones"].as_array().cloned().unwrap_or_default();
                assert!(phones.len() <= 1, "one phone per card: {c}");
                let phone = phones.first().and_then(Value::as_str).unwrap_or_default();
                let card = Expected {
                    formatted_name: text("name"),
                    email: text("email"),
                    phone_digits: digits(phone),
                    organization: text("organization"),
                    nickname: text("nickname"),
                };
                (card.formatted_name.clone(), card)
            })
            .collect();
        assert_eq!(held.len(), list.len(), "two cards with one name");
        held
    }

    /// One sync of book `uid`, which must succeed.
    fn sync(&mut self, uid: &str) {
        let outcome = self.call("sync", &[json!(uid)]);
        assert!(outcome["error"].is_null(), "sync failed: {outcome}");
    }
}

/// A book as Thunderbird's setup created it.
struct Book {
    name: String,
    url: String,
    uid: String,
    read_only: bool,
    millis: u64,
}

fn setup(tb: &mut Thunderbird, world: &World, user: (&str, &str)) -> Vec<Book> {
    let found = tb.call("setup", &[json!(user.0), json!(user.1), json!(world.url())]);
    found
        .as_array()
        .expect("books")
        .iter()
        .map(|b| Book {
            name: b["name"].as_str().unwrap_or_default().into(),
            url: b["url"].as_str().unwrap_or_default().into(),
            uid: b["uid"].as_str().unwrap_or_default().into(),
            read_only: b["readOnly"] == true,
            millis: b["millis"].as_u64().unwrap_or_default(),
        })
        .collect()
}

/// The requests made since the recorder held `from` of them.
fn since(world: &World, from: usize) -> Vec<Exchange> {
    world.recorder.exchanges().split_off(from)
}

/// `METHOD target status` per request, for assertion messages and sequence checks.
fn outline(exchanges: &[Exchange]) -> Vec<String> {
    exchanges
        .iter()
        .map(|x| format!("{} {} {}", x.method, x.target, x.status))
        .collect()
}

fn header<'a>(exchange: &'a Exchange, name: &str) -> &'a str {
    exchange
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map_or("", |(_, v)| v.as_str())
}

/// Requests that asked the server something: Thunderbird's first try of each request goes
/// without credentials and is answered 401, then it repeats it with them.
fn answered(exchanges: Vec<Exchange>) -> Vec<Exchange> {
    exchanges.into_iter().filter(|x| x.status != 401).collect()
}

/// The hrefs an addressbook-multiget asked for.
fn multiget_hrefs(exchange: &Exchange) -> usize {
    exchange.body.matches("<d:href>").count()
}

fn is_multiget(exchange: &Exchange) -> bool {
    exchange.method == "REPORT" && exchange.body.contains("addressbook-multiget")
}

fn is_sync_collection(exchange: &Exchange) -> bool {
    exchange.method == "REPORT" && exchange.body.contains("sync-collection")
}

/// Syncs book `uid` and returns the one request that sync made: a sync-collection answered
/// 207 (anything else, a write or a refetch, fails).
fn delta(tb: &mut Thunderbird, world: &World, uid: &str) -> Exchange {
    let before = world.recorder.exchanges().len();
    tb.sync(uid);
    let mut made = answered(since(world, before));
    assert!(
        made.len() == 1 && is_sync_collection(&made[0]) && made[0].status == 207,
        "one sync-collection: {:#?}",
        outline(&made)
    );
    made.remove(0)
}

/// The statuses of the members a sync-collection answer carried, sorted.
fn member_statuses(exchange: &Exchange, book: &str) -> Vec<String> {
    let mut statuses: Vec<String> = exchange
        .responses
        .iter()
        .filter(|(href, _)| href != book)
        .flat_map(|(_, s)| s.iter().cloned())
        .collect();
    statuses.sort();
    statuses
}

/// The name of generated person `i`, as `expected` keys it.
fn name(i: usize) -> String {
    format!("Given{i:04} Family{i:04}")
}

#[test]
fn thunderbird_discovers_syncs_and_is_refused_writes() {
    let world = World::start();
    let mut tb = Thunderbird::start();
    let version = tb.version();
    assert!(
        version.starts_with("153."),
        "Thunderbird 153 ESR, got {version}"
    );
    let staff_path = format!("/addressbooks/{}/staff/", ALICE.0);

    // 1. Discovery from the root URL, as the setup dialog does, then each book's first sync.
    let started = Instant::now();
    let books = setup(&mut tb, &world, ALICE);
    let setup_time = started.elapsed();
    let found: BTreeMap<&str, &str> = books
        .iter()
        .map(|b| (b.name.as_str(), b.url.as_str()))
        .collect();
    let staff_url = world.staff_url();
    let rooms_url = world.rooms_url(ALICE.0);
    assert_eq!(
        found,
        BTreeMap::from([
            ("Meeting rooms", rooms_url.as_str()),
            ("Staff directory", staff_url.as_str())
        ])
    );
    assert!(
        books.iter().all(|b| b.read_only),
        "discovery marks books without write privileges read-only"
    );
    let staff_book = books
        .iter()
        .find(|b| b.url == staff_url)
        .expect("the staff book");
    let staff = staff_book.uid.clone();
    eprintln!(
        "Thunderbird {version}: first sync of {CARDS} cards took {} ms (discovery and both books {} ms)",
        staff_book.millis,
        setup_time.as_millis()
    );

    // 2. The first sync: the member listing, multigets of at most 500 hrefs covering every
    // card once, then the sync token (which makes later syncs use sync-collection).
    let first: Vec<Exchange> = answered(since(&world, 0))
        .into_iter()
        .filter(|x| x.target == staff_path)
        .collect();
    let requests = outline(&first);
    assert!(first.iter().all(|x| x.status == 207), "{requests:#?}");
    let (listing, rest) = first.split_first().expect("a first sync");
    let (token, multigets) = rest.split_last().expect("multigets and a token");
    assert_eq!(
        (listing.method.as_str(), header(listing, "Depth")),
        ("PROPFIND", "1"),
        "{requests:#?}"
    );
    assert_eq!(
        listing.responses.len(),
        CARDS + 1,
        "every card and the book"
    );
    assert!(multigets.iter().all(is_multiget), "{requests:#?}");
    let batches: Vec<usize> = multigets.iter().map(multiget_hrefs).collect();
    assert_eq!(batches, [500, 500, 500, 500], "multiget batches");
    let fetched: usize = multigets.iter().map(|x| x.responses.len()).sum();
    assert_eq!(fetched, CARDS);
    assert_eq!(
        (token.method.as_str(), header(token, "Depth")),
        ("PROPFIND", "0")
    );
    assert!(token.body.contains("sync-token"), "{}", token.body);
    assert!(header(token, "User-Agent").contains("Thunderbird/153"));

    // Every card as the source has it.
    assert_eq!(tb.cards(&staff), expected(false));

    // 3. The source changes: the next sync is one sync-collection carrying exactly the two
    // edited cards and the added one (inline, no multiget) and the deleted one (404).
    world.change_source();
    let changes = delta(&mut tb, &world, &staff);
    assert_eq!(
        member_statuses(&changes, &staff_path),
        [OK, OK, OK, "HTTP/1.1 404 Not Found"],
        "{:?}",
        changes.responses
    );
    assert_eq!(tb.cards(&staff), expected(true));

    // 4. The guest discovers only the rooms book, and a staff book set up by hand with the
    // guest's login gets nothing.
    let guest_books = setup(&mut tb, &world, GUEST);
    let guest_names: Vec<&str> = guest_books.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(guest_names, ["Meeting rooms"]);
    assert!(guest_books[0].read_only);
    let rooms: Vec<String> = tb.cards(&guest_books[0].uid).into_keys().collect();
    assert_eq!(rooms, ROOMS);
    let before = world.recorder.exchanges().len();
    let by_hand = tb.call(
        "fetchByHand",
        &[json!(GUEST.0), json!(GUEST.1), json!(world.staff_url())],
    );
    assert_eq!(
        by_hand,
        json!({"uid": by_hand["uid"], "cards": 0, "error": "Incorrect response from server: 404 Not Found"})
    );
    assert_eq!(
        outline(&answered(since(&world, before))),
        [format!("PROPFIND {staff_path} 404")],
        "the staff book does not exist for the guest"
    );

    // 5. Writes: with the book forced writable, a local edit and a local deletion are sent
    // and refused.
    assert_eq!(tb.call("setReadOnly", &[json!(staff), json!(false)]), false);
    let edited = name(40);
    let deleted = name(50);
    let before = world.recorder.exchanges().len();
    let shown = tb.call(
        "editPhone",
        &[json!(staff), json!(edited), json!("+1 999 555 0100")],
    );
    assert_eq!(shown["phones"], json!(["+1 999 555 0100"]));
    let removed = tb.call("remove", &[json!(staff), json!(deleted)]);
    assert_eq!(removed["left"], CARDS - 1, "the deletion is local at once");
    let writes = answered(since(&world, before));
    assert_eq!(
        outline(&writes),
        [
            format!("PUT {} 403", shown["href"].as_str().unwrap_or_default()),
            format!(
                "DELETE {} 403",
                removed["href"].as_str().unwrap_or_default()
            ),
        ]
    );

    // The refusal healed the two cards on the server (new ETags), so the next sync's delta
    // carries them: Thunderbird drops its local edit and gets the deleted card back.
    let healed = delta(&mut tb, &world, &staff);
    assert_eq!(member_statuses(&healed, &staff_path), [OK, OK]);
    let mut hrefs: Vec<&str> = healed.responses.iter().map(|(h, _)| h.as_str()).collect();
    hrefs.sort();
    let mut refused: Vec<&str> = [&shown["href"], &removed["href"]]
        .iter()
        .map(|h| h.as_str().unwrap_or_default())
        .collect();
    refused.sort();
    assert_eq!(hrefs, refused);
    assert_eq!(tb.cards(&staff), expected(true));
    // And the sync after that is clean: nothing sent again, nothing changed.
    assert!(delta(&mut tb, &world, &staff).responses.is_empty());

    // 6. A token the server does not know, while a locally deleted card is missing: cardbridge
    // answers Thunderbird 400 (not 403 valid-sync-token, which Thunderbird cannot recover
    // from), and Thunderbird lists the whole book again, fetches exactly the card it lacks and
    // takes a new token.
    let gone = tb.call("remove", &[json!(staff), json!(name(60))]);
    let gone_href = gone["href"].as_str().unwrap_or_default().to_string();
    tb.call("setToken", &[json!(staff), json!(FORGOTTEN)]);
    let before = world.recorder.exchanges().len();
    tb.sync(&staff);
    let refetch = answered(since(&world, before));
    let requests = outline(&refetch);
    assert_eq!(
        requests,
        [
            format!("REPORT {staff_path} 400"),
            format!("PROPFIND {staff_path} 207"),
            format!("REPORT {staff_path} 207"),
            format!("PROPFIND {staff_path} 207"),
        ]
    );
    assert!(is_sync_collection(&refetch[0]));
    assert_eq!(header(&refetch[1], "Depth"), "1");
    assert_eq!(
        refetch[1].responses.len(),
        CARDS + 1,
        "the whole book listed"
    );
    assert!(is_multiget(&refetch[2]));
    assert_eq!(refetch[2].responses, [(gone_href, vec![OK.to_string()])]);
    assert!(refetch[3].body.contains("sync-token"), "{requests:#?}");
    assert_eq!(tb.cards(&staff), expected(true));
    // The new token works: the next sync is one empty sync-collection.
    assert!(delta(&mut tb, &world, &staff).responses.is_empty());

    world.save_recording("thunderbird", &version);

    // 7. Why Thunderbird gets 400: from a server answering it the standard 403
    // valid-sync-token, it cannot recover, as every later sync sends the same dead token.
    let strict = Server::start(ServerSpec {
        config: standard_config("").replacen(
            "[server]\n",
            "[server]\nthunderbird_invalid_token_status = 403\n",
            1,
        ),
        files: vec![("staff.csv".into(), staff_csv(false).into_bytes())],
    });
    let url = format!("http://127.0.0.1:{}{}", strict.port, strict.book_path());
    let book = tb.call("fetchByHand", &[json!(ALICE.0), json!(ALICE.1), json!(url)]);
    assert!(book["error"].is_null(), "{book}");
    assert_eq!(book["cards"], CARDS);
    let uid = book["uid"].as_str().unwrap_or_default().to_string();
    tb.call("setToken", &[json!(uid), json!(FORGOTTEN)]);
    for _ in 0..2 {
        let outcome = tb.call("sync", &[json!(uid)]);
        assert_eq!(
            outcome,
            json!({"token": FORGOTTEN, "error": "Incorrect response from server: 403 Forbidden"})
        );
    }
}
