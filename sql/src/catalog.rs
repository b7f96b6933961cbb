//! The tables a statement can use, as read from `StreamingTable` resources.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion_common::arrow::datatypes::{Field, Schema, SchemaRef};
use sluice_crds::StreamingTable;

use crate::error::SqlError;
use crate::types::SqlType;

/// One column of a table, with its parsed type.
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    /// Name in SQL.
    pub name: String,
    /// Flink type.
    pub ty: SqlType,
    /// For source columns read from record metadata: the metadata key.
    pub metadata: Option<String>,
}

/// A table's declaration, checked for what the SQL layer can check (types, partition columns).
/// Connector options are checked by the connector.
#[derive(Clone, Debug)]
pub struct TableDef {
    /// SQL name.
    pub name: String,
    /// `namespace/name` of the resource, for messages.
    pub resource: String,
    /// `kafka`, `filesystem`, ...
    pub connector: String,
    /// `json`, ...
    pub format: Option<String>,
    /// Columns in order.
    pub columns: Vec<Column>,
    /// Partition columns (sink), in order.
    pub partitioned_by: Vec<String>,
    /// Options, as text (secret-valued options are not here; see `secret_options`).
    pub options: BTreeMap<String, String>,
    /// Options whose values come from Secrets: (option, environment variable).
    pub secret_options: Vec<(String, String)>,
}

/// Why Flink SQL cannot write `name` as an identifier, if it cannot: a back-quoted identifier
/// (Calcite's `BACK_QUOTED_IDENTIFIER`) holds one character or more, none of them a line break.
fn unquotable(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("is empty")
    } else if name.contains(['\n', '\r']) {
        Some("contains a line break")
    } else {
        None
    }
}

impl TableDef {
    /// Reads a `StreamingTable`; returns every problem found.
    pub fn from_resource(table: &StreamingTable) -> Result<TableDef, Vec<SqlError>> {
        let name = table.sql_name();
        let resource = format!(
            "{}/{}",
            table.metadata.namespace.as_deref().unwrap_or_default(),
            table.metadata.name.as_deref().unwrap_or_default()
        );
        let mut errors = Vec::new();
        let mut columns = Vec::new();
        let mut seen = std::collections::HashSet::new();
        if table.spec.columns.is_empty() {
            errors.push(SqlError::table(format!(
                "table {name}: spec.columns is empty; declare at least one column"
            )));
        }
        for (i, c) in table.spec.columns.iter().enumerate() {
            if let Some(why) = unquotable(&c.name) {
                errors.push(SqlError::table(format!(
                    "table {name}: spec.columns[{i}].name {:?} {why}; Flink SQL cannot name such a column, even in backquotes",
                    c.name
                )));
            }
            if !seen.insert(c.name.as_str()) {
                errors.push(SqlError::table(format!(
                    "table {name}: column {:?} is declared twice",
                    c.name
                )));
            }
            match SqlType::parse(&c.type_) {
                Ok(ty) => columns.push(Column {
                    name: c.name.clone(),
                    ty,
                    metadata: c.metadata.clone(),
                }),
                Err(e) => errors.push(SqlError::table(format!(
                    "table {name}: spec.columns[{i}] ({}): {}",
                    c.name, e
                ))),
            }
        }
        for p in &table.spec.partitioned_by {
            if !table.spec.columns.iter().any(|c| &c.name == p) {
                let names: Vec<_> = table.spec.columns.iter().map(|c| c.name.as_str()).collect();
                errors.push(SqlError::table(format!(
                    "table {name}: spec.partitionedBy names {p:?}, which is not a column (columns: {})",
                    names.join(", ")
                )));
            }
        }
        let mut options = BTreeMap::new();
        for (k, v) in &table.spec.options {
            match v.as_str() {
                Some(s) => {
                    options.insert(k.clone(), s.to_owned());
                }
                None => errors.push(SqlError::table(format!(
                    "table {name}: option {k:?} must be a string, number or boolean, not {v}"
                ))),
            }
        }
        let mut format = table.spec.format.clone();
        if let Some(f) = options.remove("format") {
            match &format {
                Some(spec) if !spec.eq_ignore_ascii_case(&f) => errors.push(SqlError::table(format!(
                    "table {name}: spec.format is {spec:?} but option 'format' is {f:?}; keep one"
                ))),
                _ => format = Some(f),
            }
        }
        if let Some(c) = options.remove("connector")
            && !c.eq_ignore_ascii_case(&table.spec.connector)
        {
            errors.push(SqlError::table(format!(
                "table {name}: spec.connector is {:?} but option 'connector' is {c:?}; keep spec.connector",
                table.spec.connector
            )));
        }
        let mut secret_options = Vec::new();
        for s in &table.spec.options_from {
            if options.contains_key(&s.option) {
                errors.push(SqlError::table(format!(
                    "table {name}: option {:?} is set both in spec.options and spec.optionsFrom; keep one",
                    s.option
                )));
            }
            secret_options.push((s.option.clone(), s.env_var(&name)));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(TableDef {
            name,
            resource,
            connector: table.spec.connector.to_ascii_lowercase(),
            format: format.map(|f| f.to_ascii_lowercase()),
            columns,
            partitioned_by: table.spec.partitioned_by.clone(),
            options,
            secret_options,
        })
    }

    /// The Arrow schema of all columns, in order.
    pub fn arrow_schema(&self) -> SchemaRef {
        Arc::new(Schema::new(
            self.columns
                .iter()
                .map(|c| Field::new(&c.name, c.ty.to_arrow(), c.ty.nullable))
                .collect::<Vec<_>>(),
        ))
    }

    /// The index of a column.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }
}

/// All tables by SQL name.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    tables: BTreeMap<String, TableDef>,
}

impl Catalog {
    /// A catalog of already-checked tables. A later table with the same SQL name replaces an
    /// earlier one; use [`Catalog::from_resources`] to have that reported.
    pub fn new(tables: impl IntoIterator<Item = TableDef>) -> Catalog {
        Catalog {
            tables: tables.into_iter().map(|t| (t.name.clone(), t)).collect(),
        }
    }

    /// Reads resources; returns the catalog of the valid ones and the problems of the others.
    pub fn from_resources<'a>(
        tables: impl IntoIterator<Item = &'a StreamingTable>,
    ) -> (Catalog, Vec<SqlError>) {
        let mut catalog = Catalog::default();
        let mut errors = Vec::new();
        for t in tables {
            match TableDef::from_resource(t) {
                Ok(def) => {
                    if let Some(prev) = catalog.tables.get(&def.name) {
                        errors.push(SqlError::table(format!(
                            "tables {} and {} both have the SQL name {}; set spec.tableName on one",
                            prev.resource, def.resource, def.name
                        )));
                    }
                    catalog.tables.insert(def.name.clone(), def);
                }
                Err(e) => errors.extend(e),
            }
        }
        (catalog, errors)
    }

    /// A table by SQL name.
    pub fn get(&self, name: &str) -> Option<&TableDef> {
        self.tables.get(name)
    }

    /// All SQL names.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tables.keys().map(String::as_str)
    }
}

#[cfg(test)]
impl TableDef {
    /// A `filesystem`/`json` table of `(name, Flink type)` columns, for tests.
    pub(crate) fn for_test(name: &str, columns: &[(&str, &str)]) -> TableDef {
        TableDef {
            name: name.to_owned(),
            resource: format!("test/{name}"),
            connector: "filesystem".to_owned(),
            format: Some("json".to_owned()),
            columns: columns
                .iter()
                .map(|(n, t)| Column {
                    name: (*n).to_owned(),
                    ty: SqlType::parse(t).unwrap(),
                    metadata: None,
                })
                .collect(),
            partitioned_by: Vec::new(),
            options: BTreeMap::new(),
            secret_options: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(columns: &str) -> StreamingTable {
        serde_yaml::from_str(&format!(
            "apiVersion: sluice.dev/v1alpha1\nkind: StreamingTable\nmetadata: {{name: ticks, namespace: team}}\nspec:\n  connector: kafka\n  format: json\n  columns: {columns}\n  options: {{topic: t}}\n"
        ))
        .unwrap()
    }

    #[test]
    fn a_column_name_flink_cannot_write_is_refused_naming_the_column() {
        let errors = TableDef::from_resource(&table(
            "[{name: '', type: STRING}, {name: \"a\\nb\", type: INT}]",
        ))
        .unwrap_err();
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(text.len(), 2, "{text:?}");
        assert!(
            text[0].contains("spec.columns[0].name \"\" is empty"),
            "{text:?}"
        );
        assert!(
            text[1].contains("spec.columns[1].name \"a\\nb\" contains a line break"),
            "{text:?}"
        );
        TableDef::from_resource(&table("[{name: 'a b `c`', type: STRING}]")).unwrap();
    }
}
