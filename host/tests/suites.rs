//! `host test` through the real binary: every suite in `policies/` and `tests/suites`
//! passes; the deliberately failing suite fails with a readable report.

use std::path::Path;
use std::process::Output;

mod common;

use common::host;

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[test]
fn every_example_and_end_to_end_suite_passes() {
    let out = host(&["test", "policies", "tests/suites"]);
    let report = text(&out);
    assert_eq!(out.status.code(), Some(0), "{report}");
    let last = report.lines().last().expect("a closing line");
    let (passed, failed) = last.split_once(" passed, ").expect("`N passed, N failed`");
    assert_eq!(failed, "0 failed", "{report}");
    assert!(passed.parse::<usize>().expect("a count") >= 50, "{report}");
    for suite in [
        "seed my-secret",
        "cluster-wide shared secret",
        "V1 TrainingPolicy",
        "V2 cluster defaults",
        "SecretPolicy baseline",
        "§2",
        "§3",
        "§5",
        "§6",
    ] {
        assert!(
            report.contains(&format!("test {suite}")),
            "{suite} ran: {report}"
        );
    }
}

#[test]
fn a_failing_suite_reports_each_difference() {
    let junit = Path::new(env!("CARGO_TARGET_TMPDIR")).join("failing-junit.xml");
    let out = host(&[
        "test",
        "tests/failing/wrong-expectations.yaml",
        "--junit",
        junit.to_str().unwrap(),
    ]);
    let report = text(&out);
    assert_eq!(out.status.code(), Some(1), "{report}");
    for line in [
        "test deliberately failing :: expects admission of a missing key ... FAILED",
        "test deliberately failing :: this one passes ... ok",
        "---- deliberately failing :: expects admission of a missing key (tests/failing/wrong-expectations.yaml) ----",
        "    - true\n    + false",
        "    + secret-key-not-found at spec.environment.items.U.value",
        "  actual decision: rejected\n    x secret-key-not-found at spec.environment.items.U.value: `U` references key `nope` of secret runai-team-a/my-secret, which has keys [password, username] (SecretPolicy runai/baseline)",
        "    - secret-ref-syntax at spec.environment.items.V.value",
        "    - secret-not-found (message contains \"no such\")",
        "    - */U = \"x\"\n    + job/U <- secret my-secret/username [workload]",
        "    + job: Running",
        "test deliberately failing :: step 5: submit -p team-a -e DB_PASSWORD=... ... ok",
        "              \"DB_PASSWORD\": {\n                \"value\": \"<redacted>\"\n    -         },",
        "test result: FAILED. 2 passed; 4 failed",
    ] {
        assert!(report.contains(line), "{line:?} not in:\n{report}");
    }
    assert_eq!(report.lines().last(), Some("2 passed, 4 failed"));
    let xml = std::fs::read_to_string(&junit).expect("junit written");
    assert!(
        xml.contains("<testsuites name=\"host test\" tests=\"6\" failures=\"4\">"),
        "{xml}"
    );
    assert!(
        xml.contains("<testcase name=\"this one passes\" classname=\"deliberately failing\"/>"),
        "{xml}"
    );

    let out = host(&[
        "test",
        "tests/failing/wrong-expectations.yaml",
        "--format",
        "json",
    ]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(json["passed"], 2);
    assert_eq!(json["failed"], 4);
    assert_eq!(json["suites"][0]["cases"][3]["status"], "passed");
    // The sensitive literals of the last two cases are in no report format.
    let everything = format!("{report}{xml}{}", String::from_utf8_lossy(&out.stdout));
    for canary in ["leak-canary-case-name-5t6y", "leak-canary-patched-8u9i"] {
        assert!(!everything.contains(canary), "{canary} printed");
    }
}

#[test]
fn a_suite_with_an_unknown_key_is_an_input_error() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bad-suites");
    std::fs::create_dir_all(&dir).unwrap();
    let cases = [
        (
            "typo.suite.yaml",
            "steps:\n  - submit: {project: team-a}\n    expext: {allowed: true}\n",
            "unknown field `expext`",
        ),
        (
            "regex.suite.yaml",
            "steps:\n  - submit: {project: team-a}\n    expect: {violations: [{code: x, message_regex: \"(\"}]}\n",
            "not a valid regex",
        ),
        (
            "top.suite.yaml",
            "clusterr: demo\nsteps: []\n",
            "unknown field `clusterr`",
        ),
    ];
    for (file, yaml, needle) in cases {
        let path = dir.join(file);
        std::fs::write(&path, yaml).unwrap();
        let out = host(&["test", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{file}");
        let err = text(&out);
        assert!(err.contains(file) && err.contains(needle), "{file}: {err}");
        assert!(
            out.stdout.is_empty(),
            "nothing runs when a suite is invalid"
        );
    }
    let out = host(&["test", "host/src"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("no suites"));
}

/// A failing `patched` expectation printed credential-shaped `command`/`args` items in
/// its diff (text, JSON and JUnit) although the decision redacts them.
#[test]
fn a_failing_diff_redacts_credentials_in_args_in_every_format() {
    let junit = Path::new(env!("CARGO_TARGET_TMPDIR")).join("credentials-junit.xml");
    for format in ["text", "json"] {
        let out = host(&[
            "test",
            "tests/failing/credentials/in-args.yaml",
            "--format",
            format,
            "--junit",
            junit.to_str().unwrap(),
        ]);
        let report = text(&out) + &std::fs::read_to_string(&junit).unwrap();
        assert_eq!(out.status.code(), Some(1), "{report}");
        assert!(
            report.contains("<redacted>") || report.contains("&lt;redacted&gt;"),
            "{report}"
        );
        for credential in ["leakcanaryPw9x", "eyJzdWIiOiJsZWFrY2FuYXJ5In0"] {
            assert!(!report.contains(credential), "{format}: {report}");
        }
    }
}
