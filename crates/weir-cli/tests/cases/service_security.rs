//! `weir serve` exposure: secret env values, job roots, the env allowlist, file modes, web
//! protections (headers, `next=`, CSRF), header-read timeouts and the root check — all
//! against the real binary over a real socket.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use super::Scratch;
use super::service::{Service, TOKEN, TRIVIAL_JOB, drop_job};

/// Sends `request` as is and returns the whole response (headers and body).
fn raw(addr: &str, request: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    stream.write_all(request.as_bytes()).expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    response
}

fn status(response: &str) -> u16 {
    response.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// The value of header `name` (lowercase) in a raw response.
fn header<'a>(response: &'a str, name: &str) -> Option<&'a str> {
    let head = response.split("\r\n\r\n").next()?;
    head.lines().find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim()))
}

/// A POST with the given extra header lines and body.
fn post(addr: &str, path: &str, headers: &[String], content_type: &str, body: &str) -> String {
    let mut request = format!("POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for h in headers {
        request.push_str(&format!("{h}\r\n"));
    }
    request.push_str(&format!("Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}", body.len()));
    raw(addr, &request)
}

fn get(addr: &str, path: &str, headers: &[String]) -> String {
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for h in headers {
        request.push_str(&format!("{h}\r\n"));
    }
    request.push_str("\r\n");
    raw(addr, &request)
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

/// A job (HOCON: the variable is substituted into `sqlParams`) that succeeds only when `${var}` is `expected`, comparing it reversed so the job file
/// does not hold the value itself.
fn check_job(var: &str, expected: &str) -> String {
    let reversed: String = expected.chars().rev().collect();
    format!(
        r#"{{"stages": [{{"type": "SQLValidate", "name": "check", "environments": ["dev"],
            "sqlParams": {{"value": ${{{var}}}}},
            "sql": "SELECT reverse('${{value}}') = '{reversed}' AS valid, 'compared' AS message"}}]}}"#
    )
}

#[test]
fn secret_env_values_reach_runs_but_no_response_page_or_store_file() {
    const TRIGGER_SECRET: &str = "wr9Kq2-trigger-secret-value";
    const API_SECRET: &str = "api-sekrit-4711-value";
    const SCHEDULE_SECRET: &str = "sched-pw-0815-value";
    let s = Scratch::new();
    let data = s.path().join("data");
    let jobs = s.path().join("jobs");
    let api_jobs = s.path().join("api-jobs");
    std::fs::create_dir_all(&jobs).expect("jobs dir");
    std::fs::create_dir_all(&api_jobs).expect("api jobs dir");
    let config = s.file(
        "weir.toml",
        &format!(
            "[[trigger]]\nname = \"jobs\"\nlocation = \"{}\"\ninterval_ms = 200\nenv = {{ AWS_SECRET_ACCESS_KEY = \"{TRIGGER_SECRET}\", AWS_REGION = \"eu-west-1\" }}\n\n[[schedule]]\nname = \"yearly\"\ncron = \"0 0 1 1 *\"\njob = \"{}/never.json\"\nenv = {{ DB_PASSWORD = \"{SCHEDULE_SECRET}\" }}\n\n[api]\njob_roots = [\"{}\", \"{}\"]\n",
            jobs.display(),
            jobs.display(),
            jobs.display(),
            api_jobs.display()
        ),
    );
    let service = Service::start_with_args(&data, &[], &["--config", config.to_str().expect("utf8")]);
    std::fs::write(jobs.join("uses_trigger_secret.conf"), check_job("AWS_SECRET_ACCESS_KEY", TRIGGER_SECRET))
        .expect("job");
    // The same check against a wrong expectation fails: the check really compares.
    std::fs::write(jobs.join("wrong_expectation.conf"), check_job("AWS_SECRET_ACCESS_KEY", "another-value"))
        .expect("job");
    let api_job = api_jobs.join("uses_api_secret.conf");
    std::fs::write(&api_job, check_job("ETL_CONF_API_TOKEN", API_SECRET)).expect("job");
    let (code, body) = service.http(
        "POST",
        "/api/runs",
        Some(TOKEN),
        Some(&format!(r#"{{"job": "{}", "env": {{"ETL_CONF_API_TOKEN": "{API_SECRET}"}}}}"#, api_job.display())),
    );
    assert_eq!(code, 202, "{body}");
    let mut runs = service.wait_finished(3, Duration::from_secs(60));
    assert_eq!(runs.len(), 3, "{runs:?}");
    let wrong = runs.iter().position(|r| r["job"].as_str().unwrap_or("").ends_with("wrong_expectation.conf"));
    let wrong = runs.remove(wrong.expect("wrong_expectation run"));
    assert_eq!(wrong["status"], "failed", "{wrong}");
    assert!(wrong["error"].as_str().unwrap_or("").contains("SQLValidate failed"), "{wrong}");
    // Both checks passed: the children got the real values.
    for run in &runs {
        let detail = service.json(&format!("/api/runs/{}", run["id"]));
        assert_eq!(run["status"], "succeeded", "{detail}");
        assert!(
            detail["log"].as_str().unwrap_or("").contains(r#""value":"*****""#),
            "value masked in the log: {detail}"
        );
    }
    let by_trigger = |t: &str| runs.iter().find(|r| r["trigger"] == t).expect("run").clone();
    assert_eq!(by_trigger("jobs")["env"]["AWS_SECRET_ACCESS_KEY"], "*****");
    assert_eq!(by_trigger("jobs")["env"]["AWS_REGION"], "eu-west-1", "other values are shown");
    assert_eq!(by_trigger("api")["env"]["ETL_CONF_API_TOKEN"], "*****");
    let triggers = service.json("/api/triggers");
    let jobs_trigger = triggers["triggers"].as_array().expect("list").iter().find(|t| t["name"] == "jobs").cloned();
    assert_eq!(jobs_trigger.expect("trigger")["env"]["AWS_SECRET_ACCESS_KEY"], "*****", "{triggers}");
    let schedules = service.json("/api/schedules");
    assert_eq!(schedules["schedules"][0]["env"]["DB_PASSWORD"], "*****", "{schedules}");

    let mut seen = Vec::new();
    for path in ["/api/runs", "/api/triggers", "/api/schedules", "/api/jobs", "/metrics", "/"] {
        seen.push(get(&service.addr, path, &[format!("Authorization: Bearer {TOKEN}")]));
    }
    for run in runs.iter().chain([&wrong]) {
        for path in [format!("/api/runs/{}", run["id"]), format!("/runs/{}", run["id"])] {
            seen.push(get(&service.addr, &path, &[format!("Authorization: Bearer {TOKEN}")]));
        }
    }
    for response in &seen {
        assert_eq!(status(response), 200, "{response}");
        for secret in [TRIGGER_SECRET, API_SECRET, SCHEDULE_SECRET] {
            assert!(!response.contains(secret), "secret shown: {response}");
        }
    }
    let mut files = 0;
    for suffix in ["", "-wal", "-shm"] {
        let path = data.join(format!("weir.db{suffix}"));
        if let Ok(bytes) = std::fs::read(&path) {
            files += 1;
            for secret in [TRIGGER_SECRET, API_SECRET, SCHEDULE_SECRET] {
                assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "{secret} in {}", path.display());
            }
        }
    }
    assert!(files >= 2, "weir.db and its WAL were read");
}

#[test]
fn api_runs_only_from_job_roots_and_only_allowed_env() {
    let s = Scratch::new();
    let data = s.path().join("data");
    let service = Service::start(&data, &[]);
    let outside = s.file("outside.json", TRIVIAL_JOB);
    let trigger = data.join("trigger");
    #[cfg(unix)]
    std::os::unix::fs::symlink(&outside, trigger.join("link.txt")).expect("symlink");
    let refused = [
        "/etc/shadow".to_string(),
        outside.display().to_string(),
        format!("{}/../../outside.json", trigger.display()),
        format!("file://{}", outside.display()),
        format!("{}/link.txt", trigger.display()),
        "s3://bucket/jobs/a.json".to_string(),
    ];
    for job in &refused {
        let (code, body) = service.http("POST", "/api/runs", Some(TOKEN), Some(&format!(r#"{{"job": "{job}"}}"#)));
        assert_eq!(code, 403, "{job}: {body}");
        assert!(body.contains("outside the job roots") && body.contains("trigger"), "{body}");
    }
    // A TextExtract of /etc/shadow cannot even be submitted: nothing reads it.
    assert!(service.runs().is_empty());
    for key in ["LD_PRELOAD", "PATH", "WEIR_PYTHON"] {
        let job = format!(r#"{{"job": "{}/trigger/x.json", "env": {{"{key}": "/tmp/evil.so"}}}}"#, data.display());
        let (code, body) = service.http("POST", "/api/runs", Some(TOKEN), Some(&job));
        assert_eq!(code, 400, "{body}");
        assert!(body.contains(&format!("'{key}'")), "names the key: {body}");
    }
    assert!(service.runs().is_empty(), "no run queued for refused submits");
    std::fs::write(s.path().join("staged.json"), TRIVIAL_JOB).expect("job");
    std::fs::rename(s.path().join("staged.json"), trigger.join("ok.json")).expect("drop");
    let job = format!(
        r#"{{"job": "{}/ok.json", "env": {{"ETL_CONF_X": "1", "WEIR_COUNT_ROWS": "false"}}}}"#,
        trigger.display()
    );
    let (code, body) = service.http("POST", "/api/runs", Some(TOKEN), Some(&job));
    assert_eq!(code, 202, "{body}");
    let runs = service.wait_finished(2, Duration::from_secs(60));
    assert!(runs.iter().all(|r| r["status"] == "succeeded"), "{runs:?}");
}

#[cfg(unix)]
#[test]
fn data_dir_store_and_token_are_owner_only() {
    let s = Scratch::new();
    let data = s.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    // No WEIR_API_TOKEN: the service makes DATA_DIR/api-token.
    let service = Service::start(&data, &[("WEIR_API_TOKEN".into(), String::new())]);
    let token = std::fs::read_to_string(data.join("api-token")).expect("api-token");
    drop_job(&data, "one.json", TRIVIAL_JOB);
    let started = Instant::now();
    loop {
        let (code, body) = service.http("GET", "/api/runs", Some(token.trim()), None);
        assert_eq!(code, 200, "{body}");
        if body.contains("succeeded") {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "run did not finish: {body}");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(mode(&data), 0o700, "data dir");
    for file in ["api-token", "weir.db", "weir.db-wal", "weir.db-shm"] {
        assert_eq!(mode(&data.join(file)), 0o600, "{file}");
    }
}

#[test]
fn security_headers_safe_next_and_csrf() {
    let s = Scratch::new();
    let data = s.path().join("data");
    let service = Service::start(&data, &[]);
    let addr = service.addr.clone();
    for path in ["/healthz", "/login", "/api/runs", "/"] {
        let r = get(&addr, path, &[]);
        let csp = header(&r, "content-security-policy").unwrap_or("");
        assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"), "{path}: {r}");
        assert_eq!(header(&r, "x-frame-options"), Some("DENY"), "{path}");
        assert_eq!(header(&r, "x-content-type-options"), Some("nosniff"), "{path}");
        assert_eq!(header(&r, "referrer-policy"), Some("no-referrer"), "{path}");
    }
    // next= stays on this site.
    for (next, expected) in [
        ("/runs/1", "/runs/1"),
        ("//evil.example", "/"),
        ("/%5Cevil.example", "/"),
        ("/%09/evil.example", "/"),
        ("/%2F/evil.example", "/"),
        ("https://evil.example", "/"),
        ("/%0d%0aSet-Cookie:x=1", "/"),
    ] {
        let r = get(&addr, &format!("/login?token={TOKEN}&next={next}"), &[]);
        assert!((300..400).contains(&status(&r)), "{next}: {r}");
        assert_eq!(header(&r, "location"), Some(expected), "{next}: {r}");
    }
    let r = get(&addr, "/login?token=wrong&next=/", &[]);
    assert_eq!(status(&r), 401);
    // Signing in sets the token and CSRF cookies.
    let r = get(&addr, &format!("/login?token={TOKEN}&next=/"), &[]);
    let cookies: Vec<&str> = r
        .split("\r\n\r\n")
        .next()
        .unwrap_or("")
        .lines()
        .filter_map(|l| l.strip_prefix("set-cookie: ").or_else(|| l.strip_prefix("Set-Cookie: ")))
        .filter_map(|c| c.split(';').next())
        .collect();
    let csrf = cookies.iter().find_map(|c| c.strip_prefix("weir_csrf=")).expect("csrf cookie").to_string();
    let cookie = format!("Cookie: {}", cookies.join("; "));
    let origin = format!("Origin: http://{addr}");
    let job = format!(r#"{{"job": "{}/trigger/x.json"}}"#, data.display());
    // Cookie-authenticated state changes from another site, or without the token, are refused.
    for headers in [
        vec![cookie.clone(), "Origin: http://evil.example".into(), format!("X-CSRF-Token: {csrf}")],
        vec![cookie.clone(), format!("X-CSRF-Token: {csrf}")],
        vec![cookie.clone(), origin.clone()],
        vec![cookie.clone(), origin.clone(), "X-CSRF-Token: wrong".into()],
    ] {
        let r = post(&addr, "/api/runs", &headers, "text/plain", &job);
        assert_eq!(status(&r), 403, "{headers:?}: {r}");
    }
    assert!(service.runs().is_empty(), "no run queued by refused requests");
    let r = post(
        &addr,
        "/api/runs",
        &[cookie.clone(), origin.clone(), format!("X-CSRF-Token: {csrf}")],
        "text/plain",
        &job,
    );
    assert_eq!(status(&r), 202, "{r}");
    // Reading with the cookie needs no token; bearer requests need neither Origin nor token.
    assert_eq!(status(&get(&addr, "/api/runs", std::slice::from_ref(&cookie))), 200);
    let (code, body) = service.http("POST", "/api/runs", Some(TOKEN), Some(&job));
    assert_eq!(code, 202, "{body}");
    // The run page's cancel form carries the token; the form post is accepted with it.
    let runs = service.runs();
    let id = runs[0]["id"].as_i64().expect("id");
    let page = get(&addr, &format!("/runs/{id}"), std::slice::from_ref(&cookie));
    let r = post(
        &addr,
        &format!("/runs/{id}/cancel"),
        &[cookie.clone(), origin.clone()],
        "application/x-www-form-urlencoded",
        "csrf=nope",
    );
    assert_eq!(status(&r), 403, "{r}");
    // (The run may have finished already: then the page has no form, and cancel is a no-op.)
    if page.contains("name=\"csrf\"") {
        assert!(page.contains(&format!("value=\"{csrf}\"")), "{page}");
    }
    let body = format!("csrf={csrf}");
    let r = post(&addr, &format!("/runs/{id}/cancel"), &[cookie, origin], "application/x-www-form-urlencoded", &body);
    assert_eq!(status(&r), 303, "{r}");
    assert_eq!(header(&r, "location"), Some(format!("/runs/{id}").as_str()));
    // A sign-in posted from another site is refused.
    let r = post(
        &addr,
        "/login",
        &["Origin: http://evil.example".into()],
        "application/x-www-form-urlencoded",
        &format!("token={TOKEN}"),
    );
    assert_eq!(status(&r), 403, "{r}");
}

/// Reads until the server closes the connection; the time it took (panics after 30 s).
fn time_to_close(mut stream: TcpStream) -> Duration {
    stream.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return started.elapsed(),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return started.elapsed(),
            Err(e) => panic!("the server kept a stalled connection open: {e}"),
        }
    }
}

#[test]
fn stalled_and_idle_clients_are_disconnected() {
    let s = Scratch::new();
    let config = s.file("weir.toml", "[api]\nheader_timeout_s = 1\n");
    let service = Service::start_with_args(&s.path().join("data"), &[], &["--config", config.to_str().expect("utf8")]);
    // Half a request line, then nothing.
    let mut half = TcpStream::connect(&service.addr).expect("connect");
    half.write_all(b"GET /api/ru").expect("send");
    time_to_close(half);
    // Connected, nothing sent.
    time_to_close(TcpStream::connect(&service.addr).expect("connect"));
    // A kept-alive connection gets its response, then is closed when idle.
    let mut kept = TcpStream::connect(&service.addr).expect("connect");
    kept.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {}\r\n\r\n", service.addr).as_bytes()).expect("send");
    let mut first = [0u8; 512];
    kept.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    let n = kept.read(&mut first).expect("response");
    assert!(String::from_utf8_lossy(&first[..n]).starts_with("HTTP/1.1 200"));
    time_to_close(kept);
    // The service still answers.
    assert_eq!(service.http("GET", "/healthz", None, None).0, 200);
}

/// Starts `weir serve` without `--allow-root`, with `WEIR_ALLOW_ROOT` set to `allow` (or
/// unset): Ok when it starts listening (it is then stopped), else its exit code and stderr.
#[cfg(unix)]
fn serve_without_flag(data: &std::path::Path, allow: Option<&str>) -> Result<(), (Option<i32>, String)> {
    use std::io::BufRead;
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_weir"));
    cmd.args(["serve", "--data-dir", data.to_str().expect("utf8"), "--listen", "127.0.0.1:0"])
        .env("WEIR_API_TOKEN", TOKEN)
        .env_remove("WEIR_ALLOW_ROOT")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    if let Some(v) = allow {
        cmd.env("WEIR_ALLOW_ROOT", v);
    }
    let mut child = cmd.spawn().expect("weir serve starts");
    let mut stderr = String::new();
    for line in std::io::BufReader::new(child.stderr.take().expect("stderr")).lines().map_while(Result::ok) {
        if line.starts_with("weir serve: http://") {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(());
        }
        stderr.push_str(&line);
        stderr.push('\n');
    }
    Err((child.wait().expect("exit").code(), stderr))
}

#[cfg(unix)]
#[test]
fn serve_refuses_root_without_allow_root() {
    use std::os::unix::fs::MetadataExt;
    // /proc/self belongs to the effective user.
    let root = std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false);
    let s = Scratch::new();
    let data = s.path().join("data");
    if !root {
        assert_eq!(serve_without_flag(&data, None), Ok(()), "an unprivileged user needs no flag");
        return;
    }
    let (code, stderr) = serve_without_flag(&data, None).expect_err("refused as root");
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("refusing to run as root") && stderr.contains("--allow-root"), "{stderr}");
    assert!(!data.join("weir.db").exists(), "refused before touching the data dir");
    assert!(serve_without_flag(&data, Some("false")).is_err(), "WEIR_ALLOW_ROOT=false still refuses");
    assert_eq!(serve_without_flag(&data, Some("true")), Ok(()), "WEIR_ALLOW_ROOT=true allows it");
}
