//! Validate stages: fail the job when data is not as expected.
pub mod equality;
pub mod sql;
