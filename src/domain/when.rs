//! Dates and times as people in the UK read them, in the event's own time zone.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// "Tuesday 5 January 2027, 10:00 to 13:00"; an event over several days names both days.
pub fn describe_span(starts_at: DateTime<Utc>, ends_at: DateTime<Utc>, tz: Tz) -> String {
    let start = starts_at.with_timezone(&tz);
    let end = ends_at.with_timezone(&tz);
    let day = "%A %-d %B %Y";
    if start.date_naive() == end.date_naive() {
        format!("{}, {} to {}", start.format(day), start.format("%H:%M"), end.format("%H:%M"))
    } else {
        format!("{}, {} to {}, {}", start.format(day), start.format("%H:%M"), end.format(day), end.format("%H:%M"))
    }
}

/// A date (`2027-01-05`) and a time of day (`10:00`) typed in a form, read in `tz`: the
/// instant it names. A time that a clock change skips is refused; one it repeats is read as
/// the earlier.
pub fn local_instant(date: &str, time: &str, tz: Tz) -> Result<DateTime<Utc>, String> {
    let date = chrono::NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d").map_err(|_| String::from("must be a date like 2027-01-05"))?;
    super::check_year(chrono::Datelike::year(&date))?;
    let time =
        chrono::NaiveTime::parse_from_str(time.trim(), "%H:%M").map_err(|_| String::from("must be a time like 10:00 (24-hour clock)"))?;
    match date.and_time(time).and_local_timezone(tz) {
        chrono::LocalResult::Single(t) => Ok(t.to_utc()),
        chrono::LocalResult::Ambiguous(earlier, _) => Ok(earlier.to_utc()),
        chrono::LocalResult::None => Err(String::from("does not exist on that day: the clocks change then")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).map(|t| t.to_utc()).unwrap_or_default()
    }

    #[test]
    fn a_typed_date_and_time_is_read_in_the_zone() {
        let london = chrono_tz::Europe::London;
        assert_eq!(local_instant("2027-07-01", "10:00", london), Ok(at("2027-07-01T09:00:00Z")));
        assert_eq!(local_instant("2027-01-05", "10:00", london), Ok(at("2027-01-05T10:00:00Z")));
        assert!(local_instant("2027-03-28", "01:30", london).is_err(), "skipped by the clocks");
        assert!(local_instant("5/1/2027", "10:00", london).is_err());
        assert!(local_instant("2027-01-05", "25:00", london).is_err());
        assert!(local_instant("1999-01-05", "10:00", london).is_err());
    }

    #[test]
    fn one_day_in_winter() {
        let text = describe_span(at("2027-01-05T10:00:00Z"), at("2027-01-05T13:00:00Z"), chrono_tz::Europe::London);
        assert_eq!(text, "Tuesday 5 January 2027, 10:00 to 13:00");
    }

    #[test]
    fn summer_time_is_shown_as_local_time() {
        let text = describe_span(at("2027-07-01T09:00:00Z"), at("2027-07-01T11:30:00Z"), chrono_tz::Europe::London);
        assert_eq!(text, "Thursday 1 July 2027, 10:00 to 12:30");
    }

    #[test]
    fn several_days_name_both() {
        let text = describe_span(at("2027-03-01T17:00:00Z"), at("2027-03-02T12:00:00Z"), chrono_tz::Europe::London);
        assert_eq!(text, "Monday 1 March 2027, 17:00 to Tuesday 2 March 2027, 12:00");
    }
}
