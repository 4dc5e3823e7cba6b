//! Reporting suite results: text as `cargo test` prints it, JSON, JUnit XML.

use super::run::SuiteResult;
use crate::documents::Skipped;
use crate::text::shown;
use serde_json::json;
use std::fmt::Write as _;

pub fn totals(results: &[SuiteResult]) -> (usize, usize) {
    let cases = results.iter().flat_map(|s| &s.cases);
    let failed = cases.clone().filter(|c| !c.failures.is_empty()).count();
    (cases.count() - failed, failed)
}

pub fn text(results: &[SuiteResult]) -> String {
    let mut s = String::new();
    let count: usize = results.iter().map(|r| r.cases.len()).sum();
    let _ = writeln!(s, "running {count} cases from {} suites", results.len());
    for suite in results {
        for case in &suite.cases {
            let status = if case.failures.is_empty() {
                "ok"
            } else {
                "FAILED"
            };
            let _ = writeln!(s, "test {} :: {} ... {status}", suite.name, case.name);
            for line in skipped_lines(&case.skipped) {
                let _ = writeln!(s, "    {line}");
            }
        }
    }
    let failed: Vec<_> = results
        .iter()
        .flat_map(|suite| suite.cases.iter().map(move |c| (suite, c)))
        .filter(|(_, c)| !c.failures.is_empty())
        .collect();
    if !failed.is_empty() {
        let _ = writeln!(s, "\nfailures:");
        for (suite, case) in &failed {
            let _ = writeln!(
                s,
                "\n---- {} :: {} ({}) ----",
                suite.name, case.name, suite.file
            );
            let _ = writeln!(s, "  (- expected, + actual)");
            for f in &case.failures {
                s.push_str(f);
            }
        }
    }
    let (passed, failed) = totals(results);
    let verdict = if failed == 0 { "ok" } else { "FAILED" };
    let _ = writeln!(
        s,
        "\ntest result: {verdict}. {passed} passed; {failed} failed"
    );
    let _ = writeln!(s, "{passed} passed, {failed} failed");
    s
}

pub fn json(results: &[SuiteResult]) -> String {
    let (passed, failed) = totals(results);
    let suites: Vec<_> = results
        .iter()
        .map(|suite| {
            json!({
                "file": suite.file,
                "name": suite.name,
                "cases": suite.cases.iter().map(|c| json!({
                    "name": c.name,
                    "status": if c.failures.is_empty() { "passed" } else { "failed" },
                    "failures": c.failures,
                    "skipped": c.skipped,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let doc = json!({"suites": suites, "passed": passed, "failed": failed});
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}

/// `skipped Service web (deploy.yaml#1): not a workload`, one per document the
/// step's file holds besides its workload, its Secrets and policies.
fn skipped_lines(skipped: &[Skipped]) -> Vec<String> {
    skipped
        .iter()
        .map(|k| {
            format!(
                "skipped {} ({}): {}",
                shown(&crate::documents::describe(k)),
                shown(&k.file),
                shown(&k.reason)
            )
        })
        .collect()
}

pub(crate) fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub fn junit(results: &[SuiteResult]) -> String {
    let (passed, failed) = totals(results);
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        s,
        "<testsuites name=\"host test\" tests=\"{}\" failures=\"{failed}\">",
        passed + failed
    );
    for suite in results {
        let failures = suite
            .cases
            .iter()
            .filter(|c| !c.failures.is_empty())
            .count();
        let _ = writeln!(
            s,
            "  <testsuite name=\"{}\" file=\"{}\" tests=\"{}\" failures=\"{failures}\">",
            xml_escape(&suite.name),
            xml_escape(&suite.file),
            suite.cases.len()
        );
        for case in &suite.cases {
            let name = xml_escape(&case.name);
            let class = xml_escape(&suite.name);
            if case.failures.is_empty() && case.skipped.is_empty() {
                let _ = writeln!(s, "    <testcase name=\"{name}\" classname=\"{class}\"/>");
                continue;
            }
            let _ = writeln!(s, "    <testcase name=\"{name}\" classname=\"{class}\">");
            if !case.failures.is_empty() {
                let _ = writeln!(
                    s,
                    "      <failure message=\"expectation not met\">{}</failure>",
                    xml_escape(&case.failures.concat())
                );
            }
            if !case.skipped.is_empty() {
                let _ = writeln!(
                    s,
                    "      <system-out>{}</system-out>",
                    xml_escape(&skipped_lines(&case.skipped).join("\n"))
                );
            }
            let _ = writeln!(s, "    </testcase>");
        }
        let _ = writeln!(s, "  </testsuite>");
    }
    s.push_str("</testsuites>\n");
    s
}
