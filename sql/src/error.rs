//! Errors of the SQL layer. Each names where in the statement (line and column) or which
//! table/column is wrong, and says how to fix it.

use std::fmt;

/// A 1-based position in a SQL text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    /// Line, from 1.
    pub line: u64,
    /// Column, from 1.
    pub column: u64,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// What kind of mistake an error is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The text is not SQL.
    Syntax,
    /// Valid SQL that Sluice does not run (e.g. a JOIN).
    Unsupported,
    /// A table that is not declared.
    UnknownTable,
    /// A column that the table does not have.
    UnknownColumn,
    /// A function that does not exist.
    UnknownFunction,
    /// Types do not match (e.g. a STRING into a DOUBLE column).
    Type,
    /// A table's declaration is wrong (type, partition column, option).
    Table,
}

impl ErrorKind {
    /// A short CamelCase reason, used for conditions and events.
    pub fn reason(self) -> &'static str {
        match self {
            ErrorKind::Syntax => "SqlSyntaxError",
            ErrorKind::Unsupported => "SqlUnsupported",
            ErrorKind::UnknownTable => "UnknownTable",
            ErrorKind::UnknownColumn => "UnknownColumn",
            ErrorKind::UnknownFunction => "UnknownFunction",
            ErrorKind::Type => "TypeMismatch",
            ErrorKind::Table => "InvalidTable",
        }
    }
}

/// One problem with a statement or a table.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct SqlError {
    /// What kind of mistake.
    pub kind: ErrorKind,
    /// Where in the statement, when it is about the statement's text.
    pub location: Option<Location>,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl SqlError {
    /// An error at a position.
    pub fn at(kind: ErrorKind, location: Option<Location>, message: impl Into<String>) -> SqlError {
        SqlError {
            kind,
            location,
            message: message.into(),
        }
    }

    /// An error with no position (about a table's declaration).
    pub fn table(message: impl Into<String>) -> SqlError {
        SqlError {
            kind: ErrorKind::Table,
            location: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for SqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.location {
            Some(at) => write!(f, "{at}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Every problem found, in statement order.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct SqlErrors(pub Vec<SqlError>);

impl fmt::Display for SqlErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl From<SqlError> for SqlErrors {
    fn from(e: SqlError) -> Self {
        SqlErrors(vec![e])
    }
}

/// The closest of `candidates` to `name` (case-insensitive match first, then edit distance ≤ 2),
/// for "did you mean" hints.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = if c.eq_ignore_ascii_case(name) {
            0
        } else {
            edit_distance(&name.to_lowercase(), &c.to_lowercase())
        };
        if d <= 2 && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names() {
        assert_eq!(did_you_mean("prise", ["price", "ticker"]), Some("price"));
        assert_eq!(did_you_mean("PRICE", ["price", "ticker"]), Some("price"));
        assert_eq!(did_you_mean("volume", ["price", "ticker"]), None);
    }
}
