//! Integration tests: the real `weir` binary on real files and a real S3-compatible server.
//! One test binary, so the engine is linked once.

mod cases;
mod support;
