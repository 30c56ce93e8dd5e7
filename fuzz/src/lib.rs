//! The fuzz targets' bodies (`harness.rs`), shared with the bounded run in `cargo test`
//! (`tests/robustness.rs` includes the same file).

#[path = "harness.rs"]
pub mod harness;
