//! Apply: server-side apply of the objects a job needs, writing only what changed.
//!
//! Each desired object carries [`ANNOTATION_APPLIED_HASH`], the hash of what the operator
//! applies. An object is written only when the cached copy's hash differs, or a field the
//! operator sets was changed by someone else (the desired object is not a subset of the live
//! one); before writing, the live object is read once more so that a stale cache never causes
//! a write. The hash catches fields the operator stopped setting (server-side apply then
//! removes them); the subset check catches drift.

use std::fmt::Debug;

use kube::api::{Api, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sluice_crds::resources::parse_quantity;

use crate::render::{ANNOTATION_APPLIED_HASH, FIELD_MANAGER, short_hash};

/// A failed apply.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The desired object could not be serialized.
    #[error("failed to serialize {kind} {name}: {source}")]
    Serialize {
        /// Kind.
        kind: &'static str,
        /// Name.
        name: String,
        /// Cause.
        source: serde_json::Error,
    },
    /// The live object could not be read.
    #[error("failed to read {kind} {name}: {source}")]
    Get {
        /// Kind.
        kind: &'static str,
        /// Name.
        name: String,
        /// Cause.
        #[source]
        source: kube::Error,
    },
    /// The API server refused the apply.
    #[error("failed to apply {kind} {name}: {source}")]
    Apply {
        /// Kind.
        kind: &'static str,
        /// Name.
        name: String,
        /// Cause.
        #[source]
        source: kube::Error,
    },
    /// An object of that name exists and is not controlled by the job.
    #[error("{kind} {name} exists and is not managed by this job; rename or delete it")]
    NotOwned {
        /// Kind.
        kind: &'static str,
        /// Name.
        name: String,
    },
}

impl ApplyError {
    /// Whether the API server found the object itself invalid (HTTP 422): a problem of the
    /// spec (e.g. an invalid label in the pod template), not a transient failure.
    pub fn rejection(&self) -> Option<String> {
        match self {
            ApplyError::Apply {
                kind,
                name,
                source: kube::Error::Api(e),
            } if e.code == 422 || e.code == 400 => Some(format!(
                "the API server rejected {kind} {name}: {}",
                e.message
            )),
            _ => None,
        }
    }
}

/// What an apply did.
#[derive(Debug)]
pub enum Applied<K> {
    /// Nothing to change; the freshest copy known.
    Unchanged(K),
    /// Written; the object as the API server returned it.
    Written(K),
}

impl<K> Applied<K> {
    /// The object.
    pub fn object(&self) -> &K {
        match self {
            Applied::Unchanged(k) | Applied::Written(k) => k,
        }
    }

    /// Whether a write happened.
    pub fn written(&self) -> bool {
        matches!(self, Applied::Written(_))
    }
}

/// The desired object as JSON, with its [`ANNOTATION_APPLIED_HASH`].
pub fn with_applied_hash<K: Serialize>(desired: &K) -> Result<(Value, String), serde_json::Error> {
    let mut value = serde_json::to_value(desired)?;
    let hash = short_hash(serde_json::to_string(&value)?.as_bytes());
    if let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) {
        let annotations = meta
            .entry("annotations")
            .or_insert_with(|| Value::Object(Default::default()));
        if let Some(a) = annotations.as_object_mut() {
            a.insert(
                ANNOTATION_APPLIED_HASH.to_owned(),
                Value::String(hash.clone()),
            );
        }
    }
    Ok((value, hash))
}

/// Whether `live` already is what `desired` (with hash `hash`) asks for.
pub fn up_to_date<K: Resource + Serialize>(live: &K, desired: &Value, hash: &str) -> bool {
    let same_hash = live
        .meta()
        .annotations
        .as_ref()
        .and_then(|a| a.get(ANNOTATION_APPLIED_HASH))
        .is_some_and(|h| h == hash);
    same_hash
        && serde_json::to_value(live)
            .map(|live| is_subset(desired, &live))
            .unwrap_or(false)
}

/// Whether every field of `desired` has the same value in `live` (which may hold more: server
/// defaults, other managers' fields). Lists must have the same length; quantities compare by
/// value (`1000m` = `1`).
pub fn is_subset(desired: &Value, live: &Value) -> bool {
    match (desired, live) {
        (Value::Object(d), Value::Object(l)) => d.iter().all(|(k, dv)| match l.get(k) {
            Some(lv) => is_subset(dv, lv),
            None => is_empty(dv),
        }),
        (Value::Array(d), Value::Array(l)) => {
            d.len() == l.len() && d.iter().zip(l).all(|(d, l)| is_subset(d, l))
        }
        (Value::String(d), Value::String(l)) => {
            d == l
                || matches!((parse_quantity(d), parse_quantity(l)), (Some(a), Some(b)) if (a - b).abs() <= f64::EPSILON * a.abs().max(1.0))
        }
        (Value::Number(d), Value::Number(l)) => d.as_f64() == l.as_f64(),
        (d, l) => is_empty(d) && is_empty(l) || d == l,
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// Whether an object is controlled by the owner with `uid`.
pub fn controlled_by<K: Resource>(object: &K, uid: &str) -> bool {
    object
        .meta()
        .owner_references
        .iter()
        .flatten()
        .any(|o| o.controller == Some(true) && o.uid == uid)
}

/// Makes `desired` so with as few requests as possible: nothing when `cached` is up to date;
/// otherwise one read of the live object (to refuse objects of others and to skip a write the
/// cache made look necessary), then one server-side apply if still needed.
pub async fn ensure<K>(
    api: &Api<K>,
    kind: &'static str,
    cached: Option<&K>,
    desired: &K,
    owner_uid: Option<&str>,
    mut on_write: impl FnMut(),
) -> Result<Applied<K>, ApplyError>
where
    K: Resource + Clone + Serialize + DeserializeOwned + Debug,
{
    let name = desired.name_any();
    let (value, hash) = with_applied_hash(desired).map_err(|source| ApplyError::Serialize {
        kind,
        name: name.clone(),
        source,
    })?;
    if let Some(cached) = cached
        && up_to_date(cached, &value, &hash)
    {
        return Ok(Applied::Unchanged(cached.clone()));
    }
    let live = api.get_opt(&name).await.map_err(|source| ApplyError::Get {
        kind,
        name: name.clone(),
        source,
    })?;
    if let Some(live) = live {
        if let Some(uid) = owner_uid
            && !controlled_by(&live, uid)
        {
            return Err(ApplyError::NotOwned { kind, name });
        }
        if up_to_date(&live, &value, &hash) {
            return Ok(Applied::Unchanged(live));
        }
    }
    let written = api
        .patch(
            &name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&value),
        )
        .await
        .map_err(|source| ApplyError::Apply {
            kind,
            name: name.clone(),
            source,
        })?;
    on_write();
    Ok(Applied::Written(written))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;
    use serde_json::json;

    #[test]
    fn server_defaults_and_other_fields_do_not_count_as_changes() {
        let desired =
            json!({"spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "a"}]}}}});
        let live = json!({"spec": {"replicas": 1, "progressDeadlineSeconds": 600,
            "template": {"spec": {"containers": [{"name": "a", "terminationMessagePath": "/dev/termination-log"}]}}}});
        assert!(is_subset(&desired, &live));
    }

    #[test]
    fn changed_values_and_list_lengths_count_as_changes() {
        assert!(!is_subset(&json!({"a": 1}), &json!({"a": 2})));
        assert!(!is_subset(&json!({"a": [1]}), &json!({"a": [1, 2]})));
        assert!(!is_subset(&json!({"a": "x"}), &json!({})));
    }

    #[test]
    fn quantities_compare_by_value_and_empty_maps_match_missing_ones() {
        assert!(is_subset(&json!({"cpu": "1000m"}), &json!({"cpu": "1"})));
        assert!(is_subset(
            &json!({"memory": "0.5Gi"}),
            &json!({"memory": "512Mi"})
        ));
        assert!(!is_subset(
            &json!({"memory": "1Gi"}),
            &json!({"memory": "512Mi"})
        ));
        assert!(is_subset(&json!({"labels": {}}), &json!({})));
    }

    #[test]
    fn an_object_with_the_same_hash_and_fields_is_up_to_date() {
        let mut cm = ConfigMap::default();
        cm.metadata.name = Some("x".into());
        cm.data = Some([("k".to_owned(), "v".to_owned())].into());
        let (value, hash) = with_applied_hash(&cm).unwrap();
        assert_eq!(
            value["metadata"]["annotations"][ANNOTATION_APPLIED_HASH],
            hash.as_str()
        );
        let mut live: ConfigMap = serde_json::from_value(value.clone()).unwrap();
        live.metadata.resource_version = Some("7".into());
        assert!(up_to_date(&live, &value, &hash));
        live.data = Some([("k".to_owned(), "edited".to_owned())].into());
        assert!(!up_to_date(&live, &value, &hash), "drift is corrected");
        let mut older = cm.clone();
        older.data = None;
        let (old_value, _) = with_applied_hash(&older).unwrap();
        let old_live: ConfigMap = serde_json::from_value(old_value).unwrap();
        assert!(!up_to_date(&old_live, &value, &hash));
    }
}
