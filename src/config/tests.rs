//! Whole configuration texts through `Config::parse`: defaults, resolved paths, and errors
//! that name the key.

use super::*;
use cardbridge_connectors::ldap::Preset;

fn parse(text: &str) -> Result<Config, String> {
    Config::parse(text, Path::new("/etc/cardbridge/test.toml"))
}

const MINIMAL: &str = r#"
        [[source]]
        id = "staff"
        kind = "csv"
        path = "staff.csv"

        [[addressbook]]
        id = "staff"
        sources = ["staff"]
    "#;

#[test]
fn minimal_config_gets_defaults_and_resolves_paths() {
    let config = parse(MINIMAL).expect("valid");
    assert_eq!(config.auth, AuthSettings::Anonymous);
    assert_eq!(config.server.listen, vec!["127.0.0.1:8008".to_string()]);
    assert!(config.server.report_body_limit >= 32 * 1024 * 1024);
    let SourceSettings::Csv(csv) = &config.sources[0].settings else {
        panic!("not a csv source")
    };
    assert_eq!(csv.path, Path::new("/etc/cardbridge/staff.csv"));
    assert_eq!(config.sources[0].poll_interval, Duration::from_secs(300));
}

#[test]
fn unknown_keys_are_named() {
    let err = parse(&format!("{MINIMAL}\n[server]\nlisten_addr = \"x\"\n")).unwrap_err();
    assert!(err.contains("listen_addr"), "{err}");
    let err = parse(&MINIMAL.replace("path = ", "colour = \"red\"\npath = ")).unwrap_err();
    assert!(err.contains("colour") && err.contains("staff"), "{err}");
}

#[test]
fn bad_values_are_named() {
    let err = parse(&MINIMAL.replace(
        "kind = \"csv\"",
        "kind = \"csv\"\npoll_interval = \"5 parsecs\"",
    ))
    .unwrap_err();
    assert!(err.contains("poll_interval"), "{err}");
    let err = parse(&MINIMAL.replace("sources = [\"staff\"]", "sources = [\"nope\"]")).unwrap_err();
    assert!(err.contains("nope"), "{err}");
    let err = parse(&format!("{MINIMAL}\n[auth]\nmode = \"users\"\n[[auth.users]]\nname = \"a\"\npassword_hash = \"plain\"\n"))
            .unwrap_err();
    assert!(err.contains("password_hash"), "{err}");
    let err = parse(&MINIMAL.replace(
        "id = \"staff\"\n        sources",
        "id = \"st/aff\"\n        sources",
    ))
    .unwrap_err();
    assert!(err.contains("st/aff"), "{err}");
}

#[test]
fn login_limits_have_defaults_and_refuse_unknown_keys() {
    let config = parse(MINIMAL).expect("anonymous");
    assert_eq!(config.login_limits.failures_per_user_address, 5);
    assert_eq!(config.login_limits.max_delay, Duration::from_secs(300));
    assert!(config.login_limits.verify_threads >= 1);
    let config = parse(&format!(
        "[auth]\nmode = \"anonymous\"\nverify_threads = 3\nfailure_window = \"1h\"\n{MINIMAL}"
    ))
    .expect("set");
    assert_eq!(config.login_limits.verify_threads, 3);
    assert_eq!(
        config.login_limits.failure_window,
        Duration::from_secs(3600)
    );
    let err = parse(&format!(
        "[auth]\nmode = \"anonymous\"\nfailures_per_adress = 3\n{MINIMAL}"
    ))
    .unwrap_err();
    assert!(err.contains("failures_per_adress"), "{err}");
    let err = parse(&format!(
        "[auth]\nmode = \"anonymous\"\nmax_delay = \"soon\"\n{MINIMAL}"
    ))
    .unwrap_err();
    assert!(err.contains("max_delay"), "{err}");
}

#[test]
fn shipped_configs_are_valid() {
    for name in ["example.toml", "demo.toml"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("config")
            .join(name);
        let config = Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(!config.books.is_empty());
    }
}

#[test]
fn google_files_resolve_against_the_config_directory() {
    let oauth = parse(&MINIMAL.replace(
            "kind = \"csv\"\n        path = \"staff.csv\"",
            "kind = \"google\"\n[source.oauth]\nclient_id = \"c\"\nclient_secret_file = \"s\"\ntoken_file = \"google/token\"",
        ))
        .expect("valid");
    let SourceSettings::Google(google) = &oauth.sources[0].settings else {
        panic!("not a google source")
    };
    let o = google.oauth.as_ref().expect("oauth");
    assert_eq!(
        o.token_file.as_deref(),
        Some(Path::new("/etc/cardbridge/google/token"))
    );
    assert_eq!(
        o.client_secret_file.as_deref(),
        Some(Path::new("/etc/cardbridge/s"))
    );
    let sa = parse(&MINIMAL.replace(
            "kind = \"csv\"\n        path = \"staff.csv\"",
            "kind = \"google\"\nlisting = \"directory\"\n[source.service_account]\nkey_file = \"/keys/sa.json\"\nsubject = \"a@example.com\"",
        ))
        .expect("valid");
    let SourceSettings::Google(google) = &sa.sources[0].settings else {
        panic!("not a google source")
    };
    let key = &google.service_account.as_ref().expect("sa").key_file;
    assert_eq!(key, Path::new("/keys/sa.json"));
}

#[test]
fn ldap_login_through_a_source_takes_its_preset_unless_told() {
    let config = |login_preset: &str| {
        parse(&format!(
            r#"
                [[source]]
                id = "ad"
                kind = "ldap"
                preset = "active-directory"
                base = ["DC=corp,DC=example,DC=com"]
                [source.server]
                url = "ldap://dc1.corp.example.com"

                [[addressbook]]
                id = "gal"
                sources = ["ad"]

                [auth]
                mode = "ldap"
                [auth.ldap]
                source = "ad"
                user_base = "DC=corp,DC=example,DC=com"
                {login_preset}
                "#
        ))
        .expect("valid")
    };
    let preset = |c: Config| match c.auth {
        AuthSettings::Ldap(ldap) => ldap.login.preset,
        other => panic!("not ldap: {other:?}"),
    };
    assert_eq!(preset(config("")), Preset::ActiveDirectory);
    assert_eq!(preset(config("preset = \"openldap\"")), Preset::Openldap);
}

#[test]
fn durations() {
    assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
    assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
    assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86_400)));
    assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
    assert!(parse_duration("0s").is_err());
    assert!(parse_duration("5y").is_err());
}

#[test]
fn admins_name_users_that_can_log_in() {
    let users = |admins: &str| {
        format!(
            "[auth]\nmode = \"users\"\nadmins = {admins}\n[[auth.users]]\nname = \"alice\"\npassword_hash = \"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$0000000000000000000000000000000000000000000\"\n{MINIMAL}"
        )
    };
    let config = parse(&users("[\"alice\"]")).expect("valid");
    assert!(config.is_admin("alice", &[]));
    assert!(!config.is_admin("bob", &[]));
    let err = parse(&users("[\"bob\"]")).unwrap_err();
    assert!(err.contains("admins") && err.contains("bob"), "{err}");
    let err = parse(&users("[\"group:cn=ops,dc=example\"]")).unwrap_err();
    assert!(err.contains("admins") && err.contains("ldap"), "{err}");
    let err = parse(&format!(
        "[auth]\nmode = \"anonymous\"\nadmins = [\"alice\"]\n{MINIMAL}"
    ))
    .unwrap_err();
    assert!(err.contains("admins") && err.contains("anonymous"), "{err}");
    assert!(parse(MINIMAL).expect("valid").admins.is_empty());
}

#[test]
fn admin_listen_is_an_address_of_its_own() {
    let with = |addrs: &str| {
        parse(&format!(
            "[server]\nlisten = [\"127.0.0.1:8008\"]\nadmin_listen = {addrs}\n{MINIMAL}"
        ))
    };
    let config = with("[\"127.0.0.1:8009\", \"[::]:8010\"]").expect("valid");
    let addr = |a: &str| a.parse::<std::net::SocketAddr>().expect("address");
    assert!(config.is_admin_listener(addr("127.0.0.1:8009")));
    assert!(!config.is_admin_listener(addr("127.0.0.1:8008")));
    assert!(!config.is_admin_listener(addr("127.0.0.2:8009")));
    assert!(
        config.is_admin_listener(addr("[::1]:8010")),
        "any address on its port"
    );
    let err = with("[\"127.0.0.1:8008\"]").unwrap_err();
    assert!(
        err.contains("admin_listen") && err.contains("listen too"),
        "{err}"
    );
    let err = with("[\"localhost\"]").unwrap_err();
    assert!(
        err.contains("admin_listen") && err.contains("localhost"),
        "{err}"
    );
    assert!(parse(MINIMAL).expect("valid").admin_listen.is_empty());
}

#[test]
fn public_url_and_web_settings() {
    let config = parse(&format!(
        "{MINIMAL}\n[server]\npublic_url = \"https://contacts.example.com\"\n[web]\nprofile_password = true\n"
    ))
    .expect("valid");
    assert_eq!(
        config.public_url.map(|o| o.url()),
        Some("https://contacts.example.com".to_string())
    );
    assert!(config.web.profile_password);
    assert!(!parse(MINIMAL).expect("valid").web.profile_password);
    let err = parse(&format!(
        "{MINIMAL}\n[server]\npublic_url = \"https://contacts.example.com/dav/\"\n"
    ))
    .unwrap_err();
    assert!(
        err.contains("[server] public_url") && err.contains("no path"),
        "{err}"
    );
    let err = parse(&format!(
        "{MINIMAL}\n[web]\nprofile_cert_file = \"p.pem\"\n"
    ))
    .unwrap_err();
    assert!(err.contains("profile_key_file"), "{err}");
    let config = parse(&format!(
        "{MINIMAL}\n[web]\nprofile_cert_file = \"p.pem\"\nprofile_key_file = \"p.key\"\n"
    ))
    .expect("valid");
    assert_eq!(
        config.web.profile_signing(),
        Some((
            Path::new("/etc/cardbridge/p.pem"),
            Path::new("/etc/cardbridge/p.key")
        ))
    );
    let err = parse(&format!("{MINIMAL}\n[web]\nprofile_pasword = true\n")).unwrap_err();
    assert!(err.contains("profile_pasword"), "{err}");
}

#[test]
fn push_is_off_by_default_and_checked_when_on() {
    assert_eq!(parse(MINIMAL).expect("valid").push, None);
    let on = "\n[push]\nenabled = true\nvapid_subject = \"mailto:ops@example.com\"\n";
    let state = "\n[store]\nstate_dir = \"/var/lib/cardbridge\"\n";
    let err = parse(&format!("{MINIMAL}{on}")).unwrap_err();
    assert!(err.contains("[push]") && err.contains("state_dir"), "{err}");
    let push = parse(&format!("{MINIMAL}{state}{on}"))
        .expect("valid")
        .push
        .expect("enabled");
    assert_eq!(push.ttl, Duration::from_secs(86_400));
    assert_eq!(push.min_interval, Duration::from_secs(10));
    assert!(!push.allow_plain_http);
    for (bad, key) in [
        ("vapid_subject = \"ops\"", "vapid_subject"),
        ("urgency = \"asap\"", "urgency"),
        ("max_expiry = \"1d\"", "max_expiry"),
        ("ttl = \"60d\"", "ttl"),
    ] {
        let text = format!("{MINIMAL}{state}{on}{bad}\n").replace(
            "vapid_subject = \"mailto:ops@example.com\"\nvapid_subject",
            "vapid_subject",
        );
        let err = parse(&text).unwrap_err();
        assert!(err.contains(key), "{bad}: {err}");
    }
}
