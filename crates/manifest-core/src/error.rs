//! Validation errors: each names the service, the field and what is wrong, and all of them are
//! reported at once.

use std::fmt;

/// One mistake in a definition, e.g. `analytics-service: resources.cpu: request 3 exceeds limit 2000m`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The service (or `platform`, `release`, `catalogue`) the mistake belongs to.
    pub service: String,
    /// The field, as a dotted path.
    pub field: String,
    pub message: String,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.service, self.field, self.message)
    }
}

/// Every mistake found in one validation run, in the order they were found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Errors(pub Vec<Error>);

impl Errors {
    pub fn push(&mut self, service: &str, field: &str, message: impl Into<String>) {
        self.0.push(Error { service: service.to_owned(), field: field.to_owned(), message: message.into() });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The messages, one a line, as `Display` prints them.
    pub fn messages(&self) -> Vec<String> {
        self.0.iter().map(ToString::to_string).collect()
    }

    /// `Ok(value)` when nothing was pushed.
    pub fn into_result<T>(self, value: T) -> Result<T, Errors> {
        if self.is_empty() { Ok(value) } else { Err(self) }
    }
}

impl fmt::Display for Errors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        writeln!(f, "{n} error{} in the service definitions:", if n == 1 { "" } else { "s" })?;
        for e in &self.0 {
            writeln!(f, "  {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Errors {}
