//! Calendar files (RFC 5545) and iTIP methods (RFC 5546), as pure functions from plain values to
//! text. Files are put together with the `ics` crate, but every value goes through this module
//! first: TEXT is escaped, parameter values are quoted, and the finished file is folded again to
//! 75 octets (see `text`). No caller writes a content line itself.

mod text;
mod timezone;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use ics::components::{Parameter, Property};
use ics::{Event, ICalendar};
use uuid::Uuid;

pub use text::{escape_text, param_value, refold};

pub const PRODID: &str = "-//Essex County Council//carefair//EN";

/// An event as calendars see it.
#[derive(Debug, Clone)]
pub struct CalendarEvent {
    pub id: Uuid,
    pub title: String,
    pub description: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub timezone: Tz,
    /// The venue's name, address and postcode, or the online URL.
    pub location: Option<String>,
    /// The event's page.
    pub url: String,
    pub sequence: i32,
    pub cancelled: bool,
    /// Not yet certain for this file's holder (a waiting-list place): `STATUS:TENTATIVE`.
    pub tentative: bool,
    /// A human name for the kind, such as "Recruitment fair".
    pub category: String,
}

/// Someone with a name and a mailbox: an organiser or an attendee.
#[derive(Debug, Clone)]
pub struct Person {
    pub name: String,
    pub email: String,
}

/// What every file carries: where UIDs live, who organises, and the time it was made.
#[derive(Debug, Clone)]
pub struct Context {
    /// The host of `server.public_url`: UIDs are `{event_id}@{host}`.
    pub host: String,
    pub organizer: Person,
    /// DTSTAMP, from the injected clock.
    pub now: DateTime<Utc>,
}

/// A subscribable feed's name and how often clients should refresh it.
#[derive(Debug, Clone)]
pub struct Feed {
    pub name: String,
    pub refresh_minutes: u32,
}

/// The iTIP method of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// A file or feed to import or subscribe to.
    Publish,
    /// An invitation to one attendee.
    Request,
    /// Withdraws an event from one attendee's calendar.
    Cancel,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Publish => "PUBLISH",
            Method::Request => "REQUEST",
            Method::Cancel => "CANCEL",
        }
    }
}

fn utc(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

fn local(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%Y%m%dT%H%M%S").to_string()
}

fn text_property(name: &'static str, value: &str) -> Property<'static> {
    Property::new(name, escape_text(value))
}

fn mailbox(kind: &'static str, person: &Person, extra: &[(&'static str, &'static str)]) -> Property<'static> {
    let mut property =
        Property::new(kind, format!("mailto:{}", person.email.chars().filter(|c| !c.is_control() && *c != ' ').collect::<String>()));
    if !person.name.trim().is_empty() {
        property.add(Parameter::new("CN", param_value(person.name.trim())));
    }
    for (k, v) in extra {
        property.add(Parameter::new(*k, *v));
    }
    property
}

fn vevent(event: &CalendarEvent, ctx: &Context, attendee: Option<&Person>, method: Method) -> Event<'static> {
    let mut e = Event::new(format!("{}@{}", event.id, ctx.host), utc(ctx.now));
    let tzid = event.timezone.name();
    let mut start = Property::new("DTSTART", local(event.starts_at, event.timezone));
    start.add(Parameter::new("TZID", param_value(tzid)));
    e.push(start);
    let mut end = Property::new("DTEND", local(event.ends_at, event.timezone));
    end.add(Parameter::new("TZID", param_value(tzid)));
    e.push(end);
    e.push(text_property("SUMMARY", &event.title));
    if !event.description.is_empty() {
        e.push(text_property("DESCRIPTION", &event.description));
    }
    if let Some(location) = &event.location {
        e.push(text_property("LOCATION", location));
    }
    e.push(Property::new("URL", event.url.clone()));
    e.push(text_property("CATEGORIES", &event.category));
    e.push(Property::new("SEQUENCE", event.sequence.to_string()));
    let cancelled = event.cancelled || method == Method::Cancel;
    let status = if cancelled {
        "CANCELLED"
    } else if event.tentative {
        "TENTATIVE"
    } else {
        "CONFIRMED"
    };
    e.push(Property::new("STATUS", status));
    e.push(Property::new("TRANSP", "OPAQUE"));
    e.push(mailbox("ORGANIZER", &ctx.organizer, &[]));
    if let Some(person) = attendee {
        let extra: &[(&str, &str)] = match method {
            Method::Request => &[("ROLE", "REQ-PARTICIPANT"), ("PARTSTAT", "NEEDS-ACTION"), ("RSVP", "TRUE")],
            _ => &[("ROLE", "REQ-PARTICIPANT")],
        };
        e.push(mailbox("ATTENDEE", person, extra));
    }
    e
}

/// The calendar's properties and time zones, with the VEVENTs only when there is an attendee
/// (invitations); published files add their entries themselves (see [`publish_entries`]).
fn calendar<'a>(
    events: impl Iterator<Item = &'a CalendarEvent> + Clone,
    ctx: &Context,
    method: Method,
    attendee: Option<&Person>,
    feed: Option<&Feed>,
) -> String {
    let mut cal = ICalendar::new("2.0", PRODID);
    cal.push(Property::new("CALSCALE", "GREGORIAN"));
    cal.push(Property::new("METHOD", method.as_str()));
    if let Some(feed) = feed {
        cal.push(text_property("X-WR-CALNAME", &feed.name));
        let mut refresh = Property::new("REFRESH-INTERVAL", format!("PT{}M", feed.refresh_minutes));
        refresh.add(Parameter::new("VALUE", "DURATION"));
        cal.push(refresh);
        cal.push(Property::new("X-PUBLISHED-TTL", format!("PT{}M", feed.refresh_minutes)));
    }
    // One VTIMEZONE per zone, covering the years of every event in it.
    let mut zones: BTreeMap<&str, (Tz, i32, i32)> = BTreeMap::new();
    for event in events.clone() {
        if let Some((first, last)) = timezone::year_span(event.timezone, [event.starts_at, event.ends_at].into_iter()) {
            let entry = zones.entry(event.timezone.name()).or_insert((event.timezone, first, last));
            entry.1 = entry.1.min(first);
            entry.2 = entry.2.max(last);
        }
    }
    for (tz, first, last) in zones.into_values() {
        cal.add_timezone(timezone::vtimezone(tz, first, last));
    }
    if let Some(person) = attendee {
        for event in events {
            cal.add_event(vevent(event, ctx, Some(person), method));
        }
    }
    refold(&cal.to_string())
}

/// A file of published events (`METHOD:PUBLISH`), optionally as a named feed.
pub fn publish(events: &[CalendarEvent], ctx: &Context, feed: Option<&Feed>) -> String {
    let entries: Vec<String> = events.iter().map(|e| publish_entry(e, ctx)).collect();
    publish_entries(events.iter().zip(entries.iter().map(String::as_str)), ctx, feed)
}

/// One event of a published file, written out (folded, CRLF line ends), so that a feed can
/// reuse it until the event changes. Its DTSTAMP is `ctx.now`.
pub fn publish_entry(event: &CalendarEvent, ctx: &Context) -> String {
    refold(&vevent(event, ctx, None, Method::Publish).to_string())
}

/// A file of published events from entries written by [`publish_entry`]: the calendar's own
/// properties, one VTIMEZONE per zone covering the years of its events, then the entries.
pub fn publish_entries<'a>(
    entries: impl Iterator<Item = (&'a CalendarEvent, &'a str)> + Clone,
    ctx: &Context,
    feed: Option<&Feed>,
) -> String {
    let shell = calendar(entries.clone().map(|(e, _)| e), ctx, Method::Publish, None, feed);
    let body = shell.strip_suffix(END).unwrap_or(&shell);
    let mut out = String::with_capacity(body.len() + entries.clone().map(|(_, text)| text.len()).sum::<usize>() + END.len());
    out.push_str(body);
    for (_, text) in entries {
        out.push_str(text);
    }
    out.push_str(END);
    out
}

const END: &str = "END:VCALENDAR\r\n";

/// An invitation for one attendee (`METHOD:REQUEST`).
pub fn request(event: &CalendarEvent, attendee: &Person, ctx: &Context) -> String {
    calendar(std::iter::once(event), ctx, Method::Request, Some(attendee), None)
}

/// A waiting-list place: the event as `METHOD:PUBLISH` with `STATUS:TENTATIVE` and the position
/// in the summary, so a calendar never shows a place that is not held (RFC 5546 gives a
/// REQUEST to someone expected to attend).
pub fn waitlisted(event: &CalendarEvent, position: Option<i64>, ctx: &Context) -> String {
    let mut held = event.clone();
    held.tentative = true;
    held.title = match position {
        Some(n) => format!("Waiting list, number {n}: {}", event.title),
        None => format!("Waiting list: {}", event.title),
    };
    publish(std::slice::from_ref(&held), ctx, None)
}

/// Withdraws an event from one attendee's calendar (`METHOD:CANCEL`, `STATUS:CANCELLED`, the
/// same UID); the caller passes the raised sequence.
pub fn cancel(event: &CalendarEvent, attendee: &Person, ctx: &Context) -> String {
    calendar(std::iter::once(event), ctx, Method::Cancel, Some(attendee), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).map(|t| t.to_utc()).unwrap_or_default()
    }

    fn fair() -> CalendarEvent {
        CalendarEvent {
            id: Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0000_0001),
            title: "Chelmsford Care Jobs Fair; meet employers, ask questions".into(),
            description: "Bring your CV.\nFree tea, coffee & advice \\ all welcome.".into(),
            starts_at: at("2027-01-05T10:00:00Z"),
            ends_at: at("2027-01-05T13:00:00Z"),
            timezone: chrono_tz::Europe::London,
            location: Some("Chelmsford City Hall, Duke Street, Chelmsford, CM1 1JE".into()),
            tentative: false,
            url: "https://events.example.org/events/01920000-0000-7000-8000-000000000001".into(),
            sequence: 2,
            cancelled: false,
            category: "Recruitment fair".into(),
        }
    }

    fn ctx() -> Context {
        Context {
            host: "events.example.org".into(),
            organizer: Person { name: "Gift of Care".into(), email: "events@example.org".into() },
            now: at("2026-12-01T09:30:00Z"),
        }
    }

    fn jane() -> Person {
        Person { name: "Doe, Jane".into(), email: "jane@example.org".into() }
    }

    #[test]
    fn publish_snapshot() {
        let feed = Feed { name: "Gift of Care events".into(), refresh_minutes: 60 };
        insta::assert_snapshot!(publish(&[fair()], &ctx(), Some(&feed)).replace("\r\n", "⏎\n"));
    }

    #[test]
    fn request_snapshot() {
        insta::assert_snapshot!(request(&fair(), &jane(), &ctx()).replace("\r\n", "⏎\n"));
    }

    #[test]
    fn cancel_snapshot() {
        let mut event = fair();
        event.sequence = 3;
        insta::assert_snapshot!(cancel(&event, &jane(), &ctx()).replace("\r\n", "⏎\n"));
    }
}
