use chrono::{DateTime, Datelike, Duration, Utc};

use super::text::parse_enum;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    RecruitmentFair,
    CampaignEvent,
    SchoolEngagement,
    Training,
    InformationSession,
}

impl EventKind {
    pub const ALL: [EventKind; 5] = [
        EventKind::RecruitmentFair,
        EventKind::CampaignEvent,
        EventKind::SchoolEngagement,
        EventKind::Training,
        EventKind::InformationSession,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::RecruitmentFair => "recruitment_fair",
            EventKind::CampaignEvent => "campaign_event",
            EventKind::SchoolEngagement => "school_engagement",
            EventKind::Training => "training",
            EventKind::InformationSession => "information_session",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        parse_enum(s, &Self::ALL, |k| k.as_str())
    }

    /// What people read: on pages and as the calendar's CATEGORIES.
    pub fn label(self) -> &'static str {
        match self {
            EventKind::RecruitmentFair => "Recruitment fair",
            EventKind::CampaignEvent => "Campaign event",
            EventKind::SchoolEngagement => "School engagement",
            EventKind::Training => "Training",
            EventKind::InformationSession => "Information session",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventStatus {
    Draft,
    Published,
    Cancelled,
    Completed,
}

impl EventStatus {
    pub const ALL: [EventStatus; 4] = [EventStatus::Draft, EventStatus::Published, EventStatus::Cancelled, EventStatus::Completed];

    pub fn as_str(self) -> &'static str {
        match self {
            EventStatus::Draft => "draft",
            EventStatus::Published => "published",
            EventStatus::Cancelled => "cancelled",
            EventStatus::Completed => "completed",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        parse_enum(s, &Self::ALL, |k| k.as_str())
    }
}

/// When an event runs and when people may register for it, with the order of the four instants
/// checked once here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub registration_opens_at: Option<DateTime<Utc>>,
    pub registration_closes_at: Option<DateTime<Utc>>,
}

/// No event runs longer than this; a longer span is almost always a typo in the year.
const LONGEST_EVENT_DAYS: i64 = 31;

/// The years carefair takes: a year beyond them is a typing mistake, and one past 9999 cannot be
/// written in a calendar file or sorted as text.
pub const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

/// Refuses a year outside [`YEARS`].
pub fn check_year(year: i32) -> Result<(), String> {
    if YEARS.contains(&year) { Ok(()) } else { Err(format!("must be in the years {} to {}", YEARS.start(), YEARS.end())) }
}

impl Schedule {
    /// Checks the order of the instants; each error names the field to fix.
    pub fn new(
        starts_at: DateTime<Utc>,
        ends_at: DateTime<Utc>,
        registration_opens_at: Option<DateTime<Utc>>,
        registration_closes_at: Option<DateTime<Utc>>,
    ) -> Result<Self, (&'static str, String)> {
        let instants = [
            ("starts_at", Some(starts_at)),
            ("ends_at", Some(ends_at)),
            ("registration_opens_at", registration_opens_at),
            ("registration_closes_at", registration_closes_at),
        ];
        for (field, at) in instants {
            if let Some(at) = at {
                check_year(at.year()).map_err(|m| (field, m))?;
            }
        }
        if ends_at <= starts_at {
            return Err(("ends_at", "must be after the start".into()));
        }
        if ends_at - starts_at > Duration::days(LONGEST_EVENT_DAYS) {
            return Err(("ends_at", format!("must be within {LONGEST_EVENT_DAYS} days of the start")));
        }
        if let (Some(opens), Some(closes)) = (registration_opens_at, registration_closes_at)
            && closes <= opens
        {
            return Err(("registration_closes_at", "must be after booking opens".into()));
        }
        if let Some(opens) = registration_opens_at
            && opens >= ends_at
        {
            return Err(("registration_opens_at", "must be before the end".into()));
        }
        if let Some(closes) = registration_closes_at
            && closes > ends_at
        {
            return Err(("registration_closes_at", "must not be after the end".into()));
        }
        Ok(Self { starts_at, ends_at, registration_opens_at, registration_closes_at })
    }
}
