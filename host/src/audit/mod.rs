//! After admission (SPEC §11): every workload that exists evaluated against the
//! current view, its findings in PolicyReports, metrics and `host audit`.

pub mod policy_report;
