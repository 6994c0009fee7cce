//! The kernel's own log, on stderr (Jupyter servers show or keep it): warnings, protocol
//! problems such as messages with a bad signature, and the engine's JSON stage events. Every
//! line passes through [`Secrets::mask`] so `%secret` values never reach the log.

use std::io::Write;
use std::sync::OnceLock;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::secrets::Secrets;

static SECRETS: OnceLock<Secrets> = OnceLock::new();

/// Sets the secrets masked in the log (once per process).
pub fn set_secrets(secrets: Secrets) {
    let _ = SECRETS.set(secrets);
}

/// A stderr writer that masks secrets.
pub struct MaskingWriter;

impl Write for MaskingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let masked = match SECRETS.get() {
            Some(s) => s.mask(&text),
            None => weir_engine::mask::mask_credentials(&text).into_owned(),
        };
        std::io::stderr().write_all(masked.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

impl<'a> MakeWriter<'a> for MaskingWriter {
    type Writer = MaskingWriter;
    fn make_writer(&'a self) -> Self::Writer {
        MaskingWriter
    }
}

/// Installs the kernel's log subscriber (`WEIR_KERNEL_LOG` overrides the filter).
pub fn init() {
    let filter = EnvFilter::try_from_env("WEIR_KERNEL_LOG").unwrap_or_else(|_| {
        EnvFilter::new("info,aws_config=error,buoyant_kernel=off,deltalake_core::operations::merge=error,zeromq=warn")
    });
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(MaskingWriter).with_ansi(false).try_init();
}
