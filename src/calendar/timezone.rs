//! VTIMEZONE components from the IANA database (through chrono-tz), for the years an event
//! spans. chrono-tz does not list transitions, so they are found by scanning the offset hour by
//! hour and narrowing each change down to the second.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use chrono::{DateTime, Datelike, Duration, NaiveDate, Offset, TimeZone as _, Utc};
use chrono_tz::{OffsetComponents, OffsetName, Tz};
use ics::components::Property;
use ics::{Daylight, Standard, TimeZone};

/// One change of offset.
#[derive(Clone)]
struct Transition {
    at: DateTime<Utc>,
    from: i32,
    to: i32,
    daylight: bool,
    name: String,
}

fn offset_at(tz: Tz, t: DateTime<Utc>) -> i32 {
    tz.offset_from_utc_datetime(&t.naive_utc()).fix().local_minus_utc()
}

/// Transitions found so far, by zone and year: scanning a year takes about a millisecond, and
/// every invitation and feed asks for the same few.
static YEARS: LazyLock<Mutex<HashMap<(Tz, i32), YearTransitions>>> = LazyLock::new(Mutex::default);

type YearTransitions = Arc<Vec<Transition>>;

fn transitions(tz: Tz, first_year: i32, last_year: i32) -> Vec<Transition> {
    let mut found = Vec::new();
    for year in first_year..=last_year {
        let cached = YEARS.lock().unwrap_or_else(|e| e.into_inner()).get(&(tz, year)).cloned();
        let changes = match cached {
            Some(changes) => changes,
            None => {
                let changes = Arc::new(scan(tz, year, year));
                YEARS.lock().unwrap_or_else(|e| e.into_inner()).insert((tz, year), changes.clone());
                changes
            }
        };
        found.extend(changes.iter().cloned());
    }
    found
}

fn scan(tz: Tz, first_year: i32, last_year: i32) -> Vec<Transition> {
    let start = NaiveDate::from_ymd_opt(first_year, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0)).map(|d| d.and_utc());
    let end = NaiveDate::from_ymd_opt(last_year + 1, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0)).map(|d| d.and_utc());
    let (Some(start), Some(end)) = (start, end) else { return Vec::new() };
    let mut found = Vec::new();
    let mut t = start;
    let mut offset = offset_at(tz, t);
    while t < end {
        let next = t + Duration::hours(1);
        let next_offset = offset_at(tz, next);
        if next_offset != offset {
            // The change lies in (t, next]: narrow it to the second.
            let (mut lo, mut hi) = (t, next);
            while hi - lo > Duration::seconds(1) {
                let mid = lo + (hi - lo) / 2;
                if offset_at(tz, mid) == offset { lo = mid } else { hi = mid }
            }
            let local = tz.offset_from_utc_datetime(&hi.naive_utc());
            found.push(Transition {
                at: hi,
                from: offset,
                to: next_offset,
                daylight: local.dst_offset() != chrono::Duration::zero(),
                name: local.abbreviation().unwrap_or("").to_owned(),
            });
            offset = next_offset;
        }
        t = next;
    }
    found
}

fn format_offset(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let s = seconds.abs();
    let (h, m, sec) = (s / 3600, (s % 3600) / 60, s % 60);
    if sec == 0 { format!("{sign}{h:02}{m:02}") } else { format!("{sign}{h:02}{m:02}{sec:02}") }
}

/// The VTIMEZONE for `tz`, covering `first_year` to `last_year` (and the change in force when
/// they begin).
pub fn vtimezone(tz: Tz, first_year: i32, last_year: i32) -> TimeZone<'static> {
    // Scanning from the year before catches the rule in force on 1 January of the first year.
    let changes = transitions(tz, first_year - 1, last_year);
    let mut parts: Vec<(bool, String, String, String, String)> = changes
        .iter()
        .map(|c| {
            // DTSTART of an observance is the local time just before the change (RFC 5545 §3.6.5).
            let local_before = (c.at + Duration::seconds(i64::from(c.from))).naive_utc();
            (c.daylight, local_before.format("%Y%m%dT%H%M%S").to_string(), format_offset(c.from), format_offset(c.to), c.name.clone())
        })
        .collect();
    if parts.is_empty() {
        // A zone without changes in these years: one observance, as it is on 1 January.
        let probe = NaiveDate::from_ymd_opt(first_year, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0)).map(|d| d.and_utc()).unwrap_or_default();
        let local = tz.offset_from_utc_datetime(&probe.naive_utc());
        let offset = format_offset(local.fix().local_minus_utc());
        parts.push((false, "19700101T000000".into(), offset.clone(), offset, local.abbreviation().unwrap_or("").to_owned()));
    }
    let mut zone: Option<TimeZone<'static>> = None;
    for (daylight, dtstart, from, to, name) in parts {
        zone = Some(match (zone, daylight) {
            (None, true) => TimeZone::daylight(tz.name().to_owned(), daylight_part(dtstart, from, to, name)),
            (None, false) => TimeZone::standard(tz.name().to_owned(), standard_part(dtstart, from, to, name)),
            (Some(mut z), true) => {
                z.add_daylight(daylight_part(dtstart, from, to, name));
                z
            }
            (Some(mut z), false) => {
                z.add_standard(standard_part(dtstart, from, to, name));
                z
            }
        });
    }
    zone.unwrap_or_else(|| TimeZone::standard(tz.name().to_owned(), Standard::new("19700101T000000", "+0000", "+0000")))
}

fn standard_part(dtstart: String, from: String, to: String, name: String) -> Standard<'static> {
    let mut part = Standard::new(dtstart, from, to);
    if !name.is_empty() {
        part.push(Property::new("TZNAME", super::text::escape_text(&name)));
    }
    part
}

fn daylight_part(dtstart: String, from: String, to: String, name: String) -> Daylight<'static> {
    let mut part = Daylight::new(dtstart, from, to);
    if !name.is_empty() {
        part.push(Property::new("TZNAME", super::text::escape_text(&name)));
    }
    part
}

/// The years a set of instants touches, in a zone.
pub fn year_span(tz: Tz, instants: impl Iterator<Item = DateTime<Utc>>) -> Option<(i32, i32)> {
    instants.map(|t| t.with_timezone(&tz).year()).fold(None, |span, y| match span {
        None => Some((y, y)),
        Some((a, b)) => Some((a.min(y), b.max(y))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn london_changes_on_the_last_sundays_of_march_and_october() {
        let changes = transitions(chrono_tz::Europe::London, 2027, 2027);
        let at: Vec<String> = changes.iter().map(|c| c.at.to_rfc3339()).collect();
        assert_eq!(at, ["2027-03-28T01:00:00+00:00", "2027-10-31T01:00:00+00:00"]);
        assert!(changes[0].daylight && !changes[1].daylight);
        assert_eq!((changes[0].from, changes[0].to), (0, 3600));
        assert_eq!(changes[0].name, "BST");
    }

    #[test]
    fn offsets_are_formatted_with_sign() {
        assert_eq!(format_offset(3600), "+0100");
        assert_eq!(format_offset(-18000), "-0500");
        assert_eq!(format_offset(19800), "+0530");
    }
}
