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

    pub(super) fn from_toml(file: &str, e: &toml::de::Error) -> CatalogError {
        let message = e.message().to_string();
        let field = message
            .split('`')
            .nth(1)
            .filter(|_| {
                message.starts_with("unknown field") || message.starts_with("missing field")
            })
            .unwrap_or("(syntax)")
            .to_string();
        let location = e
            .span()
            .map(|s| format!(" (byte {} of the file)", s.start))
            .unwrap_or_default();
        let fix = if message.contains("floating point") {
            "money is never a float: write minor units as integers (unit_amount = 5 for 5 cents) \
             or exact rates as strings (unit_amount_decimal = \"0.5\")"
        } else if message.starts_with("unknown field") {
            "remove or rename the field; the accepted names are listed above and in examples/billing.toml"
        } else {
            "correct the value; examples/billing.toml shows every field"
        };
        CatalogError {
            file: file.into(),
            field,
            problem: format!("{message}{location}"),
            fix: fix.into(),
        }
    }
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
