//! The credential detectors on two corpora (scripts/make-credential-corpus.py):
//! 5,938 ordinary env values and arguments of training workloads, where every finding
//! is a false positive, and 220 made-up credentials in each detector's shape, which
//! must all be found by their own detector. The rates are in the README.

use guest::credentials::{Detector, Entropy, detect};

fn lines(file: &str) -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/credentials")
        .join(file);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// At most this share of ordinary values may be flagged (measured: see the README).
const MAX_FALSE_POSITIVE_RATE: f64 = 0.001;

#[test]
fn ordinary_values_are_rarely_flagged() {
    let values = lines("ordinary-values.txt");
    assert!(values.len() > 5000, "{}", values.len());
    let flagged: Vec<(String, &str)> = values
        .iter()
        .filter_map(|v| {
            detect(v, &Detector::ALL, &Entropy::default()).map(|d| (v.clone(), d.name()))
        })
        .collect();
    let rate = flagged.len() as f64 / values.len() as f64;
    println!(
        "false positives: {} of {} ({:.3}%): {flagged:?}",
        flagged.len(),
        values.len(),
        rate * 100.0
    );
    assert!(rate <= MAX_FALSE_POSITIVE_RATE, "{flagged:#?}");
}

/// Share of the made-up long random strings the entropy rule finds at its defaults
/// (measured: see the README; a short random string can fall below the threshold).
const MIN_ENTROPY_RECALL: f64 = 0.9;

#[test]
fn made_up_credentials_are_found_by_their_detector() {
    let samples = lines("credentials.txt");
    assert!(samples.len() >= 200);
    let mut missed = Vec::new();
    let (mut random, mut random_found) = (0, 0);
    for line in &samples {
        let (detector, value) = line.split_once('\t').expect("DETECTOR<TAB>VALUE");
        let found = detect(value, &Detector::ALL, &Entropy::default()).map(|d| d.name());
        if detector == "high-entropy" {
            random += 1;
            random_found += usize::from(found == Some(detector));
        } else if found != Some(detector) {
            missed.push(format!("{detector}: found {found:?} in {value}"));
        }
    }
    // Every token format is found by its own detector, always.
    assert!(
        missed.is_empty(),
        "{} missed:\n{}",
        missed.len(),
        missed.join("\n")
    );
    let recall = random_found as f64 / random as f64;
    println!("high-entropy recall: {random_found} of {random}");
    assert!(recall >= MIN_ENTROPY_RECALL, "{random_found} of {random}");
}
