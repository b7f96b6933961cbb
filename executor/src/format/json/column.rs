//! Growable columns of any Flink type (nested ones included) that can drop their last rows:
//! a record is all or nothing, a duplicate key replaces the value set before, and a bad nested
//! value becomes NULL — so the decoder appends first and takes back on failure.

use std::sync::Arc;

use sluice_sql::arrow::array::{
    Array, ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float32Array,
    Float64Array, Int8Array, Int16Array, Int32Array, Int64Array, ListArray, StringArray,
    StructArray, Time32MillisecondArray, TimestampNanosecondArray, UInt32Array,
};
use sluice_sql::arrow::buffer::{BooleanBuffer, Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use sluice_sql::arrow::compute::take;
use sluice_sql::arrow::datatypes::{DataType, Field, FieldRef, Fields};
use sluice_sql::{SqlType, SqlTypeKind};

/// One column being built.
#[derive(Debug)]
pub struct Column {
    /// The values, by type.
    pub kind: Kind,
    valid: Vec<bool>,
}

/// The values of a [`Column`].
#[derive(Debug)]
pub enum Kind {
    /// BOOLEAN
    Bool(Vec<bool>),
    /// TINYINT
    I8(Vec<i8>),
    /// SMALLINT
    I16(Vec<i16>),
    /// INT
    I32(Vec<i32>),
    /// BIGINT
    I64(Vec<i64>),
    /// FLOAT
    F32(Vec<f32>),
    /// DOUBLE
    F64(Vec<f64>),
    /// DECIMAL(p, s): unscaled values.
    Decimal(Vec<i128>, u8, i8),
    /// CHAR/VARCHAR/STRING.
    Utf8(Strings),
    /// BINARY/VARBINARY/BYTES.
    Binary(Strings),
    /// DATE: epoch days.
    Date(Vec<i32>),
    /// TIME: milliseconds of the day.
    Time(Vec<i32>),
    /// TIMESTAMP (false) or TIMESTAMP_LTZ (true): epoch nanoseconds.
    Timestamp(Vec<i64>, bool),
    /// ARRAY<T>.
    List {
        /// Start of each row's elements in `item`, plus the end.
        offsets: Vec<i32>,
        /// The elements.
        item: Box<Column>,
    },
    /// MAP<K, V>: entries as read (`keys`/`values`, `raw` offsets per row) and the entries each
    /// row keeps, in order (`order`, `offsets` per row).
    Map {
        /// Start of each row's kept entries in `order`, plus the end.
        offsets: Vec<i32>,
        /// Start of each row's entries as read, plus the end.
        raw: Vec<i32>,
        /// Indices into `keys`/`values` of the kept entries.
        order: Vec<u32>,
        /// Keys as read.
        keys: Box<Column>,
        /// Values as read.
        values: Box<Column>,
    },
    /// ROW<...>.
    Struct {
        /// Field names.
        names: Vec<String>,
        /// Field values.
        children: Vec<Column>,
    },
}

/// Variable-length values back to back.
#[derive(Debug, Default)]
pub struct Strings {
    offsets: Vec<i32>,
    data: Vec<u8>,
}

impl Strings {
    fn new() -> Strings {
        Strings {
            offsets: vec![0],
            data: Vec::new(),
        }
    }

    fn push(&mut self, b: &[u8]) {
        self.data.extend_from_slice(b);
        self.offsets.push(self.data.len() as i32);
    }

    fn truncate(&mut self, n: usize) {
        self.data.truncate(self.offsets[n] as usize);
        self.offsets.truncate(n + 1);
    }

    /// Value `i` (for map keys).
    pub fn get(&self, i: usize) -> &[u8] {
        &self.data[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }
}

impl Column {
    /// An empty column of `ty`.
    pub fn new(ty: &SqlType) -> Column {
        let kind = match &ty.kind {
            SqlTypeKind::Boolean => Kind::Bool(Vec::new()),
            SqlTypeKind::TinyInt => Kind::I8(Vec::new()),
            SqlTypeKind::SmallInt => Kind::I16(Vec::new()),
            SqlTypeKind::Int => Kind::I32(Vec::new()),
            SqlTypeKind::BigInt => Kind::I64(Vec::new()),
            SqlTypeKind::Float => Kind::F32(Vec::new()),
            SqlTypeKind::Double => Kind::F64(Vec::new()),
            SqlTypeKind::Decimal(p, s) => Kind::Decimal(Vec::new(), *p, *s),
            SqlTypeKind::Char(_) | SqlTypeKind::Varchar(_) => Kind::Utf8(Strings::new()),
            SqlTypeKind::Binary(_) | SqlTypeKind::Varbinary(_) => Kind::Binary(Strings::new()),
            SqlTypeKind::Date => Kind::Date(Vec::new()),
            SqlTypeKind::Time(_) => Kind::Time(Vec::new()),
            SqlTypeKind::Timestamp(_) => Kind::Timestamp(Vec::new(), false),
            SqlTypeKind::TimestampLtz(_) => Kind::Timestamp(Vec::new(), true),
            SqlTypeKind::Array(item) => Kind::List {
                offsets: vec![0],
                item: Box::new(Column::new(item)),
            },
            SqlTypeKind::Map(k, v) => Kind::Map {
                offsets: vec![0],
                raw: vec![0],
                order: Vec::new(),
                keys: Box::new(Column::new(k)),
                values: Box::new(Column::new(v)),
            },
            SqlTypeKind::Row(fields) => Kind::Struct {
                names: fields.iter().map(|(n, _)| n.clone()).collect(),
                children: fields.iter().map(|(_, t)| Column::new(t)).collect(),
            },
        };
        Column {
            kind,
            valid: Vec::new(),
        }
    }

    /// Rows so far.
    pub fn len(&self) -> usize {
        self.valid.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.valid.is_empty()
    }

    /// Appends a NULL.
    pub fn push_null(&mut self) {
        self.valid.push(false);
        match &mut self.kind {
            Kind::Bool(v) => v.push(false),
            Kind::I8(v) => v.push(0),
            Kind::I16(v) => v.push(0),
            Kind::I32(v) | Kind::Date(v) | Kind::Time(v) => v.push(0),
            Kind::I64(v) | Kind::Timestamp(v, _) => v.push(0),
            Kind::F32(v) => v.push(0.0),
            Kind::F64(v) => v.push(0.0),
            Kind::Decimal(v, ..) => v.push(0),
            Kind::Utf8(s) | Kind::Binary(s) => s.push(b""),
            Kind::List { offsets, .. } => offsets.push(offsets.last().copied().unwrap_or(0)),
            Kind::Map { offsets, raw, .. } => {
                offsets.push(offsets.last().copied().unwrap_or(0));
                raw.push(raw.last().copied().unwrap_or(0));
            }
            Kind::Struct { children, .. } => children.iter_mut().for_each(Column::push_null),
        }
    }

    /// Keeps the first `n` rows.
    pub fn truncate(&mut self, n: usize) {
        // `n == len` still trims the children of a nested row left unfinished.
        if n > self.valid.len() {
            return;
        }
        self.valid.truncate(n);
        match &mut self.kind {
            Kind::Bool(v) => v.truncate(n),
            Kind::I8(v) => v.truncate(n),
            Kind::I16(v) => v.truncate(n),
            Kind::I32(v) | Kind::Date(v) | Kind::Time(v) => v.truncate(n),
            Kind::I64(v) | Kind::Timestamp(v, _) => v.truncate(n),
            Kind::F32(v) => v.truncate(n),
            Kind::F64(v) => v.truncate(n),
            Kind::Decimal(v, ..) => v.truncate(n),
            Kind::Utf8(s) | Kind::Binary(s) => s.truncate(n),
            Kind::List { offsets, item } => {
                item.truncate(offsets[n] as usize);
                offsets.truncate(n + 1);
            }
            Kind::Map {
                offsets,
                raw,
                order,
                keys,
                values,
            } => {
                keys.truncate(raw[n] as usize);
                values.truncate(raw[n] as usize);
                order.truncate(offsets[n] as usize);
                raw.truncate(n + 1);
                offsets.truncate(n + 1);
            }
            Kind::Struct { children, .. } => children.iter_mut().for_each(|c| c.truncate(n)),
        }
    }

    /// Marks the row just completed by a typed push as valid.
    fn valid(&mut self) {
        self.valid.push(true);
    }

    /// Appends a BOOLEAN.
    pub fn push_bool(&mut self, b: bool) {
        if let Kind::Bool(v) = &mut self.kind {
            v.push(b);
            self.valid();
        }
    }

    /// Appends an integer (already range-checked for the column's type).
    pub fn push_int(&mut self, x: i64) {
        match &mut self.kind {
            Kind::I8(v) => v.push(x as i8),
            Kind::I16(v) => v.push(x as i16),
            Kind::I32(v) => v.push(x as i32),
            Kind::I64(v) => v.push(x),
            _ => return,
        }
        self.valid();
    }

    /// Appends a FLOAT.
    pub fn push_f32(&mut self, x: f32) {
        if let Kind::F32(v) = &mut self.kind {
            v.push(x);
            self.valid();
        }
    }

    /// Appends a DOUBLE.
    pub fn push_f64(&mut self, x: f64) {
        if let Kind::F64(v) = &mut self.kind {
            v.push(x);
            self.valid();
        }
    }

    /// Appends a DECIMAL's unscaled value.
    pub fn push_decimal(&mut self, x: i128) {
        if let Kind::Decimal(v, ..) = &mut self.kind {
            v.push(x);
            self.valid();
        }
    }

    /// Appends a string or bytes.
    pub fn push_bytes(&mut self, b: &[u8]) {
        if let Kind::Utf8(s) | Kind::Binary(s) = &mut self.kind {
            s.push(b);
            self.valid();
        }
    }

    /// Appends a DATE (epoch day) or TIME (milliseconds of the day).
    pub fn push_i32(&mut self, x: i32) {
        if let Kind::Date(v) | Kind::Time(v) = &mut self.kind {
            v.push(x);
            self.valid();
        }
    }

    /// Appends a TIMESTAMP (epoch nanoseconds).
    pub fn push_timestamp(&mut self, x: i64) {
        if let Kind::Timestamp(v, _) = &mut self.kind {
            v.push(x);
            self.valid();
        }
    }

    /// Ends a row of a nested column whose children were appended: ARRAY (elements since the
    /// last row), MAP (entries since the last row, kept in `kept` order), ROW (children).
    pub fn end_nested_row(&mut self, kept: &[u32]) {
        match &mut self.kind {
            Kind::List { offsets, item } => offsets.push(item.len() as i32),
            Kind::Map {
                offsets,
                raw,
                order,
                keys,
                ..
            } => {
                raw.push(keys.len() as i32);
                order.extend_from_slice(kept);
                offsets.push(order.len() as i32);
            }
            Kind::Struct { .. } => {}
            _ => return,
        }
        self.valid();
    }

    /// The Arrow array of the rows so far; the column is empty afterwards.
    pub fn finish(&mut self) -> ArrayRef {
        let valid = std::mem::take(&mut self.valid);
        let nulls = valid
            .contains(&false)
            .then(|| NullBuffer::from(BooleanBuffer::from(valid)));
        match &mut self.kind {
            Kind::Bool(v) => Arc::new(BooleanArray::new(
                BooleanBuffer::from(std::mem::take(v)),
                nulls,
            )),
            Kind::I8(v) => Arc::new(Int8Array::new(ScalarBuffer::from(std::mem::take(v)), nulls)),
            Kind::I16(v) => Arc::new(Int16Array::new(
                ScalarBuffer::from(std::mem::take(v)),
                nulls,
            )),
            Kind::I32(v) => Arc::new(Int32Array::new(
                ScalarBuffer::from(std::mem::take(v)),
                nulls,
            )),
            Kind::I64(v) => Arc::new(Int64Array::new(
                ScalarBuffer::from(std::mem::take(v)),
                nulls,
            )),
            Kind::F32(v) => Arc::new(Float32Array::new(
                ScalarBuffer::from(std::mem::take(v)),
                nulls,
            )),
            Kind::F64(v) => Arc::new(Float64Array::new(
                ScalarBuffer::from(std::mem::take(v)),
                nulls,
            )),
            Kind::Decimal(v, p, s) => Arc::new(
                Decimal128Array::new(ScalarBuffer::from(std::mem::take(v)), nulls)
                    .with_precision_and_scale(*p, *s)
                    .unwrap_or_else(|_| Decimal128Array::from(Vec::<i128>::new())),
            ),
            Kind::Utf8(s) => {
                let s = std::mem::replace(s, Strings::new());
                Arc::new(
                    StringArray::try_new(
                        OffsetBuffer::new(ScalarBuffer::from(s.offsets)),
                        Buffer::from(s.data),
                        nulls,
                    )
                    .unwrap_or_else(|_| StringArray::from(Vec::<&str>::new())),
                )
            }
            Kind::Binary(s) => {
                let s = std::mem::replace(s, Strings::new());
                Arc::new(BinaryArray::new(
                    OffsetBuffer::new(ScalarBuffer::from(s.offsets)),
                    Buffer::from(s.data),
                    nulls,
                ))
            }
            Kind::Date(v) => Arc::new(Date32Array::new(
                ScalarBuffer::from(std::mem::take(v)),
                nulls,
            )),
            Kind::Time(v) => Arc::new(Time32MillisecondArray::new(
                ScalarBuffer::from(std::mem::take(v)),
                nulls,
            )),
            Kind::Timestamp(v, ltz) => {
                let a = TimestampNanosecondArray::new(ScalarBuffer::from(std::mem::take(v)), nulls);
                if *ltz {
                    Arc::new(a.with_timezone("UTC"))
                } else {
                    Arc::new(a)
                }
            }
            Kind::List { offsets, item } => {
                let offsets = std::mem::replace(offsets, vec![0]);
                let values = item.finish();
                let field = Arc::new(Field::new("element", values.data_type().clone(), true));
                Arc::new(ListArray::new(
                    field,
                    OffsetBuffer::new(ScalarBuffer::from(offsets)),
                    values,
                    nulls,
                ))
            }
            Kind::Map {
                offsets,
                raw,
                order,
                keys,
                values,
            } => {
                let offsets = std::mem::replace(offsets, vec![0]);
                *raw = vec![0];
                let order = UInt32Array::from(std::mem::take(order));
                let (k, v) = (keys.finish(), values.finish());
                let pick =
                    |a: &ArrayRef| take(a.as_ref(), &order, None).unwrap_or_else(|_| Arc::clone(a));
                let (k, v) = (pick(&k), pick(&v));
                let fields = Fields::from(vec![
                    Field::new("key", k.data_type().clone(), true),
                    Field::new("value", v.data_type().clone(), true),
                ]);
                let entries = StructArray::new(fields.clone(), vec![k, v], None);
                let field: FieldRef = Arc::new(Field::new(
                    sluice_sql::types::MAP_ENTRIES,
                    DataType::Struct(fields),
                    false,
                ));
                Arc::new(ListArray::new(
                    field,
                    OffsetBuffer::new(ScalarBuffer::from(offsets)),
                    Arc::new(entries),
                    nulls,
                ))
            }
            Kind::Struct { names, children } => {
                let arrays: Vec<ArrayRef> = children.iter_mut().map(Column::finish).collect();
                let fields: Fields = names
                    .iter()
                    .zip(&arrays)
                    .map(|(n, a)| Field::new(n, a.data_type().clone(), true))
                    .collect();
                if arrays.is_empty() {
                    Arc::new(StructArray::new_empty_fields(
                        nulls.as_ref().map_or(0, NullBuffer::len),
                        nulls,
                    ))
                } else {
                    Arc::new(StructArray::new(fields, arrays, nulls))
                }
            }
        }
    }
}

/// `BinaryStringData.hashCode()`: Flink's `MurmurHashUtil.hashBytes` (Murmur3 x86_32, seed
/// 42, the tail bytes mixed one by one, sign-extended) of the UTF-8 bytes.
fn binary_string_hash(key: &[u8]) -> u32 {
    fn mix_k1(k: u32) -> u32 {
        k.wrapping_mul(0xcc9e_2d51)
            .rotate_left(15)
            .wrapping_mul(0x1b87_3593)
    }
    fn mix_h1(h: u32, k: u32) -> u32 {
        (h ^ k)
            .rotate_left(13)
            .wrapping_mul(5)
            .wrapping_add(0xe654_6b64)
    }
    let mut h: u32 = 42;
    let mut words = key.chunks_exact(4);
    for w in &mut words {
        h = mix_h1(h, mix_k1(u32::from_le_bytes([w[0], w[1], w[2], w[3]])));
    }
    for &b in words.remainder() {
        h = mix_h1(h, mix_k1(b as i8 as i32 as u32));
    }
    h ^= key.len() as u32;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

/// `HashMap.hash(key)` for a `BinaryStringData` key.
fn java_hash(key: &[u8]) -> u32 {
    let h = binary_string_hash(key);
    h ^ (h >> 16)
}

/// The entries of the Java `HashMap<StringData, _>` Flink's decoder builds from `keys` (in
/// order), in the order it iterates them (and so writes them): a later duplicate replaces the
/// value, keeping the first one's place; iteration goes by bucket, then by insertion. Returns
/// indices into `keys`.
pub fn hash_map_order(keys: &[&[u8]], out: &mut Vec<u32>) {
    out.clear();
    // (bucket hash, first position, index of the value kept)
    let mut entries: Vec<(u32, usize, u32)> = Vec::with_capacity(keys.len());
    for (i, k) in keys.iter().enumerate() {
        match entries.iter_mut().find(|(_, first, _)| keys[*first] == *k) {
            Some(e) => e.2 = i as u32,
            None => entries.push((java_hash(k), i, i as u32)),
        }
    }
    let mut capacity = 16usize;
    while entries.len() > capacity * 3 / 4 {
        capacity *= 2;
    }
    let mask = (capacity - 1) as u32;
    entries.sort_by_key(|(h, first, _)| (h & mask, *first));
    out.extend(entries.iter().map(|(_, _, v)| *v));
}

/// Reads map keys of a [`Kind::Map`] keys column.
pub fn key_bytes(keys: &Column, i: usize) -> &[u8] {
    match &keys.kind {
        Kind::Utf8(s) | Kind::Binary(s) => s.get(i),
        _ => b"",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_sql::arrow::array::AsArray;

    #[test]
    fn truncation_takes_back_nested_rows() {
        let ty = SqlType::parse("ARRAY<STRING>").unwrap();
        let mut c = Column::new(&ty);
        if let Kind::List { item, .. } = &mut c.kind {
            item.push_bytes(b"a");
        }
        c.end_nested_row(&[]);
        if let Kind::List { item, .. } = &mut c.kind {
            item.push_bytes(b"b");
            item.push_bytes(b"c");
        }
        c.end_nested_row(&[]);
        c.truncate(1);
        c.push_null();
        let a = c.finish();
        let l = a.as_list::<i32>();
        assert_eq!(l.len(), 2);
        assert_eq!(l.value(0).as_string::<i32>().value(0), "a");
        assert!(l.is_null(1));
        assert_eq!(l.values().len(), 1);
    }

    #[test]
    fn flink_hash_map_iteration_order() {
        // Observed with Flink 2.3: {"b":1,"a":2,"c":3,"b":4} is written {"a":2,"c":3,"b":4},
        // {"z":1,"a":2} as is, {"Aa":1,"BB":2,"x":3} as {"x":3,"BB":2,"Aa":1}.
        let order = |keys: &[&[u8]]| {
            let mut out = Vec::new();
            hash_map_order(keys, &mut out);
            out
        };
        assert_eq!(order(&[b"b", b"a", b"c", b"b"]), vec![1, 2, 3]);
        assert_eq!(order(&[b"z", b"a"]), vec![0, 1]);
        assert_eq!(order(&[b"Aa", b"BB", b"x"]), vec![2, 1, 0]);
    }
}
