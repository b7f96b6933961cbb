//! The parts of the JDK whose behaviour Flink's output follows to the character, emulated:
//! Flink's functions hand dates to `SimpleDateFormat` and `DateTimeFormatter`, write numbers with
//! `Double.toString`, and read text with `Double.parseDouble` or `java.sql.Timestamp.valueOf`.
//!
//! A leaf of the crate: it builds on [`crate::calendar`] only, so Flink's functions
//! ([`crate::functions`]) and the executor's JSON format can both use it.
//!
//! - [`character`]: `Character.isLetter`/`isDigit`/`digit` of a UTF-16 unit.
//! - [`hash_map`]: the iteration order of a `java.util.HashMap<String, _>`.
//! - [`sdf`]: `java.text.SimpleDateFormat` (formatting and lenient parsing).
//! - [`time`]: `java.time.format.DateTimeFormatter.ofPattern` patterns.
//! - [`text`]: `Double.toString`, `Float.toString`, `BigDecimal.toString`.
//! - [`parse`]: `String.trim`, `Integer.parseInt`, `Double.parseDouble`, `new BigDecimal(String)`,
//!   `java.sql.Timestamp.valueOf`, `java.sql.Date.valueOf`.

pub mod character;
pub mod hash_map;
pub mod parse;
pub mod sdf;
pub mod text;
pub mod time;

/// A date-time pattern that does not compile. `SimpleDateFormat`'s errors carry Java's own
/// message; `DateTimeFormatter` patterns name the pattern and the problem.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// `SimpleDateFormat`: a letter that is not a pattern letter.
    #[error("Illegal pattern character '{0}'")]
    IllegalCharacter(char),
    /// `SimpleDateFormat`: a quote that is not closed.
    #[error("Unterminated quote")]
    UnterminatedQuote,
    /// `DateTimeFormatter.ofPattern`.
    #[error("invalid pattern {pattern:?}: {problem}")]
    Invalid {
        /// The pattern, as given.
        pattern: String,
        /// What is wrong with it.
        problem: PatternProblem,
    },
}

/// What is wrong with a `DateTimeFormatter` pattern.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PatternProblem {
    /// More letters in a row than the field allows (`ddd`).
    #[error("too many pattern letters: {0}")]
    TooManyLetters(String),
    /// A zone or offset letter: Sluice's TIMESTAMP values have no zone.
    #[error(
        "pattern letter {0:?} needs a time zone, and TIMESTAMP values have none (use TIMESTAMP_LTZ or drop it)"
    )]
    NeedsTimeZone(char),
    /// A letter `DateTimeFormatter` does not know.
    #[error("unknown pattern letter {0:?}")]
    UnknownLetter(char),
    /// A quote that is not closed, at this (1-based) character.
    #[error("unterminated quote at character {0}")]
    UnterminatedQuote(usize),
    /// `{`, `}` or `#`, which Java reserves.
    #[error("{0:?} is reserved")]
    Reserved(char),
}
