//! Calendar files read back by an independent parser (the `ical` crate), and, in CI, by the
//! strict Python `ical` package over the files these tests save (CALENDAR_OUT).

use std::io::BufReader;

use chrono::{NaiveDateTime, TimeZone};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, person};

/// A parsed property: name, parameters, raw value.
type Prop = ical::property::Property;

struct Parsed {
    calendar: ical::parser::ical::component::IcalCalendar,
}

impl Parsed {
    fn read(body: &str) -> Self {
        let mut parser = ical::IcalParser::new(BufReader::new(body.as_bytes()));
        let calendar = match parser.next() {
            Some(Ok(calendar)) => calendar,
            other => panic!("unparsable calendar ({other:?}):\n{body}"),
        };
        assert!(parser.next().is_none(), "one VCALENDAR");
        Self { calendar }
    }

    fn cal(&self, name: &str) -> Option<String> {
        self.calendar.properties.iter().find(|p| p.name == name).and_then(|p| p.value.clone())
    }

    fn event(&self, i: usize) -> &Vec<Prop> {
        &self.calendar.events[i].properties
    }
}

fn prop<'a>(props: &'a [Prop], name: &str) -> &'a Prop {
    props.iter().find(|p| p.name == name).unwrap_or_else(|| panic!("no {name}"))
}

fn value(props: &[Prop], name: &str) -> String {
    prop(props, name).value.clone().unwrap_or_default()
}

fn param(p: &Prop, name: &str) -> Option<String> {
    p.params.as_ref()?.iter().find(|(k, _)| k == name).map(|(_, v)| v.join(","))
}

/// RFC 5545 §3.3.11, read back independently of the writer.
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n' | 'N') => out.push('\n'),
                Some(other) => out.push(other),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Checks the framing every file must have, and saves it for the CI's strict validator.
fn check_framing(name: &str, body: &str) {
    assert!(body.starts_with("BEGIN:VCALENDAR\r\n") && body.ends_with("END:VCALENDAR\r\n"));
    for line in body.split("\r\n") {
        assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
        assert!(!line.contains('\n') && !line.contains('\r'), "bare line break in {line:?}");
    }
    if let Ok(dir) = std::env::var("CALENDAR_OUT") {
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(std::path::Path::new(&dir).join(format!("{name}-{}.ics", uuid::Uuid::now_v7().simple())), body);
    }
}

async fn ics(app: &TestApp, path: &str) -> (StatusCode, String, reqwest::header::HeaderMap) {
    let resp = app.client.get(app.url(path)).send().await.unwrap_or_else(|e| panic!("{e}"));
    let status = resp.status();
    let headers = resp.headers().clone();
    (status, resp.text().await.unwrap_or_default(), headers)
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn an_event_file_is_a_published_calendar_with_its_time_zone() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    let venue = app.create_venue(&organiser, Some(300)).await;
    let event = app.create_published_event(&organiser, json!({"venue_id": id(&venue)})).await;
    let (status, body, headers) = ics(&app, &format!("/calendar/events/{}.ics", id(&event))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers.get("content-type").and_then(|v| v.to_str().ok()), Some("text/calendar; charset=utf-8"));
    assert!(headers.get("content-disposition").is_some());
    check_framing("event", &body);
    let parsed = Parsed::read(&body);
    assert_eq!(parsed.cal("METHOD").as_deref(), Some("PUBLISH"));
    assert!(parsed.cal("PRODID").unwrap_or_default().contains("carefair"));
    let e = parsed.event(0);
    assert_eq!(value(e, "UID"), format!("{}@127.0.0.1", id(&event)));
    assert_eq!(value(e, "SEQUENCE"), "0");
    assert_eq!(value(e, "STATUS"), "CONFIRMED");
    assert_eq!(value(e, "DTSTART"), "20270105T100000");
    assert_eq!(param(prop(e, "DTSTART"), "TZID").as_deref(), Some("Europe/London"));
    assert_eq!(unescape(&value(e, "LOCATION")), "Chelmsford City Hall, Duke Street, Chelmsford, CM1 1JE");
    assert_eq!(value(e, "URL"), format!("http://127.0.0.1:8080/events/{}", id(&event)));
    assert_eq!(value(e, "ORGANIZER"), "mailto:events@carefair.invalid");
    assert_eq!(unescape(&value(e, "CATEGORIES")), "Recruitment fair");
    assert!(value(e, "DTSTAMP").ends_with('Z'));
    let zone = &parsed.calendar.timezones[0];
    assert_eq!(zone.properties.iter().find(|p| p.name == "TZID").and_then(|p| p.value.clone()).as_deref(), Some("Europe/London"));
}

#[tokio::test]
async fn nasty_text_comes_back_from_the_parser_as_typed() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    let long = "Gofal ♥ 介護 — ".repeat(30);
    let cases = [
        "Line one\nline two",
        "Semi; colon, comma \\ backslash",
        "\"Quoted\" and 'single' 🎉🧑‍⚕️",
        "Fake property\nDTSTART:19700101T000000Z\nEND:VEVENT",
        long.trim(),
    ];
    for (i, text) in cases.iter().enumerate() {
        let title: String = text.chars().take(200).collect();
        let title = title.trim().to_owned();
        let event = app.create_published_event(&organiser, json!({"title": title, "description": text})).await;
        let (status, body, _) = ics(&app, &format!("/calendar/events/{}.ics", id(&event))).await;
        assert_eq!(status, StatusCode::OK);
        check_framing(&format!("nasty-{i}"), &body);
        let parsed = Parsed::read(&body);
        assert_eq!(parsed.calendar.events.len(), 1, "nothing typed adds a component");
        let e = parsed.event(0);
        assert_eq!(unescape(&value(e, "SUMMARY")), title);
        assert_eq!(unescape(&value(e, "DESCRIPTION")), *text);
        assert_eq!(e.iter().filter(|p| p.name == "DTSTART").count(), 1, "nothing typed adds a property");
    }
    // Carriage returns, alone or before a line feed, come back as the one line break TEXT has.
    let event = app.create_published_event(&organiser, json!({"title": "CR\rand CRLF\r\nend"})).await;
    let (_, body, _) = ics(&app, &format!("/calendar/events/{}.ics", id(&event))).await;
    check_framing("cr", &body);
    assert_eq!(unescape(&value(Parsed::read(&body).event(0), "SUMMARY")), "CR\nand CRLF\nend");
}

/// Local wall time in a zone → UTC, read independently from the tz database.
fn instant(local: &str, tzid: &str) -> chrono::DateTime<chrono::Utc> {
    let naive = NaiveDateTime::parse_from_str(local, "%Y%m%dT%H%M%S").unwrap_or_else(|e| panic!("{local}: {e}"));
    let tz: chrono_tz::Tz = tzid.parse().unwrap_or_else(|e| panic!("{tzid}: {e}"));
    tz.from_local_datetime(&naive).single().unwrap_or_else(|| panic!("{local} is ambiguous in {tzid}")).to_utc()
}

#[tokio::test]
async fn times_survive_the_clocks_changing() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    // In BST, and across the last Sunday of October (clocks go back at 01:00 UTC).
    let summer =
        app.create_published_event(&organiser, json!({"starts_at": "2027-06-15T09:00:00Z", "ends_at": "2027-06-15T12:30:00Z"})).await;
    let across =
        app.create_published_event(&organiser, json!({"starts_at": "2027-10-30T23:30:00Z", "ends_at": "2027-10-31T03:00:00Z"})).await;
    let tokyo = app
        .create_published_event(
            &organiser,
            json!({"timezone": "Asia/Tokyo", "starts_at": "2027-03-01T01:00:00Z", "ends_at": "2027-03-01T02:00:00Z"}),
        )
        .await;
    for (event, start, end) in [
        (&summer, "2027-06-15T09:00:00Z", "2027-06-15T12:30:00Z"),
        (&across, "2027-10-30T23:30:00Z", "2027-10-31T03:00:00Z"),
        (&tokyo, "2027-03-01T01:00:00Z", "2027-03-01T02:00:00Z"),
    ] {
        let (_, body, _) = ics(&app, &format!("/calendar/events/{}.ics", id(event))).await;
        check_framing("dst", &body);
        let parsed = Parsed::read(&body);
        let e = parsed.event(0);
        let tzid = param(prop(e, "DTSTART"), "TZID").unwrap_or_default();
        assert_eq!(instant(&value(e, "DTSTART"), &tzid).to_rfc3339_opts(chrono::SecondsFormat::Secs, true), start);
        assert_eq!(instant(&value(e, "DTEND"), &tzid).to_rfc3339_opts(chrono::SecondsFormat::Secs, true), end);
        let zone = &parsed.calendar.timezones[0];
        assert_eq!(zone.properties.iter().find(|p| p.name == "TZID").and_then(|p| p.value.clone()), Some(tzid.clone()));
    }
    // The London VTIMEZONE for 2027 names both changes with the right offsets.
    let (_, body, _) = ics(&app, &format!("/calendar/events/{}.ics", id(&across))).await;
    let parsed = Parsed::read(&body);
    let zone = &parsed.calendar.timezones[0];
    let rules: Vec<(String, String, String)> = zone
        .transitions
        .iter()
        .map(|t| {
            let get = |n: &str| t.properties.iter().find(|p| p.name == n).and_then(|p| p.value.clone()).unwrap_or_default();
            (get("DTSTART"), get("TZOFFSETFROM"), get("TZOFFSETTO"))
        })
        .collect();
    assert!(rules.contains(&("20270328T010000".into(), "+0000".into(), "+0100".into())), "{rules:?}");
    assert!(rules.contains(&("20271031T020000".into(), "+0100".into(), "+0000".into())), "{rules:?}");
}

#[tokio::test]
async fn a_registration_file_invites_its_holder_and_cancels_when_they_do() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    let event = app.create_published_event(&organiser, json!({})).await;
    let registered = app.register(&id(&event), person("Doe, Jane", "jane@example.org")).await;
    let token = registered.json["manage_url"].as_str().and_then(|u| u.rsplit('/').next()).unwrap_or_default().to_owned();
    let (status, body, _) = ics(&app, &format!("/calendar/registrations/{token}.ics")).await;
    assert_eq!(status, StatusCode::OK);
    check_framing("request", &body);
    let parsed = Parsed::read(&body);
    assert_eq!(parsed.cal("METHOD").as_deref(), Some("REQUEST"));
    let e = parsed.event(0);
    let attendee = prop(e, "ATTENDEE");
    assert_eq!(attendee.value.as_deref(), Some("mailto:jane@example.org"));
    assert_eq!(param(attendee, "CN").as_deref().map(|v| v.trim_matches('"')), Some("Doe, Jane"));
    assert!(body.contains("CN=\"Doe, Jane\""), "a CN with a comma is quoted");
    assert_eq!(param(attendee, "PARTSTAT").as_deref(), Some("NEEDS-ACTION"));
    assert_eq!(param(attendee, "RSVP").as_deref(), Some("TRUE"));
    assert!(value(e, "ORGANIZER").starts_with("mailto:"));
    let uid = value(e, "UID");
    assert_eq!(value(e, "SEQUENCE"), "0");

    app.delete(&format!("/api/v1/registrations/{token}"), None).await.assert_status(StatusCode::OK);
    let (_, body, _) = ics(&app, &format!("/calendar/registrations/{token}.ics")).await;
    check_framing("cancel", &body);
    let parsed = Parsed::read(&body);
    assert_eq!(parsed.cal("METHOD").as_deref(), Some("CANCEL"));
    assert_eq!(value(parsed.event(0), "UID"), uid);
    assert_eq!(value(parsed.event(0), "STATUS"), "CANCELLED");
    assert_eq!(value(parsed.event(0), "SEQUENCE"), "1", "above the REQUEST's 0");
    let (status, _, _) = ics(&app, "/calendar/registrations/nope.ics").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_waiting_list_place_is_tentative_in_the_calendar_and_never_confirmed() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    let event = app.create_published_event(&organiser, json!({"capacity": 1})).await;
    app.register(&id(&event), person("Ann", "ann@example.org")).await.assert_status(StatusCode::CREATED);
    let waiting = app.register(&id(&event), person("Ben", "ben@example.org")).await;
    assert_eq!(waiting.json["status"], "waitlisted");
    let token = crate::helpers::manage_token(&waiting.json);
    let (status, body, headers) = ics(&app, &format!("/calendar/registrations/{token}.ics")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers.get("cache-control").and_then(|v| v.to_str().ok()), Some("private, no-store"), "a token-bearing file");
    check_framing("waitlisted", &body);
    let parsed = Parsed::read(&body);
    assert_eq!(parsed.cal("METHOD").as_deref(), Some("PUBLISH"));
    let e = parsed.event(0);
    assert_eq!(value(e, "STATUS"), "TENTATIVE");
    assert!(unescape(&value(e, "SUMMARY")).starts_with("Waiting list, number 1: "), "{}", value(e, "SUMMARY"));
    assert!(!body.contains("CONFIRMED") && !body.contains("METHOD:REQUEST"), "{body}");

    app.delete(&format!("/api/v1/registrations/{token}"), None).await.assert_status(StatusCode::OK);
    let (_, body, _) = ics(&app, &format!("/calendar/registrations/{token}.ics")).await;
    check_framing("waitlisted-cancel", &body);
    assert_eq!(Parsed::read(&body).cal("METHOD").as_deref(), Some("CANCEL"));
}

#[tokio::test]
async fn feeds_list_what_is_published_and_upcoming() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    let campaign = app.create_campaign(&organiser, "gift-of-care").await;
    let in_campaign = app.create_published_event(&organiser, json!({"title": "In the campaign", "campaign_id": id(&campaign)})).await;
    app.create_published_event(&organiser, json!({"title": "Elsewhere"})).await;
    app.create_past_event(
        &organiser,
        json!({"title": "Already over", "starts_at": "2026-12-01T10:00:00Z", "ends_at": "2026-12-01T12:00:00Z"}),
    )
    .await;
    app.create_event(&organiser, json!({"title": "Still a draft"})).await;
    let cancelled = app.create_published_event(&organiser, json!({"title": "Called off"})).await;
    app.post(&format!("/api/v1/events/{}/cancel", id(&cancelled)), Some(&organiser), json!({})).await.assert_status(StatusCode::OK);

    let (status, body, _) = ics(&app, "/calendar/public.ics").await;
    assert_eq!(status, StatusCode::OK);
    check_framing("public", &body);
    let parsed = Parsed::read(&body);
    assert!(parsed.cal("X-WR-CALNAME").is_some());
    assert_eq!(parsed.cal("REFRESH-INTERVAL").as_deref(), Some("PT60M"));
    let mut titles: Vec<(String, String)> =
        parsed.calendar.events.iter().map(|e| (value(&e.properties, "SUMMARY"), value(&e.properties, "STATUS"))).collect();
    titles.sort();
    assert_eq!(
        titles,
        [
            ("Called off".into(), "CANCELLED".into()),
            ("Elsewhere".into(), "CONFIRMED".into()),
            ("In the campaign".into(), "CONFIRMED".into())
        ]
    );

    let (status, body, _) = ics(&app, "/calendar/campaigns/gift-of-care.ics").await;
    assert_eq!(status, StatusCode::OK);
    check_framing("campaign", &body);
    let parsed = Parsed::read(&body);
    assert_eq!(parsed.cal("X-WR-CALNAME").as_deref(), Some("Gift of Care"));
    assert_eq!(parsed.calendar.events.len(), 1);
    assert_eq!(value(parsed.event(0), "UID"), format!("{}@127.0.0.1", id(&in_campaign)));
    assert_eq!(ics(&app, "/calendar/campaigns/no-such-campaign.ics").await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn unpublished_and_unknown_events_have_no_file() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    let draft = app.create_event(&organiser, json!({})).await;
    assert_eq!(ics(&app, &format!("/calendar/events/{}.ics", id(&draft))).await.0, StatusCode::NOT_FOUND);
    assert_eq!(ics(&app, &format!("/calendar/events/{}.ics", uuid::Uuid::now_v7())).await.0, StatusCode::NOT_FOUND);
    assert_eq!(ics(&app, "/calendar/events/not-an-id.ics").await.0, StatusCode::NOT_FOUND);
    assert_eq!(ics(&app, &format!("/calendar/events/{}", id(&draft))).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn etags_let_clients_skip_unchanged_files_and_changes_raise_the_sequence() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    let event = app.create_published_event(&organiser, json!({})).await;
    let path = format!("/calendar/events/{}.ics", id(&event));
    let (_, _, headers) = ics(&app, &path).await;
    let etag = headers.get("etag").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(etag.starts_with('"'));
    app.clock.advance(chrono::Duration::minutes(5));
    let again = app.client.get(app.url(&path)).header("If-None-Match", &etag).send().await.map(|r| r.status()).ok();
    assert_eq!(again, Some(StatusCode::NOT_MODIFIED), "only DTSTAMP changed");

    app.patch(&format!("/api/v1/events/{}", id(&event)), Some(&organiser), json!({"title": "Moved to the new hall"}))
        .await
        .assert_status(StatusCode::OK);
    let changed = app.client.get(app.url(&path)).header("If-None-Match", &etag).send().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(changed.status(), StatusCode::OK);
    let body = changed.text().await.unwrap_or_default();
    assert_eq!(value(Parsed::read(&body).event(0), "SEQUENCE"), "1");
}

#[tokio::test]
async fn the_public_feed_follows_changes_to_events_and_venues() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    let venue = app.create_venue(&organiser, None).await;
    let event = app.create_published_event(&organiser, json!({"venue_id": id(&venue)})).await;
    let summary = |body: &str| value(Parsed::read(body).event(0), "SUMMARY");
    let location = |body: &str| unescape(&value(Parsed::read(body).event(0), "LOCATION"));
    let (_, first, _) = ics(&app, "/calendar/public.ics").await;
    assert_eq!(summary(&first), "Chelmsford Care Jobs Fair");

    app.clock.advance(chrono::Duration::seconds(1));
    app.patch(&format!("/api/v1/events/{}", id(&event)), Some(&organiser), json!({"title": "Renamed fair"}))
        .await
        .assert_status(StatusCode::OK);
    let (_, second, _) = ics(&app, "/calendar/public.ics").await;
    assert_eq!(summary(&second), "Renamed fair");

    app.clock.advance(chrono::Duration::seconds(1));
    app.patch(&format!("/api/v1/venues/{}", id(&venue)), Some(&organiser), json!({"name": "County Hall"}))
        .await
        .assert_status(StatusCode::OK);
    let (_, third, _) = ics(&app, "/calendar/public.ics").await;
    assert!(location(&third).starts_with("County Hall,"), "{}", location(&third));

    app.clock.advance(chrono::Duration::seconds(1));
    let second_event = app.create_published_event(&organiser, json!({"title": "Another fair"})).await;
    let (_, fourth, _) = ics(&app, "/calendar/public.ics").await;
    assert_eq!(Parsed::read(&fourth).calendar.events.len(), 2);
    // Each event's entry is kept only until the event changes (the cancellation below happens
    // within the same clock tick, so only the change itself can tell).
    app.patch(&format!("/api/v1/events/{}", id(&event)), Some(&organiser), json!({"description": "Now with tea."}))
        .await
        .assert_status(StatusCode::OK);
    let (_, with_tea, _) = ics(&app, "/calendar/public.ics").await;
    let descriptions: Vec<String> = Parsed::read(&with_tea).calendar.events.iter().map(|e| value(&e.properties, "DESCRIPTION")).collect();
    assert!(descriptions.contains(&"Now with tea.".to_owned()), "{descriptions:?}");
    app.post(&format!("/api/v1/events/{}/cancel", id(&second_event)), Some(&organiser), json!({})).await.assert_status(StatusCode::OK);
    let (_, fifth, _) = ics(&app, "/calendar/public.ics").await;
    check_framing("feed-after-cancel", &fifth);
    let statuses: Vec<String> = Parsed::read(&fifth).calendar.events.iter().map(|e| value(&e.properties, "STATUS")).collect();
    assert!(statuses.contains(&"CANCELLED".to_owned()), "{statuses:?}");
}

#[tokio::test]
async fn the_public_feed_follows_changes_made_by_another_process() {
    let app = TestApp::spawn().await;
    let other = app.spawn_sharing().await;
    let organiser = app.organiser_token().await;
    let event = app.create_published_event(&organiser, json!({})).await;
    let summaries =
        |body: &str| -> Vec<String> { Parsed::read(body).calendar.events.iter().map(|e| value(&e.properties, "SUMMARY")).collect() };
    let (_, first, _) = ics(&app, "/calendar/public.ics").await;
    assert_eq!(summaries(&first), vec!["Chelmsford Care Jobs Fair".to_owned()]);

    app.clock.advance(chrono::Duration::seconds(1));
    other
        .patch(&format!("/api/v1/events/{}", id(&event)), Some(&organiser), json!({"title": "Renamed elsewhere"}))
        .await
        .assert_status(StatusCode::OK);
    app.clock.advance(chrono::Duration::seconds(1));
    other
        .create_published_event(
            &organiser,
            json!({"title": "Added elsewhere", "starts_at": "2027-01-06T10:00:00Z", "ends_at": "2027-01-06T12:00:00Z"}),
        )
        .await;
    let (_, second, _) = ics(&app, "/calendar/public.ics").await;
    assert_eq!(summaries(&second), vec!["Renamed elsewhere".to_owned(), "Added elsewhere".to_owned()]);

    // Once an event has ended it leaves the feed, with no change to any row.
    app.clock.set(chrono::DateTime::parse_from_rfc3339("2027-01-05T14:00:00Z").map(|t| t.to_utc()).unwrap_or_default());
    let (_, third, _) = ics(&app, "/calendar/public.ics").await;
    assert_eq!(summaries(&third), vec!["Added elsewhere".to_owned()]);
}

#[tokio::test]
async fn an_employer_feed_holds_its_confirmed_stands_and_school_engagements_only() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    let a = id(&app.create_employer(&organiser, "Alder Care", (51.7, 0.4)).await);
    let b = id(&app.create_employer(&organiser, "Birch Care", (51.7, 0.4)).await);
    let school = id(&app.create_school(&organiser, "100001", "Chelmer Academy", (51.71, 0.41)).await);
    app.link(&organiser, &a, &school).await;

    let stand = |employer: &str| json!({"employer_id": employer, "staff_count": 1, "roles_offered": []});
    let confirmed_fair = id(&app.create_published_event(&organiser, json!({"title": "Confirmed fair"})).await);
    let x = id(&app.post(&format!("/api/v1/events/{confirmed_fair}/exhibitors"), Some(&organiser), stand(&a)).await.json);
    let confirm =
        app.post(&format!("/api/v1/events/{confirmed_fair}/exhibitors/{x}/confirm"), Some(&organiser), json!({"stand_label": "C3"})).await;
    confirm.assert_status(StatusCode::OK);
    let requested_fair = id(&app.create_published_event(&organiser, json!({"title": "Requested fair"})).await);
    app.post(&format!("/api/v1/events/{requested_fair}/exhibitors"), Some(&organiser), stand(&a)).await.assert_status(StatusCode::CREATED);
    let others_fair = id(&app.create_published_event(&organiser, json!({"title": "Birch's fair"})).await);
    let y = id(&app.post(&format!("/api/v1/events/{others_fair}/exhibitors"), Some(&organiser), stand(&b)).await.json);
    app.post(&format!("/api/v1/events/{others_fair}/exhibitors/{y}/confirm"), Some(&organiser), json!({"stand_label": "D1"}))
        .await
        .assert_status(StatusCode::OK);
    let talk = app
        .create_published_event(
            &organiser,
            json!({"kind": "school_engagement", "title": "Careers talk", "max_exhibitors": null, "school_id": school, "employer_ids": [a],
                   "activity": "careers_talk", "year_groups": [10], "expected_pupils": 30, "supervised": true}),
        )
        .await;

    let own = app.member_token("employer", &a).await;
    app.post(&format!("/api/v1/employers/{b}/feed"), Some(&own), json!({})).await.assert_problem(StatusCode::NOT_FOUND);
    let made = app.post(&format!("/api/v1/employers/{a}/feed"), Some(&own), json!({})).await;
    made.assert_status(StatusCode::CREATED);
    let feed_url = made.json["feed_url"].as_str().unwrap_or_default().to_owned();
    let path = feed_url.split_once("/calendar/").map(|(_, rest)| format!("/calendar/{rest}")).unwrap_or_default();
    let (status, body, headers) = ics(&app, &path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(headers.get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/calendar")));
    check_framing("employer-feed", &body);
    let parsed = Parsed::read(&body);
    assert_eq!(parsed.cal("METHOD").as_deref(), Some("PUBLISH"));
    assert!(parsed.cal("X-WR-CALNAME").is_some_and(|n| n.contains("Alder Care")));
    let mut titles: Vec<String> = (0..parsed.calendar.events.len()).map(|i| value(parsed.event(i), "SUMMARY")).collect();
    titles.sort();
    assert_eq!(titles, vec!["Careers talk".to_owned(), "Confirmed fair".to_owned()]);
    assert!(body.contains(&format!("UID:{}@", id(&talk))));

    // A new address retires the old one.
    app.post(&format!("/api/v1/employers/{a}/feed"), Some(&organiser), json!({})).await.assert_status(StatusCode::CREATED);
    assert_eq!(ics(&app, &path).await.0, StatusCode::NOT_FOUND);
    assert_eq!(ics(&app, "/calendar/employers/nonsense.ics").await.0, StatusCode::NOT_FOUND);
}
