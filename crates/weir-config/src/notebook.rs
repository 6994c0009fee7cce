//! Jupyter notebooks (`.ipynb`) to Arc job text, exactly as Arc converts them.
//!
//! Only code cells count (their index among code cells is the "cell index"). A cell
//! without a leading `%` is one stage object; `%arc` cells hold a stage object after the
//! magic line; `%configplugin` / `%lifecycleplugin` cells add plugins; SQL magics become
//! stages (`%sql` → SQLTransform, `%sqlvalidate` → SQLValidate, `%log` → LogExecute,
//! `%configexecute` → ConfigExecute, `%metadatafilter` → MetadataFilterTransform,
//! `%metadatavalidate` → MetadataValidate), matched by prefix as Arc does, so a typo such as
//! `%sqlvaildate` runs as `%sql` (a warning says so). Every other magic (`%conf`, `%env`,
//! `%printschema`…) is dropped. The result is HOCON text parsed like any job, with a map
//! from its lines back to cells.

use std::fmt::Write as _;

/// Why a notebook could not be converted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotebookError {
    #[error("file is not a valid notebook (JSON): {0}")]
    Json(String),
    #[error("file Some({uri}) does not appear to be a valid arc notebook. Has kernelspec: '{kernel}'.")]
    Kernel { uri: String, kernel: String },
}

/// A cell a job drops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    /// Code-cell index.
    pub cell: usize,
    /// The magic, e.g. `%printschema`.
    pub magic: String,
}

/// Where a generated stage or plugin came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellSpan {
    pub cell: usize,
    /// First and last line of its text in the generated HOCON (1-based, inclusive).
    pub first_line: u32,
    pub last_line: u32,
    /// Line in the cell where the object text starts (2 for `%arc` cells, whose line 1 is the magic).
    pub cell_line: u32,
    /// True when the text was generated from a magic (lines inside map to the magic line).
    pub generated: bool,
}

/// A converted notebook.
#[derive(Debug, Clone)]
pub struct Converted {
    /// The job as HOCON text.
    pub hocon: String,
    pub spans: Vec<CellSpan>,
    /// Conversion warnings (magic typos, SQL cells that can never run in a job…).
    pub warnings: Vec<String>,
    /// Cells dropped from the job.
    pub dropped: Vec<Dropped>,
}

impl Converted {
    /// The cell index and the line within that cell of a line of [`Converted::hocon`].
    pub fn cell_of_line(&self, line: u32) -> Option<(usize, u32)> {
        self.spans
            .iter()
            .find(|s| (s.first_line..=s.last_line).contains(&line))
            .map(|s| if s.generated { (s.cell, 1) } else { (s.cell, s.cell_line + (line - s.first_line)) })
    }
}

/// SQL magics and the stage types they become, most specific first.
const SQL_MAGICS: &[(&str, &str, bool)] = &[
    ("%sqlvalidate", "SQLValidate", false),
    ("%sql", "SQLTransform", true),
    ("%log", "LogExecute", false),
    ("%configexecute", "ConfigExecute", true),
    ("%metadatafilter", "MetadataFilterTransform", true),
    ("%metadatavalidate", "MetadataValidate", false),
];

/// Magic arguments that only affect the notebook display, never copied to the stage.
const DISPLAY_ARGS: &[&str] = &[
    "name",
    "description",
    "sqlParams",
    "outputView",
    "environments",
    "numRows",
    "truncate",
    "persist",
    "monospace",
    "leftAlign",
    "datasetLabels",
    "streamingDuration",
    "showLog",
];

/// Parses a magic line's `k=v k="quoted v"` arguments (whitespace outside quotes separates).
pub fn parse_magic_args(line: &str) -> Vec<(String, String)> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => current.push(c),
            (None, '"') | (None, '\'') => quote = Some(c),
            (None, c) if c.is_whitespace() => {
                if !current.is_empty() {
                    tokens.push(std::mem::take(&mut current));
                }
            }
            (None, c) => current.push(c),
        }
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    tokens.into_iter().filter_map(|t| t.split_once('=').map(|(k, v)| (k.to_string(), v.to_string()))).collect()
}

fn quote(text: &str) -> String {
    serde_json::Value::String(text.to_string()).to_string()
}

/// A code cell, classified by its first line as Arc dispatches it (by prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// Blank cell.
    Empty,
    /// One or more stage objects: a plain cell, or a `%arc` cell after its magic line.
    Stage {
        text: String,
        /// Line of the cell where `text` starts.
        cell_line: u32,
        /// Arguments of the `%arc` magic line (display options such as `numRows`).
        args: Vec<(String, String)>,
    },
    /// `%configplugin` body.
    ConfigPlugin(String),
    /// `%lifecycleplugin` body.
    LifecyclePlugin(String),
    /// A SQL magic that becomes a stage (`%sql`, `%sqlvalidate`, `%log`...).
    Sql(SqlMagic),
    /// Any other magic (`%conf`, `%env`, `%printschema`...): dropped from jobs.
    Other {
        /// The magic as written, e.g. `%printschema`.
        magic: String,
        /// The whole first line.
        first_line: String,
        /// The lines after the first.
        rest: String,
    },
}

/// A SQL magic cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlMagic {
    /// The magic as written (may be a typo such as `%sqlvaildate`).
    pub magic: String,
    /// The magic it runs as (`%sql`...).
    pub canonical: &'static str,
    pub stage_type: &'static str,
    /// Whether the stage has an `outputView`.
    pub with_view: bool,
    /// The magic line's `key=value` arguments.
    pub args: Vec<(String, String)>,
    /// The SQL body.
    pub sql: String,
}

impl SqlMagic {
    /// The last value of a magic argument.
    pub fn arg(&self, key: &str) -> Option<&str> {
        self.args.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// A warning when the magic is not exactly the one it runs as.
    pub fn typo_warning(&self) -> Option<String> {
        (!self.magic.eq_ignore_ascii_case(self.canonical)).then(|| {
            format!(
                "magic '{}' is not a known magic; Arc runs it as '{}' ({}) because it starts with '{}'",
                self.magic, self.canonical, self.stage_type, self.canonical
            )
        })
    }

    /// The stage object text, and whether it has `environments`. `default_view` is used as
    /// the `outputView` when the magic has none (the notebook kernel's placeholder view).
    pub fn stage_text(&self, cell: usize, default_view: Option<&str>) -> (String, bool) {
        let arg = |key: &str| self.arg(key).map(str::to_string);
        let mut out = String::from("{\n");
        let _ = writeln!(out, "  \"type\": {},", quote(self.stage_type));
        let _ =
            writeln!(out, "  \"name\": {},", quote(&arg("name").unwrap_or_else(|| format!("notebook cell {cell}"))));
        let _ = writeln!(out, "  \"description\": {},", quote(&arg("description").unwrap_or_default()));
        let environments = arg("environments");
        let has_envs = environments.as_deref().is_some_and(|e| !e.trim().is_empty());
        let envs: Vec<String> = environments.unwrap_or_default().split(',').map(|e| quote(e.trim())).collect();
        let _ = writeln!(out, "  \"environments\": [{}],", envs.join(", "));
        if let Some(params) = arg("sqlParams") {
            let mut entries = Vec::new();
            for pair in params.split(',').filter(|p| !p.is_empty()) {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                let value = if v.trim_start().starts_with("${") { v.to_string() } else { quote(v) };
                entries.push(format!("{}: {}", quote(k), value));
            }
            let _ = writeln!(out, "  \"sqlParams\": {{{}}},", entries.join(", "));
        } else {
            let _ = writeln!(out, "  \"sqlParams\": {{}},");
        }
        if self.with_view {
            if let Some(view) = arg("outputView").or_else(|| default_view.map(str::to_string)) {
                let _ = writeln!(out, "  \"outputView\": {},", quote(&view));
            }
            let persist = arg("persist").map(|p| p.eq_ignore_ascii_case("true")).unwrap_or(false);
            let _ = writeln!(out, "  \"persist\": {persist},");
        }
        for (k, v) in &self.args {
            if !DISPLAY_ARGS.contains(&k.as_str()) {
                let _ = writeln!(out, "  {}: {},", quote(k), quote(v));
            }
        }
        if self.sql.contains("\"\"\"") {
            let _ = writeln!(out, "  \"sql\": {}", quote(&self.sql));
        } else {
            let _ = writeln!(out, "  \"sql\": \"\"\"{}\"\"\"", self.sql);
        }
        out.push('}');
        (out, has_envs)
    }
}

/// Classifies a code cell's source as Arc does: trimmed, a trailing comma dropped, then
/// dispatched on the first line by prefix.
pub fn classify(source: &str) -> Cell {
    let mut text = source.trim().to_string();
    if text.ends_with(',') {
        text.pop();
    }
    if text.is_empty() {
        return Cell::Empty;
    }
    let (first, rest) = match text.split_once('\n') {
        Some((f, r)) => (f.trim().to_string(), r.to_string()),
        None => (text.trim().to_string(), String::new()),
    };
    if !first.starts_with('%') {
        return Cell::Stage { text, cell_line: 1, args: Vec::new() };
    }
    let magic = first.split_whitespace().next().unwrap_or("").to_string();
    let args_line = first.split_once(char::is_whitespace).map(|(_, r)| r).unwrap_or("");
    let lower = first.to_lowercase();
    if first.starts_with("%configplugin") {
        Cell::ConfigPlugin(rest)
    } else if first.starts_with("%lifecycleplugin") {
        Cell::LifecyclePlugin(rest)
    } else if lower.starts_with("%arc") {
        Cell::Stage { text: rest, cell_line: 2, args: parse_magic_args(args_line) }
    } else if let Some((canonical, stage_type, with_view)) = SQL_MAGICS.iter().find(|(m, _, _)| lower.starts_with(m)) {
        Cell::Sql(SqlMagic {
            magic,
            canonical,
            stage_type,
            with_view: *with_view,
            args: parse_magic_args(args_line),
            sql: rest.trim().to_string(),
        })
    } else {
        Cell::Other { magic, first_line: first, rest }
    }
}

/// Converts notebook JSON to Arc job text.
pub fn convert(notebook: &str, uri: &str) -> Result<Converted, NotebookError> {
    let nb: serde_json::Value = serde_json::from_str(notebook).map_err(|e| NotebookError::Json(e.to_string()))?;
    let kernel = nb["metadata"]["kernelspec"]["name"].as_str().unwrap_or("");
    if kernel != "arc" {
        return Err(NotebookError::Kernel { uri: uri.to_string(), kernel: kernel.to_string() });
    }
    let cells = nb["cells"].as_array().cloned().unwrap_or_default();
    let mut warnings = Vec::new();
    let mut dropped = Vec::new();
    // (cell, text, cell_line, generated) per section.
    let mut stages: Vec<(usize, String, u32, bool)> = Vec::new();
    let mut config_plugins: Vec<(usize, String, u32, bool)> = Vec::new();
    let mut lifecycle_plugins: Vec<(usize, String, u32, bool)> = Vec::new();
    let code_cells = cells.iter().filter(|c| c["cell_type"] == "code");
    for (index, cell) in code_cells.enumerate() {
        let source = match &cell["source"] {
            serde_json::Value::Array(lines) => lines.iter().filter_map(|l| l.as_str()).collect::<String>(),
            serde_json::Value::String(s) => s.clone(),
            _ => String::new(),
        };
        match classify(&source) {
            Cell::Empty => {}
            Cell::Stage { text, cell_line, .. } => stages.push((index, text, cell_line, false)),
            Cell::ConfigPlugin(text) => config_plugins.push((index, text, 2, false)),
            Cell::LifecyclePlugin(text) => lifecycle_plugins.push((index, text, 2, false)),
            Cell::Sql(magic) => {
                if let Some(warning) = magic.typo_warning() {
                    warnings.push(format!("cell {index}: {warning}"));
                }
                let (stage, has_envs) = magic.stage_text(index, None);
                if !has_envs {
                    warnings.push(format!(
                        "cell {index}: '{}' has no 'environments=' argument, so it never runs in a job (as in Arc)",
                        magic.magic
                    ));
                }
                stages.push((index, stage, 1, true));
            }
            Cell::Other { magic, .. } => dropped.push(Dropped { cell: index, magic }),
        }
    }

    let mut hocon = String::new();
    let mut line: u32 = 1;
    let mut spans = Vec::new();
    let emit = |hocon: &mut String, line: &mut u32, text: &str| {
        hocon.push_str(text);
        *line += text.matches('\n').count() as u32;
    };
    let section =
        |hocon: &mut String, line: &mut u32, items: &[(usize, String, u32, bool)], spans: &mut Vec<CellSpan>| {
            for (i, (cell, text, cell_line, generated)) in items.iter().enumerate() {
                emit(hocon, line, "\n");
                let first_line = *line;
                emit(hocon, line, text);
                spans.push(CellSpan {
                    cell: *cell,
                    first_line,
                    last_line: *line,
                    cell_line: *cell_line,
                    generated: *generated,
                });
                if i + 1 < items.len() {
                    emit(hocon, line, "\n,");
                }
            }
            emit(hocon, line, "\n");
        };
    emit(&mut hocon, &mut line, "{\"plugins\": {\"config\": [");
    section(&mut hocon, &mut line, &config_plugins, &mut spans);
    emit(&mut hocon, &mut line, "], \"lifecycle\": [");
    section(&mut hocon, &mut line, &lifecycle_plugins, &mut spans);
    emit(&mut hocon, &mut line, "]},\n\"stages\": [");
    section(&mut hocon, &mut line, &stages, &mut spans);
    emit(&mut hocon, &mut line, "]}\n");
    Ok(Converted { hocon, spans, warnings, dropped })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hocon::{self, Vars};

    fn notebook(cells: &[&str]) -> String {
        let cells: Vec<serde_json::Value> = cells
            .iter()
            .map(|c| serde_json::json!({"cell_type": "code", "source": c.split_inclusive('\n').collect::<Vec<_>>()}))
            .collect();
        serde_json::json!({"metadata": {"kernelspec": {"name": "arc"}}, "cells": cells}).to_string()
    }

    fn stages(nb: &str, env: &[(&str, &str)]) -> Vec<serde_json::Value> {
        let converted = convert(nb, "file:///nb.ipynb").unwrap();
        let vars =
            Vars { env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(), ..Default::default() };
        let doc = hocon::parse(&converted.hocon).unwrap_or_else(|e| panic!("{e}\n{}", converted.hocon));
        doc.resolve_all(&vars).unwrap().to_json()["stages"].as_array().unwrap().clone()
    }

    #[test]
    fn kernel_is_checked() {
        let nb = serde_json::json!({"metadata": {"kernelspec": {"name": "python3"}}, "cells": []}).to_string();
        let err = convert(&nb, "s3a://b/x.ipynb").unwrap_err();
        assert_eq!(
            err.to_string(),
            "file Some(s3a://b/x.ipynb) does not appear to be a valid arc notebook. Has kernelspec: 'python3'."
        );
    }

    #[test]
    fn magic_args_split_on_unquoted_whitespace() {
        let args = parse_magic_args(r#"outputView="fail_fast" name="a b" environments=dev,test sqlParams=a=1,b=${X}"#);
        assert_eq!(
            args,
            [("outputView", "fail_fast"), ("name", "a b"), ("environments", "dev,test"), ("sqlParams", "a=1,b=${X}")]
                .map(|(k, v)| (k.to_string(), v.to_string()))
        );
    }

    #[test]
    fn cells_become_stages() {
        let nb = notebook(&[
            "%conf\nnumRows=12",
            "{\n  \"type\": \"DelimitedExtract\",\n  \"name\": \"x\",\n  \"environments\": [\"dev\"],\n  \"inputURI\": \"s3a://\"${LOC}\"/a.csv\"\n},",
            "%printschema\nx",
            "%sql outputView=\"v\" name=\"calc\" environments=dev,test sqlParams=t=x,TS=${TS} resolution=lazy\n\nSELECT ${TS} AS ts FROM ${t}",
            "%sqlvaildate name=check environments=dev\nSELECT TRUE, 'ok'",
            "%sql\nSELECT 1",
        ]);
        let converted = convert(&nb, "nb.ipynb").unwrap();
        assert_eq!(
            converted.dropped,
            [Dropped { cell: 0, magic: "%conf".into() }, Dropped { cell: 2, magic: "%printschema".into() }]
        );
        assert_eq!(converted.warnings.len(), 2, "{:?}", converted.warnings);
        assert!(converted.warnings[0].contains("'%sqlvaildate'"));
        assert!(converted.warnings[1].contains("cell 5"));
        let s = stages(&nb, &[("LOC", "bucket"), ("TS", "\"2026-01-01 00:00:00\"")]);
        assert_eq!(s.len(), 4);
        assert_eq!(s[0]["inputURI"], "s3a://bucket/a.csv");
        assert_eq!(s[1]["type"], "SQLTransform");
        assert_eq!(s[1]["outputView"], "v");
        assert_eq!(s[1]["persist"], false);
        assert_eq!(s[1]["resolution"], "lazy");
        assert_eq!(s[1]["environments"], serde_json::json!(["dev", "test"]));
        assert_eq!(s[1]["sqlParams"], serde_json::json!({"t": "x", "TS": "\"2026-01-01 00:00:00\""}));
        assert_eq!(s[1]["sql"], "SELECT ${TS} AS ts FROM ${t}");
        assert_eq!(s[2]["type"], "SQLTransform", "typo runs as %sql by prefix");
        assert_eq!(s[2]["name"], "check");
        assert_eq!(s[3]["name"], "notebook cell 5");
        assert_eq!(s[3]["environments"], serde_json::json!([""]));
        // Lines map back to cells.
        let doc = hocon::parse(&converted.hocon).unwrap();
        let first = &doc.root().get("stages").unwrap().as_array().unwrap()[0];
        assert_eq!(converted.cell_of_line(first.line()), Some((1, 1)));
        assert_eq!(converted.cell_of_line(first.line() + 4), Some((1, 5)));
    }

    #[test]
    fn workshop_notebook_converts() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/workshop/job/SCD_Type2_workshop.ipynb");
        let Ok(text) = std::fs::read_to_string(&path) else {
            eprintln!("../shared not found: skipping the workshop notebook conversion test");
            return;
        };
        let s = stages(
            &text,
            &[
                ("ETL_CONF_DATALAKE_LOC", "bucket"),
                ("ETL_CONF_CURRENT_TIMESTAMP", "\"2026-11-23 10:00:00.000\""),
                ("ATHENA_ETL_CONF_S3A_ACCESS_KEY", "ak"),
                ("ATHENA_ETL_CONF_S3A_SECRET_KEY", "sk"),
            ],
        );
        let types: Vec<&str> = s.iter().map(|st| st["type"].as_str().unwrap()).collect();
        assert_eq!(
            types,
            [
                "DelimitedExtract",
                "TypingTransform",
                "SQLTransform",
                "SQLTransform",
                "DeltaLakeLoad",
                "DelimitedExtract",
                "TypingTransform",
                "SQLTransform",
                "SQLTransform",
                "SQLTransform",
                "DeltaLakeMergeLoad",
                "DeltaLakeExtract",
                "SQLTransform",
                "SQLTransform",
                "SQLTransform",
                "JDBCExecute"
            ]
        );
        assert_eq!(s[2]["outputView"], "fail_fast");
        assert_eq!(s[3]["sqlParams"]["CURRENT_TIMESTAMP"], "\"2026-11-23 10:00:00.000\"");
        assert_eq!(s[4]["numPartitions"], 2);
        assert_eq!(s[4]["saveMode"], "Overwrite");
        assert_eq!(s[10]["whenMatchedUpdate"]["values"]["valid_to"], "\"2026-11-23 10:00:00.000\"");
        assert_eq!(s[10]["whenMatchedUpdate"]["values"]["iscurrent"], false);
        assert_eq!(s[11]["options"]["relativeVersion"], 0);
        assert!(s[15]["jdbcURL"].as_str().unwrap().ends_with("User=ak;Password=sk"));
    }
}
