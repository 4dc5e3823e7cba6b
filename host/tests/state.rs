//! The stateful CLI over a state directory: the propagation scenario of SPEC §5 in
//! order, concurrent writers, and a kill in the middle of writes.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

struct State {
    dir: PathBuf,
}

impl State {
    fn new(name: &str) -> Self {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("state-{name}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        State { dir }
    }

    fn file(&self, name: &str, text: &str) -> String {
        let path = self.dir.join(name);
        std::fs::write(&path, text).expect("write fixture");
        path.display().to_string()
    }

    fn host(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_host"))
            .arg("--state")
            .arg(self.dir.join("st"))
            .args(args)
            .output()
            .expect("host runs")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.host(args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn submit(&self, env: &str) -> (i32, Value) {
        let out = self.host(&["submit", "job", "-p", "team-a", "-e", env, "-o", "json"]);
        let v = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        (out.status.code().expect("exit code"), v)
    }

    fn state_json(&self) -> Value {
        let text = std::fs::read_to_string(self.dir.join("st/state.json")).expect("state file");
        serde_json::from_str(&text).expect("the state file is always whole JSON")
    }
}

const SHARED: &str = "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: runai}\nstringData: {password: s1-pass-value}\n";
const SHARED_V2: &str = "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: runai, labels: {runai/cluster-wide: \"true\"}}\nstringData: {password: s2-pass-value, user: s2-user-value}\n";
const OWN: &str = "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: runai-team-b}\nstringData: {token: own-token-value}\n";

#[test]
fn cluster_wide_propagation_scenario() {
    let s = State::new("scenario");
    let shared = s.file("shared.yaml", SHARED);
    let shared_v2 = s.file("shared-v2.yaml", SHARED_V2);
    let own = s.file("own.yaml", OWN);

    // A project-owned secret of the same name, there from the start.
    s.ok(&["project", "create", "team-b"]);
    s.ok(&["apply", "-f", &own]);
    // 1. create the secret in runai and 2. set it cluster-wide.
    s.ok(&["apply", "-f", &shared]);
    let out = s.ok(&["adm", "set", "secret", "db", "--cluster-wide"]);
    assert!(out.contains("copied to 0 project namespace(s)"), "{out}");
    assert!(
        out.contains("conflict: runai-team-b has its own secret `db`"),
        "{out}"
    );
    // Idempotent.
    assert!(
        s.ok(&["adm", "set", "secret", "db", "--cluster-wide"])
            .contains("already cluster-wide")
    );
    // 3. a project created later receives the copy.
    s.ok(&["project", "create", "team-a", "--id", "1001"]);
    let list = s.ok(&["secret", "list", "-n", "runai-team-a"]);
    assert!(list.contains("copy of runai/db (cluster-wide)"), "{list}");
    // 4. a workload using it is admitted.
    let (code, r) = s.submit("DB_PASSWORD=SECRET:db,password");
    assert_eq!(code, 0, "{r}");
    // 5. updating the source reaches the copy: its new key is usable.
    assert_eq!(s.submit("DB_USER=SECRET:db,user").0, 1, "no key `user` yet");
    s.ok(&["apply", "-f", &shared_v2]);
    assert_eq!(
        s.submit("DB_USER=SECRET:db,user").0,
        0,
        "the copy has the new key"
    );
    // 6. removing cluster-wide deletes the copy: the same workload is rejected, with a hint.
    let out = s.ok(&["adm", "remove", "secret", "db", "--cluster-wide"]);
    assert!(
        out.contains("copies removed from 1 project namespace(s): runai-team-a"),
        "{out}"
    );
    assert!(
        s.ok(&["adm", "remove", "secret", "db", "--cluster-wide"])
            .contains("nothing changed")
    );
    let (code, r) = s.submit("DB_PASSWORD=SECRET:db,password");
    assert_eq!(code, 1);
    assert_eq!(r[0]["violations"][0]["code"], "secret-not-found");
    assert!(
        r[0]["violations"][0]["hint"]
            .as_str()
            .unwrap()
            .contains("adm set secret db --cluster-wide")
    );
    // 7. deleting the source removes the copies: set it cluster-wide again, then delete it.
    s.ok(&["adm", "set", "secret", "db", "--cluster-wide"]);
    assert_eq!(s.submit("DB_PASSWORD=SECRET:db,password").0, 0);
    let out = s.ok(&["secret", "delete", "db", "-n", "runai"]);
    assert!(out.contains("secret runai/db deleted"), "{out}");
    assert!(
        out.contains("copies were removed from 1 project namespace(s): runai-team-a"),
        "{out}"
    );
    let (code, r) = s.submit("DB_PASSWORD=SECRET:db,password");
    assert_eq!(code, 1, "{r}");
    assert_eq!(r[0]["violations"][0]["code"], "secret-not-found");
    assert!(!s.ok(&["secret", "list"]).contains("runai/db"));
    // The project's own secret survived every step, untouched, and shadows nothing now.
    let list = s.ok(&["secret", "list", "-n", "runai-team-b"]);
    assert!(!list.contains("shadows"), "{list}");
    assert!(
        list.contains("runai-team-b") && list.contains("token") && list.contains("own"),
        "{list}"
    );
    // And no value was ever written to the state or printed.
    let state = std::fs::read_to_string(s.dir.join("st/state.json")).unwrap();
    for value in [
        "s1-pass-value",
        "s2-pass-value",
        "s2-user-value",
        "own-token-value",
    ] {
        assert!(!state.contains(value), "the state holds no secret values");
        assert!(!list.contains(value));
    }
}

#[test]
fn errors_change_nothing_and_exit_2() {
    let s = State::new("errors");
    s.ok(&["project", "create", "team-a"]);
    s.ok(&["project", "create", "team-b"]);
    s.ok(&["apply", "-f", &s.file("shared.yaml", SHARED)]);
    s.ok(&["adm", "set", "secret", "db", "--cluster-wide"]);
    s.ok(&[
        "apply",
        "-f",
        &s.file(
            "token.yaml",
            "apiVersion: v1\nkind: Secret\nmetadata: {name: token, namespace: runai-team-b}\n",
        ),
    ]);
    let before = s.state_json();
    let bad = s.file(
        "bad.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: Bad_Name, namespace: runai}\n",
    );
    let empty = s.file("empty.yaml", "# nothing yet\n");
    let bad_policy = s.file(
        "policy.yaml",
        "apiVersion: secrets.policy.run.ai/v1alpha1\nkind: SecretPolicy\nmetadata: {name: p, namespace: runai}\nspec: {enforcement: nope}\n",
    );
    let moved = s.file(
        "moved.yaml",
        "apiVersion: run.ai/v2\nkind: Project\nmetadata: {name: team-b}\nspec: {namespace: elsewhere}\n",
    );
    for (args, needle) in [
        (
            vec!["adm", "set", "secret", "missing", "--cluster-wide"],
            "no secret `missing` in namespace runai",
        ),
        (
            vec!["adm", "remove", "secret", "missing", "--cluster-wide"],
            "no secret `missing` in namespace runai",
        ),
        (vec!["adm", "set", "secret", "x"], "--cluster-wide"),
        (vec!["project", "create", "team-a"], "already exists"),
        (vec!["project", "create", "Team_A"], "not a DNS-1123 label"),
        (vec!["project", "delete", "nope"], "does not exist"),
        (
            vec!["secret", "delete", "db", "-n", "runai-team-a"],
            "is a copy of runai/db, kept there by its cluster-wide propagation",
        ),
        (
            vec!["secret", "delete", "nope", "-n", "runai"],
            "there is no secret `nope` in namespace runai",
        ),
        (
            vec!["secret", "delete", "token", "-n", "runai"],
            "there is no secret `token` in namespace runai (it exists in runai-team-b)",
        ),
        (vec!["secret", "delete", "db"], "--namespace"),
        (
            vec!["audit", "-n", "nosuch"],
            "-n nosuch: namespace `nosuch` does not exist in the cluster: expected a project namespace (projects: team-a, team-b) or runai",
        ),
        (vec!["apply", "-f", &empty], "no objects in"),
        (vec!["audit", "-p", "nosuch"], "-p nosuch: no such project"),
        (
            vec!["apply", "-f", &bad],
            "`metadata.name` `Bad_Name` is not a DNS-1123 subdomain",
        ),
        (vec!["apply", "-f", &bad_policy], "`spec.enforcement`"),
        // A project keeps its namespace: a move would leave its secrets, copies and
        // workloads in a namespace no project owns, past the removal guard.
        (
            vec!["apply", "-f", &moved],
            "its namespace is runai-team-b and cannot change to elsewhere",
        ),
    ] {
        let out = s.host(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert_eq!(s.state_json(), before, "{args:?} changed the state");
    }
}

#[test]
fn concurrent_writers_lose_nothing() {
    let s = State::new("concurrent");
    let children: Vec<_> = (0..24)
        .map(|i| {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_host"));
            cmd.arg("--state").arg(s.dir.join("st"));
            if i % 2 == 0 {
                cmd.args(["project", "create", &format!("p{i}")]);
            } else {
                let file = s.file(
                    &format!("s{i}.yaml"),
                    &format!("apiVersion: v1\nkind: Secret\nmetadata: {{name: s{i}, namespace: runai}}\nstringData: {{k: v}}\n"),
                );
                cmd.args(["apply", "-f", &file]);
            }
            cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawn")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let state = s.state_json();
    assert_eq!(
        state["projects"].as_array().unwrap().len(),
        12,
        "every project create kept"
    );
    assert_eq!(
        state["secrets"].as_array().unwrap().len(),
        12,
        "every apply kept"
    );
}

#[test]
fn a_kill_during_writes_leaves_the_old_or_the_new_state() {
    let s = State::new("crash");
    s.ok(&["project", "create", "seed"]);
    let mut kept = 1;
    for round in 0..30u64 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_host"))
            .arg("--state")
            .arg(s.dir.join("st"))
            .args(["project", "create", &format!("r{round}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        // Kill at a different moment each round: before, during or after the write.
        std::thread::sleep(std::time::Duration::from_micros(round * 700));
        let _ = child.kill();
        let status = child.wait().expect("wait");
        let state = s.state_json();
        let projects = state["projects"].as_array().unwrap().len();
        if status.success() {
            kept += 1;
        }
        // The state is whole JSON, and holds either the old or the new set.
        assert!(
            projects == kept || (projects == kept + 1 && !status.success()),
            "round {round}: {projects} vs {kept}"
        );
        kept = projects;
    }
    assert!(s.ok(&["project", "list"]).contains("seed"));
}

const DENY: &str = "apiVersion: secrets.policy.run.ai/v1alpha1\nkind: SecretPolicy\nmetadata: {name: guard, namespace: runai}\nspec: {secretRemoval: deny}\n";

/// SPEC §11 in the simulator: an admitted submit is created and recorded; removing
/// what it uses is refused where a policy says deny (exit 1, the state as it was),
/// naming what breaks, unless `--force`; the audit then sees it; deleting the project
/// deletes its workloads.
#[test]
fn the_removal_guard_refuses_and_changes_nothing() {
    let s = State::new("guard");
    let shared_v2 = s.file("shared-v2.yaml", SHARED_V2);
    // The same secret applied again without its label and without the key read.
    let shared = s.file("shared.yaml", SHARED);
    let fewer = s.file(
        "fewer.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: runai, labels: {runai/cluster-wide: \"true\"}}\nstringData: {password: s3-pass-value}\n",
    );
    let deny = s.file("deny.yaml", DENY);
    s.ok(&["project", "create", "team-a"]);
    s.ok(&["apply", "-f", &shared_v2]);
    s.ok(&["apply", "-f", &deny]);
    let out = s.host(&[
        "submit",
        "job",
        "-p",
        "team-a",
        "-e",
        "DB_USER=SECRET:db,user",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("TrainingWorkload runai-team-a/job created"),
        "{said}"
    );
    // A rejected workload is not created.
    let out = s.host(&[
        "submit",
        "typo",
        "-p",
        "team-a",
        "-e",
        "DB_USER=SECRET:db,usr",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let listed: Value = serde_json::from_str(&s.ok(&["workload", "list", "-o", "json"])).unwrap();
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed[0]["references"][0]["key"], "user", "{listed}");

    // (command, what the message names)
    let removals: &[(&[&str], &str)] = &[
        (
            &["apply", "-f", &fewer],
            "removing key `user` of secret `db`",
        ),
        (
            &["apply", "-f", &shared],
            "removing the cluster-wide label of secret `db`",
        ),
        (
            &["secret", "delete", "db", "-n", "runai"],
            "deleting secret `db`",
        ),
        (
            &["adm", "remove", "secret", "db", "--cluster-wide"],
            "removing the cluster-wide label of secret `db`",
        ),
    ];
    for (args, names) in removals {
        let before = s.state_json();
        let out = s.host(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        for part in [
            "refused (SecretPolicy runai/guard says secretRemoval: deny)",
            names,
            "runai-team-a",
            "TrainingWorkload job",
            "CreateContainerConfigError",
            "nothing was changed",
        ] {
            assert!(err.contains(part), "{args:?}: {part} not in {err}");
        }
        assert_eq!(s.state_json(), before, "{args:?} changed the state");
    }
    let out = s.host(&["adm", "remove", "secret", "db", "--cluster-wide", "--force"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("done anyway (--force)"), "{err}");
    // The audit sees what broke, at the field of the submitted workload.
    let out = s.host(&["audit", "-o", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let audit: Value = serde_json::from_slice(&out.stdout).unwrap();
    let finding = &audit["workloads"][0]["findings"][0];
    assert_eq!(finding["code"], "secret-not-found", "{audit}");
    assert_eq!(
        finding["field"], "spec.environment.items.DB_USER.value",
        "{audit}"
    );
    // The same workload as a file is the change tried: audited once, as the file says.
    let fixed = s.file(
        "job.yaml",
        "apiVersion: run.ai/v2alpha1\nkind: TrainingWorkload\nmetadata: {name: job, namespace: runai-team-a, labels: {project: team-a}}\nspec:\n  image: {value: ubuntu}\n  environment: {items: {DB_USER: {value: nobody}}}\n",
    );
    let out = s.host(&["audit", &fixed, "-o", "json"]);
    let audit: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{audit}");
    let workloads = audit["workloads"].as_array().unwrap();
    assert_eq!(workloads.len(), 1, "{audit}");
    assert_eq!(workloads[0]["origin"], "file", "{audit}");
    s.ok(&["project", "delete", "team-a"]);
    assert_eq!(s.ok(&["workload", "list", "-o", "json"]).trim(), "[]");
    let out = s.host(&[
        "workload",
        "delete",
        "trainingworkload/job",
        "-n",
        "runai-team-a",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

/// A project's own `secretRemoval: deny` holds against an admin's cluster-wide removal:
/// in a cluster, the copies' deletions are reviewed under the project's policies.
#[test]
fn a_projects_deny_holds_against_a_cluster_wide_removal() {
    let s = State::new("guard-project");
    let shared_v2 = s.file("shared-v2.yaml", SHARED_V2);
    let deny = s.file(
        "deny.yaml",
        &DENY.replace("namespace: runai}", "namespace: runai-team-a}"),
    );
    s.ok(&["project", "create", "team-a"]);
    s.ok(&["project", "create", "team-b"]);
    s.ok(&["apply", "-f", &shared_v2]);
    s.ok(&["apply", "-f", &deny]);
    for team in ["team-a", "team-b"] {
        let out = s.host(&["submit", "job", "-p", team, "-e", "DB_USER=SECRET:db,user"]);
        assert_eq!(out.status.code(), Some(0), "{team}");
    }
    let before = s.state_json();
    let out = s.host(&["adm", "remove", "secret", "db", "--cluster-wide"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("refused (SecretPolicy runai-team-a/guard says secretRemoval: deny)"),
        "{err}"
    );
    assert_eq!(s.state_json(), before);
    // Without a project's deny in scope, the same removal is a warning.
    let out = s.host(&["project", "delete", "team-a"]);
    assert_eq!(out.status.code(), Some(0));
    let out = s.host(&["adm", "remove", "secret", "db", "--cluster-wide"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("Warning:") && err.contains("runai-team-b"),
        "{err}"
    );
}

/// A state file edited by hand with a bogus `workloads` entry: every command that
/// reads it says which entry and field, exit 2, and nothing is written.
#[test]
fn a_bogus_recorded_workload_is_named() {
    let s = State::new("bogus-workloads");
    s.ok(&["project", "create", "team-a"]);
    let job = s.file(
        "job.yaml",
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j, namespace: runai-team-a}\nspec: {template: {spec: {containers: [{name: c, envFrom: [{secretRef: {name: db, optional: true}}]}]}}}\n",
    );
    s.ok(&["apply", "-f", &job]);
    let good = s.state_json();
    assert_eq!(
        good["workloads"].as_array().map(Vec::len),
        Some(1),
        "{good}"
    );
    // (what is changed in the entry, the field named, what was expected)
    let cases: &[(&str, Value, &str, &str)] = &[
        (
            "/record/key/name",
            Value::from(""),
            "workloads[0].record.key.name",
            "a non-empty string",
        ),
        (
            "/record/references/0/secret",
            Value::from(""),
            "workloads[0].record.references[0].secret",
            "the name of the secret",
        ),
        (
            "/record/references/0/field",
            Value::from(""),
            "workloads[0].record.references[0].field",
            "the field of the reference",
        ),
        (
            "/names",
            serde_json::json!(["A", "B", "C"]),
            "workloads[0].names",
            "at most one name per reference",
        ),
        (
            "/record/references",
            Value::from(5),
            "expected a sequence",
            "",
        ),
        ("", Value::from("x"), "expected a map", ""),
    ];
    for (at, value, field, expected) in cases {
        let mut bad = good.clone();
        match bad["workloads"][0].pointer_mut(at) {
            Some(v) => *v = value.clone(),
            None => panic!("{at}"),
        }
        let text = serde_json::to_string_pretty(&bad).unwrap();
        std::fs::write(s.dir.join("st/state.json"), &text).unwrap();
        for args in [
            &["workload", "list"][..],
            &["audit"],
            &["secret", "delete", "db", "-n", "runai-team-a"],
        ] {
            let out = s.host(args);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{at} {args:?}: {err}");
            assert!(
                err.contains("state.json") && err.contains(field) && err.contains(expected),
                "{at} {args:?}: {err}"
            );
            assert_eq!(
                std::fs::read_to_string(s.dir.join("st/state.json")).unwrap(),
                text
            );
        }
    }
}

/// Names from a state edited by hand reach no terminal raw: a kind, a code or a
/// policy with control characters cannot forge a line of `host audit`'s output.
#[test]
fn a_recorded_workloads_strings_are_escaped() {
    let s = State::new("escaped-workloads");
    s.ok(&["project", "create", "team-a"]);
    let job = s.file(
        "job.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: x, namespace: runai-team-a}\nstringData: {k: v}\n---\n\
         apiVersion: batch/v1\nkind: Job\nmetadata: {name: j, namespace: runai-team-a}\nspec: {template: {spec: {containers: [{name: c, env: [{name: P, value: hunter2-literal}]}]}}}\n",
    );
    s.ok(&["apply", "-f", &job]);
    let mut state = s.state_json();
    let forged = "Job\u{1b}[2J\nPASS";
    state["workloads"][0]["record"]["key"]["kind"] = Value::from(forged);
    if let Some(findings) = state["workloads"][0]["record"]["findings"].as_array_mut() {
        for f in findings {
            f["code"] = Value::from(forged);
            f["policy"] = Value::from(forged);
        }
    }
    std::fs::write(
        s.dir.join("st/state.json"),
        serde_json::to_string_pretty(&state).unwrap(),
    )
    .unwrap();
    for args in [
        &["audit"][..],
        &["audit", "--without-secret", "runai-team-a/x"],
    ] {
        let out = s.host(args);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(0), "{args:?}: {text}");
        assert!(!text.contains('\u{1b}'), "{args:?}: {text:?}");
        assert!(
            !text.lines().any(|l| l.starts_with("PASS")),
            "{args:?}: {text:?}"
        );
    }
}

/// `$RUNAI_SIM_STATE` names the state as `--state` does, for the commands that otherwise
/// take the demo; without either, they take the demo.
#[test]
fn the_state_named_by_the_environment_is_the_view() {
    let s = State::new("env");
    s.ok(&["project", "create", "team-z"]);
    let pod = s.file(
        "pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: runai-team-z}\nspec:\n  containers: [{name: c, image: x}]\n",
    );
    let run = |args: &[&str], state: Option<&Path>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_host"));
        cmd.args(args)
            .current_dir(&s.dir)
            .env_remove("RUNAI_SIM_STATE");
        if let Some(state) = state {
            cmd.env("RUNAI_SIM_STATE", state);
        }
        let out = cmd.output().expect("host runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let named = s.dir.join("st");
    for args in [&["simulate", &pod][..], &["audit", &pod]] {
        let (code, err) = run(args, Some(&named));
        assert_eq!(code, Some(0), "{args:?}: {err}");
        let (code, err) = run(args, None);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains("runai-team-z"), "{args:?}: {err}");
    }
}
