//! The host: loads the secrets plugin into wasmtime and simulates the Run:ai
//! cluster around it. `main.rs` is a thin CLI over these modules.

pub mod audit;
pub mod bench;
pub mod cli;
pub mod cluster;
pub mod demo;
pub mod documents;
pub mod field;
pub mod input;
pub mod inspect;
pub mod isolation;
pub mod kube_write;
pub mod live;
pub mod manifest;
pub mod plugin;
pub mod report;
pub mod serve;
pub mod simulate;
pub mod state;
pub mod submit;
pub mod suite;
pub mod text;
pub mod walk;
pub mod workloads;
