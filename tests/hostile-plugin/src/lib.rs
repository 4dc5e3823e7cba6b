//! A plugin of the real contract that misbehaves when the workload asks it to:
//! `hostile-loop` spins forever, `hostile-oom` allocates without end,
//! `hostile-trap` panics, `hostile-huge` answers with a 8 MiB message. Anything else
//! gets an ordinary admitting decision. Built by host/build.rs for the tests only.

#[cfg(target_arch = "wasm32")]
mod export {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "secrets-policy",
    });

    use exports::runai::secrets_policy::evaluator as wit;

    struct Hostile;

    export!(Hostile);

    impl wit::Guest for Hostile {
        fn check_policies(
            _: Vec<wit::PolicyDocument>,
            _: Vec<wit::ProjectInfo>,
        ) -> Vec<wit::Diagnostic> {
            Vec::new()
        }

        fn identify(workload: String) -> Result<wit::WorkloadId, wit::InputError> {
            misbehave(&workload);
            Ok(id())
        }

        fn evaluate(request: wit::Submission) -> Result<wit::Decision, wit::InputError> {
            let message = misbehave(&request.workload);
            Ok(wit::Decision {
                workload: id(),
                allowed: true,
                violations: Vec::new(),
                warnings: vec![wit::Warning {
                    code: "hostile".into(),
                    field: String::new(),
                    message,
                    secret: None,
                    policy: String::new(),
                    audit: false,
                }],
                patch: "[]".into(),
                env: Vec::new(),
                startup: wit::Startup {
                    starts: true,
                    containers: Vec::new(),
                },
                references: Vec::new(),
            })
        }

        fn check_removal(
            removal: wit::Removal,
            _: Vec<wit::PolicyDocument>,
            _: Vec<wit::SecretUser>,
        ) -> Result<wit::RemovalDecision, wit::InputError> {
            let message = misbehave(&removal.secret);
            Ok(wit::RemovalDecision {
                allowed: true,
                mode: "warn".into(),
                policy: String::new(),
                breaks: Vec::new(),
                message,
            })
        }
    }

    fn id() -> wit::WorkloadId {
        wit::WorkloadId {
            form: wit::WorkloadForm::RunaiCrd,
            kind: "TrainingWorkload".into(),
            name: "hostile".into(),
            namespace: Some("runai-team-a".into()),
            project: None,
            workload_type: Some("training".into()),
        }
    }

    fn misbehave(workload: &str) -> String {
        if workload.contains("hostile-loop") {
            let mut n: u64 = 0;
            loop {
                n = std::hint::black_box(n.wrapping_add(1));
            }
        }
        if workload.contains("hostile-oom") {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(vec![1u8; 1 << 20]);
                std::hint::black_box(&hoard);
            }
        }
        if workload.contains("hostile-trap") {
            panic!("hostile plugin trapped on purpose");
        }
        if workload.contains("hostile-huge") {
            return "x".repeat(8 << 20);
        }
        String::new()
    }
}
