//! A catalog mistake, naming the file, the field, the problem and the fix, and the context that
//! names the file in every mistake found while validating it.

use std::fmt;
use std::path::Path;

/// A catalog mistake: which file, which field, what is wrong and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogError {
    pub file: String,
    pub field: String,
    pub problem: String,
    pub fix: String,
}

impl fmt::Display for CatalogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: `{}`: {}. Fix: {}",
            self.file, self.field, self.problem, self.fix
        )
    }
}

impl std::error::Error for CatalogError {}

impl CatalogError {
    pub(super) fn unreadable(path: &Path, e: &std::io::Error) -> CatalogError {
        CatalogError {
            file: path.display().to_string(),
            field: "(file)".into(),
            problem: format!("cannot read the catalog: {e}"),
            fix:
                "pass an existing file with --catalog (the repository ships examples/billing.toml)"
                    .into(),
        }
    }

    /// A TOML mistake: syntax (found by the parser, located by its span) or a value of the wrong
    /// shape (`path` is the field, from the deserializer).
    pub(super) fn from_toml(
        file: &str,
        text: &str,
        e: &toml::de::Error,
        path: Option<String>,
    ) -> CatalogError {
        let message = e.message().trim_end().to_string();
        let at = e.span().map(|s| locate(text, s.start));
        let field = path
            .filter(|p| !p.is_empty() && p != ".")
            .or_else(|| at.as_ref().map(|(_, key)| key.clone()))
            .filter(|k| !k.is_empty())
            .unwrap_or_else(|| "(file)".into());
        let line = at
            .map(|(line, _)| format!(" (line {line})"))
            .unwrap_or_default();
        let fix = if message.contains("floating point") {
            "money is never a float: write minor units as integers (unit_amount = 5 for 5 cents) \
             or exact rates as strings (unit_amount_decimal = \"0.5\")"
        } else if message.starts_with("unknown field") {
            "remove or rename the field; the accepted names are listed above and in examples/billing.toml"
        } else if message.contains("duplicate key") {
            "give the key once"
        } else {
            "correct the value; examples/billing.toml shows every field"
        };
        CatalogError {
            file: file.into(),
            field,
            problem: format!("{message}{line}"),
            fix: fix.into(),
        }
    }
}

/// The line of byte `at` in `text`, and the dotted key written there: the table header above it
/// and the key before `=` on that line (`plans.starter.monthly`).
fn locate(text: &str, at: usize) -> (usize, String) {
    let before = text.get(..at.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let this = text.lines().nth(line - 1).unwrap_or("");
    let table = before
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_string());
    let key = this
        .split_once('=')
        .map(|(k, _)| k.trim().trim_matches('"').to_string())
        .filter(|k| !k.starts_with('['))
        .unwrap_or_default();
    let field = match (table, key.is_empty()) {
        (Some(t), false) => format!("{t}.{key}"),
        (Some(t), true) => t,
        (None, _) => key,
    };
    (line, field)
}

/// The file being validated, named in each mistake.
pub(super) struct Context<'a> {
    file: &'a str,
}

impl<'a> Context<'a> {
    pub(super) fn new(file: &'a str) -> Context<'a> {
        Context { file }
    }

    pub(super) fn err(
        &self,
        field: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> CatalogError {
        CatalogError {
            file: self.file.into(),
            field: field.into(),
            problem: problem.into(),
            fix: fix.into(),
        }
    }
}
