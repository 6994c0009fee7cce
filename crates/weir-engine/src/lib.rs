//! Weir engine: runs Arc-style ETL jobs on Apache DataFusion and Delta Lake.
//!
//! Data flows one way: a job file is loaded and its stages resolved ([`job`]), each stage is
//! built and validated from its config ([`stages`], [`config`]), then [`runner`] executes
//! them in order against a [`session::Session`] (DataFusion with Spark SQL compatibility from
//! [`sql`], Delta Lake via delta-rs), reading and writing through [`storage`], and reporting
//! Arc-style JSON [`events`].
pub mod athena;
pub mod compression;
pub mod config;
pub mod delta;
pub mod events;
pub mod failpoint;
pub mod http;
pub mod jdbc;
pub mod job;
pub mod mask;
pub mod memory;
pub mod runner;
pub mod session;
pub mod sql;
pub mod stages;
pub mod storage;
pub mod typing;
pub mod vacuum;
pub mod view_cache;
