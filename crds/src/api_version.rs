//! The API group and version of every Sluice resource (`sluice.dev/v1alpha1`).

/// The API group of every Sluice resource.
pub const GROUP: &str = "sluice.dev";
/// The API version of every Sluice resource.
pub const VERSION: &str = "v1alpha1";
