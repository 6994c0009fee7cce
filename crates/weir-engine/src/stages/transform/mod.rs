//! Transform stages: views to views.
pub mod diff;
pub mod http;
pub mod json;
pub mod metadata;
pub mod metadata_filter;
pub mod similarity_join;
pub mod sql;
pub mod typing;
