//! Transform stages: views to views.
pub mod sql;
pub mod typing;
