//! A view computed batch by batch from another: each partition of the input plan is streamed
//! through a function of one batch. Used by the stages that change a view's batches without
//! changing their number or order (TypingTransform types them, MetadataTransform relabels them).

use std::fmt;
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::streaming::StreamingTable;
use datafusion::error::Result;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use futures::StreamExt;

/// The function applied to every batch.
pub type BatchFn = Arc<dyn Fn(&RecordBatch) -> Result<RecordBatch> + Send + Sync>;

/// A streaming table of `schema` whose partitions are `plan`'s, each batch passed through `f`.
pub fn mapped_table(plan: Arc<dyn ExecutionPlan>, schema: SchemaRef, f: BatchFn) -> Result<StreamingTable> {
    let partitions: Vec<Arc<dyn PartitionStream>> = (0..plan.properties().output_partitioning().partition_count())
        .map(|partition| {
            Arc::new(MappedPartition { plan: plan.clone(), partition, schema: schema.clone(), f: f.clone() })
                as Arc<dyn PartitionStream>
        })
        .collect();
    StreamingTable::try_new(schema, partitions)
}

struct MappedPartition {
    plan: Arc<dyn ExecutionPlan>,
    partition: usize,
    schema: SchemaRef,
    f: BatchFn,
}

impl fmt::Debug for MappedPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MappedPartition").field("partition", &self.partition).finish()
    }
}

impl PartitionStream for MappedPartition {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let input = self.plan.execute(self.partition, ctx);
        let f = self.f.clone();
        let stream = futures::stream::once(async move { input }).flat_map(
            move |input| -> futures::stream::BoxStream<'static, Result<RecordBatch>> {
                match input {
                    Ok(batches) => {
                        let f = f.clone();
                        batches.map(move |batch| batch.and_then(|b| f(&b))).boxed()
                    }
                    Err(e) => futures::stream::once(async move { Err(e) }).boxed(),
                }
            },
        );
        Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), stream))
    }
}
