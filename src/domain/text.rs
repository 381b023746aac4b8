use std::fmt;

/// Free text a person typed: trimmed, within a length limit (in characters), and free of control
/// characters other than tab and line breaks. Line breaks are kept: calendar and mail layers
/// escape them, so nothing here has to be lossy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text(String);

/// The longest person's name.
pub const PERSON_NAME_MAX: usize = 100;
/// The longest name of a thing: a campaign, a venue, an employer, a school.
pub const NAME_MAX: usize = 200;
/// The longest postal address.
pub const ADDRESS_MAX: usize = 500;
/// Descriptions of campaigns and events.
pub const DESCRIPTION_MAX: usize = 10_000;

impl Text {
    /// The name of a thing (see [`NAME_MAX`]): one line.
    pub fn name(input: &str) -> Result<Self, String> {
        Self::one_line(input, 1, NAME_MAX)
    }

    /// A postal address (see [`ADDRESS_MAX`]); line breaks allowed.
    pub fn address(input: &str) -> Result<Self, String> {
        Self::parse(input, 1, ADDRESS_MAX)
    }
}

/// `example.com`, `bit.ly/x`: a word whose last dot is followed by a common top-level domain;
/// initials and names with dots (`J. R.`, `St.John`) are not.
fn looks_like_domain(word: &str) -> bool {
    let word = word.trim_matches(|c: char| !c.is_alphanumeric());
    let Some((head, tail)) = word.rsplit_once('.') else { return false };
    let tld: String = tail.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
    !head.is_empty()
        && tld.len() >= 2
        && ["com", "net", "org", "uk", "io", "ly", "co", "info", "biz", "ru", "xyz", "me", "app", "link"].contains(&tld.as_str())
}

impl Text {
    pub fn parse(input: &str, min: usize, max: usize) -> Result<Self, String> {
        let s = input.trim();
        let len = s.chars().count();
        if len < min {
            return Err(if min == 1 { "must not be empty".into() } else { format!("must be at least {min} characters") });
        }
        if len > max {
            return Err(format!("must be at most {max} characters"));
        }
        if s.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\r' | '\n')) {
            return Err("must not contain control characters".into());
        }
        Ok(Self(s.to_owned()))
    }

    /// Like [`Text::parse`], for a value that must fit on one line (names, labels).
    pub fn one_line(input: &str, min: usize, max: usize) -> Result<Self, String> {
        let text = Self::parse(input, min, max)?;
        if text.0.contains(['\r', '\n']) {
            return Err("must be a single line".into());
        }
        Ok(text)
    }

    /// A person's name, as mail greets them by it: one line of at most [`PERSON_NAME_MAX`]
    /// characters, with no `@` and nothing that reads as a web address, so the council's sender
    /// address cannot be made to carry someone's link or text to a stranger.
    pub fn person_name(input: &str) -> Result<Self, String> {
        let text = Self::one_line(input, 1, PERSON_NAME_MAX)?;
        let lower = text.0.to_lowercase();
        if lower.contains('@') {
            return Err("must be a name, not an email address".into());
        }
        if lower.contains("://") || lower.contains("www.") || lower.split_whitespace().any(looks_like_domain) {
            return Err("must be a name, without a web address".into());
        }
        Ok(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A campaign's address in URLs and feeds: lower-case letters, digits and single hyphens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slug(String);

impl Slug {
    pub fn parse(input: &str) -> Result<Self, String> {
        let ok = !input.is_empty()
            && input.len() <= 80
            && input.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !input.starts_with('-')
            && !input.ends_with('-')
            && !input.contains("--");
        if ok { Ok(Self(input.to_owned())) } else { Err("must be 1 to 80 of a-z, 0-9 and single hyphens, like gift-of-care-2027".into()) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An IANA time zone name such as `Europe/London`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeZone(chrono_tz::Tz);

impl TimeZone {
    pub const LONDON: TimeZone = TimeZone(chrono_tz::Europe::London);

    pub fn parse(input: &str) -> Result<Self, String> {
        input.parse::<chrono_tz::Tz>().map(Self).map_err(|_| "must be an IANA time zone name, like Europe/London".into())
    }

    pub fn tz(self) -> chrono_tz::Tz {
        self.0
    }

    pub fn name(self) -> &'static str {
        self.0.name()
    }
}

/// An absolute `http` or `https` URL, such as an online event's joining link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url(String);

impl Url {
    pub fn parse(input: &str) -> Result<Self, String> {
        let s = input.trim();
        let rest = s.strip_prefix("https://").or_else(|| s.strip_prefix("http://"));
        let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or(""));
        let ok = s.len() <= 2000
            && matches!(host, Some(h) if !h.is_empty())
            && !s.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"'));
        if ok { Ok(Self(s.to_owned())) } else { Err("must be an http or https URL".into()) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Parses one of a closed set of snake_case words, naming the allowed words when it fails.
pub fn parse_enum<T: Copy>(input: &str, all: &[T], name: impl Fn(T) -> &'static str) -> Result<T, String> {
    all.iter().copied().find(|v| name(*v) == input).ok_or_else(|| {
        let names: Vec<&str> = all.iter().map(|v| name(*v)).collect();
        format!("must be one of: {}", names.join(", "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_keeps_line_breaks_and_rejects_other_controls() {
        assert!(Text::parse("a\r\nb", 1, 10).is_ok());
        assert!(Text::parse("a\u{0}b", 1, 10).is_err());
        assert!(Text::one_line("a\nb", 1, 10).is_err());
        assert!(Text::parse("   ", 1, 10).is_err());
        assert!(Text::parse("ééé", 1, 3).is_ok());
        assert!(Text::parse("éééé", 1, 3).is_err());
    }

    #[test]
    fn slugs() {
        assert!(Slug::parse("gift-of-care-2027").is_ok());
        for bad in ["", "Gift", "a--b", "-a", "a-", "a_b", "a b"] {
            assert!(Slug::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn urls() {
        assert!(Url::parse("https://meet.example.org/abc?x=1").is_ok());
        for bad in ["ftp://x", "https://", "javascript:alert(1)", "https://a b"] {
            assert!(Url::parse(bad).is_err(), "{bad:?}");
        }
    }
}

#[cfg(test)]
mod person_name_tests {
    use super::Text;

    #[test]
    fn names_are_names() {
        for ok in ["Ann Smith", "Siobhán O'Neill-Ní Bhriain", "J. R. Hartley", "St.John Smith", "Dr. Kwame Mensah"] {
            assert!(Text::person_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "Win a prize at https://evil.example",
            "visit www.evil.test",
            "ann@example.org",
            "Click evil.com now",
            "bit.ly/abc",
            "Ann\r\nBcc: x",
            "Ann\nSmith",
            "",
        ] {
            assert!(Text::person_name(bad).is_err(), "{bad:?}");
        }
        assert!(Text::person_name(&"a".repeat(100)).is_ok());
        assert!(Text::person_name(&"a".repeat(101)).is_err());
    }
}

/// A key that sorts labels as people read them: runs of digits by their value, the rest without
/// regard to case (`A2` before `A10`, `b1` after `A9`).
pub fn natural_key(label: &str) -> Vec<(String, u64)> {
    let mut key = Vec::new();
    let mut text = String::new();
    let mut chars = label.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            let mut n = u64::from(c as u8 - b'0');
            while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                n = n.saturating_mul(10).saturating_add(u64::from(*d as u8 - b'0'));
                chars.next();
            }
            key.push((std::mem::take(&mut text), n));
        } else {
            text.extend(c.to_lowercase());
        }
    }
    key.push((text, 0));
    key
}

#[cfg(test)]
mod natural_tests {
    #[test]
    fn stands_sort_as_a_floor_plan_numbers_them() {
        let mut labels = vec!["A10", "B1", "A2", "a1", "A1b", "Hall", "A9"];
        labels.sort_by_key(|l| super::natural_key(l));
        assert_eq!(labels, ["a1", "A1b", "A2", "A9", "A10", "B1", "Hall"]);
    }
}
