//! `host bench`: the plugin's evaluation speed, side by side in one run: the same
//! logic compiled natively, the component in a reused instance and in a fresh
//! instance per evaluation (each with containment on and off), and regorus running
//! an equivalent Rego policy; on the built-in set-up or on a given workload and cluster.
//! Every path must decide alike first (the native logic and the component in every
//! field, the Rego policy on every fixture and on the workload measured): a benchmark of
//! logic that decides differently proves nothing.

pub mod audit;
pub mod native;
pub mod rego;

use crate::cluster::{Cluster, load_documents};
use crate::manifest::{self, Document};
use crate::plugin::{Decision, Instance, Limits, Options, Plugin, Submission};
use crate::{demo, simulate};
use anyhow::{Result, anyhow, bail};
use serde::Serialize;
use std::path::Path;
use std::time::{Duration, Instant};

pub const WORKLOAD: &str = include_str!("../../../policies/bench/workload.yaml");
pub const POLICIES: &str = include_str!("../../../policies/bench/policies.yaml");
/// A SecretPolicy with issue 17's rules on, added for two more scenarios.
pub const RULES_17: &str = include_str!("../../../policies/bench/rules-17.yaml");

/// The codes the Rego baseline implements.
pub const REGO_CODES: &[&str] = &[
    "secret-ref-syntax",
    "secret-not-found",
    "secret-key-not-found",
    "sensitive-literal",
];

#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    pub name: String,
    pub evaluations: usize,
    pub per_second: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub mean_us: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Ratio {
    pub name: String,
    pub value: f64,
    /// The target, for the built-in set-up it was set for.
    pub target: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The plugin measured: `built-in` or its path.
    pub plugin: String,
    /// The workload measured (its source) and where it lands.
    pub workload: String,
    pub namespace: String,
    /// The kinds of the policies that apply there.
    pub policies: String,
    /// Why the regorus scenario was not run, when it was not.
    pub regorus_skipped: Option<String>,
    /// What "containment on" means in this run.
    pub containment: String,
    /// How the native scenario's code was built (`host`'s own build).
    pub native_build: String,
    /// Whether that is the plugin's optimisation: the `dist` profile (opt-level 3, fat
    /// LTO, one codegen unit, as the `plugin` profile) and its inline threshold.
    pub native_like_plugin: bool,
    pub workload_bytes: usize,
    pub fixtures_agreeing: usize,
    pub scenarios: Vec<Scenario>,
    pub ratios: Vec<Ratio>,
    /// Fuel one evaluation uses in the contained plugin, per scenario that has one:
    /// the work itself, whatever the machine's load.
    pub fuel: Vec<Fuel>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Fuel {
    pub scenario: String,
    pub units: u64,
}

type Run<'a> = Box<dyn FnMut() -> Result<()> + 'a>;

const NATIVE: &str = "native";
const REUSED_OFF: &str = "reused instance, containment off";
const FRESH_OFF: &str = "fresh instance, containment off";
const REUSED_ON: &str = "reused instance, containment on";
const FRESH_ON: &str = "fresh instance, containment on";
const REGORUS: &str = "regorus RVM (compiled program)";
const NATIVE_17: &str = "native, issue 17 rules on";
const FRESH_ON_17: &str = "fresh instance, containment on, issue 17 rules on";

/// Evaluations in one instance, kept across calls.
fn reused<'a>(instance: &'a mut Instance<'_>, sub: &'a Submission) -> Run<'a> {
    Box::new(move || instance.evaluate(sub).map(drop).map_err(|e| anyhow!("{e}")))
}

/// Evaluations in a fresh instance each, as `host` runs them.
fn fresh<'a>(plugin: &'a Plugin, sub: &'a Submission) -> Run<'a> {
    Box::new(move || plugin.evaluate(sub).map(drop))
}

/// The native logic and `plugin` decide `sub` alike in every field, with the environment
/// asked for (so that it is compared too) and without it (what a gateway asks). Returns
/// the plugin's decision of `sub` as given, the one measured.
pub fn check_native_agreement(plugin: &Plugin, sub: &Submission) -> Result<Decision> {
    decide_alike(
        plugin,
        &Submission {
            with_env: !sub.with_env,
            ..sub.clone()
        },
    )?;
    decide_alike(plugin, sub)
}

fn decide_alike(plugin: &Plugin, asked: &Submission) -> Result<Decision> {
    let reference = guest::evaluate(&native::submission(asked)).map_err(|e| anyhow!("{e:?}"))?;
    let through_wasm = plugin.evaluate(asked)?.map_err(|e| anyhow!("{e:?}"))?;
    if let Some(part) = native::first_difference(&reference, &native::decision(&through_wasm)) {
        bail!(
            "the native logic and the plugin decide the workload measured differently: \
             their {part} differ (with-env {})",
            asked.with_env
        );
    }
    if !asked.with_env && !reference.env.is_empty() {
        bail!("the environment of the workload measured is resolved though not asked for");
    }
    Ok(through_wasm)
}

/// Runs every scenario for about `budget` in all, interleaved in short rounds so that
/// a change in the machine's load (two cores, other processes) hits them alike.
fn measure(scenarios: Vec<(String, Run<'_>)>, budget: Duration) -> Result<Vec<Scenario>> {
    const ROUNDS: u32 = 20;
    let mut runs: Vec<(String, Run, Vec<Duration>, Duration)> = scenarios
        .into_iter()
        .map(|(n, f)| (n, f, Vec::new(), Duration::ZERO))
        .collect();
    for (_, f, _, _) in &mut runs {
        for _ in 0..50 {
            f()?;
        }
    }
    for _ in 0..ROUNDS {
        for (_, f, samples, total) in &mut runs {
            let start = Instant::now();
            while start.elapsed() < budget / ROUNDS || samples.len() < 5 {
                let t = Instant::now();
                f()?;
                samples.push(t.elapsed());
            }
            *total += start.elapsed();
        }
    }
    Ok(runs
        .into_iter()
        .map(|(name, _, mut samples, total)| {
            samples.sort();
            let pct =
                |p: f64| samples[((samples.len() as f64 - 1.0) * p) as usize].as_secs_f64() * 1e6;
            let sum: Duration = samples.iter().sum();
            Scenario {
                name,
                evaluations: samples.len(),
                per_second: samples.len() as f64 / total.as_secs_f64(),
                p50_us: pct(0.50),
                p99_us: pct(0.99),
                mean_us: sum.as_secs_f64() * 1e6 / samples.len() as f64,
            }
        })
        .collect())
}

/// The demo cluster with the benchmark's policies (V1 + V2 + SecretPolicy).
pub fn cluster() -> Result<Cluster> {
    let mut cluster = demo::cluster()?;
    load_documents(
        &mut cluster,
        &manifest::parse(POLICIES, "policies/bench/policies.yaml")?,
    )?;
    Ok(cluster)
}

/// The benchmark workload, as the document `policies/bench/workload.yaml`.
pub fn workload() -> Result<Document> {
    manifest::parse(WORKLOAD, "policies/bench/workload.yaml")?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow!("policies/bench/workload.yaml holds no document"))
}

/// Whether `doc` is a Run:ai workload CRD (form A), the only form the Rego reads.
fn is_workload_crd(doc: &Document) -> bool {
    doc.str_at("/apiVersion")
        .is_some_and(|v| v.starts_with("run.ai/"))
        && doc.kind().ends_with("Workload")
}

/// The plugin's findings of the codes the Rego implements, in the Rego's shape.
fn plugin_findings(decision: &Decision) -> rego::Findings {
    decision
        .violations
        .iter()
        .filter(|v| REGO_CODES.contains(&v.code.as_str()))
        .map(|v| (v.code.clone(), v.field.clone()))
        .collect()
}

/// What is measured: one workload document on a cluster.
pub struct Setup {
    pub cluster: Cluster,
    pub doc: Document,
    /// The built-in set-up, which the speed targets are stated for.
    pub builtin: bool,
}

impl Setup {
    /// The benchmark workload on the demo cluster with the benchmark's policies.
    pub fn builtin() -> Result<Self> {
        Ok(Setup {
            cluster: cluster()?,
            doc: workload()?,
            builtin: true,
        })
    }

    /// The policies that apply to `namespace`, by kind.
    fn policy_kinds(&self, namespace: &str) -> String {
        let kinds: Vec<&str> = self
            .cluster
            .policies_in(namespace)
            .map(|p| p.kind.as_str())
            .collect();
        if kinds.is_empty() {
            "none".to_string()
        } else {
            kinds.join(" + ")
        }
    }
}

/// The submission a gateway would hand the plugin for any workload form: identified by
/// the plugin and placed as `simulate` places it, without the resolved environment.
pub fn submission_for(plugin: &Plugin, cluster: &Cluster, doc: &Document) -> Result<Submission> {
    let json = doc.value.to_string();
    let id = plugin
        .identify(&json)?
        .map_err(|e| simulate::input_error(&doc.source, e))?;
    let (namespace, _) = simulate::placement(cluster, &id, &doc.source)?;
    Ok(submission_in(cluster, json, &namespace))
}

/// The submission a gateway would hand the plugin for `doc` on `cluster`: the
/// verdict and the patch, without the resolved environment.
pub fn submission(cluster: &Cluster, doc: &Document) -> Result<Submission> {
    let namespace = doc
        .str_at("/metadata/namespace")
        .ok_or_else(|| anyhow!("{}: the benchmark workload names its namespace", doc.source))?;
    Ok(submission_in(cluster, doc.value.to_string(), namespace))
}

/// `workload` submitted in `namespace`, with that namespace's project, policies and
/// secrets, without the resolved environment.
pub fn submission_in(cluster: &Cluster, workload: String, namespace: &str) -> Submission {
    Submission {
        workload,
        namespace: namespace.to_string(),
        project: cluster
            .project_of_namespace(namespace)
            .map(|p| cluster.project_info(p)),
        workload_type: None,
        policies: cluster.policies_for(namespace),
        secrets: cluster.catalog(namespace),
        with_env: false,
        with_references: false,
    }
}

/// `sub` with the SecretPolicy of `RULES_17` added.
fn rules_17(sub: &Submission) -> Result<Submission> {
    let doc = manifest::parse(RULES_17, "policies/bench/rules-17.yaml")?
        .pop()
        .ok_or_else(|| anyhow!("policies/bench/rules-17.yaml: no policy"))?;
    let mut with = sub.clone();
    with.policies.push(crate::plugin::PolicyDocument {
        source: doc.source,
        json: doc.value.to_string(),
    });
    Ok(with)
}

/// The SecretPolicy globs the Rego data carries, from the demo baseline.
pub fn sensitive_globs(cluster: &Cluster) -> Result<Vec<String>> {
    let baseline = cluster
        .policies
        .iter()
        .find(|p| p.kind == "SecretPolicy" && p.namespace == "runai")
        .ok_or_else(|| anyhow!("the benchmark cluster has no SecretPolicy in runai"))?;
    let doc: serde_json::Value = serde_json::from_str(&baseline.json)?;
    Ok(doc["spec"]["sensitiveEnvNames"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect())
}

/// Form A workload fixtures of the repository (the forms the Rego policy reads).
pub fn fixtures(root: &Path) -> Result<Vec<Document>> {
    let mut docs = vec![workload()?];
    for dir in ["policies/examples", "tests/workloads", "tests/fixtures"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        {
            for doc in manifest::read_file(&path)? {
                if is_workload_crd(&doc) {
                    docs.push(doc);
                }
            }
        }
    }
    Ok(docs)
}

/// The plugin (with only the SecretPolicy baseline, whose checks the Rego mirrors),
/// regorus's RVM and regorus's Engine give the same findings on every fixture.
pub fn check_agreement(plugin: &Plugin, docs: &[Document]) -> Result<usize> {
    let cluster = demo::cluster()?;
    let globs = sensitive_globs(&cluster)?;
    let mut checked = 0;
    for doc in docs {
        let outcome = simulate::simulate_one(plugin, &cluster, doc, None)?;
        // A contained plugin that did not decide (too little fuel, too short a deadline)
        // is said as such, not as a disagreement.
        if let Some(failure) = outcome
            .decision
            .violations
            .iter()
            .find(|v| v.code.starts_with("plugin-"))
        {
            bail!(
                "{}: the plugin did not decide ({}: {}): measure with more room (--fuel, \
                 --deadline-ms, --memory-mib)",
                doc.source,
                failure.code,
                failure.message
            );
        }
        let ours = plugin_findings(&outcome.decision);
        let data = rego::data(&cluster.catalog(&outcome.namespace), &globs)?;
        let json = doc.value.to_string();
        let rvm = rego::Rvm::new(data.clone())?.findings(&json)?;
        let engine = rego::engine_findings(&data, &json)?;
        if rvm != engine {
            bail!(
                "{}: regorus's RVM {rvm:?} and Engine {engine:?} disagree",
                doc.source
            );
        }
        if rvm != ours {
            bail!(
                "{}: the Rego policy finds {rvm:?}, the plugin {ours:?}",
                doc.source
            );
        }
        checked += 1;
    }
    Ok(checked)
}

/// The Rego baseline for this set-up, or why it cannot stand in for the plugin here:
/// the Rego reads Run:ai workload CRDs only, mirrors only the SecretPolicy checks, and
/// must find what the plugin finds on this very workload.
fn rego_for(
    setup: &Setup,
    sub: &Submission,
    decision: &Decision,
) -> Result<Result<rego::Rvm, String>> {
    if !is_workload_crd(&setup.doc) {
        return Ok(Err(
            "the Rego policy reads Run:ai workload CRDs only".to_string()
        ));
    }
    let globs = match sensitive_globs(&setup.cluster) {
        Ok(globs) => globs,
        Err(e) => return Ok(Err(e.to_string())),
    };
    let data = match rego::data(&sub.secrets, &globs) {
        Ok(data) => data,
        Err(e) => return Ok(Err(e.to_string())),
    };
    let mut rvm = rego::Rvm::new(data)?;
    if rvm.findings(&sub.workload)? != plugin_findings(decision) {
        return Ok(Err(
            "the Rego policy's findings on this workload differ from the plugin's (policy \
             defaults and rules beyond the SecretPolicy's checks are the plugin's alone)"
                .to_string(),
        ));
    }
    Ok(Ok(rvm))
}

/// Runs every scenario with `contained` (loaded from `bytes`) as "containment on", and the
/// same component without fuel and deadline as "containment off".
pub fn run(
    root: &Path,
    budget: Duration,
    contained: &Plugin,
    bytes: &[u8],
    name: &str,
    setup: &Setup,
) -> Result<Report> {
    let uncontained = Plugin::load_with(
        bytes,
        name,
        &Options {
            limits: Limits {
                memory_bytes: contained.limits().memory_bytes,
                ..Limits::uncontained()
            },
            ..Options::standard()
        },
    )?;
    let agreeing = check_agreement(contained, &fixtures(root)?)?;

    let sub = submission_for(contained, &setup.cluster, &setup.doc)?;
    let native_sub = native::submission(&sub);
    // The same decision on every path, or the comparison is meaningless.
    let decision = check_native_agreement(contained, &sub)?;
    let (mut rvm, regorus_skipped) = match rego_for(setup, &sub, &decision)? {
        Ok(rvm) => (Some(rvm), None),
        Err(reason) => (None, Some(reason)),
    };

    // The same submission with issue 17's rules on, when they leave its decision as it
    // is: the difference is what the new checks cost.
    let with_17 = rules_17(&sub)?;
    let native_17 = native::submission(&with_17);
    let same_verdict = check_native_agreement(contained, &with_17).is_ok_and(|d| {
        d.allowed == decision.allowed && d.violations.len() == decision.violations.len()
    });
    let mut reused_off = uncontained.instance()?;
    let mut reused_on = contained.instance()?;
    let mut runs: Vec<(String, Run)> = vec![
        (
            NATIVE.into(),
            Box::new(|| {
                guest::evaluate(&native_sub)
                    .map(drop)
                    .map_err(|e| anyhow!("{e:?}"))
            }),
        ),
        (REUSED_OFF.into(), reused(&mut reused_off, &sub)),
        (FRESH_OFF.into(), fresh(&uncontained, &sub)),
        (REUSED_ON.into(), reused(&mut reused_on, &sub)),
        (FRESH_ON.into(), fresh(contained, &sub)),
    ];
    if let Some(rvm) = rvm.as_mut() {
        runs.push((
            REGORUS.into(),
            Box::new(|| rvm.eval(&sub.workload).map(drop)),
        ));
    }
    if setup.builtin && same_verdict {
        runs.push((
            NATIVE_17.into(),
            Box::new(|| {
                guest::evaluate(&native_17)
                    .map(drop)
                    .map_err(|e| anyhow!("{e:?}"))
            }),
        ));
        runs.push((FRESH_ON_17.into(), fresh(contained, &with_17)));
    }
    let scenarios = measure(runs, budget)?;
    let mut fuel = Vec::new();
    for (scenario, measured) in [(FRESH_ON, &sub), (FRESH_ON_17, &with_17)] {
        if scenarios.iter().any(|s| s.name == scenario) {
            let mut instance = contained.instance()?;
            instance
                .evaluate(measured)
                .map_err(|e| anyhow!("{e}"))?
                .map_err(|e| anyhow!("{e:?}"))?;
            if let Some(units) = instance.fuel_used() {
                fuel.push(Fuel {
                    scenario: scenario.into(),
                    units,
                });
            }
        }
    }

    let mean = |name: &str| {
        scenarios
            .iter()
            .find(|s| s.name == name)
            .map_or(f64::NAN, |s| s.mean_us)
    };
    let mut ratios: Vec<Ratio> = [
        ("fresh instance (containment on)", FRESH_ON, "<= 2.0"),
        ("fresh instance (containment off)", FRESH_OFF, "<= 2.0"),
        ("reused instance (containment on)", REUSED_ON, "<= 1.3"),
        ("reused instance (containment off)", REUSED_OFF, "<= 1.3"),
    ]
    .into_iter()
    .map(|(label, scenario, target)| Ratio {
        name: format!("{label} / native"),
        value: mean(scenario) / mean(NATIVE),
        target: setup.builtin.then(|| target.into()),
    })
    .collect();
    if scenarios.iter().any(|s| s.name == NATIVE_17) {
        for (label, on, off) in [
            ("native, issue 17 rules on / off", NATIVE_17, NATIVE),
            (
                "fresh instance (containment on), issue 17 rules on / off",
                FRESH_ON_17,
                FRESH_ON,
            ),
        ] {
            ratios.push(Ratio {
                name: label.into(),
                value: mean(on) / mean(off),
                target: None,
            });
        }
    }
    if regorus_skipped.is_none() {
        ratios.push(Ratio {
            name: "plugin fresh instance (containment on) throughput / regorus RVM throughput"
                .into(),
            value: mean(REGORUS) / mean(FRESH_ON),
            target: setup.builtin.then(|| ">= 10".into()),
        });
    }
    Ok(Report {
        plugin: name.to_string(),
        workload: setup.doc.source.clone(),
        namespace: sub.namespace.clone(),
        policies: setup.policy_kinds(&sub.namespace),
        regorus_skipped,
        containment: contained.limits().describe(),
        native_build: env!("HOST_NATIVE_BUILD").to_string(),
        native_like_plugin: env!("HOST_NATIVE_LIKE_PLUGIN") == "true" && !cfg!(debug_assertions),
        workload_bytes: sub.workload.len(),
        fixtures_agreeing: agreeing,
        scenarios,
        ratios,
        fuel,
    })
}

pub fn text(r: &Report) -> String {
    let mut s = format!(
        "plugin: {}; containment on: {}\n\
         workload: {} ({} bytes of JSON) in {}, policies: {}\n\
         Rego agreement: {} fixtures decided alike by the plugin, regorus RVM and regorus Engine\n",
        r.plugin,
        r.containment,
        r.workload,
        r.workload_bytes,
        r.namespace,
        r.policies,
        r.fixtures_agreeing
    );
    if let Some(reason) = &r.regorus_skipped {
        s.push_str(&format!("regorus: not measured: {reason}\n"));
    }
    s.push_str(&format!("native: built with {}", r.native_build));
    if r.native_like_plugin {
        s.push_str(", like the plugin\n\n");
    } else {
        s.push_str(
            "\nwarning: the native scenario is not built like the plugin (build with \
             `--profile dist`, the workspace's .cargo/config.toml and no RUSTFLAGS): the \
             ratios flatter the plugin\n\n",
        );
    }
    let width = r
        .scenarios
        .iter()
        .map(|sc| sc.name.len())
        .max()
        .unwrap_or(0)
        .max(44);
    s.push_str(&format!(
        "{:<width$} {:>12} {:>10} {:>10}\n",
        "scenario", "evals/s", "p50 µs", "p99 µs"
    ));
    for sc in &r.scenarios {
        s.push_str(&format!(
            "{:<width$} {:>12.0} {:>10.1} {:>10.1}\n",
            sc.name, sc.per_second, sc.p50_us, sc.p99_us
        ));
    }
    s.push_str("\nratios (mean latency, same run):\n");
    for ratio in &r.ratios {
        s.push_str(&format!("  {:<76} {:>7.2}x", ratio.name, ratio.value));
        if let Some(target) = &ratio.target {
            s.push_str(&format!("  (target {target})"));
        }
        s.push('\n');
    }
    if !r.fuel.is_empty() {
        s.push_str("\nfuel per evaluation (contained plugin; the same on any machine):\n");
        for f in &r.fuel {
            s.push_str(&format!("  {:<76} {:>8}\n", f.scenario, f.units));
        }
        if let [off, on] = &r.fuel[..] {
            s.push_str(&format!(
                "  {:<76} {:>7.2}x\n",
                "issue 17 rules on / off",
                on.units as f64 / off.units as f64
            ));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(native_like_plugin: bool) -> Report {
        Report {
            plugin: "built-in".into(),
            workload: "w.yaml".into(),
            namespace: "runai-team-a".into(),
            policies: "SecretPolicy".into(),
            regorus_skipped: None,
            containment: "fuel 1, deadline 1 ms, memory 1 MiB".into(),
            native_build: "opt-level 3, inline threshold 1000".into(),
            native_like_plugin,
            workload_bytes: 1,
            fixtures_agreeing: 1,
            scenarios: Vec::new(),
            ratios: Vec::new(),
            fuel: Vec::new(),
        }
    }

    #[test]
    fn the_text_warns_when_the_native_baseline_is_not_built_like_the_plugin() {
        let like = text(&report(true));
        assert!(
            like.contains("native: built with opt-level 3, inline threshold 1000, like the plugin")
        );
        assert!(!like.contains("warning"), "{like}");
        let unlike = text(&report(false));
        assert!(
            unlike.contains("warning: the native scenario is not built like the plugin"),
            "{unlike}"
        );
    }

    #[test]
    fn the_text_gives_the_fuel_of_each_evaluation_and_the_rules_share() {
        let mut r = report(true);
        assert!(!text(&r).contains("fuel per evaluation"));
        r.fuel = vec![
            Fuel {
                scenario: FRESH_ON.into(),
                units: 200,
            },
            Fuel {
                scenario: FRESH_ON_17.into(),
                units: 300,
            },
        ];
        let t = text(&r);
        assert!(t.contains("fuel per evaluation"), "{t}");
        let ratio = t.lines().last().unwrap_or_default();
        assert!(
            ratio.contains("issue 17 rules on / off") && ratio.ends_with("1.50x"),
            "{t}"
        );
    }
}
