//! Execute stages: side effects outside the data flow.
pub mod control_flow;
pub mod jdbc;
pub mod log;
