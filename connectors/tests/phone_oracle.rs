//! Differential test of phone normalization against Google's libphonenumber (the `phonenumbers`
//! Python port, installed by `scripts/setup.sh test`). `phone_oracle.py` writes the cases and
//! libphonenumber's verdict on each; cardbridge must publish exactly libphonenumber's E.164 form
//! or the text as written, and never change a digit.

use std::collections::BTreeSet;
use std::process::Command;

use cardbridge_connectors::phone::normalize_phone;
use serde::Deserialize;

/// One line of `phone_oracle.py`: an input, its default region and libphonenumber's answer.
#[derive(Deserialize)]
struct Case {
    input: String,
    region: Option<String>,
    /// E.164 when libphonenumber parses the input as a valid number, else `None`.
    e164: Option<String>,
    /// The country code of the number's region.
    cc: Option<String>,
    /// The national (trunk) prefix of the number's region, `""` when it has none.
    trunk: Option<String>,
}

/// Runs `phone_oracle.py`; fails with what to install when python3 or phonenumbers is missing.
fn oracle_cases() -> Vec<Case> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/phone_oracle.py");
    let output = Command::new("python3").arg(script).output().unwrap_or_else(|e| {
        panic!("cannot run python3 ({e}): install python3, then run scripts/setup.sh test (it installs the phonenumbers version phone_oracle.py needs)")
    });
    assert!(
        output.status.success(),
        "{script} failed: {}\nscripts/setup.sh test installs Google's libphonenumber for Python (phonenumbers) in the version it needs",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}")))
        .collect()
}

fn digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

/// Whether the digits of `input` are the digits of `e164` after its country code, preceded only
/// by what dialing adds: an international prefix (00, 011) with the country code, and/or the
/// region's trunk prefix. Anything else means a digit was lost, changed or invented.
fn only_prefixes_dropped(input: &str, e164: &str, cc: &str, trunk: &str) -> bool {
    let Some(nsn) = e164.strip_prefix('+').and_then(|n| n.strip_prefix(cc)) else {
        return false;
    };
    let Some(lead) = digits(input).strip_suffix(nsn).map(str::to_owned) else {
        return false;
    };
    let after_cc = ["00", "011", ""]
        .iter()
        .find_map(|idd| lead.strip_prefix(idd).and_then(|l| l.strip_prefix(cc)))
        .unwrap_or(&lead);
    after_cc.is_empty() || after_cc == trunk
}

#[test]
fn phone_numbers_match_libphonenumber_or_stay_as_written() {
    let cases = oracle_cases();
    let regions: BTreeSet<&str> = cases.iter().filter_map(|c| c.region.as_deref()).collect();
    let (mut as_e164, mut as_written, mut failures) = (0, 0, Vec::new());
    for case in &cases {
        let region = case.region.as_deref();
        let published = normalize_phone(&case.input, region);
        let verdict = if Some(&published) == case.e164.as_ref() {
            as_e164 += 1;
            let cc = case.cc.as_deref().unwrap_or_default();
            let trunk = case.trunk.as_deref().unwrap_or_default();
            let kept = only_prefixes_dropped(&case.input, &published, cc, trunk);
            kept.then_some(()).ok_or("digits changed".to_string())
        } else if published == case.input.trim() {
            as_written += 1;
            Ok(())
        } else {
            Err(format!("libphonenumber says {:?}", case.e164))
        };
        if let Err(why) = verdict {
            failures.push(format!(
                "{:?} region {region:?} -> {published:?}: {why}",
                case.input
            ));
        }
    }
    eprintln!(
        "phone oracle: {} cases, {} default regions; {as_e164} published as libphonenumber's E.164, {as_written} kept as written, {} valid for libphonenumber, {} failures",
        cases.len(),
        regions.len(),
        cases.iter().filter(|c| c.e164.is_some()).count(),
        failures.len()
    );
    assert!(cases.len() >= 5000 && regions.len() >= 40, "too few cases");
    assert!(
        failures.is_empty(),
        "{} of {} numbers differ from libphonenumber or lost digits, e.g.:\n{}",
        failures.len(),
        cases.len(),
        failures[..failures.len().min(40)].join("\n")
    );
}
