//! The shared `SECRET:` case table, evaluated natively.

use guest::cases::{self, Observed};

#[test]
fn secret_reference_cases() {
    let file = cases::load(include_str!("../../tests/cases/secret-refs.json"));
    file.check_all(|case, submission| {
        let decision = guest::evaluate(&submission)
            .unwrap_or_else(|e| panic!("{}: input error {e:?}", case.name));
        assert_eq!(
            decision.allowed,
            decision.violations.is_empty(),
            "{}",
            case.name
        );
        Observed::of(&decision)
    });
}
