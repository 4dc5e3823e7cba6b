//! The credential detectors on the corpora of scripts/make-credential-corpus.py:
//! 7,858 ordinary env values and arguments of training workloads, where every finding
//! is a false positive; 355 made-up credentials in each detector's shape, which must
//! all be found by their own detector; and 1,040 values in their context (an env var's
//! name, a command line), credentials and ordinary values alike. The rates are in the
//! README; scripts/detector-bench.py sets them beside other scanners'.

use guest::credentials::{CommandLine, Context, Detector, Entropy, detect, detect_in};

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

/// The detector that finds each credential family of contexts.tsv.
const FAMILIES: &[(&str, Detector)] = &[
    ("aws-access-key-id", Detector::AwsAccessKeyId),
    ("github-token", Detector::GithubToken),
    ("gitlab-token", Detector::GitlabToken),
    ("gitlab-ci-token", Detector::GitlabToken),
    ("slack-token", Detector::SlackToken),
    ("slack-webhook", Detector::SlackToken),
    ("slack-workflow-webhook", Detector::SlackToken),
    ("huggingface-token", Detector::HuggingfaceToken),
    ("openai-api-key", Detector::OpenaiApiKey),
    ("service-token", Detector::ServiceToken),
    ("private-key", Detector::PrivateKey),
    ("putty-private-key", Detector::PrivateKey),
    ("jwt", Detector::Jwt),
    ("unsigned-jwt", Detector::Jwt),
    ("url-password", Detector::UrlPassword),
    ("jdbc-password", Detector::ConnectionStringPassword),
    ("basic-auth", Detector::BasicAuth),
    ("wandb-api-key", Detector::WandbApiKey),
    ("random-secret", Detector::HighEntropy),
    ("named-secret", Detector::HighEntropy),
];

/// What the detectors find in one line of contexts.tsv: an env value under its name,
/// or the first finding in a command line's items.
fn detect_line(form: &str, fields: &[&str]) -> Option<Detector> {
    let all = |value: &str, context: Context| {
        detect_in(value, context, &Detector::ALL, &Entropy::default())
    };
    match (form, fields) {
        ("env", [name, value]) => all(value, Context::named(name)),
        ("args", items) => {
            let mut line = CommandLine::default();
            items.iter().find_map(|item| all(item, line.next(item)))
        }
        _ => panic!("FAMILY<TAB>env<TAB>NAME<TAB>VALUE or FAMILY<TAB>args<TAB>ITEM...: {fields:?}"),
    }
}

#[test]
fn values_are_judged_in_their_context() {
    let lines = lines("contexts.tsv");
    let (mut ordinary, mut flagged) = (0, Vec::new());
    let (mut random, mut random_found) = (0, 0);
    let mut missed = Vec::new();
    for line in &lines {
        let fields: Vec<&str> = line.split('\t').collect();
        let found = detect_line(fields[1], &fields[2..]);
        if fields[0] == "ordinary" {
            ordinary += 1;
            if let Some(d) = found {
                flagged.push(format!("{}: {line}", d.name()));
            }
            continue;
        }
        let want = FAMILIES
            .iter()
            .find(|(f, _)| *f == fields[0])
            .map(|(_, d)| *d)
            .unwrap_or_else(|| panic!("unknown family {}", fields[0]));
        if fields[0] == "random-secret" {
            random += 1;
            random_found += usize::from(found == Some(want));
        } else if found != Some(want) {
            missed.push(format!(
                "{}: found {:?} in {line}",
                fields[0],
                found.map(|d| d.name())
            ));
        }
    }
    println!(
        "values in context: {} ordinary, {} flagged: {flagged:#?}",
        ordinary,
        flagged.len()
    );
    assert!(ordinary > 500, "{ordinary}");
    assert!(
        flagged.len() as f64 / ordinary as f64 <= MAX_FALSE_POSITIVE_RATE,
        "{flagged:#?}"
    );
    assert!(
        missed.is_empty(),
        "{} missed:\n{}",
        missed.len(),
        missed.join("\n")
    );
    assert!(
        random_found as f64 >= random as f64 * MIN_ENTROPY_RECALL,
        "{random_found} of {random}"
    );
}
