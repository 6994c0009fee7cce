//! Hostile and mutated job files through `weir lint`: nothing panics, aborts (a stack overflow
//! is an abort) or hangs, and every error says where it is.
//!
//! The mutation loop is bounded and seeded, so a failure reproduces: the case number and the
//! mutated file are in the assertion message (and the file is kept in the scratch directory).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::{self, Workspace, run_weir_timeout};

/// Kill timeout of one lint: far above what a lint takes, so only a hang reaches it.
const HANG: Duration = Duration::from_secs(20);

/// A small deterministic generator (xorshift64*): the same seed gives the same cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Fragments that stress the HOCON/JSON/notebook parsers.
const TOKENS: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b"\"\"\"",
    b"${",
    b"${a}",
    b"${?x}",
    b"${stages}",
    b"\\",
    b"\\u12",
    b",",
    b":",
    b"=",
    b"+=",
    b"\n",
    b"#",
    b"//",
    b".",
    b"\xff",
    b"\xc3",
    b"\xe2\x82",
    b"\0",
    b"\r\n",
    b"%sql",
    b"%env\nA=1",
    b"null",
    b"true",
    b"1e999",
    b"-",
    b"\"type\": \"SQLTransform\"",
];

/// One mutation of `input`.
fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    let edits = 1 + rng.below(4);
    for _ in 0..edits {
        let at = rng.below(out.len() + 1);
        match rng.below(8) {
            0 => {
                let end = (at + 1 + rng.below(64)).min(out.len());
                out.drain(at..end);
            }
            1 => {
                let end = (at + 1 + rng.below(256)).min(out.len());
                let copy = out[at..end].to_vec();
                out.splice(at..at, copy);
            }
            2 | 3 => {
                let token = TOKENS[rng.below(TOKENS.len())];
                out.splice(at..at, token.iter().copied());
            }
            4 if at < out.len() => out[at] ^= 1 << rng.below(8),
            5 => out.truncate(at),
            6 => {
                // A run of one opening token: deep nesting.
                let token = [b"[".as_slice(), b"{\"a\":", b"a.", b"${a}"][rng.below(4)];
                let n = [10, 200, 5000][rng.below(3)];
                out.splice(at..at, token.repeat(n));
            }
            _ => {
                let token = TOKENS[rng.below(TOKENS.len())];
                out.extend_from_slice(token);
            }
        }
    }
    out
}

/// Errors about the document as a whole, which have no narrower place to name.
const WHOLE_DOCUMENT: &[&str] =
    &["Key 'stages' missing from job configuration.", "does not appear to be a valid arc notebook"];

/// True when an error message says where the problem is: `line N`, `Line N`, `cell N`,
/// `offset N` or `column N` somewhere in it (or it is about the whole document).
fn located(text: &str) -> bool {
    if WHOLE_DOCUMENT.iter().any(|m| text.contains(m)) {
        return true;
    }
    let lower = text.to_lowercase();
    ["line ", "cell ", "offset ", "column "].iter().any(|word| {
        lower.match_indices(word).any(|(i, _)| lower[i + word.len()..].starts_with(|c: char| c.is_ascii_digit()))
    })
}

/// Lints `file` (with the variables the seeds use) and checks the outcome; returns the error
/// text when it failed.
fn lint(ws: &Workspace, file: &Path, what: &str) -> Option<String> {
    let path = file.to_str().expect("utf8 path");
    let example_dir = format!("--EXAMPLE_DIR={}", ws.join("scd2").display());
    let output_dir = format!("--OUTPUT_DIR={}", ws.join("out").display());
    let lake = ws.join("lake").display().to_string();
    let env = [
        ("ETL_CONF_CURRENT_TIMESTAMP", "\"2026-01-01 00:00:00.000\""),
        ("ETL_CONF_DATALAKE_LOC", lake.as_str()),
        // No AWS look-ups: the workshop's stages name s3a:// URIs.
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_ACCESS_KEY_ID", "fuzz"),
        ("AWS_SECRET_ACCESS_KEY", "fuzz"),
        ("AWS_REGION", "us-east-1"),
    ];
    let args = ["lint", path, "--env", "dev", example_dir.as_str(), output_dir.as_str()];
    let out = run_weir_timeout(&args, &env, ws.path(), HANG);
    assert!(
        out.status.code().is_some(),
        "{what}: weir lint was killed by a signal ({:?}) — a crash or a stack overflow\n{}",
        out.status,
        out.all()
    );
    assert!(!out.stderr.contains("panicked"), "{what}: weir lint panicked\n{}", out.all());
    assert!(out.code == 0 || out.code == 1, "{what}: exit code {}\n{}", out.code, out.all());
    (out.code == 1).then_some(out.stderr)
}

/// The seeds: the bundled example job (its SQL and schema beside it) and the workshop notebook.
fn seeds(ws: &Workspace) -> Vec<(String, Vec<u8>)> {
    let example = support::repo_root().join("examples/scd2");
    ws.copy_dir(&example, "scd2");
    let mut seeds = vec![("scd2.conf".to_string(), std::fs::read(example.join("scd2.conf")).expect("scd2.conf"))];
    match support::shared_dir().map(|d| d.join("workshop/job")) {
        Some(dir) if dir.is_dir() => {
            for entry in std::fs::read_dir(&dir).expect("workshop/job") {
                let path = entry.expect("entry").path();
                if path.extension().is_some_and(|e| e == "ipynb") {
                    let name = path.file_name().expect("name").to_string_lossy().into_owned();
                    seeds.push((name, std::fs::read(&path).expect("notebook")));
                }
            }
        }
        _ => eprintln!("../shared not found: fuzzing the bundled example only (no workshop notebook)"),
    }
    seeds
}

#[test]
fn mutated_jobs_and_notebooks_never_crash_hang_or_lose_their_location() {
    let ws = Workspace::new();
    let seeds = seeds(&ws);
    for (name, seed) in &seeds {
        let file = ws.write(format!("fuzz/seed-{name}"), seed);
        let error = lint(&ws, &file, name);
        // The bundled example is valid; the workshop notebook names buckets and Athena, which a
        // lint here cannot reach: its errors must still say where they are.
        match error {
            None => {}
            Some(e) if name.ends_with(".ipynb") => assert!(located(&e), "seed {name}: {e}"),
            Some(e) => panic!("seed {name}: {e}"),
        }
    }
    let mut rng = Rng(0x005e_ed0f_5eed);
    let cases = 300;
    let (mut failed, mut unlocated) = (0, Vec::new());
    for case in 0..cases {
        let (name, seed) = &seeds[case % seeds.len()];
        let mutated = mutate(&mut rng, seed);
        let file: PathBuf = ws.write(format!("fuzz/{case}-{name}"), &mutated);
        let what = format!("case {case} ({})", file.display());
        if let Some(error) = lint(&ws, &file, &what) {
            failed += 1;
            if !located(&error) {
                unlocated.push(format!("{what}: {}", error.lines().take(6).collect::<Vec<_>>().join(" | ")));
            }
        }
    }
    eprintln!("fuzz: {cases} cases, {failed} rejected, {} without a location", unlocated.len());
    assert!(unlocated.is_empty(), "errors without a location:\n{}", unlocated.join("\n"));
    assert!(failed > cases / 4 && failed < cases, "{failed} of {cases} mutated files rejected");
}

/// A hostile file and what its error must say.
fn hostile(ws: &Workspace, name: &str, content: &[u8], expect: &str) {
    let file = ws.write(name, content);
    let started = std::time::Instant::now();
    let error = lint(ws, &file, name).unwrap_or_else(|| panic!("{name}: lint accepted a hostile file"));
    eprintln!("{name}: rejected in {} ms", started.elapsed().as_millis());
    assert!(error.contains(expect), "{name}: expected '{expect}' in\n{error}");
    assert!(located(&error), "{name}: no location in\n{error}");
}

#[test]
fn hostile_nesting_substitution_and_keys_fail_fast_with_a_location() {
    let ws = Workspace::new();
    let depth = 10_000;
    hostile(
        &ws,
        "deep-array.conf",
        format!("stages = {}{}", "[".repeat(depth), "]".repeat(depth)).as_bytes(),
        "nested more than 128 levels",
    );
    hostile(
        &ws,
        "deep-object.json",
        format!("{{\"stages\": [{}1{}]}}", "{\"a\":".repeat(depth), "}".repeat(depth)).as_bytes(),
        "nested more than 128 levels",
    );
    hostile(
        &ws,
        "deep-key.conf",
        format!("{}b = 1\nstages = []", "a.".repeat(depth)).as_bytes(),
        "nested more than 128 levels",
    );
    // Each level doubles the one below: 2^40 copies if expanded.
    let mut doubling = String::from("v0 = \"x\"\n");
    for i in 1..=40 {
        doubling.push_str(&format!("v{i} = ${{v{}}}${{v{}}}\n", i - 1, i - 1));
    }
    doubling.push_str(
        "stages = [{ type = SQLTransform, name = ${v40}, environments = [dev], sql = \"SELECT 1\", outputView = o }]\n",
    );
    hostile(&ws, "doubling.conf", doubling.as_bytes(), "substitutions");
    let long_key = "k".repeat(1024 * 1024);
    hostile(
        &ws,
        "long-key.conf",
        format!("stages = [{{ type = SQLTransform, {long_key} = 1 }}]").as_bytes(),
        "key longer than 1024 characters",
    );
    hostile(&ws, "not-utf8.conf", b"stages = [\n  { name = \"caf\xe9\" }\n]", "offset 26 (line 2, column 16)");
}
