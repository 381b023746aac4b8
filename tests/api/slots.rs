//! Interview slots: cutting a confirmed stand's time, booking and freeing by manage token with
//! a REQUEST and a CANCEL to both sides read back by an independent calendar parser, a
//! cancelled place freeing its interview, the employers' schedule, 120 candidates racing
//! for one slot, and candidates asking for every slot of a stand at once.

use std::io::BufReader;

use mail_parser::MimeHeaders;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::chromium::Browser;
use crate::helpers::{PASSWORD, TestApp, id_of, manage_token, person};

/// A published fair with a confirmed stand (`A1`) of a new employer: the fair's id, the
/// stand's id, the employer's id and contact email, a token of the employer's user, and an
/// organiser's token.
struct Fair {
    id: String,
    stand: String,
    employer: String,
    contact: String,
    employer_user: String,
    organiser: String,
}

async fn fair_with_stand(app: &TestApp, capacity: i64) -> Fair {
    let organiser = app.organiser_token().await;
    let id = id_of(&app.create_published_event(&organiser, json!({"capacity": capacity, "max_exhibitors": 5})).await);
    let employer = app.create_employer(&organiser, "Alder Care", (51.7, 0.4)).await;
    let (employer_id, contact) = (id_of(&employer), employer["contact_email"].as_str().unwrap_or_default().to_owned());
    let employer_user = app.member_token("employer", &employer_id).await;
    let path = format!("/api/v1/events/{id}/exhibitors");
    let booked = app.post(&path, Some(&employer_user), json!({"employer_id": employer_id, "staff_count": 2})).await;
    booked.assert_status(StatusCode::CREATED);
    let stand = id_of(&booked.json);
    app.post(&format!("{path}/{stand}/confirm"), Some(&organiser), json!({"stand_label": "A1"})).await.assert_status(StatusCode::OK);
    Fair { id, stand, employer: employer_id, contact, employer_user, organiser }
}

fn cut_body(start: &str, end: &str, minutes: i64, interviewers: i64) -> Value {
    json!({"starts_at": start, "ends_at": end, "minutes": minutes, "interviewers": interviewers})
}

/// The calendars of messages to `to` of `kind`, parsed by the `ical` crate.
fn calendars_to(app: &TestApp, to: &str, method: &str) -> Vec<ical::parser::ical::component::IcalCalendar> {
    let mut found = Vec::new();
    for raw in app.mail_raw() {
        let Some(message) = mail_parser::MessageParser::default().parse(&raw[..]) else { continue };
        let addressed = message.to().and_then(|a| a.first()).and_then(|a| a.address()).is_some_and(|a| a == to);
        if !addressed {
            continue;
        }
        for part in &message.parts {
            let Some(ct) = part.content_type() else { continue };
            if ct.ctype() == "text"
                && ct.subtype() == Some("calendar")
                && ct.attribute("method").is_some_and(|m| m.eq_ignore_ascii_case(method))
            {
                let text = String::from_utf8_lossy(part.contents()).into_owned();
                let mut parser = ical::IcalParser::new(BufReader::new(text.as_bytes()));
                match parser.next() {
                    Some(Ok(calendar)) => found.push(calendar),
                    other => panic!("unparsable calendar ({other:?}):\n{text}"),
                }
            }
        }
    }
    found
}

fn property(calendar: &ical::parser::ical::component::IcalCalendar, name: &str) -> String {
    calendar.events[0].properties.iter().find(|p| p.name == name).and_then(|p| p.value.clone()).unwrap_or_default()
}

/// The stand's employer cuts its time from 10:00 to `ends_at` on the fair's day into slots of
/// 15 minutes and one interviewer: the first slot's id.
async fn first_slot(app: &TestApp, fair: &Fair, ends_at: &str) -> String {
    let path = format!("/api/v1/events/{}/exhibitors/{}/slots", fair.id, fair.stand);
    let made = app.post(&path, Some(&fair.employer_user), cut_body("2027-01-05T10:00:00Z", ends_at, 15, 1)).await;
    made.json["items"][0]["id"].as_str().unwrap_or_default().to_owned()
}

async fn wait_for_calendars(app: &TestApp, to: &str, method: &str, n: usize) -> Vec<ical::parser::ical::component::IcalCalendar> {
    for _ in 0..200 {
        let found = calendars_to(app, to, method);
        if found.len() >= n {
            return found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no {method} calendar to {to}");
}

#[tokio::test]
async fn a_confirmed_stand_cuts_its_time_into_slots_inside_the_fair() {
    let app = TestApp::spawn().await;
    let fair = fair_with_stand(&app, 10).await;
    let path = format!("/api/v1/events/{}/exhibitors/{}/slots", fair.id, fair.stand);

    // The fair runs 10:00 to 13:00 UTC.
    app.post(&path, Some(&fair.employer_user), cut_body("2027-01-05T09:00:00Z", "2027-01-05T10:30:00Z", 15, 1))
        .await
        .assert_invalid(&["starts_at"]);
    app.post(&path, Some(&fair.employer_user), cut_body("2027-01-05T11:00:00Z", "2027-01-05T10:30:00Z", 15, 1))
        .await
        .assert_invalid(&["ends_at"]);
    app.post(&path, Some(&fair.employer_user), cut_body("2027-01-05T10:00:00Z", "2027-01-05T10:30:00Z", 2, 0))
        .await
        .assert_invalid(&["minutes", "interviewers"]);
    app.post(&path, Some(&fair.employer_user), json!({"minutes": 15})).await.assert_invalid(&["starts_at", "ends_at"]);
    let made = app.post(&path, Some(&fair.employer_user), cut_body("2027-01-05T10:00:00Z", "2027-01-05T11:10:00Z", 15, 2)).await;
    made.assert_status(StatusCode::CREATED);
    let items = made.json["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 4, "10:00 to 11:00 in four; the last ten minutes are no slot: {}", made.text);
    assert_eq!(items[3]["ends_at"], "2027-01-05T11:00:00+00:00");
    assert_eq!(items[0]["free"], 2);
    assert_eq!(items[0]["stand_label"], "A1");
    // Overlapping the stand's slots, again: refused, nothing more made.
    app.post(&path, Some(&fair.organiser), cut_body("2027-01-05T10:45:00Z", "2027-01-05T11:30:00Z", 15, 1))
        .await
        .assert_problem(StatusCode::CONFLICT);
    let more = app.post(&path, Some(&fair.organiser), cut_body("2027-01-05T11:00:00Z", "2027-01-05T11:30:00Z", 30, 1)).await;
    more.assert_status(StatusCode::CREATED);
    let public = app.get(&format!("/api/v1/events/{}/slots", fair.id), None).await;
    assert_eq!(public.json.as_array().map(Vec::len), Some(5));
    assert_eq!(public.json[0]["employer_name"], "Alder Care");

    // Another employer's users, a school, nobody: refused.
    let other = app.user_token("employer").await;
    let body = cut_body("2027-01-05T12:00:00Z", "2027-01-05T12:30:00Z", 15, 1);
    app.post(&path, Some(&other), body.clone()).await.assert_problem(StatusCode::NOT_FOUND);
    app.post(&path, Some(&app.user_token("school").await), body.clone()).await.assert_problem(StatusCode::FORBIDDEN);
    app.post(&path, None, body.clone()).await.assert_problem(StatusCode::UNAUTHORIZED);
    // A stand not yet confirmed has no slots.
    let second = app.create_employer(&fair.organiser, "Birch Care", (51.7, 0.4)).await;
    let requested = app
        .post(
            &format!("/api/v1/events/{}/exhibitors", fair.id),
            Some(&fair.organiser),
            json!({"employer_id": id_of(&second), "staff_count": 1}),
        )
        .await;
    let unconfirmed = format!("/api/v1/events/{}/exhibitors/{}/slots", fair.id, id_of(&requested.json));
    app.post(&unconfirmed, Some(&fair.organiser), body).await.assert_problem(StatusCode::CONFLICT);
    assert_eq!(app.count_rows("SELECT COUNT(*) AS n FROM interview_slots").await, 5);
}

#[tokio::test]
async fn booking_a_slot_invites_both_sides_and_freeing_it_cancels_for_both() {
    let app = TestApp::spawn().await;
    let fair = fair_with_stand(&app, 1).await;
    let path = format!("/api/v1/events/{}/exhibitors/{}/slots", fair.id, fair.stand);
    let made = app.post(&path, Some(&fair.employer_user), cut_body("2027-01-05T10:00:00Z", "2027-01-05T10:30:00Z", 15, 1)).await;
    let first = made.json["items"][0]["id"].as_str().unwrap_or_default().to_owned();
    let second = made.json["items"][1]["id"].as_str().unwrap_or_default().to_owned();
    let ada = app.register(&fair.id, person("Ada Lovelace", "ada@example.org")).await;
    let ben = app.register(&fair.id, person("Ben Okri", "ben@example.org")).await;
    assert_eq!(ben.json["status"], "waitlisted");
    let (ada_token, ben_token) = (manage_token(&ada.json), manage_token(&ben.json));

    let waiting = app.post(&format!("/api/v1/registrations/{ben_token}/slots"), None, json!({"slot_id": first})).await;
    waiting.assert_problem(StatusCode::CONFLICT);
    app.post("/api/v1/registrations/not-a-token/slots", None, json!({"slot_id": first})).await.assert_problem(StatusCode::NOT_FOUND);
    // A slot of another fair is not found by a place at this one.
    let elsewhere = fair_with_stand(&app, 1).await;
    let cut_elsewhere = format!("/api/v1/events/{}/exhibitors/{}/slots", elsewhere.id, elsewhere.stand);
    let made_elsewhere =
        app.post(&cut_elsewhere, Some(&elsewhere.employer_user), cut_body("2027-01-05T10:00:00Z", "2027-01-05T10:15:00Z", 15, 1)).await;
    let slot_elsewhere = made_elsewhere.json["items"][0]["id"].as_str().unwrap_or_default().to_owned();
    assert!(!slot_elsewhere.is_empty(), "{}", made_elsewhere.text);
    app.post(&format!("/api/v1/registrations/{ada_token}/slots"), None, json!({"slot_id": slot_elsewhere}))
        .await
        .assert_problem(StatusCode::NOT_FOUND);
    let booked = app.post(&format!("/api/v1/registrations/{ada_token}/slots"), None, json!({"slot_id": first})).await;
    booked.assert_status(StatusCode::CREATED);
    let booking = id_of(&booked.json);
    assert_eq!(booked.json["slot"]["free"], 0);
    // One per stand, and a full slot is full.
    app.post(&format!("/api/v1/registrations/{ada_token}/slots"), None, json!({"slot_id": second}))
        .await
        .assert_problem(StatusCode::CONFLICT);

    // Both sides get a REQUEST with the booking's own UID and the stand as LOCATION.
    let to_ada = wait_for_calendars(&app, "ada@example.org", "REQUEST", 2).await;
    let invite = to_ada.iter().find(|c| property(c, "UID").starts_with(&booking)).unwrap_or_else(|| panic!("no interview invitation"));
    assert_eq!(property(invite, "UID"), format!("{booking}@127.0.0.1"));
    assert!(property(invite, "LOCATION").starts_with("Stand A1"), "{}", property(invite, "LOCATION"));
    assert_eq!(property(invite, "SUMMARY"), "Interview with Alder Care");
    assert!(property(invite, "DTSTART").ends_with("T100000"), "10:00 in London: {}", property(invite, "DTSTART"));
    let to_employer = wait_for_calendars(&app, &fair.contact, "REQUEST", 1).await;
    assert_eq!(property(&to_employer[0], "UID"), format!("{booking}@127.0.0.1"));
    assert_eq!(property(&to_employer[0], "SUMMARY"), "Interview: Ada Lovelace");
    // The holder's own file of it.
    let file = app.get(&format!("/calendar/registrations/{ada_token}/slots/{first}.ics"), None).await;
    file.assert_status(StatusCode::OK);
    assert!(file.text.contains(&format!("UID:{booking}@127.0.0.1")) && file.text.contains("METHOD:REQUEST"), "{}", file.text);

    // The employer's schedule, and no one else's.
    let schedule = app.get(&format!("/api/v1/employers/{}/schedule", fair.employer), Some(&fair.employer_user)).await;
    schedule.assert_status(StatusCode::OK);
    assert_eq!(schedule.json[0]["candidate_name"], "Ada Lovelace");
    assert_eq!(schedule.json[0]["candidate_email"], "ada@example.org");
    let other = app.user_token("employer").await;
    app.get(&format!("/api/v1/employers/{}/schedule", fair.employer), Some(&other)).await.assert_problem(StatusCode::NOT_FOUND);
    app.get(&format!("/api/v1/employers/{}/schedule", fair.employer), None).await.assert_problem(StatusCode::UNAUTHORIZED);
    let all = app.get(&format!("/api/v1/events/{}/schedule", fair.id), Some(&fair.organiser)).await;
    assert_eq!(all.json.as_array().map(Vec::len), Some(1));
    app.get(&format!("/api/v1/events/{}/schedule", fair.id), Some(&fair.employer_user)).await.assert_problem(StatusCode::FORBIDDEN);

    // The employer's feed holds the interview.
    let feed = app.post(&format!("/api/v1/employers/{}/feed", fair.employer), Some(&fair.employer_user), json!({})).await;
    let url = feed.json["feed_url"].as_str().unwrap_or_else(|| panic!("no feed: {}", feed.text));
    let feed_path = url.split_once("/calendar/").map(|(_, p)| format!("/calendar/{p}")).unwrap_or_default();
    let text = app.get(&feed_path, None).await.text;
    assert!(text.contains(&format!("UID:{booking}@127.0.0.1")) && text.contains("Interview: Ada Lovelace"), "{text}");

    // Freed: both sides get a CANCEL of the same UID, and the time is free again.
    app.delete(&format!("/api/v1/registrations/{ada_token}/slots/{first}"), None).await.assert_status(StatusCode::NO_CONTENT);
    app.delete(&format!("/api/v1/registrations/{ada_token}/slots/{first}"), None).await.assert_problem(StatusCode::NOT_FOUND);
    for to in ["ada@example.org", fair.contact.as_str()] {
        let cancels = wait_for_calendars(&app, to, "CANCEL", 1).await;
        assert_eq!(property(&cancels[0], "UID"), format!("{booking}@127.0.0.1"), "{to}");
        assert_eq!(property(&cancels[0], "STATUS"), "CANCELLED");
    }
    let public = app.get(&format!("/api/v1/events/{}/slots", fair.id), None).await;
    assert_eq!(public.json[0]["free"], 1);

    // Booked again, then the place is cancelled: the interview goes with it.
    let again = app.post(&format!("/api/v1/registrations/{ada_token}/slots"), None, json!({"slot_id": second})).await;
    again.assert_status(StatusCode::CREATED);
    app.delete(&format!("/api/v1/registrations/{ada_token}"), None).await.assert_status(StatusCode::OK);
    let cancels = wait_for_calendars(&app, &fair.contact, "CANCEL", 2).await;
    assert!(cancels.iter().any(|c| property(c, "UID") == format!("{}@127.0.0.1", id_of(&again.json))));
    assert_eq!(app.count_rows("SELECT COUNT(*) AS n FROM slot_bookings").await, 0);
    let public = app.get(&format!("/api/v1/events/{}/slots", fair.id), None).await;
    assert_eq!(public.json[1]["free"], 1);
}

/// At start the booking's reads run on every reading connection (prepared and planned before the
/// first race); warming again finds each connection and every read valid on this database.
#[tokio::test]
async fn the_booking_reads_are_warmed_on_every_reading_connection() {
    let app = TestApp::spawn().await;
    let readers = app.services.settings.database.max_connections as usize;
    assert_eq!(carefair::service::slots::warm_up(&app.services).await, readers);
    // Warming leaves nothing behind, and bookings go on as before.
    assert_eq!(app.count_rows("SELECT COUNT(*) AS n FROM slot_bookings").await, 0);
    let fair = fair_with_stand(&app, 10).await;
    let slot = first_slot(&app, &fair, "2027-01-05T10:15:00Z").await;
    let r = app.register(&fair.id, person("Sam Carter", "sam@example.org")).await;
    let booked = app.post(&format!("/api/v1/registrations/{}/slots", manage_token(&r.json)), None, json!({"slot_id": slot})).await;
    booked.assert_status(StatusCode::CREATED);
}

#[tokio::test]
async fn a_hundred_and_twenty_candidates_racing_for_one_slot_leave_exactly_one_booked() {
    let app = TestApp::spawn().await;
    let fair = fair_with_stand(&app, 200).await;
    let slot = first_slot(&app, &fair, "2027-01-05T10:15:00Z").await;
    let mut tokens = Vec::new();
    for i in 0..120 {
        let r = app.register(&fair.id, person(&format!("Person {i}"), &format!("p{i}@example.org"))).await;
        r.assert_status(StatusCode::CREATED);
        tokens.push(manage_token(&r.json));
    }
    // On PostgreSQL, half go through a second server on the same database, as a second process
    // would be (SQLite is one process's database: its one writer is what keeps it exact).
    let other = if app.is_postgres() { app.spawn_sharing().await } else { TestApp::spawn().await };
    let other = if app.is_postgres() { &other } else { &app };
    let tasks: Vec<_> = tokens
        .iter()
        .enumerate()
        .map(|(i, token)| {
            let server = if i % 2 == 0 { &app } else { other };
            let (client, url, slot) = (server.client.clone(), server.url(&format!("/api/v1/registrations/{token}/slots")), slot.clone());
            tokio::spawn(async move {
                let answer = client.post(url).json(&json!({"slot_id": slot})).send().await;
                answer.map(|r| r.status().as_u16()).unwrap_or(0)
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap_or(0));
    }
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 119, "{statuses:?}");
    assert_eq!(app.count_rows("SELECT COUNT(*) AS n FROM slot_bookings").await, 1);
    assert_eq!(app.count_rows("SELECT COUNT(*) AS n FROM interview_slots WHERE booked = 1").await, 1);
}

/// Each candidate asks for every slot of one stand at once: each gets exactly one, and a place
/// taken for a booking that was then refused (a second slot at the stand) is given back.
#[tokio::test]
async fn candidates_asking_for_every_slot_of_a_stand_at_once_get_one_each_and_no_place_is_lost() {
    let app = TestApp::spawn().await;
    let fair = fair_with_stand(&app, 50).await;
    let path = format!("/api/v1/events/{}/exhibitors/{}/slots", fair.id, fair.stand);
    let made = app.post(&path, Some(&fair.employer_user), cut_body("2027-01-05T10:00:00Z", "2027-01-05T11:30:00Z", 15, 2)).await;
    let slots: Vec<String> =
        made.json["items"].as_array().into_iter().flatten().filter_map(|s| s["id"].as_str().map(str::to_owned)).collect();
    assert_eq!(slots.len(), 6, "{}", made.text);
    let mut tokens = Vec::new();
    for i in 0..8 {
        let r = app.register(&fair.id, person(&format!("Person {i}"), &format!("p{i}@example.org"))).await;
        tokens.push(manage_token(&r.json));
    }
    let other = if app.is_postgres() { Some(app.spawn_sharing().await) } else { None };
    let mut tasks = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        for (j, slot) in slots.iter().enumerate() {
            let server = if (i + j) % 2 == 0 { &app } else { other.as_ref().unwrap_or(&app) };
            let (client, url, slot) = (server.client.clone(), server.url(&format!("/api/v1/registrations/{token}/slots")), slot.clone());
            tasks.push(tokio::spawn(async move {
                let answer = client.post(url).json(&json!({"slot_id": slot})).send().await;
                (i, answer.map(|r| r.status().as_u16()).unwrap_or(0))
            }));
        }
    }
    let mut won = [0; 8];
    let mut refused = 0;
    for task in tasks {
        match task.await.unwrap_or((0, 0)) {
            (i, 201) => won[i] += 1,
            (_, 409) => refused += 1,
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert_eq!(won, [1; 8], "one interview at the stand each");
    assert_eq!(refused, 8 * 5);
    assert_eq!(app.count_rows("SELECT COUNT(*) AS n FROM slot_bookings").await, 8);
    assert_eq!(app.count_rows("SELECT COUNT(*) AS n FROM interview_slots WHERE booked > interviewers").await, 0);
    let mismatched =
        "SELECT COUNT(*) AS n FROM interview_slots s WHERE s.booked <> (SELECT COUNT(*) FROM slot_bookings b WHERE b.slot_id = s.id)";
    assert_eq!(app.count_rows(mismatched).await, 0, "every place taken is held by a booking");
    // Both sides are told of each booking, and of no refused one.
    let sent = app.count_rows("SELECT COUNT(*) AS n FROM outbox WHERE kind = 'interview_booked'").await;
    assert_eq!(sent, 16);
}

#[tokio::test]
async fn interviews_in_the_employer_portal_the_booking_page_and_the_back_office_in_chromium() {
    let Some(desktop) = Browser::start(false).await else { return };
    let app = TestApp::spawn().await;
    let fair = fair_with_stand(&app, 10).await;
    let ada = app.register(&fair.id, person("Ada Lovelace", "ada@example.org")).await;
    let email = format!("sam-{}@alder.example", uuid::Uuid::now_v7().simple());
    let admin = app.admin_token().await;
    let body = json!({"email": email, "name": "Sam Patel", "role": "employer", "password": PASSWORD, "employer_id": fair.employer});
    app.post("/api/v1/users", Some(&admin), body).await.assert_status(StatusCode::CREATED);

    // The employer offers interviews: a wrong time first, kept and explained beside its field.
    desktop.goto(&app.url("/sign-in")).await;
    desktop.type_into("#f-email", &email).await;
    desktop.type_into("#f-password", PASSWORD).await;
    desktop.click("form[action='/sign-in'] button[type=submit]").await;
    desktop.text_with("Sign out").await;
    desktop.goto(&app.url("/employer/interviews")).await;
    assert!(desktop.text_with("Offer interviews").await.contains("Nobody has booked an interview yet"));
    desktop.screenshot("desktop-employer-interviews").await;
    let field = |name: &str| format!("#f-{}-{name}", fair.stand);
    desktop.find(&field("ends_at")).await.clear().await.unwrap_or_else(|e| panic!("{e}"));
    desktop.type_into(&field("ends_at"), "9.30").await;
    desktop.click("form[action^='/employer/interviews/'] button[type=submit]").await;
    let text = desktop.text_with("There is a problem").await;
    assert!(text.contains("Interviews end by") && text.contains("24-hour clock"), "{text}");
    assert_eq!(desktop.find(&field("ends_at")).await.prop("value").await.ok().flatten().as_deref(), Some("9.30"));
    desktop.screenshot("desktop-employer-interviews-error").await;
    desktop.find(&field("ends_at")).await.clear().await.unwrap_or_else(|e| panic!("{e}"));
    desktop.type_into(&field("ends_at"), "10:45").await;
    desktop.click("form[action^='/employer/interviews/'] button[type=submit]").await;
    assert!(desktop.text_with("interview slots are made").await.contains("10:00–10:15"));
    desktop.close().await;

    // The candidate books a time on their phone, and frees it.
    let Some(phone) = Browser::start(true).await else { return };
    phone.goto(&app.url(&format!("/r/{}", manage_token(&ada.json)))).await;
    assert!(phone.text_with("Interviews").await.contains("Alder Care, stand A1"));
    phone.click("label.govuk-radios__label").await;
    phone.click("form[action$='/slots'] button[type=submit]").await;
    let text = phone.text_with("Your interview is booked").await;
    assert!(text.contains("Your interviews") && text.contains("Free this time"), "{text}");
    phone.screenshot("phone-booking-interview").await;
    let schedule = app.get(&format!("/api/v1/employers/{}/schedule", fair.employer), Some(&fair.employer_user)).await;
    assert_eq!(schedule.json[0]["candidate_name"], "Ada Lovelace");
    phone.click("form[action$='/free'] button[type=submit]").await;
    assert!(phone.text_with("freed").await.contains("Book this time"));
    phone.click("label.govuk-radios__label").await;
    phone.click("form[action$='/slots'] button[type=submit]").await;
    phone.text_with("Your interview is booked").await;
    phone.close().await;

    // Organisers see every stand's.
    let Some(desktop) = Browser::start(false).await else { return };
    let organiser = crate::visitor::user(&app, "organiser").await;
    desktop.goto(&app.url("/sign-in")).await;
    desktop.type_into("#f-email", &organiser).await;
    desktop.type_into("#f-password", PASSWORD).await;
    desktop.click("form[action='/sign-in'] button[type=submit]").await;
    desktop.text_with("Dashboard").await;
    desktop.goto(&app.url(&format!("/manage/events/{}/interviews", fair.id))).await;
    let text = desktop.text_with("Ada Lovelace").await;
    assert!(text.contains("Alder Care, stand A1") && text.contains("3 interview slots"), "{text}");
    desktop.screenshot("desktop-manage-interviews").await;
    // An organiser adds times for the stand: a wrong number first, explained beside its field.
    let field = |name: &str| format!("#f-{}-{name}", fair.stand);
    for (name, value) in [("starts_at", "11:00"), ("ends_at", "11:30"), ("minutes", "a quarter")] {
        desktop.find(&field(name)).await.clear().await.unwrap_or_else(|e| panic!("{e}"));
        desktop.type_into(&field(name), value).await;
    }
    desktop.click("form[action$='/interviews/' i] button, form[action*='/interviews/'] button[type=submit]").await;
    let text = desktop.text_with("There is a problem").await;
    assert!(text.contains("Minutes each: must be a whole number"), "{text}");
    desktop.screenshot("desktop-manage-interviews-error").await;
    desktop.find(&field("minutes")).await.clear().await.unwrap_or_else(|e| panic!("{e}"));
    desktop.type_into(&field("minutes"), "15").await;
    desktop.click("form[action*='/interviews/'] button[type=submit]").await;
    assert!(desktop.text_with("5 interview slots").await.contains("11:15–11:30"));
    desktop.close().await;
}

#[tokio::test]
async fn a_withdrawn_stand_and_a_cancelled_fair_free_their_interviews_for_both_sides() {
    let app = TestApp::spawn().await;
    let fair = fair_with_stand(&app, 10).await;
    let slot = first_slot(&app, &fair, "2027-01-05T10:30:00Z").await;
    let ada = app.register(&fair.id, person("Ada Lovelace", "ada@example.org")).await;
    let booked = app.post(&format!("/api/v1/registrations/{}/slots", manage_token(&ada.json)), None, json!({"slot_id": slot})).await;
    booked.assert_status(StatusCode::CREATED);
    let withdrawn = format!("/api/v1/events/{}/exhibitors/{}/withdraw", fair.id, fair.stand);
    app.post(&withdrawn, Some(&fair.employer_user), json!({})).await.assert_status(StatusCode::OK);
    for to in ["ada@example.org", fair.contact.as_str()] {
        let cancels = wait_for_calendars(&app, to, "CANCEL", 1).await;
        assert_eq!(property(&cancels[0], "UID"), format!("{}@127.0.0.1", id_of(&booked.json)), "{to}");
    }
    assert_eq!(app.count_rows("SELECT COUNT(*) AS n FROM slot_bookings").await, 0);
    assert_eq!(app.get(&format!("/api/v1/events/{}/slots", fair.id), None).await.json.as_array().map(Vec::len), Some(0));

    // A second fair's interview goes when the fair is cancelled.
    let other = fair_with_stand(&app, 10).await;
    let slot = first_slot(&app, &other, "2027-01-05T10:30:00Z").await;
    let ben = app.register(&other.id, person("Ben Okri", "ben@example.org")).await;
    app.post(&format!("/api/v1/registrations/{}/slots", manage_token(&ben.json)), None, json!({"slot_id": slot}))
        .await
        .assert_status(StatusCode::CREATED);
    app.post(&format!("/api/v1/events/{}/cancel", other.id), Some(&other.organiser), json!({"reason": "Flooding"}))
        .await
        .assert_status(StatusCode::OK);
    wait_for_calendars(&app, &other.contact, "CANCEL", 1).await;
    assert_eq!(app.count_rows("SELECT COUNT(*) AS n FROM slot_bookings").await, 0);
}
