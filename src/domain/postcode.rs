use std::fmt;
use std::sync::LazyLock;

use regex::Regex;

/// A UK postcode in its normal written form: upper case, one space before the inward code
/// (`CM1 1QH`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Postcode(String);

// The outward code is one or two letters, a digit, and an optional letter or digit; the inward
// code a digit and two letters (the letters C I K M O V never appear there). GIR 0AA is the one
// historic exception still in use.
#[allow(clippy::expect_used)]
static SHAPE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][ABD-HJLNP-UW-Z]{2}|GIR0AA)$").expect("valid regex"));

impl Postcode {
    pub fn parse(input: &str) -> Result<Self, String> {
        let compact: String = input.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase();
        if compact.len() > 8 || !SHAPE.is_match(&compact) {
            return Err("must be a valid UK postcode, like CM1 1QH".into());
        }
        let (outward, inward) = compact.split_at(compact.len() - 3);
        Ok(Self(format!("{outward} {inward}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Postcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises() {
        for (input, want) in
            [("cm11qh", "CM1 1QH"), (" CM1  1QH ", "CM1 1QH"), ("ss0 7ah", "SS0 7AH"), ("EC1A1BB", "EC1A 1BB"), ("gir0aa", "GIR 0AA")]
        {
            assert_eq!(Postcode::parse(input).map(|p| p.0), Ok(want.to_owned()));
        }
    }

    #[test]
    fn rejects() {
        for bad in ["", "CM1", "12345", "CM1 1QHX", "CM1 1CI", "Q1 1AA1", "CM1\n1QH;"] {
            assert!(Postcode::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
