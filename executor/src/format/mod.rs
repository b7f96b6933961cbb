//! Record formats. `json` is Flink's JSON format, to the character.

pub mod json;
pub mod row_text;
