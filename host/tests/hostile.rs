//! The hostile inputs of issue 14 through the real binary: each case is what a hostile
//! or careless user gave, the exit code and message expected, and what must never be
//! printed (the marker value hidden in the input, raw control characters). Every case
//! failed before the hardening it tests (see scripts/probes.sh for the before table).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Hidden in inputs as a value: it must never come out.
const MARKER: &str = "hunter2-s3cr3t-v4lue";

struct Case {
    name: &'static str,
    /// Files made in the case's directory: (name, content).
    files: Vec<(&'static str, Vec<u8>)>,
    args: Vec<String>,
    /// Standard input: a path, or nothing.
    stdin: Option<&'static str>,
    exit: i32,
    /// Expected in stderr (or in stdout when the command succeeds).
    says: &'static str,
    /// At most this many bytes of output, when bounded.
    max_output: Option<usize>,
}

fn case(name: &'static str, args: &[&str], exit: i32, says: &'static str) -> Case {
    Case {
        name,
        files: Vec::new(),
        args: args.iter().map(|s| s.to_string()).collect(),
        stdin: None,
        exit,
        says,
        max_output: None,
    }
}

impl Case {
    fn file(mut self, name: &'static str, content: impl Into<Vec<u8>>) -> Self {
        self.files.push((name, content.into()));
        self
    }
    fn stdin(mut self, path: &'static str) -> Self {
        self.stdin = Some(path);
        self
    }
    fn at_most(mut self, bytes: usize) -> Self {
        self.max_output = Some(bytes);
        self
    }
}

fn pod(namespace: &str, name: &str, env: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: {namespace}}}\n\
         spec:\n  containers:\n  - name: c\n    image: busybox\n    env: {env}\n"
    )
}

/// A RayCluster in runai-team-a with `groups` worker groups, the last one's container
/// getting `env`.
fn ray_cluster(groups: usize, env: &str) -> String {
    let mut text = "apiVersion: ray.io/v1\nkind: RayCluster\nmetadata: {name: rc, namespace: runai-team-a}\n\
                    spec:\n  headGroupSpec: {template: {spec: {containers: [{name: head}]}}}\n  workerGroupSpecs:\n"
        .to_string();
    for i in 0..groups {
        let env = if i + 1 == groups { env } else { "[]" };
        text += &format!(
            "  - {{groupName: g{i}, template: {{spec: {{containers: [{{name: worker, env: {env}}}]}}}}}}\n"
        );
    }
    text
}

fn cases() -> Vec<Case> {
    let many_projects: String = (0..10_000)
        .map(|i| format!("---\napiVersion: run.ai/v2\nkind: Project\nmetadata: {{name: p{i}}}\n"))
        .collect::<String>()
        + "---\napiVersion: v1\nkind: Secret\nmetadata: {name: shared, namespace: runai}\nstringData: {k: v}\n";
    vec![
        // 1. No value in any message.
        case("a CRD env value that is a map", &["simulate", "w.yaml"], 2, "expected a string, found a map").file(
            "w.yaml",
            format!(
                "apiVersion: run.ai/v2alpha1\nkind: TrainingWorkload\nmetadata: {{name: w1, namespace: runai-team-a}}\n\
                 spec:\n  environment:\n    items:\n      DB_PASSWORD: {{value: {{nested: \"{MARKER}\"}}}}\n"
            ),
        ),
        case("a Pod valueFrom that is a string", &["simulate", "w.yaml"], 2, "expected a map, found a string")
            .file("w.yaml", pod("runai-team-a", "p", &format!("[{{name: DB_PASSWORD, valueFrom: \"{MARKER}\"}}]"))),
        case("a Pod env value that is a list", &["simulate", "w.yaml"], 2, "expected a string, found a list")
            .file("w.yaml", pod("runai-team-a", "p", &format!("[{{name: DB_PASSWORD, value: [\"{MARKER}\"]}}]"))),
        case("a REST API entry whose secret is a string", &["simulate", "w.json"], 2, "found a string").file(
            "w.json",
            format!(
                r#"{{"name": "w", "projectId": "team-a", "spec": {{"environmentVariables": [{{"name": "TOKEN", "value": "x", "secret": "{MARKER}"}}]}}}}"#
            ),
        ),
        case("submit -e with an empty name", &["submit", "-p", "team-a", "-e", "=hunter2-s3cr3t-v4lue"], 2, "-e #1: the name before `=` is empty"),
        case("submit -e without =", &["submit", "-p", "team-a", "-e", "OK=1", "-e", MARKER], 2, "-e #2: no `=`"),
        // 2. Bounded reads.
        case("stdin from /dev/zero", &["simulate", "-"], 2, "-: the manifest is over the 16 MiB limit").stdin("/dev/zero"),
        case("a workload file that is /dev/zero", &["simulate", "/dev/zero"], 2, "over the 16 MiB limit"),
        case("a plugin that is /dev/zero", &["simulate", "--plugin", "/dev/zero", "w.yaml"], 2, "the plugin is over the 64 MiB limit")
            .file("w.yaml", pod("runai-team-a", "p", "[]")),
        case("a binary file", &["simulate", "w.yaml"], 2, "not UTF-8 text (invalid byte at offset 5, line 2)")
            .file("w.yaml", b"a: 1\n\xff\xfe".to_vec()),
        // 3. Depth.
        case("100,000 nested flow levels", &["simulate", "w.yaml"], 2, "line 1: nested deeper than 150 levels")
            .file("w.yaml", format!("a: {}{}\n", "[".repeat(100_000), "]".repeat(100_000))),
        case("a YAML alias bomb", &["simulate", "w.yaml"], 2, "repetition limit exceeded").file(
            "w.yaml",
            "a: &a [x,x,x,x,x,x,x,x,x]\n".to_string()
                + &(0..9)
                    .map(|i| {
                        let (n, p) = ((b'b' + i) as char, (b'a' + i) as char);
                        format!("{n}: &{n} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n")
                    })
                    .collect::<String>(),
        ),
        // 4. Tenancy.
        case("a project in namespace runai", &["project", "create", "x", "--namespace", "runai", "--state", "s"], 2, "belongs to no project"),
        case("a project in a kube- namespace", &["project", "create", "x", "--namespace", "kube-system", "--state", "s"], 2, "belongs to no project"),
        case("two Projects claim one namespace", &["apply", "-f", "p.yaml", "--state", "s"], 2, "namespace shared is claimed by project `p1`").file(
            "p.yaml",
            "apiVersion: run.ai/v2\nkind: Project\nmetadata: {name: p1}\nspec: {namespace: shared}\n---\n\
             apiVersion: run.ai/v2\nkind: Project\nmetadata: {name: p2}\nspec: {namespace: shared}\n",
        ),
        case("a label claims another project's namespace", &["apply", "-f", "p.yaml", "--state", "s"], 2, "is claimed by project").file(
            "p.yaml",
            "apiVersion: run.ai/v2\nkind: Project\nmetadata: {name: p1}\n---\napiVersion: run.ai/v2\nkind: Project\n\
             metadata: {name: p2}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: runai-p1, labels: {runai/queue: p2}}\n",
        ),
        case("a Secret in a namespace of no project", &["apply", "-f", "s.yaml", "--state", "s"], 2, "a Secret in namespace nowhere, which is neither runai nor a project's namespace")
            .file("s.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: nowhere}\nstringData: {a: b}\n"),
        case("a Secret in an empty namespace", &["apply", "-f", "s.yaml", "--state", "s"], 2, "a Secret in an empty namespace")
            .file("s.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: \"\"}\nstringData: {a: b}\n"),
        // 5. Suite discovery.
        case("a suite directory with a symlink loop", &["test", "suites"], 0, "running 1 cases from 1 suites")
            .file("suites/x.suite.yaml", "steps:\n  - submit: {project: team-a}\n    expect: {allowed: true}\n"),
        // 6. Terminal injection.
        case("an env name with an escape sequence", &["simulate", "w.yaml"], 1, "invalid-env-name")
            .file("w.yaml", pod("runai-team-a", "p", "[{name: \"A\\e[2K\\rADMITTED\", value: x}]")),
        case("a department with an escape sequence", &["project", "list", "--state", "s"], 0, "\\x1b[2K"),
        // 7. Nothing to evaluate.
        case("an empty workload file", &["simulate", "w.yaml"], 2, "no workload documents in w.yaml").file("w.yaml", ""),
        case("a file of `---` alone", &["simulate", "w.yaml"], 2, "no workload documents in w.yaml").file("w.yaml", "---\n"),
        case("/dev/null", &["simulate", "/dev/null"], 2, "no workload documents in /dev/null"),
        // 8. Numbers from the command line.
        case("bench --seconds 1e300", &["bench", "--seconds", "1e300"], 2, "--seconds: expected a number of seconds above 0"),
        case("bench with too little fuel to decide", &["bench", "--fuel", "1000", "--seconds", "0.1"], 2, "the plugin did not decide (plugin-budget"),
        // 9. Parsing like kubectl.
        case("flow-style YAML starting with {", &["simulate", "w.yaml"], 0, "ADMITTED")
            .file("w.yaml", "{apiVersion: v1, kind: Pod, metadata: {name: p, namespace: runai-team-a}, spec: {containers: [{name: c, image: x}]}}\n"),
        case("a UTF-8 byte-order mark", &["simulate", "w.yaml"], 2, "at line 3 column")
            .file("w.yaml", "\u{feff}apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: runai-team-a\n"),
        case("a duplicate mapping key", &["simulate", "w.yaml"], 2, "duplicate key `metadata`")
            .file("w.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: runai-team-a}\nmetadata: {name: q, namespace: runai-team-b}\n"),
        case("a duplicate JSON key", &["simulate", "w.json"], 2, "duplicate key `kind`")
            .file("w.json", r#"{"apiVersion": "v1", "kind": "Pod", "kind": "Job"}"#),
        case(".nan as an env value", &["simulate", "w.yaml"], 2, "`.nan` and `.inf` are not valid values")
            .file("w.yaml", pod("runai-team-a", "p", "[{name: A, value: .nan}]")),
        case("submit with an invalid name", &["submit", "Bad_Name!", "-p", "team-a"], 2, "`Bad_Name!` is not a valid TrainingWorkload name"),
        case("a Pod with an invalid name", &["simulate", "w.yaml"], 2, "is not a valid Pod name")
            .file("w.yaml", pod("runai-team-a", "Web_1", "[]")),
        case("Secret data without base64 padding", &["apply", "-f", "s.yaml", "--state", "s"], 2, "is not valid base64: expected standard base64 with `=` padding")
            .file("s.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: runai}\ndata: {a: YWRtaW4}\n"),
        case("Secret data with newlines in its base64", &["apply", "-f", "s.yaml", "--state", "s"], 0, "1 object(s) applied")
            .file("s.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: runai}\ndata: {a: \"YWRt\\naW4=\"}\n"),
        // 10. Small ones.
        case("project list on a mistyped --state", &["project", "list", "--state", "typo"], 2, "typo: no such state directory"),
        case("adm set on a mistyped --state", &["adm", "set", "secret", "x", "--cluster-wide", "--state", "typo"], 2, "no such state directory"),
        case("a 100,000-character name", &["simulate", "w.yaml"], 2, "more characters)")
            .file("w.yaml", pod("runai-team-a", &"a".repeat(100_000), "[]"))
            .at_most(1000),
        case("adm set on 10,000 projects", &["adm", "set", "secret", "shared", "--cluster-wide", "--state", "s"], 0, "and 9990 more")
            .file("many.yaml", many_projects)
            .at_most(1000),
        // 12. Pod-template wrappers (issue 23).
        case("a RayCluster with 1,000 worker groups", &["simulate", "w.yaml"], 1, "sensitive-literal at spec.workerGroupSpecs[999].template.spec.containers[0].env[0].value")
            .file("w.yaml", ray_cluster(1000, &format!("[{{name: DB_PASSWORD, value: {MARKER}}}]"))),
        case("a wrapper's pod template that is not an object", &["simulate", "w.yaml"], 2, "`spec.workerGroupSpecs[0].template`: expected a map (a pod template), found a string")
            .file("w.yaml", format!(
                "apiVersion: ray.io/v1\nkind: RayCluster\nmetadata: {{name: rc, namespace: runai-team-a}}\n\
                 spec: {{workerGroupSpecs: [{{template: \"{MARKER}\"}}]}}\n"
            )),
        case("a wrapper at an API version the plugin does not read", &["simulate", "w.yaml"], 0, "SKIPPED: apiVersion `ray.io/v2` of RayCluster is not one the plugin reads")
            .file("w.yaml", ray_cluster(1, &format!("[{{name: DB_PASSWORD, value: {MARKER}}}]")).replace("ray.io/v1", "ray.io/v2")
                + "---\n" + &pod("runai-team-a", "p", "[]")),
        case("only a wrapper at an API version the plugin does not read", &["simulate", "w.yaml"], 2, "no workload documents in w.yaml (skipped: RayCluster rc)")
            .file("w.yaml", ray_cluster(1, "[]").replace("ray.io/v1", "ray.io/v2")),
        case("a template's name placeholder", &["simulate", "w.yaml"], 1, "invalid-name at metadata.name")
            .file("w.yaml", pod("runai-team-a", "\"train-${JOB_ID}\"", "[]")),
        // 11. The pasted Run:ai example.
        case("the Secret as the Run:ai page prints it", &["apply", "-f", "s.yaml", "--state", "s"], 2, "`name` and `namespace` belong under `metadata:`")
            .file("s.yaml", "apiVersion: v1\nkind: Secret\n  name: my-secret\n  namespace: runai-team-a\n  username: aHVudGVyMi1zM2NyM3QtdjR sdWU=\n  password: hunter2-s3cr3t-v4lue\n"),
    ]
}

/// Cases that need set-up beyond files: applied to the state first.
fn prepare(case: &Case, dir: &Path) {
    match case.name {
        "a department with an escape sequence" => {
            run(
                dir,
                &[
                    "project",
                    "create",
                    "x",
                    "--department",
                    "d\u{1b}[2K\rADMITTED",
                    "--state",
                    "s",
                ],
                None,
            );
        }
        "adm set on 10,000 projects" => {
            let out = run(dir, &["apply", "-f", "many.yaml", "--state", "s"], None);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        "a suite directory with a symlink loop" => {
            std::fs::create_dir_all(dir.join("suites/a")).unwrap();
            std::os::unix::fs::symlink("..", dir.join("suites/a/back")).unwrap();
        }
        _ => {}
    }
}

fn run(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_host"));
    cmd.args(args)
        .current_dir(dir)
        .env_remove("RUNAI_SIM_STATE")
        .stdin(match stdin {
            Some(path) => Stdio::from(std::fs::File::open(path).expect("stdin file")),
            None => Stdio::null(),
        });
    cmd.output().expect("the host binary runs")
}

#[test]
fn hostile_inputs_get_a_clear_bounded_answer_and_no_value() {
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("hostile");
    let _ = std::fs::remove_dir_all(&base);
    let mut failures = Vec::new();
    for (i, case) in cases().into_iter().enumerate() {
        let dir = base.join(format!("case{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, content) in &case.files {
            let path = dir.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, content).unwrap();
        }
        prepare(&case, &dir);
        let args: Vec<&str> = case.args.iter().map(String::as_str).collect();
        let out = run(&dir, &args, case.stdin);
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        let all = format!("{stdout}{stderr}");
        let mut problems = Vec::new();
        if out.status.code() != Some(case.exit) {
            problems.push(format!(
                "exit {:?}, expected {}",
                out.status.code(),
                case.exit
            ));
        }
        if !all.contains(case.says) {
            problems.push(format!("does not say {:?}", case.says));
        }
        if all.contains(MARKER) || all.contains("aHVudGVyMi1zM2NyM3QtdjR") {
            problems.push("prints the hidden value".to_string());
        }
        if all.contains('\u{1b}') || all.contains('\r') {
            problems.push("prints a raw control character".to_string());
        }
        if let Some(max) = case.max_output
            && all.len() > max
        {
            problems.push(format!(
                "prints {} bytes, at most {max} expected",
                all.len()
            ));
        }
        if case.exit == 2 && !stdout.is_empty() {
            problems.push("an input error prints on stdout".to_string());
        }
        if case.name.contains("mistyped --state") && dir.join("typo").exists() {
            problems.push("created the mistyped state directory".to_string());
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{}: {}\n  stdout: {}\n  stderr: {}",
                case.name,
                problems.join("; "),
                stdout.chars().take(400).collect::<String>(),
                stderr.chars().take(400).collect::<String>()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
