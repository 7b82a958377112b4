//! The command line: `serve`, `check`, `export`, `status`, `reload`, `accept`,
//! `rotate-push-key`, `hash-password`, `google-login`, and the hidden `man` that writes the man pages for packaging.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cardbridge_connectors::google::login::GoogleLogin;
use clap::{Parser, Subcommand, ValueEnum};

use crate::app::{AppState, Live};
use crate::config::Config;
use crate::poller::Poller;
use crate::status_file::Status;
use crate::vcard::{self, VcardVersion};
use crate::{auth, http, source_setup, store};

#[derive(Parser)]
#[command(
    name = "cardbridge",
    version,
    about = "Read-only CardDAV server for LDAP, CSV, Google and ActiveSync contacts"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the configured address books over CardDAV.
    Serve {
        #[arg(short, long, value_name = "FILE")]
        config: PathBuf,
        /// Delete the state file and rebuild every book from its sources.
        #[arg(long)]
        reset_state: bool,
    },
    /// Show each book (cards, token, last change, held polls) and each source (last poll,
    /// errors), as the running server last recorded them.
    Status {
        #[arg(short, long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Make the running server re-read its configuration: FILE is checked first, as `check`
    /// reads it, then the server is signalled (SIGHUP) and its verdict printed. A refused
    /// configuration leaves the running one in place.
    Reload {
        #[arg(short, long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Let a poll held by the removal guard through to clients.
    Accept {
        #[arg(short, long, value_name = "FILE")]
        config: PathBuf,
        #[arg(long, value_name = "ID")]
        book: String,
    },
    /// Replace the WebDAV-Push VAPID key: the running server (or the next start) tells every
    /// subscribed phone, signed with the old key, to fetch the new one and register again.
    RotatePushKey {
        #[arg(short, long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Validate the configuration, poll every source once and report what would be served.
    Check {
        #[arg(short, long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Write one address book as a single .vcf stream to standard output.
    Export {
        #[arg(short, long, value_name = "FILE")]
        config: PathBuf,
        #[arg(long, value_name = "ID")]
        book: String,
        #[arg(long, value_enum, default_value = "3.0")]
        vcard: VersionArg,
    },
    /// Hash a password for `[[auth.users]] password_hash` (reads it from standard input, or
    /// asks for it on a terminal).
    HashPassword,
    /// Sign a Google account in for a `kind = "google"` source: prints the consent address,
    /// waits for the browser to come back to a loopback port (or for the address it shows to
    /// be pasted) and stores the refresh token in the source's oauth.token_file.
    GoogleLogin {
        #[arg(short, long, value_name = "FILE")]
        config: PathBuf,
        /// The source's id; needed when the file has several Google sources.
        #[arg(long, value_name = "ID")]
        source: Option<String>,
        /// Loopback port Google redirects to; 0 picks a free one.
        #[arg(long, default_value_t = 0)]
        port: u16,
    },
    /// Write the man pages (cardbridge.1 and one per command) into DIR: the Debian package
    /// ships them, so they come from the same definitions as `--help`.
    #[command(hide = true)]
    Man {
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum VersionArg {
    #[value(name = "3.0")]
    V3,
    #[value(name = "4.0")]
    V4,
}

/// Runs the command line; returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    init_logging();
    let result = match cli.command {
        Command::Serve {
            config,
            reset_state,
        } => serve(config, reset_state),
        Command::Status { config } => status(config),
        Command::Accept { config, book } => accept(config, &book),
        Command::RotatePushKey { config } => rotate_push_key(config),
        Command::Reload { config } => reload(config),
        Command::Check { config } => check(config),
        Command::Export {
            config,
            book,
            vcard,
        } => export(config, &book, vcard),
        Command::HashPassword => hash_password(),
        Command::GoogleLogin {
            config,
            source,
            port,
        } => google_login(config, source.as_deref(), port),
        Command::Man { dir } => man_pages(&dir),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("cardbridge: {message}");
            2
        }
    }
}

/// Logs to standard error: levels from `CARDBRIDGE_LOG` (default `info`), one JSON object
/// per line with `CARDBRIDGE_LOG_FORMAT=json` (for log shippers), else text.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CARDBRIDGE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if std::env::var("CARDBRIDGE_LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().try_init()
    } else {
        builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init()
    };
}

fn load(path: &Path) -> Result<Config, String> {
    Config::load(path).map_err(|e| e.to_string())
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

fn serve(path: PathBuf, reset_state: bool) -> Result<i32, String> {
    let config = load(&path)?;
    let started = std::time::Instant::now();
    let state = Arc::new(AppState::new(config, reset_state)?);
    if let Some(file) = state.config.state_file_path() {
        let cards: usize = state.books.values().map(|b| b.state().snapshot.len()).sum();
        tracing::info!(
            file = %file.display(),
            cards,
            ms = started.elapsed().as_millis() as u64,
            "state restored"
        );
    }
    tracing::info!(listen = ?state.config.server.listen, threads = state.config.threads(), "serving");
    let live = Arc::new(Live::from(state));
    let poller = Poller::new(Arc::clone(&live))?;
    http::run(live, poller)
}

fn state_dir(config: &Config) -> Result<PathBuf, String> {
    config.store.state_dir.clone().ok_or_else(|| {
        format!(
            "{}: [store] state_dir is not set, so there is no recorded status or held poll",
            config.path.display()
        )
    })
}

fn status(path: PathBuf) -> Result<i32, String> {
    let config = load(&path)?;
    let status = Status::read(&state_dir(&config)?)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    print!("{}", status.render(now));
    Ok(0)
}

fn accept(path: PathBuf, book: &str) -> Result<i32, String> {
    let config = load(&path)?;
    if config.book(book).is_none() {
        return Err(format!(
            "no [[addressbook]] with id {book:?} in {}",
            path.display()
        ));
    }
    let dir = state_dir(&config)?;
    crate::status_file::request_accept(&dir, book)
        .map_err(|e| format!("cannot write the accept request in {}: {e}", dir.display()))?;
    println!("accept requested for book {book}; the running server applies it within seconds");
    Ok(0)
}

fn rotate_push_key(path: PathBuf) -> Result<i32, String> {
    let config = load(&path)?;
    if config.push.is_none() {
        return Err(format!("[push] is not enabled in {}", path.display()));
    }
    let dir = state_dir(&config)?;
    crate::push::rotation::request(&dir).map_err(|e| {
        format!(
            "cannot write the rotation request in {}: {e}",
            dir.display()
        )
    })?;
    println!("VAPID key rotation requested; the running server applies it within seconds");
    Ok(0)
}

/// How long `reload` waits for the server's verdict.
const RELOAD_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

fn reload(path: PathBuf) -> Result<i32, String> {
    let config = load(&path)?;
    let dir = state_dir(&config)?;
    let pid = Status::read(&dir)?.pid.ok_or_else(|| {
        format!(
            "the status file in {} names no server process; is `cardbridge serve` running?",
            dir.display()
        )
    })?;
    let running = std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .is_ok_and(|name| name.trim() == "cardbridge");
    if !running {
        return Err(format!(
            "no cardbridge server runs as pid {pid} (named in {}); start it with `cardbridge serve`",
            dir.display()
        ));
    }
    let asked = unix_millis();
    let pid_t = libc::pid_t::try_from(pid).map_err(|_| format!("pid {pid} is out of range"))?;
    // SAFETY: kill(2) takes plain integers; the pid was just checked to be a cardbridge server.
    #[allow(unsafe_code)]
    let sent = unsafe { libc::kill(pid_t, libc::SIGHUP) } == 0;
    if !sent {
        return Err(format!(
            "cannot signal pid {pid}: {}",
            std::io::Error::last_os_error()
        ));
    }
    let deadline = std::time::Instant::now() + RELOAD_WAIT;
    while std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
        let Some(done) = Status::read(&dir).ok().and_then(|s| s.reload) else {
            continue;
        };
        if done.at_ms < asked {
            continue;
        }
        return Ok(match done.error {
            None => {
                println!("configuration reloaded by pid {pid}");
                0
            }
            Some(e) => {
                eprintln!("reload refused; the running configuration stays: {e}");
                1
            }
        });
    }
    Err(format!(
        "pid {pid} has not reported a reload within {} s; see its log",
        RELOAD_WAIT.as_secs()
    ))
}

fn unix_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn check(path: PathBuf) -> Result<i32, String> {
    let config = load(&path)?;
    let results = runtime()?.block_on(source_setup::poll_all(&config))?;
    let mut failed = false;
    let mut listings = std::collections::HashMap::new();
    let mut source_ids: Vec<_> = results.keys().cloned().collect();
    source_ids.sort();
    for id in source_ids {
        match &results[&id] {
            Ok((outcome, listing)) => {
                println!(
                    "source {id}: {} contacts, {} skipped",
                    listing.len(),
                    outcome.skipped.len()
                );
                for notice in &outcome.notices {
                    println!("  note: {notice}");
                }
                for skipped in &outcome.skipped {
                    println!("  skipped {skipped}");
                }
                for value in &outcome.left_out {
                    println!("  card published without a value: {value}");
                }
                listings.insert(id.clone(), listing.clone());
            }
            Err(error) => {
                failed = true;
                println!("source {id}: ERROR {error}");
            }
        }
    }
    for book in &config.books {
        let (members, skipped) = store::book_members(&book.id, &book.sources, &listings);
        println!("book {}: {} cards", book.id, members.len());
        for s in skipped {
            println!("  skipped {s}");
        }
    }
    Ok(if failed { 1 } else { 0 })
}

fn export(path: PathBuf, book_id: &str, version: VersionArg) -> Result<i32, String> {
    let config = load(&path)?;
    let book = config.book(book_id).ok_or_else(|| {
        format!(
            "no [[addressbook]] with id {book_id:?} in {}",
            path.display()
        )
    })?;
    let results = runtime()?.block_on(source_setup::poll_all(&config))?;
    let mut listings = std::collections::HashMap::new();
    for source in &book.sources {
        match results.get(source) {
            Some(Ok((_, listing))) => {
                listings.insert(source.clone(), listing.clone());
            }
            Some(Err(error)) => return Err(format!("source {source}: {error}")),
            None => {}
        }
    }
    let (members, _) = store::book_members(&book.id, &book.sources, &listings);
    let version = match version {
        VersionArg::V3 => VcardVersion::V3,
        VersionArg::V4 => VcardVersion::V4,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for member in &members {
        out.write_all(vcard::render(&member.contact(), version).as_bytes())
            .map_err(|e| format!("writing to standard output: {e}"))?;
    }
    out.flush()
        .map_err(|e| format!("writing to standard output: {e}"))?;
    Ok(0)
}

fn hash_password() -> Result<i32, String> {
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ").map_err(|e| e.to_string())?;
        let again = rpassword::prompt_password("Again: ").map_err(|e| e.to_string())?;
        if first != again {
            return Err("the passwords differ".into());
        }
        first
    } else {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("reading standard input: {e}"))?;
        text.trim_end_matches(['\r', '\n']).to_string()
    };
    if password.is_empty() {
        return Err("empty password".into());
    }
    println!("{}", auth::hash_password(&password)?);
    Ok(0)
}

fn google_login(path: PathBuf, source: Option<&str>, port: u16) -> Result<i32, String> {
    use crate::config::SourceSettings;
    let config = load(&path)?;
    let google: Vec<_> = config
        .sources
        .iter()
        .filter_map(|s| match &s.settings {
            SourceSettings::Google(g) if source.is_none_or(|id| id == s.id) => Some((s, g)),
            _ => None,
        })
        .collect();
    let (source, settings) = match (google.as_slice(), source) {
        ([one], _) => *one,
        ([], Some(id)) => {
            return Err(format!(
                "no [[source]] with id {id:?} and kind = \"google\" in {}",
                path.display()
            ))
        }
        ([], None) => {
            return Err(format!(
                "no [[source]] with kind = \"google\" in {}",
                path.display()
            ))
        }
        (_, _) => {
            return Err(format!(
                "{} has several Google sources: say which with --source",
                path.display()
            ))
        }
    };
    let login = GoogleLogin::start(&source.id, settings, port)?;
    println!(
        "Open this address in a browser and sign in with the Google account whose contacts \
         source {} publishes:\n\n  {}\n",
        source.id,
        login.consent_url()?
    );
    println!(
        "Waiting for Google to send the browser back to {} ...\n(If the browser runs on \
         another machine, that page will not load there: copy its address from the address \
         bar and paste it here.)",
        login.redirect_uri()
    );
    let code = login.wait_for_code(std::io::BufReader::new(std::io::stdin()))?;
    let refresh_token = runtime()?.block_on(login.exchange(&code))?;
    login.store(&refresh_token)?;
    println!(
        "Stored the refresh token in {} (readable by this user only); a running server uses \
         it from its next poll.",
        login.token_file().display()
    );
    Ok(0)
}

fn man_pages(dir: &Path) -> Result<i32, String> {
    use clap::CommandFactory;
    let failed = |e: std::io::Error| format!("writing the man pages to {}: {e}", dir.display());
    std::fs::create_dir_all(dir).map_err(failed)?;
    clap_mangen::generate_to(Cli::command(), dir).map_err(failed)?;
    Ok(0)
}
