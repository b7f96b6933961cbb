//! Flink's message digests: `MD5`, `SHA1`, `SHA224`, `SHA256`, `SHA384`, `SHA512` and
//! `SHA2(s, bits)`, each the lower-case hex of the digest of the string's UTF-8 bytes (or of
//! BYTES); and `HASH_CODE` of a STRING (`Math.abs` of Java's `String.hashCode`, as observed).

use std::sync::Arc;

use datafusion_common::arrow::datatypes::DataType;
use datafusion_expr::ScalarUDF;
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};

use super::rowwise::{Arg, Kind, Out, Returns, RowError, RowWise};

pub fn functions() -> Vec<Arc<ScalarUDF>> {
    use Kind::{Bytes, Int, Str};
    const ONE: &[&[Kind]] = &[&[Str], &[Bytes]];
    let hex = || Returns::Fixed(DataType::Utf8);
    vec![
        RowWise::new("md5", ONE, hex(), |a| Ok(Out::Str(digest::<Md5>(a)))).udf(),
        RowWise::new("sha1", ONE, hex(), |a| Ok(Out::Str(digest::<Sha1>(a)))).udf(),
        RowWise::new("sha224", ONE, hex(), |a| Ok(Out::Str(digest::<Sha224>(a)))).udf(),
        RowWise::new("sha256", ONE, hex(), |a| Ok(Out::Str(digest::<Sha256>(a)))).udf(),
        RowWise::new("sha384", ONE, hex(), |a| Ok(Out::Str(digest::<Sha384>(a)))).udf(),
        RowWise::new("sha512", ONE, hex(), |a| Ok(Out::Str(digest::<Sha512>(a)))).udf(),
        // Any other length fails the job (`MessageDigest.getInstance("SHA-" + bits)`).
        RowWise::new("sha2", &[&[Str, Int], &[Bytes, Int]], hex(), |a| {
            Ok(Out::Str(match a[1].int() {
                Some(224) => digest::<Sha224>(a),
                Some(256) => digest::<Sha256>(a),
                Some(384) => digest::<Sha384>(a),
                Some(512) => digest::<Sha512>(a),
                Some(other) => return Err(RowError::NoSuchDigest(other)),
                None => return Ok(Out::Null),
            }))
        })
        .udf(),
        RowWise::new(
            "hash_code",
            &[&[Str]],
            Returns::Fixed(DataType::Int32),
            |a| {
                let h = java_string_hash(a[0].str().unwrap_or_default());
                Ok(Out::Int(i64::from(h.wrapping_abs())))
            },
        )
        .udf(),
    ]
}

/// `String.hashCode`: `31 h + c` over the UTF-16 units.
fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

fn digest<D: Digest>(a: &[Arg<'_>]) -> String {
    let bytes = match a[0] {
        Arg::Str(s) => s.as_bytes(),
        Arg::Bytes(b) => b,
        _ => &[],
    };
    let mut out = String::with_capacity(128);
    for b in D::digest(bytes).iter() {
        out.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        out.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests() {
        let abc = [Arg::Str("abc")];
        assert_eq!(digest::<Md5>(&abc), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(
            digest::<Sha1>(&abc),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
    }
}
