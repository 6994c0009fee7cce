//! Validate stages: fail the job when data is not as expected.
pub mod equality;
pub mod metadata;
pub mod sql;
