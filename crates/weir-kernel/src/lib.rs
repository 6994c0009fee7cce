//! Weir's Jupyter kernel: the Arc notebook kernel, natively. Cells run through the same engine
//! library as `weir run`, against one session that lives as long as the kernel.
//!
//! [`server`] speaks the Jupyter protocol; [`interp`] runs cells (stages, magics); [`display`]
//! renders results; [`complete`] offers snippets; [`spec`] installs the kernelspec.
pub mod complete;
pub mod display;
pub mod interp;
pub mod logging;
pub mod replay;
pub mod secrets;
pub mod server;
pub mod spec;

pub use server::{KernelError, run};
