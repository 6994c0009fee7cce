//! ORCLoad: writes a view as ORC files, snappy-compressed (Spark's default ORC codec), with
//! Spark's ORC types: byte/short/int/long, float/double, boolean, string, binary, date,
//! timestamp (as ORC `timestamp with local time zone`, the instant in UTC) and timestamp_ntz
//! (as ORC `timestamp`, writer time zone UTC).
//!
//! Not yet (Weir's ORC writer, orc-rust, has no encoder for them): decimal, array, struct and
//! map columns fail the stage before anything is written, naming the column.

use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::arrow::error::ArrowError;

use crate::config::StageConfig;
use crate::stages::load::encoded::{BatchEncoder, EncoderFactory, SharedBuffer};
use crate::stages::load::files::{FileFormat, FileLoad};
use crate::stages::{LoadCommon, Stage};

pub fn build(c: &mut StageConfig) -> Option<Box<dyn Stage>> {
    let common = LoadCommon::read(c);
    let _ = c.node("authentication");
    Some(Box::new(FileLoad { stage: "ORCLoad", common: common?, format: FileFormat::Orc, extra: Default::default() }))
}

/// The Arrow type written for a column of type `t`.
fn write_type(name: &str, t: &DataType) -> Result<DataType, ArrowError> {
    Ok(match t {
        DataType::Boolean
        | DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::Float32
        | DataType::Float64
        | DataType::Date32 => t.clone(),
        DataType::UInt8 => DataType::Int16,
        DataType::UInt16 => DataType::Int32,
        DataType::UInt32 => DataType::Int64,
        DataType::Float16 => DataType::Float32,
        DataType::Date64 => DataType::Date32,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => DataType::Utf8,
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::FixedSizeBinary(_) => {
            DataType::Binary
        }
        DataType::Timestamp(_, Some(_)) => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        DataType::Timestamp(_, None) => DataType::Timestamp(TimeUnit::Microsecond, None),
        DataType::Dictionary(_, value) => write_type(name, value)?,
        other => {
            let spark = crate::sql::types::spark_type_name(other).unwrap_or_else(|| other.to_string());
            return Err(ArrowError::SchemaError(format!(
                "ORCLoad cannot write column '{name}' of type {spark}: Weir's ORC writer does not support {spark} columns yet."
            )));
        }
    })
}

/// The schema written: each column with its ORC-writable type, nullable as it is.
pub(crate) fn written_schema(schema: &Schema) -> Result<SchemaRef, ArrowError> {
    let fields = schema
        .fields()
        .iter()
        .map(|f| Ok(Field::new(f.name(), write_type(f.name(), f.data_type())?, f.is_nullable())))
        .collect::<Result<Vec<_>, ArrowError>>()?;
    Ok(Arc::new(Schema::new(fields)))
}

/// One file's ORC writer. orc-rust's writer is not `Send`, so it lives on a thread of its own
/// that takes the batches through a small bounded channel (the sink's task waits when it is
/// full, as it would encoding inline) and writes the file's bytes into the shared buffer.
struct OrcEncoder {
    schema: SchemaRef,
    batches: Option<std::sync::mpsc::SyncSender<RecordBatch>>,
    worker: Option<std::thread::JoinHandle<Result<(), ArrowError>>>,
}

impl OrcEncoder {
    /// The worker's result (its error, when it stopped early).
    fn join(&mut self) -> Result<(), ArrowError> {
        self.batches = None;
        match self.worker.take().map(std::thread::JoinHandle::join) {
            None | Some(Ok(Ok(()))) => Ok(()),
            Some(Ok(Err(e))) => Err(e),
            Some(Err(_)) => Err(ArrowError::ExternalError("the ORC writer thread panicked".into())),
        }
    }
}

impl BatchEncoder for OrcEncoder {
    fn write(&mut self, batch: &RecordBatch) -> Result<(), ArrowError> {
        let batch = crate::stages::cast_batch(batch, &self.schema)?;
        let sent = self.batches.as_ref().map(|tx| tx.send(batch).is_ok());
        match sent {
            Some(true) => Ok(()),
            // The worker stopped: its error.
            _ => self.join().and(Err(ArrowError::ExternalError("the ORC writer stopped".into()))),
        }
    }

    fn finish(mut self: Box<Self>) -> Result<(), ArrowError> {
        self.join()
    }
}

/// Makes the ORC writer of one file.
pub(crate) fn encoder() -> EncoderFactory {
    Arc::new(|schema: SchemaRef, out: SharedBuffer| {
        let schema = written_schema(&schema)?;
        let (tx, rx) = std::sync::mpsc::sync_channel::<RecordBatch>(2);
        let file_schema = schema.clone();
        let worker = std::thread::Builder::new()
            .name("weir-orc-writer".into())
            .spawn(move || {
                let external = |e: orc_rust::error::OrcError| ArrowError::ExternalError(Box::new(e));
                let mut writer = orc_rust::ArrowWriterBuilder::new(out, file_schema)
                    .with_compression(orc_rust::compression::CompressionType::Snappy)
                    .try_build()
                    .map_err(external)?;
                for batch in rx {
                    writer.write(&batch).map_err(external)?;
                }
                writer.close().map_err(external)
            })
            .map_err(|e| ArrowError::ExternalError(Box::new(e)))?;
        Ok(Box::new(OrcEncoder { schema, batches: Some(tx), worker: Some(worker) }) as Box<dyn BatchEncoder>)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Date32Array, Int32Array, StringArray, TimestampMicrosecondArray};

    #[test]
    fn unwritable_types_name_the_column() {
        let schema = Schema::new(vec![
            Field::new("id", DataType::Int32, false),
            Field::new("amount", DataType::Decimal128(10, 2), true),
        ]);
        let err = written_schema(&schema).unwrap_err().to_string();
        assert!(err.contains("ORCLoad cannot write column 'amount' of type decimal(10,2)"), "{err}");
    }

    #[test]
    fn written_files_read_back_with_their_values() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int32, false),
            Field::new("name", DataType::Utf8, true),
            Field::new("day", DataType::Date32, true),
            Field::new("at", crate::sql::timestamps::ltz(), true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int32Array::from(vec![1, 2])),
                Arc::new(StringArray::from(vec![Some("a"), None])),
                Arc::new(Date32Array::from(vec![Some(19_000), None])),
                Arc::new(
                    TimestampMicrosecondArray::from(vec![Some(1_700_000_000_123_456), None]).with_timezone("+00:00"),
                ),
            ],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let out = SharedBuffer::default();
        let mut encoder = encoder()(schema.clone(), out.clone()).unwrap_or_else(|e| panic!("{e}"));
        encoder.write(&batch).unwrap_or_else(|e| panic!("{e}"));
        encoder.finish().unwrap_or_else(|e| panic!("{e}"));
        let bytes = bytes::Bytes::from(out.take());
        let reader = orc_rust::ArrowReaderBuilder::try_new(bytes)
            .unwrap_or_else(|e| panic!("{e}"))
            .with_timestamp_precision(orc_rust::TimestampPrecision::Microsecond)
            .build();
        let back: Vec<RecordBatch> = reader.collect::<Result<_, _>>().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.len(), 1);
        let back = &back[0];
        assert_eq!(back.num_rows(), 2);
        for i in 0..3 {
            assert_eq!(back.column(i).as_ref(), batch.column(i).as_ref(), "column {i}");
        }
        let at = datafusion::arrow::compute::cast(back.column(3), &crate::sql::timestamps::ltz())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(at.as_ref(), batch.column(3).as_ref());
    }
}
