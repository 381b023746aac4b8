//! Care employers, schools, the links between them, stands at fairs and school engagements.

use std::sync::LazyLock;

use regex::Regex;

use super::text::parse_enum;

/// An enum exchanged as fixed snake_case words.
macro_rules! word_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $word:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $word),+ }
            }

            pub fn parse(s: &str) -> Result<Self, String> {
                parse_enum(s, Self::ALL, |k| k.as_str())
            }
        }
    };
}

word_enum!(
    /// What kind of care an employer provides.
    ProviderType {
        Residential => "residential",
        Nursing => "nursing",
        HomeCare => "home_care",
        SupportedLiving => "supported_living",
        DayServices => "day_services",
        Other => "other",
    }
);

word_enum!(
    /// Only approved employers appear publicly or may book stands and ask for school links.
    EmployerStatus {
        Pending => "pending",
        Approved => "approved",
        Suspended => "suspended",
    }
);

word_enum!(
    /// Where a link between an employer and a school stands.
    LinkStatus {
        Requested => "requested",
        Active => "active",
        Declined => "declined",
        Ended => "ended",
    }
);

word_enum!(
    /// Where an employer's stand at a fair stands.
    ExhibitorStatus {
        Requested => "requested",
        Confirmed => "confirmed",
        Declined => "declined",
        Withdrawn => "withdrawn",
    }
);

word_enum!(
    /// What an employer does with a school.
    Activity {
        CareersTalk => "careers_talk",
        WorkplaceVisit => "workplace_visit",
        MockInterviews => "mock_interviews",
        CareersFairStand => "careers_fair_stand",
        WorkExperience => "work_experience",
    }
);

/// A CQC location id: `1-` and nine to eleven digits (`1-123456789`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CqcLocationId(String);

#[allow(clippy::expect_used)]
static CQC_ID: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^1-[0-9]{9,11}$").expect("valid regex"));

impl CqcLocationId {
    pub fn parse(input: &str) -> Result<Self, String> {
        let s = input.trim();
        if !CQC_ID.is_match(s) {
            return Err("must be a CQC location id, like 1-123456789".into());
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A school's DfE Unique Reference Number: six digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Urn(String);

impl Urn {
    pub fn parse(input: &str) -> Result<Self, String> {
        let s = input.trim();
        if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err("must be a URN of six digits, like 137052".into());
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Secondary year groups, 7 to 13 (sixth form included).
pub fn year_group(n: i64) -> Result<i32, String> {
    if (7..=13).contains(&n) { Ok(n as i32) } else { Err("year groups are 7 to 13".into()) }
}

/// The four things that make an encounter with an employer *meaningful* (Gatsby Benchmark 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Meaningful {
    pub purpose_briefed: bool,
    pub learning_outcomes: bool,
    pub two_way_interaction: bool,
    pub reflection: bool,
}

impl Meaningful {
    pub fn is_met(self) -> bool {
        self.purpose_briefed && self.learning_outcomes && self.two_way_interaction && self.reflection
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cqc_ids_and_urns_have_their_shapes() {
        assert_eq!(CqcLocationId::parse(" 1-123456789 ").map(|c| c.0), Ok("1-123456789".to_owned()));
        assert!(CqcLocationId::parse("1-12345").is_err());
        assert!(CqcLocationId::parse("2-123456789").is_err());
        assert!(CqcLocationId::parse("1-12345678a").is_err());
        assert_eq!(Urn::parse("137052").map(|u| u.0), Ok("137052".to_owned()));
        assert!(Urn::parse("13705").is_err());
        assert!(Urn::parse("1370521").is_err());
        assert!(Urn::parse("13705x").is_err());
    }

    #[test]
    fn enums_read_their_words() {
        assert_eq!(ProviderType::parse("home_care"), Ok(ProviderType::HomeCare));
        assert!(ProviderType::parse("hospital").is_err());
        assert_eq!(Activity::parse("mock_interviews").map(Activity::as_str), Ok("mock_interviews"));
        assert!(year_group(6).is_err());
        assert_eq!(year_group(13), Ok(13));
    }
}
