use super::text::parse_enum;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RegistrationStatus {
    Confirmed,
    Waitlisted,
    /// A freed place offered to someone waiting, until they claim it or the offer expires.
    Offered,
    Cancelled,
    Attended,
    NoShow,
}

impl RegistrationStatus {
    pub const ALL: [RegistrationStatus; 6] = [
        RegistrationStatus::Confirmed,
        RegistrationStatus::Waitlisted,
        RegistrationStatus::Offered,
        RegistrationStatus::Cancelled,
        RegistrationStatus::Attended,
        RegistrationStatus::NoShow,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RegistrationStatus::Confirmed => "confirmed",
            RegistrationStatus::Waitlisted => "waitlisted",
            RegistrationStatus::Offered => "offered",
            RegistrationStatus::Cancelled => "cancelled",
            RegistrationStatus::Attended => "attended",
            RegistrationStatus::NoShow => "no_show",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        parse_enum(s, &Self::ALL, |k| k.as_str())
    }

    /// Whether the registration holds a place at the event: the ticket is good at the door.
    pub fn holds_place(self) -> bool {
        matches!(self, RegistrationStatus::Confirmed | RegistrationStatus::Attended | RegistrationStatus::NoShow)
    }
}

/// A telephone number as typed, with at least 7 and at most 15 digits (E.164's limit) and
/// nothing but digits, spaces and `+ - ( ) .`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    pub fn parse(input: &str) -> Result<Self, String> {
        let s = input.trim();
        let digits = s.chars().filter(char::is_ascii_digit).count();
        let allowed = s.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c));
        if !allowed || !(7..=15).contains(&digits) || s.len() > 30 {
            return Err("must be a telephone number, like 01245 123456 or +44 1245 123456".into());
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones() {
        assert!(Phone::parse("01245 123456").is_ok());
        assert!(Phone::parse("+44 (0)1245 123-456").is_ok());
        for bad in ["", "123", "call me", "01245\n123456", "+44 1245 123456 789 0123"] {
            assert!(Phone::parse(bad).is_err(), "{bad:?}");
        }
    }
}
