//! Arc-compatible JSON log events.
//!
//! Each event is one JSON object: the event's own fields first, then `level`, `thread_name`,
//! `class`, `logger_name`, `timestamp` (`yyyy-MM-dd HH:mm:ss.SSSZ`) and the run's context
//! fields (`environment`, `jobId`, `jobName`, tags…), as Arc writes them. Events are emitted
//! through `tracing` under the target [`EVENT_TARGET`] with the whole line in the field
//! `json`; the CLI prints them to stdout one per line, the kernel and service capture them.

use serde_json::{Map, Value};

/// `tracing` target of Arc-style events.
pub const EVENT_TARGET: &str = "weir::event";

/// Severity of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
        }
    }
}

/// Builds and emits the events of one run.
#[derive(Debug, Clone, Default)]
pub struct EventLog {
    logger_name: String,
    context: Map<String, Value>,
}

impl EventLog {
    /// `logger_name` is the job id (or a generated run id); `context` holds the fields added to
    /// every line, all as strings (Arc's MDC).
    pub fn new(logger_name: impl Into<String>, context: Map<String, Value>) -> Self {
        Self { logger_name: logger_name.into(), context }
    }

    /// Completes an event with the standard fields and returns it without emitting it.
    pub fn build(&self, level: Level, mut fields: Map<String, Value>) -> Map<String, Value> {
        fields.insert("level".into(), level.as_str().into());
        fields.insert("thread_name".into(), "main".into());
        fields.insert("class".into(), "weir".into());
        fields.insert("logger_name".into(), self.logger_name.clone().into());
        fields.insert("timestamp".into(), chrono::Utc::now().format("%Y-%m-%d %H:%M:%S%.3f%z").to_string().into());
        for (k, v) in &self.context {
            fields.insert(k.clone(), v.clone());
        }
        fields
    }

    /// Emits one event.
    pub fn emit(&self, level: Level, fields: Map<String, Value>) {
        let line = Value::Object(self.build(level, fields)).to_string();
        match level {
            Level::Info => tracing::info!(target: EVENT_TARGET, json = %line),
            Level::Warn => tracing::warn!(target: EVENT_TARGET, json = %line),
            Level::Error => tracing::error!(target: EVENT_TARGET, json = %line),
        }
    }

    pub fn info(&self, fields: Map<String, Value>) {
        self.emit(Level::Info, fields)
    }

    pub fn warn(&self, fields: Map<String, Value>) {
        self.emit(Level::Warn, fields)
    }
}

/// Shorthand for building a JSON object: `obj! { "event" => "enter", "duration" => 12 }`.
#[macro_export]
macro_rules! obj {
    ($($k:expr => $v:expr),* $(,)?) => {{
        #[allow(unused_mut)]
        let mut m = serde_json::Map::new();
        $( m.insert(($k).to_string(), serde_json::json!($v)); )*
        m
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_fields_follow_event_fields() {
        let mut ctx = Map::new();
        ctx.insert("environment".into(), "dev".into());
        let log = EventLog::new("job-1", ctx);
        let event = log.build(Level::Info, crate::obj! {"event" => "enter"});
        let keys: Vec<&str> = event.keys().map(String::as_str).collect();
        assert_eq!(keys, ["event", "level", "thread_name", "class", "logger_name", "timestamp", "environment"]);
        assert_eq!(event["logger_name"], "job-1");
        let ts = event["timestamp"].as_str().unwrap();
        assert!(ts.ends_with("+0000") && ts.len() == 28, "{ts}");
    }
}
