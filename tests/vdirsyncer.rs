//! A real CardDAV client: vdirsyncer discovers and syncs the demo configuration's books into
//! folders of .vcf files, then picks up a change to the CSV incrementally.

mod support;

use std::path::Path;

use support::vcard::parse_strict;
use support::{Server, ServerSpec};

fn vdirsyncer(config: &Path, args: &[&str]) -> String {
    let (ok, text) = support::vdirsyncer::run(config, args);
    assert!(ok, "vdirsyncer {args:?} failed:\n{text}");
    text
}

fn vcf_files(dir: &Path) -> Vec<String> {
    let mut cards: Vec<String> = std::fs::read_dir(dir)
        .expect("synced folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "vcf"))
        .map(|p| std::fs::read_to_string(p).expect("card"))
        .collect();
    cards.sort();
    cards
}

#[test]
fn vdirsyncer_syncs_the_demo_books() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let demo = std::fs::read_to_string(root.join("demo.toml")).expect("demo config");
    let config = demo.replace("127.0.0.1:8008", "127.0.0.1:{PORT}");
    let staff = std::fs::read(root.join("demo/staff.csv")).expect("staff");
    let rooms = std::fs::read(root.join("demo/rooms.csv")).expect("rooms");
    let dir = tempfile::tempdir().expect("tempdir");
    // The demo config points at demo/*.csv relative to itself.
    let mut server = Server::start(ServerSpec {
        config: config.replace("path = \"demo/", "path = \"").replace(
            "state_dir = \"../target/demo-state\"",
            "state_dir = \"state\"",
        ),
        files: vec![
            ("staff.csv".into(), staff.clone()),
            ("rooms.csv".into(), rooms),
        ],
    });
    server.login_as("demo", "demo");
    let contacts = dir.path().join("contacts");
    let vds_config = dir.path().join("config");
    std::fs::write(
        &vds_config,
        format!(
            r#"[general]
status_path = "{status}"

[pair demo]
a = "local"
b = "remote"
collections = ["from b"]

[storage local]
type = "filesystem"
path = "{contacts}"
fileext = ".vcf"

[storage remote]
type = "carddav"
url = "http://127.0.0.1:{port}/"
username = "demo"
password = "demo"
read_only = true
"#,
            status = dir.path().join("status").display(),
            contacts = contacts.display(),
            port = server.port
        ),
    )
    .expect("vdirsyncer config");
    std::fs::create_dir_all(contacts.join("staff")).expect("dirs");
    std::fs::create_dir_all(contacts.join("rooms")).expect("dirs");
    std::fs::create_dir_all(contacts.join("everything")).expect("dirs");
    let discovered = vdirsyncer(&vds_config, &["discover", "demo"]);
    assert!(
        discovered.contains("staff")
            && discovered.contains("rooms")
            && discovered.contains("everything"),
        "{discovered}"
    );
    vdirsyncer(&vds_config, &["sync"]);

    // 30 people and 13 department groups; 6 rooms.
    let staff_cards = vcf_files(&contacts.join("staff"));
    assert_eq!(staff_cards.len(), 43);
    assert_eq!(vcf_files(&contacts.join("rooms")).len(), 6);
    assert_eq!(vcf_files(&contacts.join("everything")).len(), 49);
    for card in &staff_cards {
        parse_strict(card);
        assert!(card.contains("VERSION:3.0"));
    }
    assert!(staff_cards
        .iter()
        .any(|c| c.contains("FN:Ada Lovelace") && c.contains("TEL;TYPE=VOICE,WORK:+12065551000")));
    assert!(staff_cards.iter().any(|c| c.contains("FN:Zoë Ångström")));

    // Remove Alan, retitle Grace: the next sync brings exactly that.
    let token = server.token();
    let text = String::from_utf8(staff).expect("utf-8");
    let edited: String = text
        .lines()
        .filter(|l| !l.starts_with("Alan,"))
        .map(|l| l.replacen("Compiler Lead", "Rear Admiral", 1) + "\n")
        .collect();
    server.rewrite_and_wait("staff.csv", &edited, &token);
    let output = vdirsyncer(&vds_config, &["sync"]);
    assert_eq!(
        output.matches("local/staff").count(),
        3,
        "Alan removed, Grace and the Research group updated:\n{output}"
    );
    let staff_cards = vcf_files(&contacts.join("staff"));
    assert_eq!(staff_cards.len(), 42, "{output}");
    let research = staff_cards
        .iter()
        .find(|c| c.contains("FN:Research"))
        .expect("the Research group");
    assert!(
        research.contains("X-ADDRESSBOOKSERVER-KIND:group"),
        "{research}"
    );
    assert_eq!(
        research
            .matches("X-ADDRESSBOOKSERVER-MEMBER:urn:uuid:")
            .count(),
        5
    );
    assert!(!staff_cards.iter().any(|c| c.contains("Alan Turing")));
    assert!(staff_cards
        .iter()
        .any(|c| c.contains("FN:Grace Hopper") && c.contains("TITLE:Rear Admiral")));
}
