//! Weir job model: HOCON/JSON parsing with positions, variable substitution and notebook conversion.
pub mod hocon;
pub mod notebook;
