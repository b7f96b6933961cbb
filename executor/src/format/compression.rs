//! Compression of the text files the filesystem sink writes (`sluice.compression`: `none`,
//! `gzip`, `zstd`) — a Sluice option: Flink has none for its row formats. A file is compressed
//! whole when it rolls, before it is staged, so the commit that publishes it publishes a
//! complete gzip member or zstd frame; a compressed file is therefore never uploaded in parts
//! while it is open, and `sink.rolling-policy.file-size` counts its uncompressed bytes.

use std::io::Write as _;

use crate::options::Options;

/// The option's name.
pub const OPTION: &str = "sluice.compression";

/// `sluice.compression`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Compression {
    /// Plain text (the default).
    #[default]
    None,
    /// gzip (`.gz`), deflate level 6.
    Gzip,
    /// zstd (`.zst`), level 3.
    Zstd,
}

impl Compression {
    /// Reads `sluice.compression`.
    pub fn read(options: &mut Options<'_>) -> Compression {
        match options.choice(OPTION, &["none", "gzip", "zstd"], "none") {
            "gzip" => Compression::Gzip,
            "zstd" => Compression::Zstd,
            _ => Compression::None,
        }
    }

    /// The file extension of a format's files with this compression (`csv.gz`).
    pub fn extension(self, format: &'static str) -> &'static str {
        let all: &[(&str, &str, &str, &str)] = &[
            ("json", "json", "json.gz", "json.zst"),
            ("csv", "csv", "csv.gz", "csv.zst"),
            ("raw", "raw", "raw.gz", "raw.zst"),
        ];
        let row = all
            .iter()
            .find(|r| r.0 == format)
            .copied()
            .unwrap_or(all[0]);
        match self {
            Compression::None => row.1,
            Compression::Gzip => row.2,
            Compression::Zstd => row.3,
        }
    }

    /// Compresses a whole file.
    pub fn compress(self, data: &[u8]) -> std::io::Result<Vec<u8>> {
        match self {
            Compression::None => Ok(data.to_vec()),
            Compression::Gzip => {
                let mut e = flate2::write::GzEncoder::new(
                    Vec::with_capacity(data.len() / 4),
                    flate2::Compression::default(),
                );
                e.write_all(data)?;
                e.finish()
            }
            Compression::Zstd => zstd::bulk::compress(data, 3),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;

    #[test]
    fn files_decompress_to_what_was_written() {
        let text = b"a,b\n\"x y\",1\n".repeat(1000);
        let gz = Compression::Gzip.compress(&text).unwrap();
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(gz.as_slice())
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, text);
        assert!(gz.len() < text.len() / 10);
        let zst = Compression::Zstd.compress(&text).unwrap();
        assert_eq!(zstd::decode_all(zst.as_slice()).unwrap(), text);
    }

    #[test]
    fn extensions_name_format_and_compression() {
        assert_eq!(Compression::Gzip.extension("json"), "json.gz");
        assert_eq!(Compression::Zstd.extension("csv"), "csv.zst");
        assert_eq!(Compression::None.extension("raw"), "raw");
    }
}
