//! The executor's container as every rendered pod has it: its name and the user it runs as.
//! A leaf module: rendering and the pod-template policy both use it.

/// The main container's name; `spec.podTemplate.spec.containers[name=executor]` merges into it.
pub const CONTAINER: &str = "executor";
/// The executor's user and group (distroless `nonroot`).
pub const EXECUTOR_UID: i64 = 65532;
