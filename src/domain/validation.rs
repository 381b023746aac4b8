use std::fmt;

/// One broken rule, named by the field (a JSON path such as `user.email`) that broke it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// Every broken rule found in one input, so a client can fix them all at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    pub fn single(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self(vec![FieldError { field: field.into(), message: message.into() }])
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect();
        f.write_str(&parts.join("; "))
    }
}

impl std::error::Error for ValidationErrors {}

/// Collects the outcome of parsing each field, so that all errors are reported together.
#[derive(Debug, Default)]
pub struct Validation {
    errors: Vec<FieldError>,
}

impl Validation {
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps the parsed value, or records the message against `field`.
    pub fn check<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(message) => {
                self.fail(field, message);
                None
            }
        }
    }

    /// Like [`Validation::check`] for an optional input: `None` stays `None`.
    pub fn check_opt<I, T>(&mut self, field: &str, input: Option<I>, parse: impl FnOnce(I) -> Result<T, String>) -> Option<Option<T>> {
        match input {
            None => Some(None),
            Some(input) => self.check(field, parse(input)).map(Some),
        }
    }

    pub fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError { field: field.to_owned(), message: message.into() });
    }

    /// Whether `field` has failed already.
    pub fn has(&self, field: &str) -> bool {
        self.errors.iter().any(|e| e.field == field)
    }

    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }

    /// The errors found so far, for when a required value is missing after parsing.
    pub fn into_errors(self) -> ValidationErrors {
        if self.errors.is_empty() { ValidationErrors::single("body", "is invalid") } else { ValidationErrors(self.errors) }
    }

    pub fn finish(self) -> Result<(), ValidationErrors> {
        if self.errors.is_empty() { Ok(()) } else { Err(ValidationErrors(self.errors)) }
    }
}

/// The most people a venue or an event can hold.
pub const CAPACITY_MAX: i64 = 100_000;

/// Whole numbers that must fit a range, such as capacities.
pub fn int_in(min: i64, max: i64) -> impl Fn(i64) -> Result<i32, String> {
    move |n| {
        if n < min || n > max {
            return Err(format!("must be between {min} and {max}"));
        }
        i32::try_from(n).map_err(|_| format!("must be between {min} and {max}"))
    }
}
