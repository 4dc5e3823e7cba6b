//! Prometheus metrics of the gateway. Every label value is a fixed vocabulary
//! (endpoint, verdict, code, reason): never a name or a value from a request, so a
//! metric can neither leak a workload's content nor grow without bound.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;
use std::time::Duration;

pub use prometheus_text::CONTENT_TYPE;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    endpoint: &'static str,
    verdict: &'static str,
    code: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndpointLabels {
    endpoint: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailureLabels {
    reason: &'static str,
    action: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabels {
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReloadLabels {
    what: &'static str,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ScopeLabels {
    scope: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TriggerLabels {
    trigger: &'static str,
}

/// The audit's findings: the namespace is the operator's to see (the metrics of an
/// audit are read by the cluster's operators, as Kyverno's are).
#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
pub struct FindingLabels {
    pub namespace: String,
    pub code: String,
    pub severity: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PluginLabels {
    sha256: String,
    contract: &'static str,
    limits: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabels {
    event: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ManagementErrorLabels {
    what: &'static str,
    reason: &'static str,
}

/// What one request came to: the record every endpoint hands to `Metrics::record`.
#[derive(Debug, Clone)]
pub struct Record {
    pub endpoint: &'static str,
    /// `allowed`, `rejected`, `skipped` (admitted without evaluation), `invalid`
    /// (not a request the endpoint takes), `error`, `overloaded` (503: no share of --max-inflight-bytes in time).
    pub verdict: &'static str,
    /// The HTTP status of the answer.
    pub code: u16,
    /// Time spent evaluating (queue and plugin), when the request was evaluated.
    pub evaluation: Option<Duration>,
    /// The violation codes of a decision (a fixed vocabulary of the plugin).
    pub violations: Vec<String>,
    /// The codes of the warnings of an admitting answer (the same vocabulary).
    pub warnings: Vec<String>,
    /// Why a request was admitted without evaluation.
    pub skipped: Option<&'static str>,
    /// A failure the failure policy answered: reason and `rejected` or `admitted`.
    pub failure: Option<(&'static str, &'static str)>,
}

impl Record {
    pub fn new(endpoint: &'static str, verdict: &'static str, code: u16) -> Self {
        Record {
            endpoint,
            verdict,
            code,
            evaluation: None,
            violations: Vec::new(),
            warnings: Vec::new(),
            skipped: None,
            failure: None,
        }
    }
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<EndpointLabels, Histogram>,
    violations: Family<CodeLabels, Counter>,
    warnings: Family<CodeLabels, Counter>,
    skipped: Family<ReasonLabels, Counter>,
    failures: Family<FailureLabels, Counter>,
    reloads: Family<ReloadLabels, Counter>,
    in_flight: Gauge,
    view_generation: Gauge,
    view_age: Gauge<f64, std::sync::atomic::AtomicU64>,
    left_out: Gauge,
    quarantined: Family<ScopeLabels, Gauge>,
    audit_evaluations: Family<TriggerLabels, Counter>,
    audit_duration: Histogram,
    audit_workloads: Gauge,
    audit_findings: Family<FindingLabels, Gauge>,
    reports_written: Family<ResultLabels, Counter>,
    connections_refused: Counter,
    management: Management,
}

/// What the gateway does to its certificate, Lease and webhooks (`--tls-secret`).
struct Management {
    certificate: Family<EventLabels, Counter>,
    not_after: Gauge,
    leader: Gauge,
    leader_changes: Family<EventLabels, Counter>,
    webhooks: Family<EventLabels, Counter>,
    errors: Family<ManagementErrorLabels, Counter>,
}

impl Management {
    fn register(registry: &mut Registry) -> Self {
        let certificate = Family::<EventLabels, Counter>::default();
        registry.register(
            "certificate_events",
            "The gateway's own certificate (--tls-secret): created, loaded, served, \
             rotation-begun, rotation-switched, rotation-finished",
            certificate.clone(),
        );
        let not_after = Gauge::default();
        registry.register(
            "certificate_not_after_seconds",
            "When the certificate served expires (Unix seconds; 0 before one is served)",
            not_after.clone(),
        );
        let leader = Gauge::default();
        registry.register(
            "leader",
            "1 while this replica holds the Lease and writes the certificate and webhooks",
            leader.clone(),
        );
        let leader_changes = Family::<EventLabels, Counter>::default();
        registry.register(
            "leader_changes",
            "Leadership changes of this replica: acquired, took-over (from a holder that \
             stopped renewing), lost, released",
            leader_changes.clone(),
        );
        let webhooks = Family::<EventLabels, Counter>::default();
        registry.register(
            "webhook_registrations",
            "Writes of the webhook configurations: registered (new or a new caBundle), \
             repaired (changed by someone else), recreated (deleted by someone else)",
            webhooks.clone(),
        );
        let errors = Family::<ManagementErrorLabels, Counter>::default();
        registry.register(
            "management_errors",
            "What kept the gateway from serving, rotating or registering, by object \
             (secret, lease, webhooks, owner) and reason (forbidden, conflict, unreachable, \
             foreign-secret, not-a-certificate, key-mismatch, expired, wrong-names, untrusted, \
             owner-missing, ...)",
            errors.clone(),
        );
        Management {
            certificate,
            not_after,
            leader,
            leader_changes,
            webhooks,
            errors,
        }
    }
}

fn latency_histogram() -> Histogram {
    // 50 us .. ~3.3 s: an evaluation takes tens of microseconds, a contained
    // runaway up to the deadline.
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        50e-6, 2.0, 17,
    ))
}

impl Metrics {
    pub fn new(plugin_sha256: &str, contract: &'static str, limits: &str) -> Self {
        let mut registry = Registry::with_prefix("secrets_gateway");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "Requests answered, by endpoint, verdict and HTTP status",
            requests.clone(),
        );
        let latency = Family::<EndpointLabels, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        registry.register(
            "evaluation_duration_seconds",
            "Time to evaluate one workload (queue and plugin), by endpoint",
            latency.clone(),
        );
        let violations = Family::<CodeLabels, Counter>::default();
        registry.register(
            "violations",
            "Violations in decisions, by code",
            violations.clone(),
        );
        let warnings = Family::<CodeLabels, Counter>::default();
        registry.register("warnings", "Warnings in answers, by code", warnings.clone());
        let skipped = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "skipped",
            "Admission requests admitted without evaluation, by reason",
            skipped.clone(),
        );
        let failures = Family::<FailureLabels, Counter>::default();
        registry.register(
            "failures",
            "Evaluations the plugin or the gateway could not complete (plugin-timeout, \
             plugin-budget, plugin-memory, plugin-trap, plugin-output, plugin-input, \
             gateway-overloaded, gateway-error), by reason and what the failure policy did",
            failures.clone(),
        );
        let reloads = Family::<ReloadLabels, Counter>::default();
        registry.register(
            "reloads",
            "Reloads of the cluster view and the TLS certificate, by result",
            reloads.clone(),
        );
        let in_flight = Gauge::default();
        registry.register("in_flight", "Requests being answered", in_flight.clone());
        let connections_refused = Counter::default();
        registry.register(
            "connections_refused",
            "Connections closed at once because --max-connections were open",
            connections_refused.clone(),
        );
        let view_generation = Gauge::default();
        registry.register(
            "cluster_view_generation",
            "How many cluster views have been loaded (the first is 1)",
            view_generation.clone(),
        );
        let view_age = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        registry.register(
            "cluster_view_age_seconds",
            "How long the live cluster view has not followed the API server (a broken watch \
             being listed again); 0 while it does",
            view_age.clone(),
        );
        let left_out = Gauge::default();
        registry.register(
            "cluster_view_left_out",
            "Objects of the live cluster left out of the view (unreadable, or not loadable)",
            left_out.clone(),
        );
        let quarantined = Family::<ScopeLabels, Gauge>::default();
        registry.register(
            "cluster_view_quarantined",
            "Scopes whose workloads are rejected undecided because of a bad object: \
             scope=namespace counts namespaces, scope=everywhere the bad policies of runai",
            quarantined.clone(),
        );
        let audit_evaluations = Family::<TriggerLabels, Counter>::default();
        registry.register(
            "audit_evaluations",
            "Workloads the audit evaluated, by trigger (list, watch, secret-change, policy-change)",
            audit_evaluations.clone(),
        );
        let audit_duration = Histogram::new(
            prometheus_client::metrics::histogram::exponential_buckets(0.01, 2.0, 16),
        );
        registry.register(
            "audit_list_duration_seconds",
            "Time to list one workload kind and hand every object to the audit",
            audit_duration.clone(),
        );
        let audit_workloads = Gauge::default();
        registry.register(
            "audit_workloads",
            "Workloads in the audit's index",
            audit_workloads.clone(),
        );
        let audit_findings = Family::<FindingLabels, Gauge>::default();
        registry.register(
            "audit_findings",
            "Findings of the workloads that exist, by namespace, code and severity (high: fail, medium: warn)",
            audit_findings.clone(),
        );
        let reports_written = Family::<ResultLabels, Counter>::default();
        registry.register(
            "audit_reports_written",
            "PolicyReports written by this replica (the leader), by result",
            reports_written.clone(),
        );
        registry.register(
            "plugin",
            "The loaded plugin: SHA-256 of the component, contract version and limits",
            Info::new(PluginLabels {
                sha256: plugin_sha256.to_string(),
                contract,
                limits: limits.to_string(),
            }),
        );
        let management = Management::register(&mut registry);
        Metrics {
            management,
            registry,
            requests,
            latency,
            violations,
            warnings,
            skipped,
            failures,
            reloads,
            in_flight,
            view_generation,
            view_age,
            left_out,
            quarantined,
            audit_evaluations,
            audit_duration,
            audit_workloads,
            audit_findings,
            reports_written,
            connections_refused,
        }
    }

    pub fn record(&self, r: &Record) {
        self.requests
            .get_or_create(&RequestLabels {
                endpoint: r.endpoint,
                verdict: r.verdict,
                code: r.code,
            })
            .inc();
        if let Some(elapsed) = r.evaluation {
            self.latency
                .get_or_create(&EndpointLabels {
                    endpoint: r.endpoint,
                })
                .observe(elapsed.as_secs_f64());
        }
        for (family, codes) in [
            (&self.violations, &r.violations),
            (&self.warnings, &r.warnings),
        ] {
            for code in codes {
                family
                    .get_or_create(&CodeLabels {
                        code: label_code(code),
                    })
                    .inc();
            }
        }
        if let Some(reason) = r.skipped {
            self.skipped.get_or_create(&ReasonLabels { reason }).inc();
        }
        if let Some((reason, action)) = r.failure {
            self.failures
                .get_or_create(&FailureLabels { reason, action })
                .inc();
        }
    }

    pub fn reloaded(&self, what: &'static str, ok: bool) {
        let result = if ok { "ok" } else { "error" };
        self.reloads
            .get_or_create(&ReloadLabels { what, result })
            .inc();
    }

    pub fn view_loaded(&self, generation: u64) {
        self.view_generation.set(generation as i64);
    }

    pub fn certificate(&self, event: &'static str) {
        self.management
            .certificate
            .get_or_create(&EventLabels { event })
            .inc();
    }

    pub fn certificate_served(&self, not_after: u64) {
        self.management.not_after.set(not_after as i64);
    }

    pub fn leader(&self, leads: bool, change: Option<&'static str>) {
        self.management.leader.set(i64::from(leads));
        if let Some(event) = change {
            self.management
                .leader_changes
                .get_or_create(&EventLabels { event })
                .inc();
        }
    }

    pub fn webhooks(&self, event: &'static str) {
        self.management
            .webhooks
            .get_or_create(&EventLabels { event })
            .inc();
    }

    pub fn management_error(&self, what: &'static str, reason: &'static str) {
        self.management
            .errors
            .get_or_create(&ManagementErrorLabels { what, reason })
            .inc();
    }

    pub fn view_age(&self, seconds: f64) {
        self.view_age.set(seconds);
    }

    /// What the current view leaves out and quarantines, as counts (no names: metrics
    /// are readable by anyone who can reach the gateway).
    pub fn view_contents(&self, left_out: usize, everywhere: usize, namespaces: usize) {
        self.left_out.set(left_out as i64);
        self.quarantined
            .get_or_create(&ScopeLabels {
                scope: "everywhere",
            })
            .set(everywhere as i64);
        self.quarantined
            .get_or_create(&ScopeLabels { scope: "namespace" })
            .set(namespaces as i64);
    }

    pub fn audit_evaluated(&self, trigger: &'static str) {
        self.audit_evaluations
            .get_or_create(&TriggerLabels { trigger })
            .inc();
    }

    pub fn audit_listed(&self, took: Duration) {
        self.audit_duration.observe(took.as_secs_f64());
    }

    pub fn audit_workloads(&self, count: usize) {
        self.audit_workloads.set(count as i64);
    }

    /// Sets the findings of one namespace: `previous` are the label sets it had (set
    /// to nothing now unless in `now`).
    pub fn audit_findings(&self, previous: &[FindingLabels], now: &[(FindingLabels, i64)]) {
        for old in previous {
            if !now.iter().any(|(l, _)| l == old) {
                self.audit_findings.remove(old);
            }
        }
        for (labels, count) in now {
            self.audit_findings.get_or_create(labels).set(*count);
        }
    }

    pub fn report_written(&self, ok: bool) {
        let result = if ok { "ok" } else { "error" };
        self.reports_written
            .get_or_create(&ResultLabels { result })
            .inc();
    }

    pub fn connection_refused(&self) {
        self.connections_refused.inc();
    }

    /// Counts a request in flight until the guard is dropped.
    pub fn in_flight(&self) -> InFlight<'_> {
        self.in_flight.inc();
        InFlight(&self.in_flight)
    }

    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_text::encode(&mut text, &self.registry);
        text
    }
}

/// A violation code as a label: the plugin's codes are short kebab-case words; any
/// other text (another plugin's) is `other`, so labels stay few and hold no content.
fn label_code(code: &str) -> String {
    let plain = !code.is_empty()
        && code.len() <= 48
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if plain {
        code.to_string()
    } else {
        "other".to_string()
    }
}

pub struct InFlight<'a>(&'a Gauge);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::label_code;

    #[test]
    fn only_plain_codes_become_labels() {
        for (code, label) in [
            ("sensitive-literal", "sensitive-literal"),
            ("plugin-timeout", "plugin-timeout"),
            ("", "other"),
            ("Hunter2 value", "other"),
            ("a\"b", "other"),
            (&"x".repeat(49), "other"),
        ] {
            assert_eq!(label_code(code), label, "{code}");
        }
    }
}
