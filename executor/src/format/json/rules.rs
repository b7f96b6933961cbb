//! [`Rules`]: the decoding options both JSON decoders (the streaming one and the tree one)
//! apply to every value.

/// The decoding options the converters need.
#[derive(Clone, Copy, Debug)]
pub(super) struct Rules {
    pub ignore_parse_errors: bool,
    pub fail_on_missing_field: bool,
    pub standard: super::TimestampStandard,
}
