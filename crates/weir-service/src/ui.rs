//! The web UI: server-rendered pages (no front-end build, nothing to download): the runs list,
//! a run's detail with its stage timeline and log, and the login page. Nothing inline: the
//! style sheet is `/ui.css` and there are no scripts, so the Content-Security-Policy
//! ([`crate::websec::CSP`]) allows only the service's own style sheet.

use crate::store::{Run, StageRecord};

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The style sheet, served at `/ui.css`.
pub const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem;color:#222}table{border-collapse:collapse}\
td,th{padding:4px 10px;border-bottom:1px solid #ddd;text-align:left}.succeeded{color:#2a7d2a}.failed{color:#b22}\
.running{color:#1f5fa8}.queued,.cancelled{color:#777}pre{background:#f6f6f6;padding:1rem;overflow:auto;max-height:40rem}\
.bar rect{fill:#4c8bd6}form.cancel{margin:1rem 0}";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{} · Weir</title><link rel=\"stylesheet\" href=\"/ui.css\"></head><body><h1>{}</h1>{body}</body></html>",
        escape(title),
        escape(title)
    )
}

fn duration(run: &Run) -> String {
    let parse = |t: &Option<String>| t.as_deref().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
    match (parse(&run.started_at), parse(&run.finished_at)) {
        (Some(s), Some(f)) => format!("{:.1} s", (f - s).num_milliseconds() as f64 / 1000.0),
        (Some(_), None) => "running".into(),
        _ => String::new(),
    }
}

fn schedules_table(schedules: &[serde_json::Value]) -> String {
    if schedules.is_empty() {
        return String::new();
    }
    let mut rows = String::new();
    for s in schedules {
        let text = |k: &str| escape(s[k].as_str().unwrap_or(""));
        let next: Vec<String> =
            s["next"].as_array().map(|a| a.iter().filter_map(|t| t.as_str()).map(escape).collect()).unwrap_or_default();
        let warning = s["warning"]
            .as_str()
            .map(|w| format!("<br><span class=\"failed\">{}</span>", escape(w)))
            .unwrap_or_default();
        rows.push_str(&format!(
            "<tr class=\"schedule\"><td>{}</td><td><code>{}</code> {}{warning}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            text("name"),
            text("cron"),
            text("timezone"),
            text("job"),
            escape(s["concurrency"].as_str().unwrap_or("allow")),
            next.join("<br>")
        ));
    }
    format!(
        "<h2>Schedules</h2><table id=\"schedules\"><thead><tr><th>name</th><th>cron</th><th>job</th><th>concurrency</th><th>next fire times (UTC)</th></tr></thead><tbody>{rows}</tbody></table><h2>Runs</h2>"
    )
}

/// The runs list, with the schedules and their next fire times above it.
pub fn runs_page(runs: &[Run], schedules: &[serde_json::Value]) -> String {
    let mut rows = String::new();
    for r in runs {
        rows.push_str(&format!(
            "<tr class=\"run\"><td><a href=\"/runs/{id}\">#{id}</a></td><td class=\"{st}\">{st}</td><td>{job}</td><td>{trigger}</td><td>{start}</td><td>{dur}</td></tr>",
            id = r.id,
            st = r.status.as_str(),
            job = escape(&r.job),
            trigger = escape(&r.trigger),
            start = escape(r.started_at.as_deref().unwrap_or(&r.created_at)),
            dur = duration(r),
        ));
    }
    if runs.is_empty() {
        rows.push_str(
            "<tr><td colspan=\"6\">No runs yet: drop a job file into a trigger location, or POST /api/runs.</td></tr>",
        );
    }
    page(
        "Runs",
        &format!(
            "{}<table id=\"runs\"><thead><tr><th>run</th><th>status</th><th>job</th><th>trigger</th><th>start</th><th>duration</th></tr></thead><tbody>{rows}</tbody></table>",
            schedules_table(schedules)
        ),
    )
}

/// One run: stage timeline with row counts, error and log; a cancel button (a form carrying
/// the session's `csrf` token) while it is queued or running.
pub fn run_page(run: &Run, stages: &[StageRecord], log: &str, csrf: &str) -> String {
    let total: i64 = stages.iter().filter_map(|s| s.duration_ms).sum::<i64>().max(1);
    let mut rows = String::new();
    for s in stages {
        let ms = s.duration_ms.unwrap_or(0);
        let width = (ms * 300 / total).max(1);
        rows.push_str(&format!(
            "<tr class=\"stage\"><td>{}</td><td>{}</td><td>{}</td><td class=\"{st}\">{st}</td><td>{}</td><td>{ms} ms <svg class=\"bar\" width=\"{width}\" height=\"10\"><rect width=\"{width}\" height=\"10\"/></svg></td></tr>",
            s.index,
            escape(&s.name),
            escape(&s.type_name),
            s.rows.map(|r| r.to_string()).unwrap_or_default(),
            st = escape(&s.status),
        ));
    }
    let error = run
        .error
        .as_deref()
        .map(|e| format!("<p class=\"failed\"><b>Error:</b> {}</p>", escape(e)))
        .unwrap_or_default();
    let status = run.status.as_str();
    let cancel = if matches!(run.status, crate::store::Status::Queued | crate::store::Status::Running) {
        format!(
            "<form class=\"cancel\" method=\"post\" action=\"/runs/{}/cancel\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><button type=\"submit\">Cancel run</button></form>",
            run.id,
            escape(csrf)
        )
    } else {
        String::new()
    };
    page(
        &format!("Run #{}", run.id),
        &format!(
            "<p><a href=\"/\">all runs</a></p><p>Job <code>{}</code>, trigger {}, status <span class=\"{status}\">{status}</span>, started {}, {}{}</p>{error}{cancel}\
             <h2>Stages</h2><table id=\"stages\"><thead><tr><th>#</th><th>name</th><th>type</th><th>status</th><th>rows</th><th>duration</th></tr></thead><tbody>{rows}</tbody></table>\
             <h2>Log</h2><pre id=\"log\">{}</pre>",
            escape(&run.job),
            escape(&run.trigger),
            escape(run.started_at.as_deref().unwrap_or("-")),
            duration(run),
            {
                let mut extra = String::new();
                if run.duplicates > 0 {
                    extra.push_str(&format!(", {} duplicate event(s)", run.duplicates));
                }
                if let Some(of) = run.retry_of {
                    extra.push_str(&format!(", attempt {} (retry of <a href=\"/runs/{of}\">#{of}</a>)", run.attempt));
                }
                extra
            },
            escape(log),
        ),
    )
}

pub fn not_found(id: i64) -> String {
    page("Not found", &format!("<p>No run #{id}. <a href=\"/\">All runs</a></p>"))
}

pub fn login_html(message: Option<&str>) -> String {
    let message = message.map(|m| format!("<p class=\"failed\">{}</p>", escape(m))).unwrap_or_default();
    page(
        "Sign in",
        &format!(
            "{message}<form method=\"post\" action=\"/login\"><label>API token <input type=\"password\" name=\"token\" autofocus></label> <button type=\"submit\">Sign in</button></form><p>The token is WEIR_API_TOKEN, or the one printed at the service's first start (DATA_DIR/api-token).</p>"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Status;

    #[test]
    fn pages_escape_and_link() {
        let run = Run {
            id: 3,
            job: "/jobs/<x>.json".into(),
            trigger: "directory".into(),
            status: Status::Failed,
            created_at: "2026-11-25T10:00:00.000Z".into(),
            started_at: Some("2026-11-25T10:00:00.000Z".into()),
            finished_at: Some("2026-11-25T10:00:02.500Z".into()),
            exit_code: Some(1),
            error: Some("stage 'a' failed".into()),
            duplicates: 0,
            env: Default::default(),
            attempt: 2,
            retry_of: Some(2),
            not_before: None,
            job_version: None,
            job_hash: None,
            pid: None,
            pid_start: None,
            task_arn: None,
        };
        let list = runs_page(std::slice::from_ref(&run), &[]);
        assert!(
            list.contains("<a href=\"/runs/3\">#3</a>")
                && list.contains("/jobs/&lt;x&gt;.json")
                && list.contains("2.5 s")
        );
        let stage = StageRecord {
            index: 0,
            name: "extract".into(),
            type_name: "DelimitedExtract".into(),
            status: "succeeded".into(),
            duration_ms: Some(10),
            rows: Some(1000),
        };
        let detail = run_page(&run, &[stage], "log <line>", "tok");
        assert!(
            detail.contains("<td>extract</td>")
                && detail.contains("<td>1000</td>")
                && detail.contains("log &lt;line&gt;")
                && detail.contains("attempt 2 (retry of <a href=\"/runs/2\">#2</a>)")
                && !detail.contains("<form")
                && !detail.contains("style=")
        );
        let queued = Run { status: Status::Queued, ..run };
        let page = run_page(&queued, &[], "", "t<k");
        assert!(page.contains("action=\"/runs/3/cancel\"") && page.contains("name=\"csrf\" value=\"t&lt;k\""));
    }
}
