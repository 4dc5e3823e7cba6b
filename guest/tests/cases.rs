//! The shared `SECRET:` case table, evaluated natively.

use guest::cases::{self, Observed};

#[test]
fn secret_reference_cases() {
    let file = cases::load(include_str!("../../tests/cases/secret-refs.json"));
    let mut failures = Vec::new();
    for case in &file.cases {
        let decision = guest::evaluate(&case.submission(&file))
            .unwrap_or_else(|e| panic!("{}: input error {e:?}", case.name));
        let got = Observed::of(&decision);
        if got != case.expected() {
            failures.push(format!(
                "{}:\n  expected {:?}\n  got      {:?}",
                case.name,
                case.expected(),
                got
            ));
        }
        assert_eq!(
            decision.allowed,
            decision.violations.is_empty(),
            "{}",
            case.name
        );
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        file.cases.len(),
        failures.join("\n")
    );
}
