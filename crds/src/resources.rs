//! `StreamingJob.spec.resources`: CPU and memory of each executor pod.
//!
//! Not `k8s_openapi`'s `ResourceRequirements`: its quantities are `x-kubernetes-int-or-string`,
//! and on Kubernetes 1.20 any `x-kubernetes-int-or-string` in a CRD schema makes the API server
//! fail to build the CRD's OpenAPI models ("invalid property: anyOf"), which silently turns
//! server-side apply of the whole resource into atomic, untyped merging: `status.partitions` and
//! `status.conditions` stop being list-maps and executor pods would overwrite each other's
//! entries. Quantities are therefore schema'd as free scalars and checked by the operator, which
//! also keeps one malformed value (a list or map) from breaking the watch of every job.

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Requests and limits of the executor container, as Kubernetes quantities
/// (`cpu: 500m`, `memory: 256Mi`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExecutorResources {
    /// What the scheduler reserves for each executor pod, e.g. `{cpu: 500m, memory: 256Mi}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub requests: BTreeMap<String, QuantityValue>,
    /// The most each executor pod may use, e.g. `{memory: 512Mi}`. The executor sizes its
    /// memory budget from the memory limit.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub limits: BTreeMap<String, QuantityValue>,
}

/// A quantity as written: numbers are kept as their text; lists and maps are kept so that the
/// operator can name the offending field instead of failing to read the whole resource.
#[derive(Clone, Debug, PartialEq)]
pub enum QuantityValue {
    /// A string or number, as text (`500m`, `1`, `256Mi`).
    Text(String),
    /// A list or map: never valid.
    Structured(serde_json::Value),
}

impl From<&str> for QuantityValue {
    fn from(s: &str) -> Self {
        QuantityValue::Text(s.to_owned())
    }
}

impl fmt::Display for QuantityValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QuantityValue::Text(s) => f.write_str(s),
            QuantityValue::Structured(v) => write!(f, "{v}"),
        }
    }
}

impl Serialize for QuantityValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            QuantityValue::Text(s) => serializer.serialize_str(s),
            QuantityValue::Structured(v) => v.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for QuantityValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::String(s) => QuantityValue::Text(s),
            serde_json::Value::Number(n) => QuantityValue::Text(n.to_string()),
            other => QuantityValue::Structured(other),
        })
    }
}

impl JsonSchema for QuantityValue {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "QuantityValue".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A Kubernetes quantity, e.g. 500m, 2, 256Mi, 1Gi.",
            "x-kubernetes-preserve-unknown-fields": true
        })
    }
}

impl ExecutorResources {
    /// The container's `ResourceRequirements`, or every problem as `(field, message)`.
    pub fn to_requirements(&self) -> Result<ResourceRequirements, Vec<(String, String)>> {
        let mut errors = Vec::new();
        let mut convert = |which: &str, map: &BTreeMap<String, QuantityValue>| {
            let mut out = BTreeMap::new();
            for (name, value) in map {
                let field = format!("spec.resources.{which}.{name}");
                match value {
                    QuantityValue::Text(text) if parse_quantity(text).is_some() => {
                        out.insert(name.clone(), Quantity(text.clone()));
                    }
                    _ => errors.push((
                        field.clone(),
                        format!(
                            "{field} {value} is not a quantity; write e.g. 500m, 2, 256Mi or 1Gi"
                        ),
                    )),
                }
            }
            (!out.is_empty()).then_some(out)
        };
        let requests = convert("requests", &self.requests);
        let limits = convert("limits", &self.limits);
        if let (Some(r), Some(l)) = (&requests, &limits) {
            for (name, limit) in l {
                if let Some(request) = r.get(name)
                    && let (Some(r), Some(l)) =
                        (parse_quantity(&request.0), parse_quantity(&limit.0))
                    && r > l
                {
                    errors.push((
                        format!("spec.resources.requests.{name}"),
                        format!(
                            "spec.resources.requests.{name} {} is more than the limit {}",
                            request.0, limit.0
                        ),
                    ));
                }
            }
        }
        if errors.is_empty() {
            Ok(ResourceRequirements {
                requests,
                limits,
                ..Default::default()
            })
        } else {
            Err(errors)
        }
    }
}

/// The value of a Kubernetes quantity (`500m` = 0.5, `1Ki` = 1024, `1e3` = 1000), or `None` if
/// the text is not one. Good enough to compare quantities; not fixed-point exact.
pub fn parse_quantity(text: &str) -> Option<f64> {
    let text = text.trim();
    let number_end = text
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || c == '.' || ((c == '+' || c == '-') && i == 0)))
        .map_or(text.len(), |(i, _)| i);
    let (number, suffix) = text.split_at(number_end);
    let digits = number.trim_start_matches(['+', '-']);
    if digits.is_empty() || digits == "." || digits.matches('.').count() > 1 {
        return None;
    }
    let value: f64 = number.parse().ok()?;
    let factor = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        exp if exp.starts_with(['e', 'E']) => {
            let e: i32 = exp[1..].parse().ok()?;
            10f64.powi(e)
        }
        _ => return None,
    };
    Some(value * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_parse_with_every_suffix_kind() {
        assert_eq!(parse_quantity("500m"), Some(0.5));
        assert_eq!(parse_quantity("2"), Some(2.0));
        assert_eq!(parse_quantity("1.5"), Some(1.5));
        assert_eq!(parse_quantity("256Mi"), Some(256.0 * 1024.0 * 1024.0));
        assert_eq!(parse_quantity("1e3"), Some(1000.0));
        assert_eq!(parse_quantity("1k"), Some(1000.0));
        assert_eq!(parse_quantity("Mi"), None);
        assert_eq!(parse_quantity("12 apples"), None);
        assert_eq!(parse_quantity("1.2.3"), None);
    }

    #[test]
    fn numbers_strings_and_structures_are_all_readable() {
        let r: ExecutorResources =
            serde_yaml::from_str("requests: {cpu: 1, memory: 256Mi}\nlimits: {memory: [1]}")
                .unwrap();
        assert_eq!(r.requests["cpu"], QuantityValue::from("1"));
        let errors = r.to_requirements().unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].0, "spec.resources.limits.memory");
    }

    #[test]
    fn valid_resources_become_requirements_and_requests_may_not_exceed_limits() {
        let r: ExecutorResources =
            serde_yaml::from_str("requests: {cpu: 500m, memory: 256Mi}\nlimits: {memory: 512Mi}")
                .unwrap();
        let req = r.to_requirements().unwrap();
        assert_eq!(req.limits.unwrap()["memory"], Quantity("512Mi".into()));
        let r: ExecutorResources =
            serde_yaml::from_str("requests: {memory: 1Gi}\nlimits: {memory: 512Mi}").unwrap();
        let errors = r.to_requirements().unwrap_err();
        assert!(errors[0].1.contains("more than the limit"), "{errors:?}");
    }
}
