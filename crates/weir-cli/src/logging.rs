//! Routes `tracing` output: Arc-style events (target `weir::event`) go to stdout as one JSON
//! object per line; everything else goes to stderr, filtered by `RUST_LOG` (default: warnings).

use std::io::Write;

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};
use weir_engine::events::EVENT_TARGET;
use weir_engine::mask::mask_credentials;

/// stderr, with credentials masked (the fmt layer writes each event in one call).
struct MaskedStderr;

impl Write for MaskedStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        std::io::stderr().write_all(mask_credentials(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

impl<'a> MakeWriter<'a> for MaskedStderr {
    type Writer = MaskedStderr;
    fn make_writer(&'a self) -> Self::Writer {
        MaskedStderr
    }
}

struct JsonField(Option<String>);

impl Visit for JsonField {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "json" {
            self.0 = Some(value.to_string());
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "json" {
            self.0 = Some(format!("{value:?}"));
        }
    }
}

/// The event lines of this process, kept when `WEIR_EVENTS_URI` asks for a copy ([`events_copy`]).
static KEPT: std::sync::Mutex<Option<Vec<String>>> = std::sync::Mutex::new(None);

/// Keeps every event line from now on, for [`events_copy`].
pub fn keep_events() {
    *KEPT.lock().unwrap_or_else(|p| p.into_inner()) = Some(Vec::new());
}

/// The event lines kept since [`keep_events`], one per line.
pub fn events_copy() -> String {
    let kept = KEPT.lock().unwrap_or_else(|p| p.into_inner());
    kept.as_ref().map(|lines| lines.iter().map(|l| format!("{l}\n")).collect()).unwrap_or_default()
}

/// Prints the `json` field of engine events on stdout.
struct EventsToStdout;

impl<S: Subscriber> Layer<S> for EventsToStdout {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if event.metadata().target() != EVENT_TARGET {
            return;
        }
        let mut visitor = JsonField(None);
        event.record(&mut visitor);
        if let Some(line) = visitor.0 {
            let line = mask_credentials(&line);
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
            if let Some(kept) = KEPT.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
                kept.push(line.into_owned());
            }
        }
    }
}

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new("warn,aws_config=error,buoyant_kernel=off,deltalake_core::operations::merge=error")
    });
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(MaskedStderr)
        .with_target(true)
        .with_filter(tracing_subscriber::filter::filter_fn(|m| m.target() != EVENT_TARGET))
        .with_filter(filter);
    let _ = tracing_subscriber::registry().with(EventsToStdout).with(stderr).try_init();
}

/// The service's log: info and above on stderr (`RUST_LOG` overrides).
pub fn init_service() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,aws_config=error,buoyant_kernel=off,hyper=warn"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(MaskedStderr).with_ansi(false).try_init();
}
