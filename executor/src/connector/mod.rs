//! Connectors: where records come from and go to.

pub mod filesystem;
pub mod source;
