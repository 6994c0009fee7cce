//! The Jupyter side: the five ZeroMQ channels (shell, iopub, control, stdin, heartbeat) with
//! HMAC-signed messages, through `jupyter-zmq-client`. Shell requests are handled one at a
//! time (cells run strictly in order); the control channel stays responsive while a cell
//! runs, so `interrupt_request` cancels the running query and `shutdown_request` ends the
//! kernel. Messages whose signature does not verify are logged and dropped.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use jupyter_protocol::{
    CodeMirrorMode, CommInfoReply, CompleteReply, ConnectionInfo, DisplayData, ErrorOutput, ExecuteInput, ExecuteReply,
    ExecutionCount, HelpLink, HistoryReply, InputRequest, InspectReply, InterruptReply, IsCompleteReply,
    IsCompleteReplyStatus, JupyterMessage, JupyterMessageContent, KernelInfoReply, LanguageInfo, Media, MediaType,
    ReplyError, ReplyStatus, ShutdownReply, Status, StreamContent, Transient, UpdateDisplayData,
};
use jupyter_zmq_client::{
    KernelStdinConnection, RuntimeError, SubscriptionEvent, create_kernel_control_connection,
    create_kernel_heartbeat_connection, create_kernel_iopub_xpub_connection, create_kernel_shell_connection,
    create_kernel_stdin_connection,
};
use tokio::sync::{Notify, mpsc, oneshot};

use crate::complete::{self, Item};
use crate::display::escape;
use crate::interp::{CellError, Frontend, Interpreter, Output, ProgressState};
use crate::replay::ReplayGuard;
use crate::secrets::Secrets;

/// Why the kernel could not run.
#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    #[error("cannot read connection file {path}: {source}")]
    ConnectionFile { path: String, source: std::io::Error },
    #[error("invalid connection file {path}: {source}")]
    ConnectionJson { path: String, source: serde_json::Error },
    #[error("cannot open the kernel's sockets: {0}")]
    Socket(#[from] RuntimeError),
}

fn kernel_info() -> KernelInfoReply {
    KernelInfoReply {
        status: ReplyStatus::Ok,
        protocol_version: "5.3".to_string(),
        implementation: "arc".to_string(),
        implementation_version: env!("CARGO_PKG_VERSION").to_string(),
        language_info: LanguageInfo {
            name: "arc".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            mimetype: Some("javascript".to_string()),
            file_extension: Some(".json".to_string()),
            pygments_lexer: Some("javascript".to_string()),
            codemirror_mode: Some(CodeMirrorMode::Simple("javascript".to_string())),
            nbconvert_exporter: Some("arcexport".to_string()),
        },
        banner: format!(
            "weir {} (Arc-compatible kernel on Apache DataFusion {})",
            env!("CARGO_PKG_VERSION"),
            datafusion::DATAFUSION_VERSION
        ),
        help_links: vec![HelpLink { text: "Arc stages".to_string(), url: "https://arc.tripl.ai".to_string() }],
        debugger: false,
        error: None,
    }
}

/// Messages published on iopub (one task owns the socket).
type Publisher = mpsc::UnboundedSender<JupyterMessage>;

/// Runs the kernel until a shutdown request, its parent process exiting, or a socket failure.
pub async fn run(connection_file: &Path) -> Result<(), KernelError> {
    let path = connection_file.display().to_string();
    let text = std::fs::read_to_string(connection_file)
        .map_err(|source| KernelError::ConnectionFile { path: path.clone(), source })?;
    let info: ConnectionInfo =
        serde_json::from_str(&text).map_err(|source| KernelError::ConnectionJson { path, source })?;
    let session_id = uuid::Uuid::new_v4().to_string();

    let mut heartbeat = create_kernel_heartbeat_connection(&info).await?;
    let (mut shell_writer, mut shell_reader) = create_kernel_shell_connection(&info, &session_id).await?.split();
    let mut control = create_kernel_control_connection(&info, &session_id).await?;
    let stdin = Arc::new(tokio::sync::Mutex::new(create_kernel_stdin_connection(&info, &session_id).await?));
    let mut iopub = create_kernel_iopub_xpub_connection(&info, &session_id).await?;
    tracing::info!(ip = %info.ip, shell = info.shell_port, "weir kernel listening");

    let (publish, mut published) = mpsc::unbounded_channel::<JupyterMessage>();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                message = published.recv() => match message {
                    Some(m) => if let Err(e) = iopub.send(m).await { tracing::warn!("iopub send failed: {e}") },
                    None => break,
                },
                event = iopub.recv_subscription() => {
                    if let Ok(SubscriptionEvent::Subscribe(topic)) = event {
                        let _ = iopub.send(jupyter_protocol::IoPubWelcome::new(topic).into()).await;
                    }
                }
            }
        }
    });
    tokio::spawn(async move { while heartbeat.single_heartbeat().await.is_ok() {} });

    let replays = Arc::new(ReplayGuard::default());
    let interrupt = Arc::new(Notify::new());
    let (shutdown_tx, mut shutdown_rx) = oneshot::channel::<()>();
    let shutdown_tx = Arc::new(Mutex::new(Some(shutdown_tx)));
    {
        let interrupt = interrupt.clone();
        let shutdown_tx = shutdown_tx.clone();
        let replays = replays.clone();
        tokio::spawn(async move {
            loop {
                let message = match accept("control", control.read().await, &replays) {
                    Ok(Some(m)) => m,
                    Ok(None) => continue,
                    Err(()) => break,
                };
                let reply = match &message.content {
                    JupyterMessageContent::KernelInfoRequest(_) => kernel_info().as_child_of(&message),
                    JupyterMessageContent::InterruptRequest(_) => {
                        tracing::info!("interrupt requested");
                        interrupt.notify_waiters();
                        InterruptReply::new().as_child_of(&message)
                    }
                    JupyterMessageContent::ShutdownRequest(req) => {
                        let reply = ShutdownReply { restart: req.restart, status: ReplyStatus::Ok, error: None }
                            .as_child_of(&message);
                        let _ = control.send(reply).await;
                        if let Some(tx) = shutdown_tx.lock().unwrap_or_else(|p| p.into_inner()).take() {
                            let _ = tx.send(());
                        }
                        continue;
                    }
                    _ => continue,
                };
                let _ = control.send(reply).await;
            }
        });
    }
    watch_parent(shutdown_tx.clone());

    let secrets = Secrets::default();
    crate::logging::set_secrets(secrets.clone());
    let env: HashMap<String, String> = std::env::vars().collect();
    let interpreter = Arc::new(tokio::sync::Mutex::new(Interpreter::new(env, secrets.clone())));
    let completion_envs = interpreter.lock().await.settings().completion_environments.clone();
    let mut items: Vec<Item> = complete::items(&completion_envs, &[]);
    let mut execution_count = ExecutionCount::new(0);

    loop {
        let message = tokio::select! {
            m = shell_reader.read() => m,
            _ = &mut shutdown_rx => break,
        };
        let message = match accept("shell", message, &replays) {
            Ok(Some(m)) => m,
            Ok(None) => continue,
            Err(()) => break,
        };
        let _ = publish.send(Status::busy().as_child_of(&message));
        let reply: Option<JupyterMessage> = match &message.content {
            JupyterMessageContent::KernelInfoRequest(_) => Some(kernel_info().as_child_of(&message)),
            JupyterMessageContent::ExecuteRequest(req) => {
                let count_it = req.store_history && !req.silent;
                if count_it {
                    execution_count.increment();
                }
                let count = execution_count;
                if !req.silent {
                    let _ = publish
                        .send(ExecuteInput { code: req.code.clone(), execution_count: count }.as_child_of(&message));
                }
                let frontend = Arc::new(KernelFrontend::new(
                    publish.clone(),
                    message.clone(),
                    req.allow_stdin.then(|| stdin.clone()),
                    secrets.clone(),
                ));
                let result = execute(interpreter.clone(), &req.code, count.value(), frontend.clone(), &interrupt).await;
                frontend.finish_progress(result.is_ok());
                let reply = match result {
                    Ok(()) => ExecuteReply { status: ReplyStatus::Ok, execution_count: count, ..Default::default() },
                    Err(e) => {
                        let evalue = secrets.mask(&e.evalue);
                        let traceback: Vec<String> = evalue.lines().map(str::to_string).collect();
                        let _ = publish.send(
                            ErrorOutput {
                                ename: e.ename.clone(),
                                evalue: evalue.clone(),
                                traceback: traceback.clone(),
                            }
                            .as_child_of(&message),
                        );
                        ExecuteReply {
                            status: ReplyStatus::Error,
                            execution_count: count,
                            error: Some(Box::new(ReplyError { ename: e.ename, evalue, traceback })),
                            ..Default::default()
                        }
                    }
                };
                // Views may have changed: refresh the completion items.
                if let Ok(it) = interpreter.try_lock() {
                    items = complete::items(&completion_envs, &it.views().await);
                }
                Some(reply.as_child_of(&message))
            }
            JupyterMessageContent::CompleteRequest(req) => {
                let (matches, cursor_start, cursor_end, metadata) =
                    complete::complete(&req.code, req.cursor_pos, &items);
                let metadata = metadata.as_object().cloned().unwrap_or_default();
                Some(
                    CompleteReply { matches, cursor_start, cursor_end, metadata, status: ReplyStatus::Ok, error: None }
                        .as_child_of(&message),
                )
            }
            JupyterMessageContent::IsCompleteRequest(req) => Some(is_complete(&req.code).as_child_of(&message)),
            JupyterMessageContent::InspectRequest(_) => Some(InspectReply::default().as_child_of(&message)),
            JupyterMessageContent::HistoryRequest(_) => Some(HistoryReply::new(Vec::new()).as_child_of(&message)),
            JupyterMessageContent::CommInfoRequest(_) => Some(
                CommInfoReply { status: ReplyStatus::Ok, comms: Default::default(), error: None }.as_child_of(&message),
            ),
            JupyterMessageContent::ShutdownRequest(req) => {
                let reply = ShutdownReply { restart: req.restart, status: ReplyStatus::Ok, error: None };
                let _ = shell_writer.send(reply.as_child_of(&message)).await;
                let _ = publish.send(Status::idle().as_child_of(&message));
                break;
            }
            other => {
                tracing::debug!("unhandled shell message {}", other.message_type());
                None
            }
        };
        if let Some(reply) = reply
            && let Err(e) = shell_writer.send(reply).await
        {
            tracing::warn!("shell reply failed: {e}");
        }
        let _ = publish.send(Status::idle().as_child_of(&message));
    }
    // Let the publisher flush the last status messages.
    tokio::time::sleep(Duration::from_millis(50)).await;
    tracing::info!("weir kernel shutting down");
    Ok(())
}

/// A channel read: the message, `None` for a bad message (logged and dropped), or `Err` when
/// the socket failed (the channel is done).
fn accept(
    channel: &str,
    read: Result<JupyterMessage, RuntimeError>,
    replays: &ReplayGuard,
) -> Result<Option<JupyterMessage>, ()> {
    match read {
        Ok(m) if !replays.first_time(&serde_json::to_string(&m.header).unwrap_or_default()) => {
            tracing::warn!(
                "ignored a message on the {channel} channel: a replay of message {} ({})",
                m.header.msg_id,
                m.header.msg_type
            );
            Ok(None)
        }
        Ok(m) => Ok(Some(m)),
        Err(e) if fatal(&e) => {
            tracing::error!("{channel} channel closed: {e}");
            Err(())
        }
        Err(e) => {
            tracing::warn!("ignored a message on the {channel} channel: {}", describe(&e));
            Ok(None)
        }
    }
}

/// Socket-level failures end the kernel; bad messages (signature, parse) are dropped.
fn fatal(e: &RuntimeError) -> bool {
    matches!(e, RuntimeError::ZmqError(_) | RuntimeError::IoError(_))
}

fn describe(e: &RuntimeError) -> String {
    match e {
        RuntimeError::VerifyError(_) => "invalid HMAC signature".to_string(),
        other => other.to_string(),
    }
}

/// Runs a cell, cancelling it when an interrupt arrives; progress is refreshed meanwhile.
async fn execute(
    interpreter: Arc<tokio::sync::Mutex<Interpreter>>,
    code: &str,
    count: usize,
    frontend: Arc<KernelFrontend>,
    interrupt: &Notify,
) -> Result<(), CellError> {
    let notified = interrupt.notified();
    tokio::pin!(notified);
    notified.as_mut().enable();
    let code = code.to_string();
    let fe = frontend.clone();
    let mut task = tokio::spawn(async move {
        let mut it = interpreter.lock().await;
        it.execute(&code, count, fe.as_ref()).await
    });
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tokio::select! {
            result = &mut task => {
                return result.unwrap_or_else(|e| Err(CellError { ename: "InternalError".into(), evalue: format!("the cell's task failed: {e}") }));
            }
            _ = &mut notified => {
                task.abort();
                let _ = task.await;
                return Err(CellError {
                    ename: "Interrupted".into(),
                    evalue: "Cell interrupted: the running query was cancelled.".into(),
                });
            }
            _ = tick.tick() => frontend.tick(),
        }
    }
}

fn is_complete(code: &str) -> IsCompleteReply {
    let first = code.trim_start();
    if first.starts_with('%') {
        return IsCompleteReply { status: IsCompleteReplyStatus::Complete, indent: String::new() };
    }
    let mut depth: i64 = 0;
    let mut in_string = false;
    let mut escaped = false;
    for c in code.chars() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' | '[' => depth += 1,
            '}' | ']' => depth -= 1,
            _ => {}
        }
    }
    match depth.cmp(&0) {
        std::cmp::Ordering::Greater => {
            IsCompleteReply { status: IsCompleteReplyStatus::Incomplete, indent: "  ".into() }
        }
        std::cmp::Ordering::Less => IsCompleteReply { status: IsCompleteReplyStatus::Invalid, indent: String::new() },
        std::cmp::Ordering::Equal => IsCompleteReply { status: IsCompleteReplyStatus::Complete, indent: String::new() },
    }
}

/// Ends the kernel when the process that started it goes away (Jupyter sets `JPY_PARENT_PID`).
fn watch_parent(shutdown: Arc<Mutex<Option<oneshot::Sender<()>>>>) {
    #[cfg(unix)]
    {
        let parent = std::env::var("JPY_PARENT_PID").ok().and_then(|p| p.parse::<u32>().ok());
        let original = std::os::unix::process::parent_id();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let gone = match parent {
                    Some(pid) if cfg!(target_os = "linux") => !Path::new(&format!("/proc/{pid}")).exists(),
                    _ => std::os::unix::process::parent_id() != original,
                };
                if gone {
                    tracing::warn!("the process that started the kernel is gone: shutting down");
                    if let Some(tx) = shutdown.lock().unwrap_or_else(|p| p.into_inner()).take() {
                        let _ = tx.send(());
                    }
                    // The shell loop may be busy with a cell: don't wait for it.
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    std::process::exit(0);
                }
            }
        });
    }
}

struct ProgressLine {
    text: String,
    started: Instant,
    stage_started: Instant,
    display_id: Option<String>,
}

/// Output of one execute request, sent as children of that request.
struct KernelFrontend {
    publish: Publisher,
    parent: JupyterMessage,
    stdin: Option<Arc<tokio::sync::Mutex<KernelStdinConnection>>>,
    secrets: Secrets,
    progress: Mutex<ProgressLine>,
}

impl KernelFrontend {
    fn new(
        publish: Publisher,
        parent: JupyterMessage,
        stdin: Option<Arc<tokio::sync::Mutex<KernelStdinConnection>>>,
        secrets: Secrets,
    ) -> Self {
        let now = Instant::now();
        Self {
            publish,
            parent,
            stdin,
            secrets,
            progress: Mutex::new(ProgressLine {
                text: String::new(),
                started: now,
                stage_started: now,
                display_id: None,
            }),
        }
    }

    fn send(&self, content: impl Into<JupyterMessageContent>) {
        let _ = self.publish.send(JupyterMessage::new(content.into(), Some(&self.parent)));
    }

    fn progress_media(text: &str, state: ProgressState) -> Media {
        let color = match state {
            ProgressState::Running => "#1f77b4",
            ProgressState::Done => "#2ca02c",
            ProgressState::Failed => "#d62728",
        };
        Media::new(vec![
            MediaType::Html(format!(
                "<div class=\"weir-progress\" style=\"border-left: 4px solid {color}; padding-left: 6px\">{}</div>",
                escape(text)
            )),
            MediaType::Plain(text.to_string()),
        ])
    }

    /// Shows the progress line once a cell has run for a second, then updates it in place.
    fn tick(&self) {
        let mut p = self.progress.lock().unwrap_or_else(|e| e.into_inner());
        if p.text.is_empty() || p.started.elapsed() < Duration::from_secs(1) {
            return;
        }
        let text = format!("{} ({:.1} s)", p.text, p.stage_started.elapsed().as_secs_f64());
        let media = Self::progress_media(&text, ProgressState::Running);
        match &p.display_id {
            Some(id) => self.send(UpdateDisplayData::new(media, id)),
            None => {
                let id = format!("weir-progress-{}", uuid::Uuid::new_v4());
                self.send(DisplayData {
                    data: media,
                    metadata: Default::default(),
                    transient: Some(Transient { display_id: Some(id.clone()) }),
                });
                p.display_id = Some(id);
            }
        }
    }

    fn finish_progress(&self, ok: bool) {
        let p = self.progress.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(id) = &p.display_id {
            let state = if ok { ProgressState::Done } else { ProgressState::Failed };
            let text = if ok {
                format!("done in {:.1} s", p.started.elapsed().as_secs_f64())
            } else {
                format!("{} — stopped after {:.1} s", p.text, p.started.elapsed().as_secs_f64())
            };
            self.send(UpdateDisplayData::new(Self::progress_media(&text, state), id));
        }
    }
}

#[async_trait]
impl Frontend for KernelFrontend {
    fn display(&self, output: Output) {
        match output {
            Output::Table { table, options, log } => {
                let mut html = table.html(&options);
                let mut text = table.text();
                if let Some(log) = log {
                    let log = self.secrets.mask(&log);
                    html.push_str(&format!("<pre>{}</pre>", escape(&log)));
                    text.push_str(&log);
                    text.push('\n');
                }
                self.send(DisplayData::new(Media::new(vec![MediaType::Html(html), MediaType::Plain(text)])));
            }
            Output::Text(text) => {
                self.send(DisplayData::new(Media::new(vec![MediaType::Plain(self.secrets.mask(&text))])));
            }
            Output::Warning(text) => self.send(StreamContent::stderr(&format!("{}\n", self.secrets.mask(&text)))),
        }
    }

    fn progress(&self, text: &str, state: ProgressState) {
        let mut p = self.progress.lock().unwrap_or_else(|e| e.into_inner());
        if state == ProgressState::Running {
            p.stage_started = Instant::now();
            p.text = text.to_string();
        }
    }

    async fn input(&self, prompt: &str, password: bool) -> Option<String> {
        let stdin = self.stdin.as_ref()?;
        let mut stdin = stdin.lock().await;
        let request = InputRequest { prompt: prompt.to_string(), password }.as_child_of(&self.parent);
        stdin.send(request).await.ok()?;
        loop {
            match stdin.read().await {
                Ok(reply) => {
                    if let JupyterMessageContent::InputReply(r) = reply.content {
                        return Some(r.value);
                    }
                }
                Err(e) if fatal(&e) => return None,
                Err(e) => tracing::warn!("ignored a message on the stdin channel: {}", describe(&e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completeness_follows_brackets() {
        assert!(matches!(is_complete("{\"type\": \"x\"").status, IsCompleteReplyStatus::Incomplete));
        assert!(matches!(is_complete("{\"a\": \"}\"}").status, IsCompleteReplyStatus::Complete));
        assert!(matches!(is_complete("%sql\nSELECT (").status, IsCompleteReplyStatus::Complete));
        assert!(matches!(is_complete("}").status, IsCompleteReplyStatus::Invalid));
    }

    #[test]
    fn kernel_info_matches_arc() {
        let info = kernel_info();
        assert_eq!(info.implementation, "arc");
        assert_eq!(info.language_info.name, "arc");
        assert_eq!(info.language_info.file_extension.as_deref(), Some(".json"));
        assert_eq!(info.language_info.nbconvert_exporter.as_deref(), Some("arcexport"));
    }
}
