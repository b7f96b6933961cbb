//! `spec.podTemplate`: the user's overlay merged into the pod the operator renders.
//!
//! Rules (close to `kubectl`'s strategic merge, without its directives):
//! - maps are merged key by key; `null` removes a key;
//! - lists of named items are merged by their key — `name` for containers, init and ephemeral
//!   containers, volumes, env, imagePullSecrets, resourceClaims, schedulingGates; `mountPath` for
//!   volumeMounts; `devicePath` for volumeDevices; `containerPort` for ports; `ip` for
//!   hostAliases — so the container named `executor` is merged into the main container and a
//!   sidecar is appended;
//! - any other value (scalars, other lists such as tolerations) replaces the rendered one.
//!
//! What the operator renders (command, args, the config mount) therefore stays unless the
//! overlay sets that very field. The merged result must still read as a `PodSpec`: unknown
//! fields and wrong types are reported with their path.

use k8s_openapi::api::core::v1::PodSpec;
use serde_json::{Map, Value};

/// The overlay's path in the job, for messages.
const ROOT: &str = "spec.podTemplate.spec";

/// The key that identifies items of a list field, if the list is merged by key.
fn list_key(field: &str) -> Option<&'static str> {
    Some(match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "env"
        | "imagePullSecrets"
        | "resourceClaims"
        | "schedulingGates" => "name",
        "volumeMounts" => "mountPath",
        "volumeDevices" => "devicePath",
        "ports" => "containerPort",
        "hostAliases" => "ip",
        _ => return None,
    })
}

/// Merges `overlay` (the user's `spec.podTemplate.spec`) into `base`. Returns the merged
/// `PodSpec`, or every problem found (each starting with its path).
pub fn merge_pod_spec(base: &PodSpec, overlay: &Value) -> Result<PodSpec, Vec<String>> {
    let Value::Object(overlay) = overlay else {
        return Err(vec![format!(
            "{ROOT} must be a map of PodSpec fields, not {}",
            kind_of(overlay)
        )]);
    };
    let mut merged = match serde_json::to_value(base) {
        Ok(v) => v,
        Err(e) => return Err(vec![format!("failed to serialize the rendered pod: {e}")]),
    };
    let mut problems = Vec::new();
    if let Value::Object(base) = &mut merged {
        merge_map(base, overlay, ROOT, &mut problems);
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let spec: PodSpec = match serde_path_to_error::deserialize(&merged) {
        Ok(spec) => spec,
        Err(e) => {
            let path = e.path().to_string();
            let at = if path == "." {
                ROOT.to_owned()
            } else {
                // Indexes are those of the merged pod (rendered items first).
                format!("{ROOT}.{path} (in the merged pod)")
            };
            return Err(vec![format!("{at}: {}", e.into_inner())]);
        }
    };
    // `PodSpec` ignores fields it does not know: find them by reading the result back.
    match serde_json::to_value(&spec) {
        Ok(read_back) => unknown_fields(&merged, &read_back, ROOT, &mut problems),
        Err(e) => problems.push(format!("failed to serialize the merged pod: {e}")),
    }
    if problems.is_empty() {
        Ok(spec)
    } else {
        Err(problems)
    }
}

fn merge_map(
    base: &mut Map<String, Value>,
    overlay: &Map<String, Value>,
    path: &str,
    problems: &mut Vec<String>,
) {
    for (key, value) in overlay {
        let at = format!("{path}.{key}");
        match value {
            Value::Null => {
                base.remove(key);
            }
            _ => match base.get_mut(key) {
                Some(existing) => merge_value(existing, value, key, &at, problems),
                None => {
                    base.insert(key.clone(), value.clone());
                }
            },
        }
    }
}

fn merge_value(
    base: &mut Value,
    overlay: &Value,
    field: &str,
    at: &str,
    problems: &mut Vec<String>,
) {
    match (base, overlay) {
        (Value::Object(b), Value::Object(o)) => merge_map(b, o, at, problems),
        (Value::Array(b), Value::Array(o)) => match list_key(field) {
            Some(key) => merge_list(b, o, key, at, problems),
            None => *b = o.clone(),
        },
        (base, overlay) => *base = overlay.clone(),
    }
}

fn merge_list(
    base: &mut Vec<Value>,
    overlay: &[Value],
    key: &str,
    at: &str,
    problems: &mut Vec<String>,
) {
    for (i, item) in overlay.iter().enumerate() {
        let Some(id) = item.get(key).filter(|v| v.is_string() || v.is_number()) else {
            problems.push(format!(
                "{at}[{i}]: each item needs a {key:?} (items are merged by {key})"
            ));
            continue;
        };
        let Value::Object(item_map) = item else {
            continue;
        };
        match base.iter_mut().find(|b| b.get(key) == Some(id)) {
            Some(Value::Object(existing)) => merge_map(
                existing,
                item_map,
                &format!("{at}[{key}={}]", show(id)),
                problems,
            ),
            _ => base.push(item.clone()),
        }
    }
}

/// Reports every field of `merged` that `read_back` (the typed round trip) lost.
fn unknown_fields(merged: &Value, read_back: &Value, path: &str, problems: &mut Vec<String>) {
    match (merged, read_back) {
        (Value::Object(m), Value::Object(r)) => {
            for (key, value) in m {
                let at = format!("{path}.{key}");
                match r.get(key) {
                    Some(back) => unknown_fields(value, back, &at, problems),
                    None if value.is_null() => {}
                    None => problems.push(format!("{at}: unknown field")),
                }
            }
        }
        (Value::Array(m), Value::Array(r)) => {
            for (i, (value, back)) in m.iter().zip(r).enumerate() {
                unknown_fields(value, back, &format!("{path}[{i}]"), problems);
            }
        }
        _ => {}
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Container, Volume, VolumeMount};
    use serde_json::json;

    fn base() -> PodSpec {
        PodSpec {
            containers: vec![Container {
                name: "executor".into(),
                image: Some("sluice:1".into()),
                command: Some(vec!["sluice".into()]),
                args: Some(vec!["run".into()]),
                volume_mounts: Some(vec![VolumeMount {
                    name: "config".into(),
                    mount_path: "/etc/sluice".into(),
                    read_only: Some(true),
                    ..Default::default()
                }]),
                ..Default::default()
            }],
            volumes: Some(vec![Volume {
                name: "config".into(),
                ..Default::default()
            }]),
            node_selector: Some([("a".to_owned(), "1".to_owned())].into()),
            ..Default::default()
        }
    }

    #[test]
    fn maps_merge_and_plain_lists_replace() {
        let spec = merge_pod_spec(
            &base(),
            &json!({
                "nodeSelector": {"kubernetes.io/arch": "arm64"},
                "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "streaming", "effect": "NoSchedule"}],
                "hostNetwork": true
            }),
        )
        .unwrap();
        let ns = spec.node_selector.unwrap();
        assert_eq!(ns["a"], "1");
        assert_eq!(ns["kubernetes.io/arch"], "arm64");
        assert_eq!(
            spec.tolerations.unwrap()[0].key.as_deref(),
            Some("dedicated")
        );
        assert_eq!(spec.host_network, Some(true));
    }

    #[test]
    fn the_executor_container_is_merged_and_keeps_command_and_config_mount() {
        let spec = merge_pod_spec(
            &base(),
            &json!({"containers": [
                {"name": "executor", "env": [{"name": "AWS_REGION", "value": "eu-west-1"}],
                 "volumeMounts": [{"name": "extra", "mountPath": "/extra"}]},
                {"name": "sidecar", "image": "envoy:1"}
            ], "volumes": [{"name": "extra", "emptyDir": {}}]}),
        )
        .unwrap();
        assert_eq!(spec.containers.len(), 2);
        let main = &spec.containers[0];
        assert_eq!(main.command.as_deref(), Some(&["sluice".to_owned()][..]));
        assert_eq!(main.image.as_deref(), Some("sluice:1"));
        let mounts: Vec<_> = main
            .volume_mounts
            .as_ref()
            .unwrap()
            .iter()
            .map(|m| m.mount_path.as_str())
            .collect();
        assert_eq!(mounts, ["/etc/sluice", "/extra"]);
        assert_eq!(main.env.as_ref().unwrap()[0].name, "AWS_REGION");
        assert_eq!(spec.containers[1].name, "sidecar");
        assert_eq!(spec.volumes.unwrap().len(), 2);
    }

    #[test]
    fn explicit_overrides_and_null_removals_win() {
        let spec = merge_pod_spec(
            &base(),
            &json!({"containers": [{"name": "executor", "command": ["/bin/debug"], "image": "mine:2"}],
                    "nodeSelector": null}),
        )
        .unwrap();
        assert_eq!(
            spec.containers[0].command.as_deref(),
            Some(&["/bin/debug".to_owned()][..])
        );
        assert_eq!(spec.containers[0].image.as_deref(), Some("mine:2"));
        assert!(spec.node_selector.is_none());
    }

    #[test]
    fn unknown_fields_and_wrong_types_are_reported_with_their_path() {
        let problems = merge_pod_spec(&base(), &json!({"nodeSelecter": {"a": "b"}})).unwrap_err();
        assert_eq!(
            problems,
            ["spec.podTemplate.spec.nodeSelecter: unknown field"]
        );
        let problems = merge_pod_spec(
            &base(),
            &json!({"containers": [{"name": "executor", "ports": [{"containerPort": "http"}]}]}),
        )
        .unwrap_err();
        assert!(
            problems[0].starts_with(
                "spec.podTemplate.spec.containers[0].ports[0].containerPort (in the merged pod):"
            ),
            "{problems:?}"
        );
        let problems =
            merge_pod_spec(&base(), &json!({"containers": [{"image": "x"}]})).unwrap_err();
        assert!(problems[0].contains("needs a \"name\""), "{problems:?}");
        let problems = merge_pod_spec(&base(), &json!(["x"])).unwrap_err();
        assert!(problems[0].contains("must be a map"), "{problems:?}");
    }
}
