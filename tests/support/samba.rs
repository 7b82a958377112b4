//! A real Active Directory for the tests: Samba's AD DC (Debian's `samba`, `samba-ad-dc`,
//! `samba-ad-provision`; `scripts/setup.sh test` installs them), loopback only.
//!
//! Provisioning a domain and loading the test directory takes tens of seconds, so it happens
//! once per build directory and test directory: the result is kept under `target/tmp/samba-ad/`,
//! keyed by the Samba version and the content, and built under a file lock so test binaries
//! running at once do not race. Each DC then runs on a copy of it, on a loopback address of its
//! own (`127.203.x.y`: AD's ports 389/636 are fixed, so a port of its own is no option), and
//! dies with the test process: `samba -i` exits when its stdin closes. Samba binds the
//! privileged ports, so the tests run as root (as CI does).

use std::collections::hash_map::DefaultHasher;
use std::fs::{File, Permissions};
use std::hash::{Hash, Hasher};
use std::net::{Ipv4Addr, TcpListener};
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::{certs, tools};

pub const REALM: &str = "CORP.EXAMPLE.COM";
pub const DOMAIN: &str = "CORP";
pub const BASE: &str = "DC=corp,DC=example,DC=com";
pub const ADMIN_DN: &str = "CN=Administrator,CN=Users,DC=corp,DC=example,DC=com";
pub const ADMIN_PASSWORD: &str = "Admin-Secret-1";

/// Bumped when the provisioning below changes, so old caches are not reused.
const LAYOUT: &str = "samba-ad provision v1";

/// Which certificate the DC serves on ldaps://.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Certificate {
    /// The one Samba generates at first start (`private/tls/`): self-signed CA, the host only
    /// in the subject CN, no subjectAltName.
    SambaDefault,
    /// One signed by a test CA, with the DC's address in its subjectAltName, configured with
    /// `tls certfile/keyfile/cafile`.
    WithSubjectAltName,
}

pub struct SambaDc {
    dir: PathBuf,
    pub ip: Ipv4Addr,
    certificate: Certificate,
    child: Option<Child>,
    remove_dir: bool,
}

fn binary(name: &str) -> String {
    tools::binary(
        name,
        "the Active Directory tests need Samba's AD DC and the LDAP tools; run \
         scripts/setup.sh test (or: sudo apt-get install samba samba-ad-dc samba-ad-provision \
         ldb-tools ldap-utils)",
    )
}

fn run(command: &mut Command, what: &str) -> String {
    let out = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Where the provisioned directories and the DCs' working copies live.
fn root() -> PathBuf {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("samba-ad");
    std::fs::create_dir_all(&root).expect("samba-ad dir");
    root
}

/// An exclusive `flock` on `path`, released when dropped.
struct FileLock(File);

impl FileLock {
    fn acquire(path: &Path) -> FileLock {
        let file = File::create(path).expect("lock file");
        #[allow(unsafe_code)]
        // SAFETY: flock on a descriptor this File owns.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
        assert_eq!(rc, 0, "flock {}", path.display());
        FileLock(file)
    }
}

/// A free loopback address for a DC: port 389 not bound there yet. Starts from one derived
/// from the process id so concurrent test processes pick different ones.
fn free_address() -> Ipv4Addr {
    let pid = std::process::id();
    for i in 0..4096u32 {
        let n = (pid.wrapping_mul(7).wrapping_add(i * 13)) % 65_000;
        let ip = Ipv4Addr::new(127, 203, (n >> 8) as u8, (n & 0xff) as u8 | 1);
        if TcpListener::bind((ip, 389)).is_ok() && TcpListener::bind((ip, 636)).is_ok() {
            return ip;
        }
    }
    panic!("no loopback address 127.203.x.y with free LDAP ports");
}

/// The smb.conf of a DC working in `dir`: every path inside it, only the LDAP server.
fn smb_conf(dir: &Path, ip: Ipv4Addr, certificate: Certificate) -> String {
    let d = dir.display();
    let mut conf = format!(
        "[global]\n\
         netbios name = DC1\n\
         realm = {REALM}\n\
         workgroup = {DOMAIN}\n\
         server role = active directory domain controller\n\
         server services = ldap\n\
         interfaces = {ip}/8\n\
         bind interfaces only = yes\n\
         private dir = {d}/private\n\
         lock directory = {d}\n\
         state directory = {d}/state\n\
         cache directory = {d}/cache\n\
         binddns dir = {d}/bind-dns\n\
         pid directory = {d}\n\
         ncalrpc dir = {d}/ncalrpc\n\
         winbindd socket directory = {d}/winbindd\n\
         ntp signd socket directory = {d}/ntp_signd\n\
         log file = {d}/samba.log\n\
         idmap_ldb:use rfc2307 = yes\n\
         # Simple binds over plain ldap:// (what cardbridge does unless told to use TLS).\n\
         ldap server require strong auth = no\n\
         # No fsync per write: a test directory, rebuilt from the cache when lost.\n\
         ldb:nosync = true\n"
    );
    if certificate == Certificate::WithSubjectAltName {
        conf.push_str(&format!(
            "tls enabled = yes\ntls keyfile = {d}/server.key\ntls certfile = {d}/server.pem\ntls cafile = {d}/ca.pem\n"
        ));
    }
    conf
}

impl SambaDc {
    /// The DC shared by the tests of one test binary, holding `content` (LDIF add records,
    /// loaded as the domain administrator). Tests share it, so each works in OUs of its own.
    pub fn shared(content: fn() -> String) -> &'static SambaDc {
        static SHARED: OnceLock<SambaDc> = OnceLock::new();
        SHARED.get_or_init(|| SambaDc::start(&content(), Certificate::WithSubjectAltName))
    }

    /// A DC of its own on a copy of the provisioned directory holding `content`.
    pub fn start(content: &str, certificate: Certificate) -> SambaDc {
        #[allow(unsafe_code)]
        // SAFETY: geteuid has no preconditions.
        let root_user = unsafe { libc::geteuid() } == 0;
        assert!(
            root_user,
            "the Active Directory tests run Samba's AD DC, which binds LDAP's ports 389 and 636: \
             run them as root (CI does)"
        );
        let provisioned = provisioned(content);
        let root = root();
        remove_stale_copies(&root);
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = root.join(format!("run-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        run(
            Command::new("cp").arg("-a").arg(&provisioned).arg(&dir),
            "copying the provisioned directory",
        );
        SambaDc::launch(dir, certificate, true)
    }

    /// Starts a DC working in `dir` on a free address; `remove_dir` when dropped.
    fn launch(dir: PathBuf, certificate: Certificate, remove_dir: bool) -> SambaDc {
        // Held until samba listens, so two processes never pick one address.
        let _lock = FileLock::acquire(&root().join("addresses.lock"));
        let ip = free_address();
        if certificate == Certificate::WithSubjectAltName {
            certs::make(
                &dir,
                "dc1.corp.example.com",
                Some(&format!("DNS:dc1.corp.example.com,IP:{ip}")),
            );
            // Samba refuses a private key others can read.
            std::fs::set_permissions(dir.join("server.key"), Permissions::from_mode(0o600))
                .expect("chmod server.key");
        }
        std::fs::write(dir.join("smb.conf"), smb_conf(&dir, ip, certificate)).expect("smb.conf");
        let mut dc = SambaDc {
            dir,
            ip,
            certificate,
            child: None,
            remove_dir,
        };
        dc.spawn();
        dc
    }

    fn spawn(&mut self) {
        let out = File::create(self.dir.join("samba.out")).expect("samba.out");
        let child = Command::new(binary("samba"))
            .args(["-i", "-M", "single", "-s"])
            .arg(self.dir.join("smb.conf"))
            // Samba in interactive mode exits when stdin closes: when this process ends.
            .stdin(Stdio::piped())
            .stdout(out.try_clone().expect("dup"))
            .stderr(out)
            .spawn()
            .expect("spawn samba");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!(
                    "samba exited with {status}:\n{}\n{}",
                    std::fs::read_to_string(self.dir.join("samba.out")).unwrap_or_default(),
                    std::fs::read_to_string(self.dir.join("samba.log")).unwrap_or_default()
                );
            }
            let answered = Command::new(binary("ldapsearch"))
                .args(["-x", "-H", &self.url(), "-b", "", "-s", "base", "1.1"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if answered {
                return;
            }
            assert!(Instant::now() < deadline, "samba did not answer LDAP");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops the DC gracefully (stdin closed), so its databases are consistent on disk.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            drop(child.stdin.take());
            let deadline = Instant::now() + Duration::from_secs(20);
            while child.try_wait().ok().flatten().is_none() {
                if Instant::now() > deadline {
                    let _ = child.kill();
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.wait();
        }
    }

    pub fn url(&self) -> String {
        format!("ldap://{}", self.ip)
    }

    pub fn tls_url(&self) -> String {
        format!("ldaps://{}", self.ip)
    }

    /// The CA certificate (PEM) that signed what the DC serves on ldaps://.
    pub fn ca_file(&self) -> PathBuf {
        match self.certificate {
            Certificate::SambaDefault => self.dir.join("private/tls/ca.pem"),
            Certificate::WithSubjectAltName => self.dir.join("ca.pem"),
        }
    }

    /// A file holding the administrator's password, for `bind_password_file`.
    pub fn password_file(&self) -> PathBuf {
        let path = self.dir.join("bind.pw");
        std::fs::write(&path, format!("{ADMIN_PASSWORD}\n")).expect("password file");
        path
    }

    /// The value of `attribute` of the entry `dn` as Samba's own tools print it (objectGUID
    /// as a GUID string, for instance), read with `ldbsearch`.
    pub fn ldb_value(&self, dn: &str, attribute: &str) -> String {
        let text = run(
            Command::new(binary("ldbsearch"))
                .args(["-H", &self.url(), "-U"])
                .arg(format!("{DOMAIN}\\Administrator%{ADMIN_PASSWORD}"))
                .args(["-b", dn, "-s", "base", "(objectClass=*)", attribute]),
            "ldbsearch",
        );
        let prefix = format!("{attribute}: ");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("{attribute} of {dn} in {text}"))
            .to_string()
    }

    /// Applies LDIF change records (records without `changetype` are adds) as the
    /// administrator, with `ldapmodify`.
    pub fn modify(&self, ldif: &str) {
        tools::ldapmodify(&self.url(), ADMIN_DN, ADMIN_PASSWORD, ldif);
    }
}

impl Drop for SambaDc {
    fn drop(&mut self) {
        self.stop();
        if self.remove_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Working copies of DCs whose test process is gone (a DC in a static is never dropped).
fn remove_stale_copies(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let pid = name
            .strip_prefix("run-")
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok());
        if let Some(pid) = pid {
            if !Path::new(&format!("/proc/{pid}")).exists() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
}

/// The provisioned domain holding `content`, built once per Samba version and content.
fn provisioned(content: &str) -> PathBuf {
    let version = run(
        Command::new(binary("samba")).arg("--version"),
        "samba --version",
    );
    let mut hasher = DefaultHasher::new();
    (LAYOUT, version.trim(), content).hash(&mut hasher);
    let root = root();
    let cached = root.join(format!("domain-{:016x}", hasher.finish()));
    let _lock = FileLock::acquire(&root.join("provision.lock"));
    if cached.join("ready").exists() {
        return cached;
    }
    let started = Instant::now();
    // Under the lock, a half-built directory is a failed attempt's, and another domain is
    // one of an older Samba or test directory.
    for entry in std::fs::read_dir(&root).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("partial-") || name.starts_with("domain-") {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    let partial = root.join(format!("partial-{}", std::process::id()));
    run(
        Command::new(binary("samba-tool"))
            .args(["domain", "provision"])
            .arg(format!("--realm={REALM}"))
            .arg(format!("--domain={DOMAIN}"))
            .args([
                "--server-role=dc",
                "--dns-backend=NONE",
                "--use-rfc2307",
                "--host-name=dc1",
                // Provisioning binds nothing; the running DC gets its own address.
                "--option=interfaces=127.203.0.1/8",
                "--option=bind interfaces only = yes",
                "--option=ldb:nosync = true",
            ])
            .arg(format!("--adminpass={ADMIN_PASSWORD}"))
            .arg(format!("--targetdir={}", partial.display())),
        "samba-tool domain provision",
    );
    let provisioned_in = started.elapsed();
    // The first start also generates Samba's own certificate (private/tls/).
    let dc = SambaDc::launch(partial.clone(), Certificate::SambaDefault, false);
    dc.modify(content);
    drop(dc);
    for leftover in ["smb.conf", "samba.out", "samba.log", "samba.pid"] {
        let _ = std::fs::remove_file(partial.join(leftover));
    }
    std::fs::write(partial.join("ready"), "").expect("ready marker");
    std::fs::rename(&partial, &cached).expect("rename the provisioned directory");
    eprintln!(
        "samba: provisioned {} in {:.1?}, loaded the test directory in {:.1?}",
        cached.display(),
        provisioned_in,
        started.elapsed() - provisioned_in
    );
    cached
}
