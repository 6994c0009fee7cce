//! Load stages: write a view somewhere.
pub mod avro;
pub mod console;
pub mod delimited;
pub mod delta;
pub mod delta_merge;
pub mod encoded;
pub mod files;
pub mod http;
pub mod jdbc;
pub mod json;
pub mod orc;
pub mod parquet;
pub mod swap;
pub mod text;
