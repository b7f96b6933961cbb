//! Flink semantics on DataFusion's logical expressions.
//!
//! Before type coercion, integer literals that fit an `INT` become `INT` (DataFusion makes
//! every integer literal `BIGINT`; Flink types `COALESCE(int_col, 0)` as `INT`, and `a + 1`
//! wraps in `INT`). After coercion, every `CAST` — written, or inserted by coercion — becomes
//! Flink's ([`plan_cast`]), DECIMAL division takes Flink's result type, and `LIKE` patterns are
//! translated to Arrow's escaping.
//!
//! Flink types that Arrow types do not carry (a column's `TIMESTAMP(3)`, a cast's `CHAR(4)`)
//! come from the source table's declaration and the casts' field metadata
//! ([`Rewriter::flink_type`]).

use datafusion_common::arrow::datatypes::DataType;
use datafusion_common::tree_node::{Transformed, TreeNode};
use datafusion_common::{DFSchema, Result, ScalarValue};
use datafusion_expr::expr::{Cast, Like, ScalarFunction, TryCast};
use datafusion_expr::{BinaryExpr, Expr, ExprSchemable, Operator};

use super::hooks::cast_target;
use crate::catalog::TableDef;
use crate::functions::cast::{FlinkCast, plan_cast};
use crate::functions::math::decimal_divide;
use crate::types::{SqlType, SqlTypeKind};

/// `BIGINT` literals that fit become `INT` literals.
pub(super) fn narrow_int_literals(e: Expr) -> Result<Expr> {
    e.transform_up(|e| match e {
        Expr::Literal(ScalarValue::Int64(Some(v)), m) if i32::try_from(v).is_ok() => Ok(
            Transformed::yes(Expr::Literal(ScalarValue::Int32(Some(v as i32)), m)),
        ),
        other => Ok(Transformed::no(other)),
    })
    .map(|t| t.data)
}

/// Rewrites coerced expressions over the source table.
pub(super) struct Rewriter<'a> {
    pub source: &'a TableDef,
    pub schema: &'a DFSchema,
}

impl Rewriter<'_> {
    /// Flink's casts and `LIKE` in `e`.
    pub fn rewrite(&self, e: Expr) -> Result<Expr> {
        e.transform_up(|e| self.rewrite_node(e)).map(|t| t.data)
    }

    fn rewrite_node(&self, e: Expr) -> Result<Transformed<Expr>> {
        Ok(match e {
            Expr::Cast(Cast { expr, field }) => {
                Transformed::yes(self.cast(*expr, cast_target(&field), field, false)?)
            }
            Expr::TryCast(TryCast { expr, field }) => {
                Transformed::yes(self.cast(*expr, cast_target(&field), field, true)?)
            }
            Expr::BinaryExpr(BinaryExpr {
                left,
                op: Operator::Divide,
                right,
            }) if [&left, &right]
                .iter()
                .all(|x| matches!(x.get_type(self.schema), Ok(DataType::Decimal128(..)))) =>
            {
                Transformed::yes(Expr::ScalarFunction(ScalarFunction::new_udf(
                    decimal_divide(),
                    vec![*left, *right],
                )))
            }
            Expr::ScalarFunction(f) if f.name() == "typeof" && !f.args.is_empty() => {
                Transformed::yes(Expr::Literal(
                    ScalarValue::Utf8(Some(self.type_of(&f.args[0]))),
                    None,
                ))
            }
            Expr::Like(like) => match flink_like(like) {
                Ok(l) => Transformed::yes(Expr::Like(l)),
                Err(l) => Transformed::no(Expr::Like(l)),
            },
            other => Transformed::no(other),
        })
    }

    fn cast(
        &self,
        expr: Expr,
        to: Option<SqlType>,
        field: datafusion_common::arrow::datatypes::FieldRef,
        try_cast: bool,
    ) -> Result<Expr> {
        let from_arrow = expr.get_type(self.schema)?;
        match (self.flink_type(&expr), to) {
            (Some(from), Some(to)) => Ok(plan_cast(expr, &from_arrow, &from, &to, try_cast)),
            _ if try_cast => Ok(Expr::TryCast(TryCast {
                expr: Box::new(expr),
                field,
            })),
            _ => Ok(Expr::Cast(Cast {
                expr: Box::new(expr),
                field,
            })),
        }
    }

    /// `TYPEOF(e)`: Flink's summary of `e`'s type, with `NOT NULL` where `e` cannot be NULL (a
    /// string literal is `CHAR(n)`, as in Flink).
    fn type_of(&self, e: &Expr) -> String {
        if let Expr::Literal(ScalarValue::Utf8(Some(s)), _) = e {
            return format!("CHAR({}) NOT NULL", s.chars().count());
        }
        if matches!(e.get_type(self.schema), Ok(DataType::Null)) {
            return "NULL".to_owned();
        }
        let ty = self.flink_type(e).or_else(|| {
            e.get_type(self.schema)
                .ok()
                .and_then(|t| SqlType::from_arrow(&t))
        });
        match ty {
            Some(mut t) => {
                if !matches!(e, Expr::Column(_)) {
                    t.nullable = e.nullable(self.schema).unwrap_or(true);
                }
                t.to_string()
            }
            None => "RAW".to_owned(),
        }
    }

    /// The Flink type of `e`, as precise as the source declaration and the casts allow.
    pub fn flink_type(&self, e: &Expr) -> Option<SqlType> {
        match e {
            Expr::Column(c) => self
                .source
                .column_index(&c.name)
                .map(|i| self.source.columns[i].ty.clone()),
            Expr::Alias(a) => self.flink_type(&a.expr),
            Expr::Cast(c) => cast_target(&c.field),
            Expr::TryCast(c) => cast_target(&c.field),
            Expr::ScalarFunction(f) => {
                if let Some(cast) = f.func.inner().downcast_ref::<FlinkCast>() {
                    return Some(cast.target().clone());
                }
                let kind = match f.name() {
                    "to_timestamp" | "localtimestamp" => Some(SqlTypeKind::Timestamp(3)),
                    "current_timestamp" | "to_timestamp_ltz" => Some(SqlTypeKind::TimestampLtz(3)),
                    "current_time" => Some(SqlTypeKind::Time(0)),
                    _ => None,
                };
                kind.map(SqlType::nullable).or_else(|| self.arrow_type(e))
            }
            Expr::BinaryExpr(BinaryExpr {
                left,
                op: Operator::Plus | Operator::Minus,
                right,
            }) => {
                // TIMESTAMP ± INTERVAL keeps the timestamp's precision.
                let t = self.arrow_type(e)?;
                if matches!(
                    t.kind,
                    SqlTypeKind::Timestamp(_) | SqlTypeKind::TimestampLtz(_)
                ) {
                    [left, right]
                        .into_iter()
                        .filter_map(|x| self.flink_type(x))
                        .find(|x| {
                            matches!(
                                x.kind,
                                SqlTypeKind::Timestamp(_) | SqlTypeKind::TimestampLtz(_)
                            )
                        })
                        .or(Some(t))
                } else {
                    Some(t)
                }
            }
            _ => self.arrow_type(e),
        }
    }

    fn arrow_type(&self, e: &Expr) -> Option<SqlType> {
        SqlType::from_arrow(&e.get_type(self.schema).ok()?)
    }
}

/// Flink's `LIKE` has no escape character unless `ESCAPE` names one; Arrow's treats `\` as one.
/// Rewrites a literal pattern into Arrow's form; `Err` gives the expression back unchanged.
fn flink_like(mut like: Like) -> std::result::Result<Like, Like> {
    let Expr::Literal(ScalarValue::Utf8(Some(pattern)), m) = like.pattern.as_ref() else {
        return Err(like);
    };
    if like.escape_char.is_none() && !pattern.contains('\\') {
        return Err(like);
    }
    let mut out = String::with_capacity(pattern.len() + 4);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if Some(c) == like.escape_char {
            match chars.next() {
                Some(n @ ('%' | '_')) => {
                    out.push('\\');
                    out.push(n);
                }
                Some('\\') => out.push_str("\\\\"),
                Some(n) => out.push(n),
                None => {}
            }
        } else if c == '\\' {
            out.push_str("\\\\");
        } else {
            out.push(c);
        }
    }
    like.pattern = Box::new(Expr::Literal(ScalarValue::Utf8(Some(out)), m.clone()));
    like.escape_char = None;
    Ok(like)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_like_flink() {
        let pattern = |p: &str, esc: Option<char>| {
            let like = Like::new(
                false,
                Box::new(Expr::Literal(ScalarValue::Utf8(Some("x".into())), None)),
                Box::new(Expr::Literal(ScalarValue::Utf8(Some(p.into())), None)),
                esc,
                false,
            );
            match flink_like(like) {
                Ok(l) => l.pattern.to_string(),
                Err(l) => format!("unchanged {}", l.pattern),
            }
        };
        assert_eq!(pattern("a!%%", Some('!')), r#"Utf8("a\%%")"#);
        assert_eq!(pattern(r"a\b", None), r#"Utf8("a\\b")"#);
        assert_eq!(pattern("a%", None), r#"unchanged Utf8("a%")"#);
    }
}
