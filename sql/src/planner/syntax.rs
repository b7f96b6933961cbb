//! Flink syntax that DataFusion's SQL planner does not read the Flink way, rewritten in the
//! parsed statement before planning: `MOD(a, b)` is `a % b`, and the time unit of
//! `TIMESTAMPDIFF(SECOND, a, b)` / `TIMESTAMPADD(DAY, n, t)` is a keyword, not a column, and
//! `JSON_STRING` of a `JSON_OBJECT`/`JSON_ARRAY` is that JSON as it is (not a JSON string), and
//! `s [NOT] SIMILAR TO p [ESCAPE e]` is `[NOT] similar_to(s, p[, e])` (Flink's translation of
//! the pattern, `functions::similar_to`).

use std::ops::ControlFlow;

use datafusion_sql::sqlparser::ast::{
    BinaryOperator, Expr, Function, FunctionArg, FunctionArgExpr, FunctionArgumentList,
    FunctionArguments, Ident, ObjectName, Statement, UnaryOperator, Value, visit_expressions_mut,
};

/// Rewrites `statement` in place.
pub(super) fn rewrite(statement: &mut Statement) {
    let _ = visit_expressions_mut(statement, |e| {
        rewrite_expr(e);
        ControlFlow::<()>::Continue(())
    });
}

fn rewrite_expr(e: &mut Expr) {
    if let Expr::SimilarTo {
        negated,
        expr,
        pattern,
        escape_char,
    } = e
    {
        let mut args = vec![(**expr).clone(), (**pattern).clone()];
        if let Some(esc) = escape_char {
            args.push(Expr::Value(esc.clone()));
        }
        let call = Expr::Function(Function {
            name: ObjectName::from(vec![Ident::new("similar_to")]),
            uses_odbc_syntax: false,
            parameters: FunctionArguments::None,
            args: FunctionArguments::List(FunctionArgumentList {
                duplicate_treatment: None,
                args: args
                    .into_iter()
                    .map(|a| FunctionArg::Unnamed(FunctionArgExpr::Expr(a)))
                    .collect(),
                clauses: Vec::new(),
            }),
            filter: None,
            null_treatment: None,
            over: None,
            within_group: Vec::new(),
        });
        *e = if *negated {
            Expr::UnaryOp {
                op: UnaryOperator::Not,
                expr: Box::new(Expr::Nested(Box::new(call))),
            }
        } else {
            call
        };
        return;
    }
    let Expr::Function(f) = e else {
        return;
    };
    let name = f
        .name
        .0
        .last()
        .and_then(|p| p.as_ident())
        .map(|i| i.value.to_ascii_lowercase())
        .unwrap_or_default();
    let FunctionArguments::List(list) = &mut f.args else {
        return;
    };
    match name.as_str() {
        "mod" if list.args.len() == 2 => {
            let mut args = list.args.iter().filter_map(|a| match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) => Some(x.clone()),
                _ => None,
            });
            if let (Some(left), Some(right)) = (args.next(), args.next()) {
                *e = Expr::Nested(Box::new(Expr::BinaryOp {
                    left: Box::new(left),
                    op: BinaryOperator::Modulo,
                    right: Box::new(right),
                }));
            }
        }
        "json_string" if list.args.len() == 1 => {
            if let FunctionArg::Unnamed(FunctionArgExpr::Expr(inner @ Expr::Function(g))) =
                &list.args[0]
                && matches!(
                    g.name.to_string().to_ascii_lowercase().as_str(),
                    "json_object" | "json_array"
                )
            {
                *e = inner.clone();
            }
        }
        "timestampdiff" | "timestampadd" => {
            if let Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(unit))) = list.args.first_mut()
                && let Expr::Identifier(id) = unit
            {
                *unit = Expr::value(Value::SingleQuotedString(id.value.to_ascii_uppercase()));
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::FlinkDialect;
    use datafusion_sql::sqlparser::parser::Parser;

    fn rewritten(sql: &str) -> String {
        let mut s = Parser::parse_sql(&FlinkDialect, sql).unwrap().remove(0);
        rewrite(&mut s);
        s.to_string()
    }

    #[test]
    fn mod_and_time_units() {
        assert_eq!(
            rewritten("INSERT INTO t SELECT MOD(a, 3), TIMESTAMPDIFF(second, a, b) FROM s"),
            "INSERT INTO t SELECT (a % 3), TIMESTAMPDIFF('SECOND', a, b) FROM s"
        );
    }
}
