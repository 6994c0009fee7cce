//! Execute stages: side effects outside the data flow.
pub mod config;
pub mod control_flow;
pub mod http;
pub mod jdbc;
pub mod log;
pub mod pipeline;
