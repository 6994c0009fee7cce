//! Extract stages: read data into a view.
pub mod avro;
pub mod bytes;
pub mod delimited;
pub mod delta;
pub mod http;
pub mod jdbc;
pub mod json;
pub mod metadata;
pub mod orc;
pub mod parquet;
pub mod source;
pub mod statistics;
pub mod text;
