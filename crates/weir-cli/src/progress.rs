//! Progress on stderr while stages run, when stderr is a terminal: the running stage and
//! its elapsed time, redrawn in place.

use std::io::Write;
use std::sync::Mutex;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use weir_engine::job::PlannedStage;
use weir_engine::runner::{Observer, StageReport};

enum Msg {
    Start(String),
    Stop,
}

/// Draws progress from a background thread; a no-op when disabled.
pub struct Progress {
    tx: Option<Sender<Msg>>,
    handle: Mutex<Option<JoinHandle<()>>>,
}

impl Progress {
    pub fn new(enabled: bool) -> Self {
        if !enabled {
            return Self { tx: None, handle: Mutex::new(None) };
        }
        let (tx, rx) = mpsc::channel::<Msg>();
        let handle = std::thread::spawn(move || {
            let mut current: Option<(String, Instant)> = None;
            loop {
                match rx.recv_timeout(Duration::from_millis(200)) {
                    Ok(Msg::Start(label)) => current = Some((label, Instant::now())),
                    Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => break,
                    Err(RecvTimeoutError::Timeout) => {}
                }
                if let Some((label, since)) = &current {
                    let elapsed = since.elapsed();
                    if elapsed > Duration::from_millis(500) {
                        let mut err = std::io::stderr().lock();
                        let _ = write!(err, "\r\x1b[2K{label} … {:.1} s", elapsed.as_secs_f64());
                        let _ = err.flush();
                    }
                }
            }
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
        });
        Self { tx: Some(tx), handle: Mutex::new(Some(handle)) }
    }

    /// Stops drawing and erases the progress line.
    pub fn clear(&self) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(Msg::Stop);
        }
        if let Some(handle) = self.handle.lock().ok().and_then(|mut h| h.take()) {
            let _ = handle.join();
        }
    }
}

impl Observer for Progress {
    fn stage_started(&self, position: usize, total: usize, stage: &PlannedStage) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(Msg::Start(format!("[{}/{}] {} '{}'", position + 1, total, stage.type_name, stage.name)));
        }
    }

    fn stage_finished(&self, _report: &StageReport) {}
}
