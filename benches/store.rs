//! Store benchmark: publish a 100,000-card book into a state file, then restore it as a
//! restarting server does. Reports the state file size, publish time, restore time and the
//! resident memory of the restored book. Run with `cargo bench --bench store`.

#[path = "../tests/support/procfs.rs"]
mod procfs;
use procfs::proc_kib;
use std::time::Instant;

use cardbridge::store::{Book, Member, RemovalGuard, Retention, StateFile};
use cardbridge_connectors::{Contact, Email, Label, Name, Phone, PhoneKind};

const CARDS: usize = 100_000;

fn contact(i: usize) -> Contact {
    Contact {
        uid: format!("{i:032x}"),
        name: Name {
            given: vec![format!("Given{i}")],
            family: vec![format!("Family{}", i % 977)],
            ..Name::default()
        },
        organization: Some("Example Corp".into()),
        department: Some(format!("Department {}", i % 40)),
        title: Some("Engineer".into()),
        emails: vec![Email {
            address: format!("person{i}@example.com"),
            label: Some(Label::Work),
            preferred: true,
        }],
        phones: vec![Phone {
            number: format!("+1650253{:04}", i % 10_000),
            kind: PhoneKind::Voice,
            label: Some(Label::Work),
            preferred: false,
        }],
        ..Contact::default()
    }
}

fn main() {
    let retention = Retention {
        max_entries: 10_000,
        max_age: None,
    };
    let guard = RemovalGuard {
        share: 0.5,
        min_removals: 10,
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cardbridge.redb");
    {
        let file = StateFile::open(&path, false, 1 << 20).expect("state file");
        let book = Book::open("staff", retention, Some(&file)).expect("book");
        let started = Instant::now();
        let members: Vec<Member> = (0..CARDS).map(|i| Member::new(contact(i))).collect();
        let built = started.elapsed();
        book.apply(members, &guard, false, Some(&file))
            .expect("publish");
        println!(
            "publish {CARDS} cards: {:.2} s (rendering + hashing {:.2} s)",
            started.elapsed().as_secs_f64(),
            built.as_secs_f64()
        );
    }
    let size = std::fs::metadata(&path).expect("size").len();
    println!("state file: {:.1} MiB", size as f64 / 1024.0 / 1024.0);
    let started = Instant::now();
    let file = StateFile::open(&path, false, 1 << 20).expect("reopen");
    let book = Book::open("staff", retention, Some(&file)).expect("restore");
    let elapsed = started.elapsed();
    assert_eq!(book.state().snapshot.len(), CARDS);
    println!(
        "restore {CARDS} cards: {:.3} s; resident now {} MiB, peak {} MiB",
        elapsed.as_secs_f64(),
        proc_kib("self", "VmRSS:") / 1024,
        proc_kib("self", "VmHWM:") / 1024
    );
}
