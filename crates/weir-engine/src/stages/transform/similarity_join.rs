//! SimilarityJoinTransform: a fuzzy join of two views on the character shingles of some of
//! their columns, as Arc builds it with Spark ML: each row's `leftFields`/`rightFields` values
//! (cast to strings, NULLs skipped) are joined by spaces and trimmed, lower-cased unless
//! `caseSensitive`, split into characters, and grouped into n-grams of `shingleLength`
//! characters; the vocabulary is the left view's n-grams (a right row's n-grams the left never
//! has are ignored, as Arc's CountVectorizer fitted on the left ignores them); rows without
//! any n-gram are left out. A pair is output when its Jaccard similarity (shared n-grams over
//! all n-grams of the two rows) is above `threshold`, with every left column, every right
//! column and `similarity`.
//!
//! Arc finds candidate pairs with MinHash LSH (`numHashTables` tables) and so may miss a pair
//! that is similar enough; Weir compares every pair sharing an n-gram, exactly, so it returns
//! every such pair (for a threshold of 0.8 and 5 tables, LSH misses a qualifying pair with a
//! probability below 0.04%). `numHashTables` is accepted and checked, and has no other effect.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float64Array, RecordBatch, UInt32Array};
use datafusion::arrow::compute::{concat_batches, take};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use serde_json::{Map, Value};

use crate::config::StageConfig;
use crate::session::Session;
use crate::sql::quote_ident;
use crate::stages::{Outcome, Stage, StageError, ViewCommon};

/// The name of the text column Weir adds while it reads each side.
const TEXT: &str = "__weir_similarity_text";

/// `SimilarityJoinTransform` configuration.
#[derive(Debug)]
pub struct SimilarityJoinTransform {
    left_view: String,
    left_fields: Vec<String>,
    right_view: String,
    right_fields: Vec<String>,
    output_view: String,
    shingle_length: usize,
    num_hash_tables: usize,
    threshold: f64,
    case_sensitive: bool,
    common: ViewCommon,
}

pub fn build(c: &mut StageConfig) -> Option<Box<dyn Stage>> {
    let left_view = c.required_string("leftView");
    let right_view = c.required_string("rightView");
    let output_view = c.required_string("outputView");
    let fields = |c: &mut StageConfig, key: &str| match c.string_list(key) {
        Some(list) if !list.is_empty() => Some(list),
        Some(_) => {
            c.error(key, format!("'{key}' must name at least one column."));
            None
        }
        None => {
            if !c.has(key) {
                c.error(key, format!("Missing required attribute '{key}'."));
            }
            None
        }
    };
    let left_fields = fields(c, "leftFields");
    let right_fields = fields(c, "rightFields");
    let shingle_length = if c.has("shingleLength") { c.positive("shingleLength") } else { Some(3) };
    let num_hash_tables = if c.has("numHashTables") { c.positive("numHashTables") } else { Some(5) };
    let threshold = if c.has("threshold") { c.double("threshold") } else { Some(0.8) };
    if let Some(t) = threshold
        && !(0.0..=1.0).contains(&t)
    {
        c.error("threshold", format!("'threshold' must be between 0.0 and 1.0 but is {t}."));
        return None;
    }
    let case_sensitive = c.bool_or("caseSensitive", false);
    let common = ViewCommon::read(c);
    let _ = c.node("params");
    Some(Box::new(SimilarityJoinTransform {
        left_view: left_view?,
        left_fields: left_fields?,
        right_view: right_view?,
        right_fields: right_fields?,
        output_view: output_view?,
        shingle_length: shingle_length?,
        num_hash_tables: num_hash_tables?,
        threshold: threshold?,
        case_sensitive,
        common,
    }))
}

/// The n-grams of a text as Spark's RegexTokenizer (one token per character) and NGram
/// (tokens joined by a space) make them.
fn shingles(text: &str, n: usize, case_sensitive: bool) -> Vec<String> {
    let text = if case_sensitive { text.to_string() } else { text.to_lowercase() };
    let chars: Vec<String> = text.chars().map(String::from).collect();
    if chars.len() < n {
        return Vec::new();
    }
    chars.windows(n).map(|w| w.join(" ")).collect()
}

/// One side read whole: its rows (data columns only) and each row's text.
async fn read_side(session: &Session, view: &str, fields: &[String]) -> Result<(RecordBatch, Vec<String>), StageError> {
    let df = session.view(view).await?;
    let schema = df.schema().clone();
    let mut parts = Vec::with_capacity(fields.len());
    for field in fields {
        if schema.field_with_unqualified_name(field).is_err() {
            return Err(StageError::msg(format!("SimilarityJoinTransform: view '{view}' has no column '{field}'.")));
        }
        let f = quote_ident(field);
        parts.push(format!("CASE WHEN {f} IS NOT NULL THEN CONCAT(CAST({f} AS STRING), ' ') ELSE '' END"));
    }
    let sql = format!("SELECT *, TRIM(CONCAT({})) AS {TEXT} FROM {}", parts.join(", "), quote_ident(view));
    let batches = session.sql(&sql).await?.collect().await?;
    let full_schema = Arc::new(Schema::new(
        schema.fields().iter().cloned().chain([Arc::new(Field::new(TEXT, DataType::Utf8, true))]).collect::<Vec<_>>(),
    ));
    let all = match batches.first() {
        Some(first) => concat_batches(&first.schema(), &batches)?,
        None => RecordBatch::new_empty(full_schema),
    };
    let text_column = datafusion::arrow::compute::cast(all.column(all.num_columns() - 1), &DataType::Utf8)?;
    let texts = text_column.as_string::<i32>();
    let texts: Vec<String> =
        (0..texts.len()).map(|i| if texts.is_null(i) { String::new() } else { texts.value(i).to_string() }).collect();
    let data = all.project(&(0..all.num_columns() - 1).collect::<Vec<_>>())?;
    Ok((data, texts))
}

#[async_trait]
impl Stage for SimilarityJoinTransform {
    fn detail(&self) -> Map<String, Value> {
        let mut m = crate::obj! {
            "leftView" => self.left_view, "leftFields" => self.left_fields,
            "rightView" => self.right_view, "rightFields" => self.right_fields,
            "outputView" => self.output_view, "shingleLength" => self.shingle_length,
            "numHashTables" => self.num_hash_tables, "threshold" => self.threshold,
            "caseSensitive" => self.case_sensitive,
        };
        self.common.detail(&mut m);
        m
    }

    async fn execute(&self, session: &Session) -> Result<Outcome, StageError> {
        let (left, left_texts) = read_side(session, &self.left_view, &self.left_fields).await?;
        let (right, right_texts) = read_side(session, &self.right_view, &self.right_fields).await?;
        for field in right.schema().fields() {
            if left.schema().field_with_name(field.name()).is_ok() || field.name() == "similarity" {
                return Err(StageError::msg(format!(
                    "SimilarityJoinTransform: column '{}' is in both '{}' and '{}' (or is 'similarity'); rename it on one side so the output's columns have distinct names.",
                    field.name(),
                    self.left_view,
                    self.right_view
                )));
            }
        }
        // The left vocabulary, each left row's n-gram set, and which left rows hold each n-gram.
        let mut vocabulary: HashMap<String, u32> = HashMap::new();
        let mut left_sets: Vec<Vec<u32>> = Vec::with_capacity(left_texts.len());
        let mut postings: Vec<Vec<u32>> = Vec::new();
        for (row, text) in left_texts.iter().enumerate() {
            let mut set: Vec<u32> = shingles(text, self.shingle_length, self.case_sensitive)
                .into_iter()
                .map(|s| {
                    let next = vocabulary.len() as u32;
                    *vocabulary.entry(s).or_insert(next)
                })
                .collect();
            set.sort_unstable();
            set.dedup();
            for id in &set {
                if postings.len() <= *id as usize {
                    postings.resize(*id as usize + 1, Vec::new());
                }
                postings[*id as usize].push(row as u32);
            }
            left_sets.push(set);
        }
        let (mut left_rows, mut right_rows, mut similarities) = (Vec::new(), Vec::new(), Vec::new());
        let mut shared = vec![0u32; left_sets.len()];
        for (row, text) in right_texts.iter().enumerate() {
            let mut set: Vec<u32> = shingles(text, self.shingle_length, self.case_sensitive)
                .iter()
                .filter_map(|s| vocabulary.get(s).copied())
                .collect();
            set.sort_unstable();
            set.dedup();
            let mut candidates = Vec::new();
            for id in &set {
                for &l in &postings[*id as usize] {
                    if shared[l as usize] == 0 {
                        candidates.push(l);
                    }
                    shared[l as usize] += 1;
                }
            }
            candidates.sort_unstable();
            for l in candidates {
                let common = f64::from(shared[l as usize]);
                shared[l as usize] = 0;
                let union = (left_sets[l as usize].len() + set.len()) as f64 - common;
                let similarity = common / union;
                // Spark keeps pairs whose Jaccard distance is below 1 - threshold.
                if 1.0 - similarity < 1.0 - self.threshold {
                    left_rows.push(l);
                    right_rows.push(row as u32);
                    similarities.push(similarity);
                }
            }
        }
        let left_take = UInt32Array::from(left_rows);
        let right_take = UInt32Array::from(right_rows);
        let mut columns: Vec<ArrayRef> = Vec::new();
        for column in left.columns() {
            columns.push(take(column.as_ref(), &left_take, None)?);
        }
        for column in right.columns() {
            columns.push(take(column.as_ref(), &right_take, None)?);
        }
        columns.push(Arc::new(Float64Array::from(similarities)));
        let fields: Vec<Arc<Field>> = left
            .schema()
            .fields()
            .iter()
            .chain(right.schema().fields().iter())
            .cloned()
            .chain([Arc::new(Field::new("similarity", DataType::Float64, false))])
            .collect();
        let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?;
        let df = session.ctx.read_batch(batch)?;
        self.common.register(session, &self.output_view, df).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shingles_are_character_ngrams_joined_by_spaces() {
        assert_eq!(shingles("Abc d", 3, false), ["a b c", "b c  ", "c   d"]);
        assert_eq!(shingles("Ab", 3, false), Vec::<String>::new());
        assert_eq!(shingles("AB", 1, true), ["A", "B"]);
    }
}
