//! A real OpenLDAP `slapd` for the tests: its own temp directory, a free loopback port, an
//! mdb database loaded from LDIF with `slapadd`, and `ldapmodify` for changes made while
//! cardbridge runs. `scripts/setup.sh test` installs Debian's `slapd` and `ldap-utils`.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{certs, free_port, tools};

pub const SUFFIX: &str = "dc=example,dc=com";
pub const ADMIN_DN: &str = "cn=admin,dc=example,dc=com";
pub const ADMIN_PASSWORD: &str = "admin-secret";

/// Schema files every test directory loads (Debian paths).
const SCHEMAS: [&str; 3] = [
    "/etc/ldap/schema/core.schema",
    "/etc/ldap/schema/cosine.schema",
    "/etc/ldap/schema/inetorgperson.schema",
];

#[derive(Default)]
pub struct Options {
    /// Extra schema files (e.g. the AD attributes) after the standard ones.
    pub schemas: Vec<PathBuf>,
    /// slapd.conf `sizelimit` line, e.g. "size.soft=100 size.hard=100 size.prtotal=unlimited".
    pub size_limit: Option<String>,
    /// Also listen on ldaps:// with a certificate signed by a test CA.
    pub tls: bool,
    /// That certificate names its host only in the subject CN, with no subjectAltName (the
    /// default of Samba and of old AD certificate templates).
    pub certificate_without_san: bool,
    /// The `syncprov` overlay on the database: RFC 4533 content synchronization (syncrepl).
    pub syncprov: bool,
    /// Log every operation (slapd's `stats` level) for [`Slapd::operations`].
    pub stats_log: bool,
}

pub struct Slapd {
    dir: tempfile::TempDir,
    pub port: u16,
    pub tls_port: Option<u16>,
    child: Option<Child>,
    stats_log: bool,
}

fn binary(name: &str) -> String {
    tools::binary(
        name,
        "the LDAP tests need OpenLDAP; run scripts/setup.sh test \
         (or: sudo apt-get install slapd ldap-utils)",
    )
}

impl Slapd {
    /// Creates the database from `ldif` and starts slapd.
    pub fn start(ldif: &str, options: Options) -> Slapd {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("db")).expect("db dir");
        let mut conf = String::new();
        for schema in SCHEMAS
            .iter()
            .map(PathBuf::from)
            .chain(options.schemas.iter().cloned())
        {
            conf.push_str(&format!("include {}\n", schema.display()));
        }
        conf.push_str(&format!(
            "modulepath /usr/lib/ldap\nmoduleload back_mdb\npidfile {dir}/slapd.pid\n",
            dir = dir.path().display()
        ));
        if options.syncprov {
            conf.push_str("moduleload syncprov\n");
        }
        if let Some(limit) = &options.size_limit {
            conf.push_str(&format!("sizelimit {limit}\n"));
        }
        let tls_port = options.tls.then(free_port);
        if options.tls {
            make_certificates(dir.path(), !options.certificate_without_san);
            conf.push_str(&format!(
                "TLSCACertificateFile {d}/ca.pem\nTLSCertificateFile {d}/server.pem\nTLSCertificateKeyFile {d}/server.key\n",
                d = dir.path().display()
            ));
        }
        conf.push_str(&format!(
            "database mdb\nmaxsize 1073741824\nsuffix \"{SUFFIX}\"\nrootdn \"{ADMIN_DN}\"\nrootpw {ADMIN_PASSWORD}\ndirectory {}/db\nindex objectClass eq\n",
            dir.path().display()
        ));
        if options.syncprov {
            conf.push_str(
                "index entryCSN,entryUUID eq\noverlay syncprov\nsyncprov-sessionlog 1000\n",
            );
        }
        std::fs::write(dir.path().join("slapd.conf"), conf).expect("slapd.conf");
        std::fs::write(dir.path().join("data.ldif"), ldif).expect("ldif");
        let out = Command::new(binary("slapadd"))
            .arg("-q")
            .arg("-f")
            .arg(dir.path().join("slapd.conf"))
            .arg("-l")
            .arg(dir.path().join("data.ldif"))
            .output()
            .expect("run slapadd");
        assert!(
            out.status.success(),
            "slapadd failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut slapd = Slapd {
            dir,
            port: free_port(),
            tls_port,
            child: None,
            stats_log: options.stats_log,
        };
        slapd.resume();
        slapd
    }

    pub fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    pub fn tls_url(&self) -> String {
        format!(
            "ldaps://localhost:{}",
            self.tls_port.expect("started with tls")
        )
    }

    /// The test CA's certificate (PEM), for `ca_file`.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The running slapd's process id (the benchmarks read its CPU time).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// A file holding the admin password, for `bind_password_file`.
    pub fn password_file(&self) -> PathBuf {
        let path = self.dir.path().join("bind.pw");
        std::fs::write(&path, format!("{ADMIN_PASSWORD}\n")).expect("password file");
        path
    }

    /// Stops slapd (SIGTERM, then waits); the database stays.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").arg(child.id().to_string()).status();
            let _ = child.wait();
        }
    }

    /// Starts slapd again on the same ports and database.
    pub fn resume(&mut self) {
        let mut urls = format!("ldap://127.0.0.1:{}/", self.port);
        if let Some(tls) = self.tls_port {
            urls.push_str(&format!(" ldaps://127.0.0.1:{tls}/"));
        }
        let (level, stderr) = if self.stats_log {
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.log_path())
                .expect("slapd log");
            ("stats", Stdio::from(log))
        } else {
            ("0", Stdio::null())
        };
        let child = Command::new(binary("slapd"))
            .args(["-d", level, "-h", &urls, "-f"])
            .arg(self.dir.path().join("slapd.conf"))
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("spawn slapd");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "slapd did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("slapd.log")
    }

    /// How many operations (binds, searches, modifications, unbinds...) clients have asked of
    /// slapd so far: the distinct `conn=N op=M` of its `stats` log (an operation logs several
    /// lines; the entries a persistent search sends are not operations). Needs `stats_log`.
    pub fn operations(&self) -> usize {
        assert!(self.stats_log, "started without stats_log");
        let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        log.lines()
            .filter_map(|line| {
                let (_, conn) = line.split_once(" conn=")?;
                let mut words = conn.split(' ');
                let id = words.next()?;
                let op = words.next()?.strip_prefix("op=")?;
                Some((id.to_string(), op.to_string()))
            })
            .collect::<std::collections::HashSet<_>>()
            .len()
    }

    /// Applies an LDIF change set with `ldapmodify` as the admin.
    pub fn modify(&self, ldif: &str) {
        tools::ldapmodify(&self.url(), ADMIN_DN, ADMIN_PASSWORD, ldif);
    }

    /// Number of entries an unpaged `ldapsearch` gets for `filter`, and its exit code.
    pub fn unpaged_count(&self, filter: &str) -> (usize, i32) {
        let out = Command::new(binary("ldapsearch"))
            .args(["-x", "-LLL", "-H", &self.url(), "-b", SUFFIX, filter, "1.1"])
            .output()
            .expect("ldapsearch");
        let count = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.starts_with("dn:"))
            .count();
        (count, out.status.code().unwrap_or(-1))
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A CA and a server certificate for `localhost` / 127.0.0.1 (in its subjectAltName when
/// `with_san`, otherwise only as its CN).
fn make_certificates(dir: &Path, with_san: bool) {
    certs::make(
        dir,
        "localhost",
        with_san.then_some("DNS:localhost,IP:127.0.0.1"),
    );
}
