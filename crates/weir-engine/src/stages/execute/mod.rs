//! Execute stages: side effects outside the data flow.
pub mod jdbc;
pub mod log;
