//! The names of the files the filesystem sink writes,
//! `<file tag>-<topic>-<partition>-<offset>.<extension>` (the format's extension; `json` for
//! dead letters), and the split a name belongs to: the writer names files, the commit log's
//! claim finds the uploads a split's previous owner left.

use crate::connector::source::SplitId;

/// The extensions of the files a sink writes: each format's, with the compression's
/// (`sluice.compression`); `json` for dead letters.
pub const EXTENSIONS: &[&str] = &[
    "json", "csv", "raw", "json.gz", "csv.gz", "raw.gz", "json.zst", "csv.zst", "raw.zst",
];

/// The extension of dead-letter files (JSON lines, whatever the table's format).
pub const DEAD_LETTER_EXTENSION: &str = "json";

/// The name of a split's file whose first record is at `offset`:
/// `<file tag>-<topic>-<partition>-<offset>.<extension>`.
pub fn file_name(file_tag: &str, split: &SplitId, offset: i64, extension: &str) -> String {
    format!(
        "{file_tag}-{}-{}-{offset}.{extension}",
        split.topic, split.partition
    )
}

/// The split whose file `name` is ([`file_name`], any of [`EXTENSIONS`]), read from the right:
/// the last two `-` fields are numbers, so the topic is the rest, whatever `-` it holds. (A
/// prefix match was ambiguous: topic `t` partition 1's `t-1-` begins topic `t-1` partition
/// 5's `t-1-5-`, and a claim of the one aborted the other's uploads.)
pub fn file_split(file_tag: &str, name: &str) -> Option<SplitId> {
    let rest = name.strip_prefix(file_tag)?.strip_prefix('-')?;
    let (rest, last) = rest.rsplit_once('-')?;
    let (offset, extension) = last.split_once('.')?;
    if !EXTENSIONS.contains(&extension) {
        return None;
    }
    let (topic, partition) = rest.rsplit_once('-')?;
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if topic.is_empty() || !numeric(offset) || !numeric(partition) {
        return None;
    }
    Some(SplitId {
        topic: topic.to_owned(),
        partition: partition.parse().ok()?,
    })
}
