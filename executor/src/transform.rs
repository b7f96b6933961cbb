//! One batch of source records through the job: decode (the source's format) → evaluate the SQL
//! (Arrow, DataFusion) → partition path and line (the sink's format) per output row. Pure: no I/O, no clocks, so the
//! golden tests run exactly what the executor runs.

use std::collections::HashMap;
use std::sync::Arc;

use sluice_sql::arrow::array::{
    Array, ArrayRef, BinaryBuilder, Int32Builder, Int64Builder, RecordBatch, RecordBatchOptions,
    StringBuilder, TimestampMillisecondBuilder,
};
use sluice_sql::arrow::compute::cast;
use sluice_sql::arrow::datatypes::DataType;
use sluice_sql::{JobPlan, SqlTypeKind};

use crate::connector::sink::SinkFormat;
pub use crate::connector::source::Metadata;
use crate::connector::source::{RawBatch, SourceFormat, SplitId};
use crate::format::{DecodeField, Decoded, Decoder, Encoder};
pub use crate::output::{FailedRecord, OutRow, Output};
use crate::partition::Partitioner;

#[derive(Clone, Debug)]
enum InputColumn {
    /// The n-th decoded column.
    Decoded(usize),
    /// A metadata value, cast to the column's type.
    Metadata(Metadata, DataType),
}

/// The job's per-batch work.
pub struct Transform {
    plan: JobPlan,
    decoder: Decoder,
    layout: Vec<InputColumn>,
    encoder: Encoder,
    partitioner: Partitioner,
    not_null: Vec<(usize, String)>,
}

/// Why a transform could not be built.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TransformError(pub String);

impl Transform {
    /// Builds the transform of a planned job with the source's and the sink's formats and the
    /// sink's `partition.default-name`.
    pub fn new(
        plan: JobPlan,
        source_format: SourceFormat,
        sink_format: SinkFormat,
        default_partition: &str,
    ) -> Result<Transform, TransformError> {
        let source = &plan.source;
        let mut fields = Vec::new();
        let mut layout = Vec::new();
        for (i, c) in source.columns.iter().enumerate() {
            let wanted = plan.input_columns.contains(&i);
            match &c.metadata {
                None => fields.push(DecodeField {
                    name: c.name.clone(),
                    ty: c.ty.clone(),
                    wanted,
                }),
                Some(key) if wanted => {
                    let m = Metadata::parse(key).ok_or_else(|| {
                        TransformError(format!(
                            "column {}: unknown metadata key {key:?}; use one of {}",
                            c.name,
                            Metadata::KEYS.join(", ")
                        ))
                    })?;
                    layout.push((i, InputColumn::Metadata(m, c.ty.to_arrow())));
                }
                Some(_) => {}
            }
        }
        let mut decoded = 0;
        for (i, c) in source.columns.iter().enumerate() {
            if c.metadata.is_none() && plan.input_columns.contains(&i) {
                layout.push((i, InputColumn::Decoded(decoded)));
                decoded += 1;
            }
        }
        layout.sort_by_key(|(i, _)| *i);
        let decoder = Decoder::new(&fields, &source_format).map_err(TransformError)?;
        let sink = &plan.sink;
        let columns: Vec<_> = sink
            .columns
            .iter()
            .map(|c| (c.name.clone(), c.ty.clone()))
            .collect();
        let encoder = match sink_format {
            SinkFormat::Rows(format) => {
                Encoder::new(&columns, &sink.partitioned_by, &format).map_err(TransformError)?
            }
            SinkFormat::RowText => Encoder::row_text(&columns),
        };
        let partition_columns: Vec<(usize, String)> = sink
            .partitioned_by
            .iter()
            .filter_map(|p| sink.column_index(p).map(|i| (i, p.clone())))
            .collect();
        let not_null = sink
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| !c.ty.nullable)
            .map(|(i, c)| (i, c.name.clone()))
            .collect();
        Ok(Transform {
            partitioner: Partitioner::new(&partition_columns, default_partition),
            layout: layout.into_iter().map(|(_, c)| c).collect(),
            plan,
            decoder,
            encoder,
            not_null,
        })
    }

    /// The planned statement.
    pub fn plan(&self) -> &JobPlan {
        &self.plan
    }

    /// Runs a batch of one split's records through the job.
    pub fn process(&mut self, split: &SplitId, raw: &RawBatch) -> Output {
        let mut out = Output::default();
        let mut kept: Vec<usize> = Vec::with_capacity(raw.len());
        for (i, r) in raw.records.iter().enumerate() {
            match self.decoder.decode(raw.bytes(r.value)) {
                Ok(Decoded::Rows(0)) | Ok(Decoded::Empty) => out.filtered += 1,
                // An array of objects is several rows of one record.
                Ok(Decoded::Rows(n)) => kept.extend(std::iter::repeat_n(i, n)),
                Ok(Decoded::Dropped) => out.dropped += 1,
                Err(e) => out.failed.push(FailedRecord {
                    offset: r.offset,
                    index: i,
                    reason: e.message,
                }),
            }
        }
        let decoded = self.decoder.finish();
        if kept.is_empty() {
            return out;
        }
        let columns: Vec<ArrayRef> = self
            .layout
            .iter()
            .map(|c| match c {
                InputColumn::Decoded(n) => Arc::clone(&decoded[*n]),
                InputColumn::Metadata(m, ty) => metadata_column(*m, ty, split, raw, &kept),
            })
            .collect();
        let options = RecordBatchOptions::new().with_row_count(Some(kept.len()));
        let input = match RecordBatch::try_new_with_options(
            Arc::clone(&self.plan.input_schema),
            columns,
            &options,
        ) {
            Ok(b) => b,
            Err(e) => {
                for &i in &kept {
                    out.failed.push(FailedRecord {
                        offset: raw.records[i].offset,
                        index: i,
                        reason: format!("failed to build the input row: {e}"),
                    });
                }
                return out;
            }
        };
        self.evaluate(&input, raw, &kept, &mut out);
        out.failed.sort_by_key(|f| f.offset);
        if !out.failed.is_empty() {
            // A record is wholly written or wholly failed: the rows of a record with several
            // (a JSON array) whose other row failed do not go to the sink beside its dead letter.
            let failed: std::collections::HashSet<i64> =
                out.failed.iter().map(|f| f.offset).collect();
            out.rows.retain(|r| !failed.contains(&r.offset));
        }
        out
    }

    /// Evaluates the statement on `input` (rows = `kept` records); when the batch fails,
    /// evaluates row by row to find the failing records.
    fn evaluate(&self, input: &RecordBatch, raw: &RawBatch, kept: &[usize], out: &mut Output) {
        match self.plan.evaluate(input) {
            Ok(ev) => {
                let selected = ev.selection.as_ref().map_or(input.num_rows(), Vec::len);
                out.filtered += (input.num_rows() - selected) as u64;
                let source_rows: Vec<usize> = match &ev.selection {
                    None => kept.to_vec(),
                    Some(s) => s.iter().map(|&i| kept[i as usize]).collect(),
                };
                self.emit(&ev.batch, raw, &source_rows, out);
            }
            Err(_) if input.num_rows() > 1 => {
                for row in 0..input.num_rows() {
                    self.evaluate(&input.slice(row, 1), raw, &kept[row..=row], out);
                }
            }
            Err(e) => {
                let i = kept[0];
                out.failed.push(FailedRecord {
                    offset: raw.records[i].offset,
                    index: i,
                    reason: e.0.to_string(),
                });
            }
        }
    }

    fn emit(&self, batch: &RecordBatch, raw: &RawBatch, source_rows: &[usize], out: &mut Output) {
        let mut encoder = match self.encoder.batch(batch) {
            Ok(e) => e,
            Err(reason) => {
                for &i in source_rows {
                    out.failed.push(FailedRecord {
                        offset: raw.records[i].offset,
                        index: i,
                        reason: reason.clone(),
                    });
                }
                return;
            }
        };
        let mut partitions = self.partitioner.batch(batch);
        let mut path = String::with_capacity(64);
        let mut bucket_ids: HashMap<String, u32> = HashMap::new();
        let mut last: Option<(String, u32)> = None;
        'rows: for (row, &i) in source_rows.iter().enumerate() {
            let offset = raw.records[i].offset;
            for (col, name) in &self.not_null {
                if batch.column(*col).is_null(row) {
                    out.failed.push(FailedRecord {
                        offset,
                        index: i,
                        reason: format!("Column '{name}' is NOT NULL, however, a null value is being written into it"),
                    });
                    continue 'rows;
                }
            }
            let bucket = if self.partitioner.is_partitioned() {
                partitions.path(row, &mut path);
                match &last {
                    Some((p, b)) if *p == path => *b,
                    _ => {
                        let b = *bucket_ids.entry(path.clone()).or_insert_with(|| {
                            out.buckets.push(path.clone());
                            (out.buckets.len() - 1) as u32
                        });
                        last = Some((path.clone(), b));
                        b
                    }
                }
            } else {
                if out.buckets.is_empty() {
                    out.buckets.push(String::new());
                }
                0
            };
            let start = out.data.len() as u32;
            if let Err(reason) = encoder.write_row(row, &mut out.data) {
                out.data.truncate(start as usize);
                out.failed.push(FailedRecord {
                    offset,
                    index: i,
                    reason,
                });
                continue;
            }
            out.rows.push(OutRow {
                bucket,
                start,
                end: out.data.len() as u32,
                offset,
            });
        }
    }
}

/// A metadata column for the `kept` records, cast to the declared type.
fn metadata_column(
    m: Metadata,
    ty: &DataType,
    split: &SplitId,
    raw: &RawBatch,
    kept: &[usize],
) -> ArrayRef {
    let records = kept.iter().map(|&i| &raw.records[i]);
    let natural: ArrayRef = match m {
        Metadata::Topic => {
            let mut b = StringBuilder::new();
            records.for_each(|_| b.append_value(&split.topic));
            Arc::new(b.finish())
        }
        Metadata::Partition => {
            let mut b = Int32Builder::new();
            records.for_each(|_| b.append_value(split.partition));
            Arc::new(b.finish())
        }
        Metadata::Offset => {
            let mut b = Int64Builder::new();
            records.for_each(|r| b.append_value(r.offset));
            Arc::new(b.finish())
        }
        Metadata::Timestamp => {
            let mut b = TimestampMillisecondBuilder::new().with_timezone("UTC");
            records.for_each(|r| b.append_option(r.timestamp));
            Arc::new(b.finish())
        }
        Metadata::TimestampType => {
            let mut b = StringBuilder::new();
            records.for_each(|r| b.append_value(r.timestamp_type.name()));
            Arc::new(b.finish())
        }
        Metadata::LeaderEpoch => {
            let mut b = Int32Builder::new();
            records.for_each(|r| b.append_option(r.leader_epoch));
            Arc::new(b.finish())
        }
        Metadata::Key => {
            if matches!(ty, DataType::Binary) {
                let mut b = BinaryBuilder::new();
                records.for_each(|r| b.append_option(raw.bytes(r.key)));
                Arc::new(b.finish())
            } else {
                let mut b = StringBuilder::new();
                records.for_each(|r| {
                    b.append_option(
                        raw.bytes(r.key)
                            .map(|k| String::from_utf8_lossy(k).into_owned()),
                    )
                });
                Arc::new(b.finish())
            }
        }
    };
    if natural.data_type() == ty {
        natural
    } else {
        cast(&natural, ty)
            .unwrap_or_else(|_| sluice_sql::arrow::array::new_null_array(ty, kept.len()))
    }
}

/// The metadata type a key provides, to check declared column types.
pub fn metadata_type(m: Metadata) -> SqlTypeKind {
    match m {
        Metadata::Topic | Metadata::TimestampType => {
            SqlTypeKind::Varchar(sluice_sql::types::MAX_LENGTH)
        }
        Metadata::Partition | Metadata::LeaderEpoch => SqlTypeKind::Int,
        Metadata::Offset => SqlTypeKind::BigInt,
        Metadata::Timestamp => SqlTypeKind::TimestampLtz(3),
        Metadata::Key => SqlTypeKind::Varbinary(sluice_sql::types::MAX_LENGTH),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connector::source::TimestampType;
    use sluice_sql::{Catalog, Column, FunctionRegistry, SqlType, TableDef};

    fn table(name: &str, columns: &[(&str, &str)]) -> TableDef {
        TableDef {
            name: name.to_owned(),
            resource: format!("test/{name}"),
            connector: "filesystem".to_owned(),
            format: Some("json".to_owned()),
            columns: columns
                .iter()
                .map(|(n, t)| Column {
                    name: (*n).to_owned(),
                    ty: SqlType::parse(t).unwrap(),
                    metadata: None,
                })
                .collect(),
            partitioned_by: Vec::new(),
            options: Default::default(),
            secret_options: Vec::new(),
        }
    }

    #[test]
    fn a_record_of_several_rows_with_one_failing_row_is_wholly_failed_not_partly_written() {
        let source = table("src", &[("id", "INT"), ("v", "STRING")]);
        let sink = table("dst", &[("id", "INT"), ("v", "STRING NOT NULL")]);
        let plan = JobPlan::plan(
            "INSERT INTO dst SELECT id, v FROM src",
            &Catalog::new([source, sink]),
            &FunctionRegistry::flink(),
        )
        .unwrap();
        let mut t = Transform::new(
            plan,
            SourceFormat::default(),
            SinkFormat::Rows(crate::format::Format::default()),
            "__DEFAULT_PARTITION__",
        )
        .unwrap();
        let mut raw = RawBatch::default();
        let values: [&[u8]; 2] = [
            br#"[{"id":1,"v":"a"},{"id":2,"v":null}]"#,
            br#"{"id":3,"v":"b"}"#,
        ];
        for (offset, v) in values.into_iter().enumerate() {
            raw.push(
                offset as i64,
                None,
                TimestampType::None,
                None,
                None,
                Some(v),
            );
        }
        let split = SplitId {
            topic: "t".into(),
            partition: 0,
        };
        let out = t.process(&split, &raw);
        assert_eq!(
            out.failed.iter().map(|f| f.offset).collect::<Vec<_>>(),
            vec![0]
        );
        let written: Vec<i64> = out.rows.iter().map(|r| r.offset).collect();
        assert_eq!(
            written,
            vec![1],
            "record 0 was both dead-lettered and partly written"
        );
    }
}
