//! ConsoleLoad: prints a view to standard output as Spark's console sink does — a `Batch: 0`
//! header, then the first 20 rows as `Dataset.show()` draws them (values as Spark casts them
//! to strings, cut to 20 characters, right-aligned). `outputMode` (Append, Complete, Update)
//! matters for streaming only, which Weir does not run yet.

use async_trait::async_trait;
use datafusion::arrow::array::{Array, AsArray};
use serde_json::{Map, Value};

use crate::config::StageConfig;
use crate::session::Session;
use crate::sql::quote_ident;
use crate::stages::{Outcome, Stage, StageError};

/// Rows Spark's console sink shows.
const ROWS: usize = 20;
/// Characters a value keeps before `...`, as `show(truncate = true)`.
const WIDTH: usize = 20;

/// `ConsoleLoad` configuration.
#[derive(Debug)]
pub struct ConsoleLoad {
    input_view: String,
    output_mode: &'static str,
}

pub fn build(c: &mut StageConfig) -> Option<Box<dyn Stage>> {
    let input_view = c.required_string("inputView");
    let output_mode =
        c.choice("outputMode", &[("Append", "Append"), ("Complete", "Complete"), ("Update", "Update")], "Append");
    let _ = c.node("params");
    Some(Box::new(ConsoleLoad { input_view: input_view?, output_mode: output_mode? }))
}

/// Draws `header` and `rows` as Spark's `show()`.
pub fn show_table(header: &[String], rows: &[Vec<String>]) -> String {
    let cut = |s: &str| -> String {
        match s.chars().count() > WIDTH {
            true => format!("{}...", s.chars().take(WIDTH - 3).collect::<String>()),
            false => s.to_string(),
        }
    };
    let header: Vec<String> = header.iter().map(|h| cut(h)).collect();
    let rows: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(|v| cut(v)).collect()).collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| rows.iter().map(|r| r[i].chars().count()).chain([header[i].chars().count(), 3]).max().unwrap_or(3))
        .collect();
    let line = format!("+{}+\n", widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("+"));
    let draw = |cells: &[String]| -> String {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:>w$}")).collect();
        format!("|{}|\n", padded.join("|"))
    };
    let mut out = line.clone();
    out.push_str(&draw(&header));
    out.push_str(&line);
    for row in &rows {
        out.push_str(&draw(row));
    }
    out.push_str(&line);
    out
}

#[async_trait]
impl Stage for ConsoleLoad {
    fn detail(&self) -> Map<String, Value> {
        crate::obj! { "inputView" => self.input_view, "outputMode" => self.output_mode }
    }

    async fn execute(&self, session: &Session) -> Result<Outcome, StageError> {
        let input = session.view(&self.input_view).await?;
        let header: Vec<String> = input.schema().fields().iter().map(|f| f.name().clone()).collect();
        let casts: Vec<String> =
            header.iter().map(|h| format!("CAST({} AS STRING) AS {}", quote_ident(h), quote_ident(h))).collect();
        let sql = format!("SELECT {} FROM {} LIMIT {ROWS}", casts.join(", "), quote_ident(&self.input_view));
        let mut rows = Vec::new();
        for batch in session.sql(&sql).await?.collect().await? {
            let columns: Vec<_> = batch.columns().iter().map(|c| c.as_string::<i32>().clone()).collect();
            for i in 0..batch.num_rows() {
                rows.push(
                    columns
                        .iter()
                        .map(|c| if c.is_null(i) { "null".to_string() } else { c.value(i).to_string() })
                        .collect::<Vec<_>>(),
                );
            }
        }
        let rule = "-------------------------------------------";
        print!("{rule}\nBatch: 0\n{rule}\n{}\n", show_table(&header, &rows));
        let mut outcome = Outcome::default();
        outcome.detail.insert("shownRows".into(), rows.len().into());
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_as_spark_show() {
        let rows = vec![vec!["1".to_string(), "x".to_string()], vec!["22".into(), "a long value over twenty".into()]];
        let table = show_table(&["id".into(), "name".into()], &rows);
        assert_eq!(
            table,
            "+---+--------------------+\n| id|                name|\n+---+--------------------+\n|  1|                   x|\n| 22|a long value over...|\n+---+--------------------+\n"
        );
    }
}
