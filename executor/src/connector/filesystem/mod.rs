//! The `filesystem` connector: a sink of Hive-partitioned files on S3 (`s3://`, `s3a://`) or a
//! local filesystem (`file://`), written exactly once.

pub mod partition;
