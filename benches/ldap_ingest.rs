//! LDAP ingest benchmark: 100,000 generated inetOrgPerson entries in a real slapd, dumped once
//! by `ldapsearch` (paged, to /dev/null) and once ingested by cardbridge (start to first
//! served snapshot). Reports both times, their ratio (target ≤ 1.5) and peak RSS of each.
//! Run with `cargo bench --bench ldap_ingest` (needs slapd and ldap-utils: scripts/setup.sh
//! test). `LDAP_BENCH_ENTRIES=10000` runs a smaller directory.

#[path = "../tests/support/mod.rs"]
mod support;

use support::procfs::proc_kib;

use std::fmt::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::slapd::{Options, Slapd, ADMIN_DN, ADMIN_PASSWORD};

const BASE: &str = "ou=people,dc=example,dc=com";

fn ldif(entries: usize) -> String {
    let mut out = String::from(
        "dn: dc=example,dc=com\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example Corp\n\n\
         dn: ou=people,dc=example,dc=com\nobjectClass: organizationalUnit\nou: people\n\n",
    );
    for i in 0..entries {
        let _ = write!(
            out,
            "dn: uid=user{i},{BASE}\nobjectClass: inetOrgPerson\nuid: user{i}\ncn: Given{i} Family{f}\n\
             sn: Family{f}\ngivenName: Given{i}\ndisplayName: Given{i} Family{f}\nmail: user{i}@example.com\n\
             telephoneNumber: +1 650 {x} {p:04}\nmobile: +1 408 {x} {p:04}\ntitle: Engineer\nou: Department {d}\n\
             o: Example Corp\nl: Mountain View\npostalCode: 94043\nstreet: {i} Example Street\n\n",
            f = i % 977,
            // Every number distinct, as in a real directory.
            x = 200 + i / 10_000,
            p = i % 10_000,
            d = i % 40,
        );
    }
    out
}

/// Peak RSS (KiB) of a finished child, from wait4's rusage.
fn wait_peak_kib(child: std::process::Child) -> u64 {
    let mut status = 0;
    #[allow(unsafe_code)]
    // SAFETY: rusage is plain data; wait4 fills it for the child we own.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    #[allow(unsafe_code)]
    // SAFETY: pid is our child, not yet reaped (we never called wait on it).
    unsafe {
        libc::wait4(pid, &mut status, 0, &mut usage)
    };
    usage.ru_maxrss as u64
}

fn ldapsearch(slapd: &Slapd) -> (Duration, u64, usize) {
    let out = tempfile::NamedTempFile::new().expect("temp");
    let started = Instant::now();
    let child = Command::new("ldapsearch")
        .args([
            "-x",
            "-LLL",
            "-H",
            &slapd.url(),
            "-D",
            ADMIN_DN,
            "-w",
            ADMIN_PASSWORD,
        ])
        .args([
            "-b",
            BASE,
            "-E",
            "pr=500/noprompt",
            "(objectClass=inetOrgPerson)",
        ])
        .stdout(out.reopen().expect("reopen"))
        .stderr(Stdio::null())
        .spawn()
        .expect("ldapsearch (apt-get install ldap-utils)");
    let peak = wait_peak_kib(child);
    let elapsed = started.elapsed();
    let count = std::fs::read_to_string(out.path())
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("dn: "))
        .count();
    (elapsed, peak, count)
}

/// Time to the first served snapshot, peak RSS by then, and how long the next full listing
/// (with validated phones cached) took.
fn cardbridge(slapd: &Slapd, dir: &std::path::Path) -> (Duration, u64, Duration) {
    let port = support::free_port();
    let config = format!(
        "[server]\nlisten = [\"127.0.0.1:{port}\"]\n\
         [[source]]\nid = \"directory\"\nkind = \"ldap\"\nbase = \"{BASE}\"\npoll_interval = \"1s\"\nfull_listing_interval = \"1s\"\n\
         [source.server]\nurl = \"{}\"\nbind_dn = \"{ADMIN_DN}\"\nbind_password = \"{ADMIN_PASSWORD}\"\ntimeout = \"5m\"\n\
         [[addressbook]]\nid = \"directory\"\nsources = [\"directory\"]\n",
        slapd.url()
    );
    std::fs::write(dir.join("cardbridge.toml"), config).expect("config");
    let log = dir.join("server.log");
    // A fresh log per round (spawn appends).
    let _ = std::fs::remove_file(&log);
    let started = Instant::now();
    let mut child = support::server::spawn(dir, &[]);
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("published book=directory") {
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("cardbridge exited with {status}:\n{text}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "no publish:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let elapsed = started.elapsed();
    let peak = proc_kib(child.id(), "VmHWM:");
    let second_poll = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let polls: Vec<&str> = text.lines().filter(|l| l.contains(" polled ")).collect();
        if let Some(line) = polls.get(1) {
            let ms = line
                .split("ms=")
                .nth(1)
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            println!(
                "  after the next full listing: RSS {:.0} MB",
                proc_kib(child.id(), "VmRSS:") as f64 / 1024.0
            );
            break Duration::from_millis(ms);
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "no second poll:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    if std::env::var_os("LDAP_BENCH_LOG").is_some() {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        for line in text.lines().filter(|l| !l.contains("pingora")) {
            println!("  {line}");
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    (elapsed, peak, second_poll)
}

fn main() {
    let entries: usize = std::env::var("LDAP_BENCH_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let generated = Instant::now();
    let slapd = Slapd::start(&ldif(entries), Options::default());
    println!(
        "slapd loaded with {entries} entries in {:.1} s",
        generated.elapsed().as_secs_f64()
    );
    // Warm slapd's caches so neither side pays for the first cold read.
    let _ = ldapsearch(&slapd);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rows = Vec::new();
    for round in 1..=3 {
        let (ls_time, ls_peak, count) = ldapsearch(&slapd);
        assert_eq!(count, entries, "ldapsearch saw every entry");
        let (cb_time, cb_peak, relist) = cardbridge(&slapd, dir.path());
        rows.push((round, ls_time, ls_peak, cb_time, cb_peak, relist));
    }
    println!(
        "round | ldapsearch s | ldapsearch peak MB | cardbridge s | cardbridge peak MB | ratio | next full listing s"
    );
    for (round, ls_time, ls_peak, cb_time, cb_peak, relist) in &rows {
        println!(
            "{round:>5} | {:>12.2} | {:>18.1} | {:>12.2} | {:>18.1} | {:>5.2} | {:>19.2}",
            ls_time.as_secs_f64(),
            *ls_peak as f64 / 1024.0,
            cb_time.as_secs_f64(),
            *cb_peak as f64 / 1024.0,
            cb_time.as_secs_f64() / ls_time.as_secs_f64(),
            relist.as_secs_f64()
        );
    }
    type Row = (i32, Duration, u64, Duration, u64, Duration);
    let best = |f: fn(&Row) -> Duration| rows.iter().map(f).min().unwrap_or_default();
    let ls = best(|r| r.1);
    let cb = best(|r| r.3);
    println!(
        "best of 3: ldapsearch {:.2} s, cardbridge {:.2} s (start to first served snapshot), ratio {:.2} (target <= 1.5)",
        ls.as_secs_f64(),
        cb.as_secs_f64(),
        cb.as_secs_f64() / ls.as_secs_f64()
    );
}
