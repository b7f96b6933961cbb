//! Connector options: Flink's `WITH ('key' = 'value')` map, and secret-valued options.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One option value. Flink options are strings; YAML users often write `true` or `2` unquoted,
/// so numbers and booleans are accepted and kept as their text. Lists and maps are kept too, so
/// that validation can name the offending option instead of failing the whole resource.
#[derive(Clone, Debug, PartialEq)]
pub enum OptionValue {
    /// A scalar (string, number or boolean) as text.
    Text(String),
    /// A list or map: never valid, reported by validation with the option's name.
    Structured(serde_json::Value),
}

impl OptionValue {
    /// The value as text, or `None` if it was a list or map.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            OptionValue::Text(s) => Some(s),
            OptionValue::Structured(_) => None,
        }
    }
}

impl From<&str> for OptionValue {
    fn from(s: &str) -> Self {
        OptionValue::Text(s.to_owned())
    }
}

impl From<String> for OptionValue {
    fn from(s: String) -> Self {
        OptionValue::Text(s)
    }
}

impl fmt::Display for OptionValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptionValue::Text(s) => f.write_str(s),
            OptionValue::Structured(v) => write!(f, "{v}"),
        }
    }
}

impl Serialize for OptionValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            OptionValue::Text(s) => serializer.serialize_str(s),
            OptionValue::Structured(v) => v.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for OptionValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::String(s) => OptionValue::Text(s),
            serde_json::Value::Bool(b) => OptionValue::Text(b.to_string()),
            serde_json::Value::Number(n) => OptionValue::Text(n.to_string()),
            other => OptionValue::Structured(other),
        })
    }
}

impl JsonSchema for OptionValue {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "OptionValue".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "An option value: a string (numbers and booleans are accepted as text).",
            "x-kubernetes-preserve-unknown-fields": true
        })
    }
}

/// An option whose value comes from a Secret, never from the spec.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OptionFromSecret {
    /// The option's name, e.g. `properties.sasl.password` or `s3.secret-key`.
    pub option: String,
    /// The Secret key that holds the value. Executor pods receive it as an environment variable.
    pub secret_key_ref: SecretKeyRef,
}

/// A key of a Secret in the resource's namespace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretKeyRef {
    /// Name of the Secret.
    pub name: String,
    /// Key inside the Secret.
    pub key: String,
}

impl OptionFromSecret {
    /// The environment variable through which an executor receives this option's value: the
    /// operator sets it from the Secret; a standalone `sluice run` reads it from its environment.
    pub fn env_var(&self, table_sql_name: &str) -> String {
        secret_env_var(table_sql_name, &self.option)
    }
}

/// `SLUICE_SECRET_<TABLE>__<OPTION>`, upper-cased, every non-alphanumeric character as `_`.
pub fn secret_env_var(table_sql_name: &str, option: &str) -> String {
    fn clean(s: &str) -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect()
    }
    format!("SLUICE_SECRET_{}__{}", clean(table_sql_name), clean(option))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_of_any_yaml_kind_become_text() {
        let v: std::collections::BTreeMap<String, OptionValue> =
            serde_yaml::from_str("a: 'x'\nb: true\nc: 2\nd: 1.5\ne: [1]").unwrap();
        assert_eq!(v["a"].as_str(), Some("x"));
        assert_eq!(v["b"].as_str(), Some("true"));
        assert_eq!(v["c"].as_str(), Some("2"));
        assert_eq!(v["d"].as_str(), Some("1.5"));
        assert_eq!(v["e"].as_str(), None);
    }

    #[test]
    fn secret_env_var_names_are_shell_safe() {
        assert_eq!(
            secret_env_var("stock_ticks", "properties.sasl.password"),
            "SLUICE_SECRET_STOCK_TICKS__PROPERTIES_SASL_PASSWORD"
        );
    }
}
