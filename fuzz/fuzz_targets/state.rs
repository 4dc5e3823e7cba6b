#![no_main]
// The checks are in fuzz/src/lib.rs (shared with `cargo test`).
libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz::state(data));
