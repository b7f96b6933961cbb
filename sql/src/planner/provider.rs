//! What DataFusion's SQL-to-expression planner sees: the statement's one source table, Flink's
//! functions, Flink's type names and syntax hooks, and the UTC session time zone.

use std::sync::Arc;

use datafusion_common::TableReference;
use datafusion_common::arrow::datatypes::DataType;
use datafusion_common::config::ConfigOptions;
use datafusion_expr::logical_plan::builder::LogicalTableSource;
use datafusion_expr::planner::{ContextProvider, ExprPlanner, TypePlanner};
use datafusion_expr::{AggregateUDF, HigherOrderUDF, ScalarUDF, TableSource, WindowUDF};

use super::hooks;
use crate::catalog::TableDef;
use crate::functions::FunctionRegistry;

/// What the SQL planner sees: the source table, Flink's functions and types.
pub(super) struct Provider {
    table_name: String,
    table: Arc<dyn TableSource>,
    functions: FunctionRegistry,
    planners: Vec<Arc<dyn ExprPlanner>>,
    options: ConfigOptions,
}

impl Provider {
    pub(super) fn new(
        source: &TableDef,
        qualifier: &str,
        functions: &FunctionRegistry,
    ) -> Provider {
        let mut options = ConfigOptions::default();
        options.execution.time_zone = Some("UTC".to_owned());
        Provider {
            table_name: qualifier.to_owned(),
            table: Arc::new(LogicalTableSource::new(source.arrow_schema())),
            functions: functions.clone(),
            planners: vec![
                Arc::new(hooks::FlinkExprPlanner),
                Arc::new(datafusion_functions::unicode::planner::UnicodeFunctionPlanner),
                Arc::new(datafusion_functions::core::planner::CoreFunctionPlanner::default()),
            ],
            options,
        }
    }
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("table", &self.table_name)
            .finish()
    }
}

impl ContextProvider for Provider {
    fn get_table_source(
        &self,
        name: TableReference,
    ) -> datafusion_common::Result<Arc<dyn TableSource>> {
        if name.table() == self.table_name {
            Ok(Arc::clone(&self.table))
        } else {
            datafusion_common::plan_err!("table {name} is not the statement's source")
        }
    }

    fn get_function_meta(&self, name: &str) -> Option<Arc<ScalarUDF>> {
        self.functions.get(name)
    }

    fn get_higher_order_meta(&self, _name: &str) -> Option<Arc<HigherOrderUDF>> {
        None
    }

    fn get_aggregate_meta(&self, _name: &str) -> Option<Arc<AggregateUDF>> {
        None
    }

    fn get_window_meta(&self, _name: &str) -> Option<Arc<WindowUDF>> {
        None
    }

    fn get_variable_type(&self, _variable_names: &[String]) -> Option<DataType> {
        None
    }

    fn get_expr_planners(&self) -> &[Arc<dyn ExprPlanner>] {
        &self.planners
    }

    fn get_type_planner(&self) -> Option<Arc<dyn TypePlanner>> {
        Some(Arc::new(hooks::FlinkTypePlanner))
    }

    fn options(&self) -> &ConfigOptions {
        &self.options
    }

    fn udf_names(&self) -> Vec<String> {
        self.functions.names().map(str::to_owned).collect()
    }

    fn higher_order_function_names(&self) -> Vec<String> {
        Vec::new()
    }

    fn udaf_names(&self) -> Vec<String> {
        Vec::new()
    }

    fn udwf_names(&self) -> Vec<String> {
        Vec::new()
    }
}
