//! LDAP ingest benchmark: 100,000 generated inetOrgPerson entries in a real slapd, dumped once
//! by `ldapsearch` (paged, to /dev/null) and once ingested by cardbridge (start to first
//! served snapshot). Reports both times, their ratio (target ≤ 1.5), peak RSS of each, and the
//! CPU time (user + system) each client and slapd used: on a shared machine wall-clock time
//! is noisy, CPU time much less so.
//! Run with `cargo bench --bench ldap_ingest` (needs slapd and ldap-utils: scripts/setup.sh
//! test). `LDAP_BENCH_ENTRIES=10000` runs a smaller directory.

#[path = "../tests/support/mod.rs"]
mod support;

use support::procfs::{cpu_time, proc_kib};

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

/// One client's run: wall time, peak RSS (KiB), its CPU time and slapd's while it ran.
struct Run {
    wall: Duration,
    peak_kib: u64,
    cpu: Duration,
    slapd_cpu: Duration,
}

fn slapd_cpu(slapd: &Slapd) -> Duration {
    slapd.pid().map(cpu_time).unwrap_or_default()
}

fn timeval(t: libc::timeval) -> Duration {
    Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
}

/// Peak RSS (KiB) and CPU time (user + system) of a finished child, from wait4's rusage.
fn wait_peak_kib(child: std::process::Child) -> (u64, Duration) {
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
    (
        usage.ru_maxrss as u64,
        timeval(usage.ru_utime) + timeval(usage.ru_stime),
    )
}

/// The run and how many entries ldapsearch printed.
fn ldapsearch(slapd: &Slapd) -> (Run, usize) {
    let out = tempfile::NamedTempFile::new().expect("temp");
    let slapd_before = slapd_cpu(slapd);
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
    let (peak_kib, cpu) = wait_peak_kib(child);
    let wall = started.elapsed();
    let slapd_cpu = slapd_cpu(slapd) - slapd_before;
    let count = std::fs::read_to_string(out.path())
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("dn: "))
        .count();
    let run = Run {
        wall,
        peak_kib,
        cpu,
        slapd_cpu,
    };
    (run, count)
}

/// The run to the first served snapshot, and how long the next full listing (with
/// validated phones cached) took.
fn cardbridge(slapd: &Slapd, dir: &std::path::Path) -> (Run, Duration) {
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
    let slapd_before = slapd_cpu(slapd);
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
    let run = Run {
        wall: started.elapsed(),
        peak_kib: proc_kib(child.id(), "VmHWM:"),
        cpu: cpu_time(child.id()),
        slapd_cpu: slapd_cpu(slapd) - slapd_before,
    };
    let second_poll = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let polls: Vec<&str> = text
            .lines()
            .filter(|l| l.contains(" polled source="))
            .collect();
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
    (run, second_poll)
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
        let (ls, count) = ldapsearch(&slapd);
        assert_eq!(count, entries, "ldapsearch saw every entry");
        let (cb, relist) = cardbridge(&slapd, dir.path());
        rows.push((round, ls, cb, relist));
    }
    println!(
        "round | ldapsearch s | CPU s | slapd CPU s | peak MB | cardbridge s | CPU s | slapd CPU s | peak MB | ratio | CPU ratio | next full listing s"
    );
    let mb = |kib: u64| kib as f64 / 1024.0;
    for (round, ls, cb, relist) in &rows {
        println!(
            "{round:>5} | {:>12.2} | {:>5.2} | {:>11.2} | {:>7.1} | {:>12.2} | {:>5.2} | {:>11.2} | {:>7.1} | {:>5.2} | {:>9.2} | {:>19.2}",
            ls.wall.as_secs_f64(),
            ls.cpu.as_secs_f64(),
            ls.slapd_cpu.as_secs_f64(),
            mb(ls.peak_kib),
            cb.wall.as_secs_f64(),
            cb.cpu.as_secs_f64(),
            cb.slapd_cpu.as_secs_f64(),
            mb(cb.peak_kib),
            cb.wall.as_secs_f64() / ls.wall.as_secs_f64(),
            cb.cpu.as_secs_f64() / ls.cpu.as_secs_f64(),
            relist.as_secs_f64()
        );
    }
    let best = |f: fn(&(i32, Run, Run, Duration)) -> Duration| {
        rows.iter().map(f).min().unwrap_or_default()
    };
    let ls = best(|r| r.1.wall);
    let cb = best(|r| r.2.wall);
    let ls_cpu = best(|r| r.1.cpu);
    let cb_cpu = best(|r| r.2.cpu);
    println!(
        "best of 3: ldapsearch {:.2} s, cardbridge {:.2} s (start to first served snapshot), ratio {:.2} (target <= 1.5)",
        ls.as_secs_f64(),
        cb.as_secs_f64(),
        cb.as_secs_f64() / ls.as_secs_f64()
    );
    println!(
        "best of 3 CPU: ldapsearch {:.2} s, cardbridge {:.2} s, ratio {:.2}",
        ls_cpu.as_secs_f64(),
        cb_cpu.as_secs_f64(),
        cb_cpu.as_secs_f64() / ls_cpu.as_secs_f64()
    );
}
