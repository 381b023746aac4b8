//! Fair day at the door: tickets with their QR codes, check-ins by code from several doors at
//! once, door links and their limits, and walk-ins into the last place.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use mail_parser::MimeHeaders;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::chromium::Browser;
use crate::helpers::{PASSWORD, TestApp, id_of, person};
use crate::visitor::{Visitor, user};

/// Half an hour before the test fair opens: inside its check-in window.
fn fair_morning() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2027-01-05T09:30:00Z").map(|t| t.to_utc()).unwrap_or_default()
}

fn is_ticket_code(code: &str) -> bool {
    code.len() == 10 && code.bytes().all(|b| b"0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(&b))
}

/// The QR codes inside `raw` (image parts shown by the HTML), decoded by an independent decoder.
fn qr_codes_in(raw: &[u8]) -> Vec<String> {
    let Some(message) = mail_parser::MessageParser::default().parse(raw) else { return Vec::new() };
    let html = message.body_html(0).map(|h| h.into_owned()).unwrap_or_default();
    let mut found = Vec::new();
    for part in message.parts.iter() {
        let Some(kind) = part.content_type() else { continue };
        if kind.ctype() != "image" || kind.subtype() != Some("png") {
            continue;
        }
        // The HTML shows it by its Content-ID: nothing is loaded from elsewhere.
        let cid = part.content_id().unwrap_or_default();
        assert!(!cid.is_empty() && html.contains(&format!("cid:{cid}")), "an inline image the HTML shows: {cid:?}");
        let decoder = png::Decoder::new(std::io::Cursor::new(part.contents().to_vec()));
        let mut reader = decoder.read_info().unwrap_or_else(|e| panic!("a PNG: {e}"));
        let mut pixels = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut pixels).unwrap_or_else(|e| panic!("a PNG frame: {e}"));
        assert_eq!(info.color_type, png::ColorType::Grayscale);
        let (w, h) = (info.width as usize, info.height as usize);
        let mut image = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| pixels[y * info.line_size + x]);
        for grid in image.detect_grids() {
            let (_, content) = grid.decode().unwrap_or_else(|e| panic!("decoding the QR code: {e:?}"));
            found.push(content);
        }
    }
    found
}

#[tokio::test]
async fn a_confirmed_place_gets_a_ticket_whose_qr_code_gives_its_code() {
    let app = TestApp::spawn().await;
    let (event, organiser) = app.published_fair(1).await;
    let ada = app.register(&event, person("Ada Lovelace", "ada@example.org")).await;
    ada.assert_status(StatusCode::CREATED);
    let code = ada.json["ticket_code"].as_str().unwrap_or_default().to_owned();
    assert!(is_ticket_code(&code), "{code:?}");
    let ben = app.register(&event, person("Ben Okri", "ben@example.org")).await;
    assert_eq!(ben.json["status"], "waitlisted");

    let text = app.wait_for_mail("Your place at").await;
    let grouped = format!("{} {}", &code[..5], &code[5..]);
    assert!(text.contains(&grouped), "the code is printed for typing: {text}");
    app.wait_for_mail("waiting list").await;
    let mut tickets = Vec::new();
    for raw in app.mail_raw() {
        let codes = qr_codes_in(&raw);
        let text = String::from_utf8_lossy(&raw).into_owned();
        if text.contains("ben@example.org") {
            assert!(codes.is_empty(), "no ticket for a place on the waiting list");
        } else if text.contains("ada@example.org") {
            tickets.extend(codes);
        }
    }
    assert_eq!(tickets, vec![code.clone()]);

    // The holder's view and the organisers' list carry the code too.
    let held = app.get(&format!("/api/v1/registrations/{}", crate::helpers::manage_token(&ada.json)), None).await;
    assert_eq!(held.json["ticket_code"], code);
    let held = app.get(&format!("/api/v1/registrations/{}", crate::helpers::manage_token(&ben.json)), None).await;
    assert_eq!(held.json["ticket_code"], Value::Null, "a waiting place has no ticket yet");
    let list = app.get(&format!("/api/v1/events/{event}/registrations"), Some(&organiser)).await;
    assert_eq!(list.json["items"][0]["ticket_code"], code);
}

#[tokio::test]
async fn tickets_are_checked_in_by_code_with_a_plain_answer_for_each_case() {
    let app = TestApp::spawn().await;
    let (event, organiser) = app.published_fair(1).await;
    let (other, _) = app.published_fair(5).await;
    let ada = app.register(&event, person("Ada", "ada@example.org")).await;
    let ben = app.register(&event, person("Ben", "ben@example.org")).await;
    let cy = app.register(&other, person("Cy", "cy@example.org")).await;
    let code = |a: &crate::helpers::Answer| a.json["ticket_code"].as_str().unwrap_or_default().to_owned();
    let path = format!("/api/v1/events/{event}/check-ins");

    // The day before, the door is closed.
    app.post(&path, Some(&organiser), json!({"code": code(&ada)})).await.assert_problem(StatusCode::CONFLICT);
    app.clock.set(fair_morning());
    let organiser = app.organiser_token().await;

    // Typed in lower case with a space, and an O for a zero: still the ticket.
    let typed = code(&ada).to_lowercase().replace('0', "o");
    let typed = format!("{} {}", &typed[..5], &typed[5..]);
    let first = app.post(&path, Some(&organiser), json!({"code": typed})).await;
    first.assert_status(StatusCode::OK);
    assert_eq!(first.json["already"], false);
    assert_eq!(first.json["registration"]["name"], "Ada");
    assert_eq!(first.json["registration"]["status"], "attended");
    assert!(first.json["checked_in_at"].is_string());
    assert_eq!((first.json["arrived"].as_u64(), first.json["expected"].as_u64()), (Some(1), Some(1)));
    assert!(first.json["registration"].get("email").is_none(), "the door sees no email");

    let again = app.post(&path, Some(&organiser), json!({"code": code(&ada)})).await;
    again.assert_status(StatusCode::OK);
    assert_eq!(again.json["already"], true);
    assert_eq!(again.json["checked_in_at"], first.json["checked_in_at"], "the first check-in's time");
    assert_eq!(again.json["registration"]["checked_in_by"], "A organiser");

    let waiting = app.post(&path, Some(&organiser), json!({"code": code(&ben)})).await;
    waiting.assert_problem(StatusCode::CONFLICT);
    assert!(waiting.text.contains("waiting list"), "{}", waiting.text);
    let elsewhere = app.post(&path, Some(&organiser), json!({"code": code(&cy)})).await;
    elsewhere.assert_problem(StatusCode::NOT_FOUND);
    app.post(&path, Some(&organiser), json!({"code": "0000000000"})).await.assert_problem(StatusCode::NOT_FOUND);
    app.post(&path, Some(&organiser), json!({"code": "not a code\r\nX: y"})).await.assert_invalid(&["code"]);
    app.post(&path, Some(&organiser), json!({"code": "x".repeat(100_000)})).await.assert_invalid(&["code"]);

    // Undo, then a cancelled place is refused.
    let rid = id_of(&ada.json);
    let undone = app.delete(&format!("{path}/{rid}"), Some(&organiser)).await;
    undone.assert_status(StatusCode::OK);
    assert_eq!(undone.json["registration"]["status"], "confirmed");
    assert_eq!(undone.json["arrived"], 0);
    app.delete(&format!("/api/v1/registrations/{}", crate::helpers::manage_token(&ada.json)), None).await.assert_status(StatusCode::OK);
    let cancelled = app.post(&path, Some(&organiser), json!({"code": code(&ada)})).await;
    cancelled.assert_problem(StatusCode::CONFLICT);
    assert!(cancelled.text.contains("cancelled"), "{}", cancelled.text);

    // Only organisers (and door links) work the door.
    let employer = app.user_token("employer").await;
    app.post(&path, Some(&employer), json!({"code": code(&ben)})).await.assert_problem(StatusCode::FORBIDDEN);
    app.post(&path, None, json!({"code": code(&ben)})).await.assert_problem(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_door_link_checks_in_at_its_event_only_and_ends() {
    let app = TestApp::spawn().await;
    let (event, organiser) = app.published_fair(10).await;
    let (other, _) = app.published_fair(10).await;
    let ada = app.register(&event, person("Ada", "ada@example.org")).await;
    let cy = app.register(&other, person("Cy", "cy@example.org")).await;
    let links = format!("/api/v1/events/{event}/door-links");

    app.post(&links, Some(&organiser), json!({"label": ""})).await.assert_invalid(&["label"]);
    app.post(&links, Some(&organiser), json!({"label": "Front\r\ndoor"})).await.assert_invalid(&["label"]);
    let employer = app.user_token("employer").await;
    app.post(&links, Some(&employer), json!({"label": "Front door"})).await.assert_problem(StatusCode::FORBIDDEN);
    let made = app.post(&links, Some(&organiser), json!({"label": "Front door"})).await;
    made.assert_status(StatusCode::CREATED);
    let token = made.json["token"].as_str().unwrap_or_default().to_owned();
    assert!(made.json["url"].as_str().is_some_and(|u| u.ends_with(&format!("/door/{token}"))), "{}", made.text);
    assert_eq!(made.json["expires_at"], "2027-01-06T01:00:00+00:00", "12 hours after the end");
    let listed = app.get(&links, Some(&organiser)).await;
    assert_eq!(listed.json[0]["label"], "Front door");
    assert_eq!(listed.json[0]["token"], Value::Null, "shown once");

    app.clock.set(fair_morning());
    let organiser = app.organiser_token().await;
    let code = |a: &crate::helpers::Answer| a.json["ticket_code"].as_str().unwrap_or_default().to_owned();
    let done = app.post(&format!("/api/v1/events/{event}/check-ins"), Some(&token), json!({"code": code(&ada)})).await;
    done.assert_status(StatusCode::OK);
    assert_eq!(done.json["registration"]["checked_in_by"], "Front door");
    let rid = id_of(&ada.json);
    app.delete(&format!("/api/v1/events/{event}/check-ins/{rid}"), Some(&token)).await.assert_status(StatusCode::OK);

    // Another event's door, the list of people, and everything else are closed to it.
    let before = app.count_rows("SELECT COUNT(*) AS n FROM registrations WHERE status = 'attended'").await;
    app.post(&format!("/api/v1/events/{other}/check-ins"), Some(&token), json!({"code": code(&cy)}))
        .await
        .assert_problem(StatusCode::FORBIDDEN);
    app.post(&format!("/api/v1/events/{other}/walk-ins"), Some(&token), json!({"name": "Dee"})).await.assert_problem(StatusCode::FORBIDDEN);
    assert_eq!(app.count_rows("SELECT COUNT(*) AS n FROM registrations WHERE status = 'attended'").await, before);
    for path in [format!("/api/v1/events/{event}/registrations"), format!("/api/v1/events/{event}/registrations.csv"), "/api/v1/me".into()]
    {
        app.get(&path, Some(&token)).await.assert_problem(StatusCode::UNAUTHORIZED);
    }
    app.get(&links, Some(&token)).await.assert_problem(StatusCode::UNAUTHORIZED);
    app.post(&format!("/api/v1/events/{event}/registrations/{rid}/check-in"), Some(&token), json!({}))
        .await
        .assert_problem(StatusCode::UNAUTHORIZED);

    // Deleted: it stops at once.
    let second = app.post(&links, Some(&organiser), json!({"label": "Side door"})).await;
    let second_token = second.json["token"].as_str().unwrap_or_default().to_owned();
    app.delete(&format!("{links}/{}", id_of(&second.json)), Some(&organiser)).await.assert_status(StatusCode::NO_CONTENT);
    app.delete(&format!("{links}/{}", id_of(&second.json)), Some(&organiser)).await.assert_problem(StatusCode::NOT_FOUND);
    app.post(&format!("/api/v1/events/{event}/check-ins"), Some(&second_token), json!({"code": code(&ada)}))
        .await
        .assert_problem(StatusCode::UNAUTHORIZED);

    // After the check-in window it has expired.
    app.clock.set(DateTime::parse_from_rfc3339("2027-01-06T01:00:01Z").map(|t| t.to_utc()).unwrap_or_default());
    app.post(&format!("/api/v1/events/{event}/check-ins"), Some(&token), json!({"code": code(&ada)}))
        .await
        .assert_problem(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn four_doors_checking_in_two_hundred_tickets_at_once_check_each_in_once() {
    let app = TestApp::spawn().await;
    let (event, _) = app.published_fair(200).await;
    let mut codes = Vec::new();
    for i in 0..200 {
        let r = app.register(&event, person(&format!("Person {i}"), &format!("p{i}@example.org"))).await;
        r.assert_status(StatusCode::CREATED);
        codes.push(r.json["ticket_code"].as_str().unwrap_or_default().to_owned());
    }
    app.clock.set(fair_morning());
    let organiser = app.organiser_token().await;
    let mut doors = Vec::new();
    for label in ["North", "South", "East", "West"] {
        let made = app.post(&format!("/api/v1/events/{event}/door-links"), Some(&organiser), json!({"label": label})).await;
        doors.push(made.json["token"].as_str().unwrap_or_default().to_owned());
    }
    // Each door scans its own quarter and half of the next door's: every ticket twice or once.
    let mut tasks = Vec::new();
    for (d, token) in doors.iter().enumerate() {
        let mine: Vec<String> = (0..200).filter(|i| i % 4 == d || (i % 4 == (d + 1) % 4 && i % 8 < 4)).map(|i| codes[i].clone()).collect();
        let (client, url, token) = (app.client.clone(), app.url(&format!("/api/v1/events/{event}/check-ins")), token.clone());
        tasks.push(tokio::spawn(async move {
            let mut firsts = Vec::new();
            for code in mine {
                let answer = client.post(&url).bearer_auth(&token).json(&json!({"code": code})).send().await;
                let answer: Value = answer.unwrap_or_else(|e| panic!("{e}")).json().await.unwrap_or_default();
                assert!(answer["already"].is_boolean(), "{answer}");
                if answer["already"] == false {
                    firsts.push(code);
                }
            }
            firsts
        }));
    }
    let mut firsts = Vec::new();
    for task in tasks {
        firsts.extend(task.await.unwrap_or_else(|e| panic!("{e}")));
    }
    let unique: HashSet<&String> = firsts.iter().collect();
    assert_eq!((firsts.len(), unique.len()), (200, 200), "each ticket checked in once");
    let attended = app.get(&format!("/api/v1/events/{event}/registrations?status=attended&limit=1"), Some(&organiser)).await;
    assert_eq!(attended.json["total"], 200);
}

#[tokio::test]
async fn walk_ins_take_the_last_place_and_then_the_door_says_full() {
    let app = TestApp::spawn().await;
    let (event, _) = app.published_fair(3).await;
    app.register(&event, person("Ada", "ada@example.org")).await.assert_status(StatusCode::CREATED);
    let path = format!("/api/v1/events/{event}/walk-ins");
    app.clock.set(fair_morning());
    let organiser = app.organiser_token().await;

    app.post(&path, Some(&organiser), json!({"name": ""})).await.assert_invalid(&["name"]);
    app.post(&path, Some(&organiser), json!({"name": "Dee", "email": "not an email"})).await.assert_invalid(&["email"]);
    let dee = app.post(&path, Some(&organiser), json!({"name": "Dee Walker", "email": "dee@example.org"})).await;
    dee.assert_status(StatusCode::CREATED);
    assert_eq!(dee.json["registration"]["status"], "attended");
    assert_eq!((dee.json["arrived"].as_u64(), dee.json["expected"].as_u64()), (Some(1), Some(2)));
    let text = app.wait_for_mail("Dear Dee Walker").await;
    assert!(text.contains("Your ticket code"), "{text}");
    // The same email again is already registered.
    app.post(&path, Some(&organiser), json!({"name": "Dee Walker", "email": "dee@example.org"})).await.assert_problem(StatusCode::CONFLICT);

    // One place left, two walk-ins without email at two doors at once: one gets it.
    let (a, b) =
        tokio::join!(app.post(&path, Some(&organiser), json!({"name": "Eve"})), app.post(&path, Some(&organiser), json!({"name": "Fay"})),);
    let mut statuses = vec![a.status.as_u16(), b.status.as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, vec![201, 409], "{} / {}", a.text, b.text);
    let full = if a.status == StatusCode::CONFLICT { a } else { b };
    assert!(full.text.contains("full"), "{}", full.text);
    let list = app.get(&format!("/api/v1/events/{event}/registrations?status=attended"), Some(&organiser)).await;
    assert_eq!(list.json["total"], 2);
    app.post(&path, Some(&organiser), json!({"name": "Gil"})).await.assert_problem(StatusCode::CONFLICT);
    let everyone = app.get(&format!("/api/v1/events/{event}/registrations"), Some(&organiser)).await;
    assert_eq!(everyone.json["total"], 3, "Ada, Dee and one of Eve and Fay: {}", everyone.text);
    // Who gave no email has none in the export, and no mail is queued for them.
    let csv = app.get(&format!("/api/v1/events/{event}/registrations.csv"), Some(&organiser)).await;
    assert!(csv.text.contains("dee@example.org") && !csv.text.contains(".invalid"), "{}", csv.text);
    assert_eq!(app.count_rows("SELECT COUNT(*) AS n FROM outbox WHERE to_address LIKE '%.invalid'").await, 0);
}

/// A door link for `event`, made by `organiser`: its token.
async fn door_link(app: &TestApp, organiser: &str, event: &str, label: &str) -> String {
    let made = app.post(&format!("/api/v1/events/{event}/door-links"), Some(organiser), json!({"label": label})).await;
    made.assert_status(StatusCode::CREATED);
    made.json["token"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn the_door_page_of_a_link_checks_in_by_code_and_registers_walk_ins() {
    let app = TestApp::spawn().await;
    let (event, organiser) = app.published_fair(2).await;
    let ada = app.register(&event, person("Ada Lovelace", "ada@example.org")).await;
    let code = ada.json["ticket_code"].as_str().unwrap_or_default().to_owned();
    let token = door_link(&app, &organiser, &event, "Front door").await;
    app.clock.set(fair_morning());
    let door = format!("/door/{token}");

    let mut volunteer = Visitor::new(&app);
    let page = volunteer.get(&door).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains("Ticket code") && page.html.contains("Register a walk-in"), "{}", page.html);
    assert!(!page.html.contains(r#"name="q""#), "a door link cannot search the people booked");
    assert!(!page.html.contains("ada@example.org"));
    let policy = app.client.get(app.url(&door)).send().await.map(|r| r.headers().get("permissions-policy").cloned());
    assert_eq!(
        policy.ok().flatten().and_then(|v| v.to_str().ok().map(str::to_owned)).as_deref(),
        Some("camera=(self), microphone=(), geolocation=()")
    );
    let elsewhere = app.client.get(app.url("/")).send().await.map(|r| r.headers().get("permissions-policy").cloned());
    assert!(
        elsewhere.ok().flatten().is_some_and(|v| v.to_str().is_ok_and(|v| v.starts_with("camera=()"))),
        "no other page may ask for the camera"
    );

    // Without the form's token, nothing happens.
    let forged = volunteer.post(&door, &[("csrf", "forged"), ("code", &code)]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let attended = || app.count_rows("SELECT COUNT(*) AS n FROM registrations WHERE status = 'attended'");
    assert_eq!(attended().await, 0);

    let csrf = page.csrf();
    let done = volunteer.post(&door, &[("csrf", &csrf), ("code", &code.to_lowercase())]).await;
    assert_eq!(done.status, StatusCode::OK);
    assert!(done.html.contains("Checked in") && done.html.contains("Ada Lovelace"), "{}", done.html);
    assert!(done.html.contains(&format!("/undo/{}", id_of(&ada.json))), "an undo button");
    let again = volunteer.post(&door, &[("csrf", &csrf), ("code", &code)]).await;
    assert!(again.html.contains("Already checked in at 09:30 by Front door"), "{}", again.html);
    let wrong = volunteer.post(&door, &[("csrf", &csrf), ("code", "ZZZZZ ZZZZZ")]).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.html.contains("Not a ticket for this event") && wrong.html.contains("ZZZZZ ZZZZZ"), "the typed code is kept");

    // A walk-in: a bad email is shown beside its field with what was typed kept.
    let bad = volunteer.post(&format!("{door}/walk-in"), &[("csrf", &csrf), ("name", "Dee Walker"), ("email", "dee@")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.html.contains("govuk-error-summary") && bad.html.contains(r#"id="f-email-error""#), "{}", bad.html);
    assert!(bad.html.contains(r#"value="Dee Walker""#));
    let walked = volunteer.post(&format!("{door}/walk-in"), &[("csrf", &csrf), ("name", "Dee Walker"), ("email", "")]).await;
    assert_eq!(walked.status, StatusCode::OK);
    assert!(walked.html.contains("Walk-in registered and checked in"), "{}", walked.html);
    let full = volunteer.post(&format!("{door}/walk-in"), &[("csrf", &csrf), ("name", "Eve Late")]).await;
    assert!(full.html.contains("The event is full"), "{}", full.html);
    assert_eq!(attended().await, 2);

    // The figures the page's script reads to follow the other doors.
    let figures: Value =
        app.client.get(app.url(&format!("{door}/counts"))).send().await.unwrap_or_else(|e| panic!("{e}")).json().await.unwrap_or_default();
    assert_eq!(
        (figures["arrived"].as_u64(), figures["expected"].as_u64(), figures["to_come"].as_u64()),
        (Some(2), Some(2), Some(0)),
        "{figures}"
    );

    // An unknown link is a plain page, not a door.
    let gone = volunteer.get("/door/not-a-real-token").await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert!(gone.html.contains("This door link does not work"));
}

#[tokio::test]
async fn organisers_find_people_by_name_at_their_door_page_which_no_one_else_reaches() {
    let app = TestApp::spawn().await;
    let (event, organiser) = app.published_fair(5).await;
    let ada = app.register(&event, person("Ada Lovelace", "ada@example.org")).await;
    app.clock.set(fair_morning());
    let page_path = format!("/manage/events/{event}/check-in");

    let mut anonymous = Visitor::new(&app);
    let away = anonymous.get(&page_path).await;
    assert_eq!((away.status, away.location.as_str()), (StatusCode::SEE_OTHER, format!("/sign-in?next={page_path}").as_str()));
    for role in ["employer", "school"] {
        let mut other = Visitor::new(&app);
        other.sign_in(&user(&app, role).await, PASSWORD, "").await;
        assert_eq!(other.get(&page_path).await.status, StatusCode::NOT_FOUND, "{role}");
        assert_eq!(other.get(&format!("/manage/events/{event}/door-links")).await.status, StatusCode::NOT_FOUND, "{role}");
    }

    let mut staff = Visitor::new(&app);
    staff.sign_in(&user(&app, "organiser").await, PASSWORD, "").await;
    let found = staff.get(&format!("{page_path}?q=lovelace")).await;
    assert_eq!(found.status, StatusCode::OK);
    assert!(found.html.contains("ada@example.org"), "{}", found.html);
    let csrf = found.csrf();
    let done = staff.post(&format!("{page_path}/person/{}", id_of(&ada.json)), &[("csrf", &csrf)]).await;
    assert!(done.html.contains("Checked in"), "{}", done.html);
    let undone = staff.post(&format!("{page_path}/undo/{}", id_of(&ada.json)), &[("csrf", &csrf)]).await;
    assert!(undone.html.contains("Check-in undone"), "{}", undone.html);

    // Door links from the back office: the link is shown once, then only its door.
    let links = format!("/manage/events/{event}/door-links");
    let refused = staff.post(&links, &[("csrf", &csrf), ("label", "")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.html.contains(r#"id="f-label-error""#));
    let made = staff.post(&links, &[("csrf", &csrf), ("label", "Side door")]).await;
    assert_eq!(made.status, StatusCode::CREATED);
    let url = made.html.split("&#x2f;door&#x2f;").nth(1).and_then(|rest| rest.split('<').next()).unwrap_or_default().to_owned();
    assert_eq!(url.len(), 64, "{}", made.html);
    let listed = staff.get(&links).await;
    assert!(listed.html.contains("Side door") && !listed.html.contains(&url), "shown once");
    assert_eq!(Visitor::new(&app).get(&format!("/door/{url}")).await.status, StatusCode::OK);
    let _ = organiser;
}

#[tokio::test]
async fn the_door_page_and_the_ticket_in_chromium_on_a_phone() {
    let Some(browser) = Browser::start(true).await else { return };
    let app = TestApp::spawn().await;
    let (event, organiser) = app.published_fair(3).await;
    let ada = app.register(&event, person("Ada Lovelace", "ada@example.org")).await;
    let code = ada.json["ticket_code"].as_str().unwrap_or_default().to_owned();

    // The holder's page shows the ticket; the printable one too.
    browser.goto(&app.url(&format!("/r/{}", crate::helpers::manage_token(&ada.json)))).await;
    assert!(browser.text_with("Your ticket").await.contains(&format!("{} {}", &code[..5], &code[5..])));
    browser.screenshot("phone-booking-ticket").await;
    browser.click("a[href$='/ticket']").await;
    assert!(browser.text_with("Show this at the door").await.contains("Ada Lovelace"));
    browser.screenshot("phone-ticket").await;

    let token = door_link(&app, &organiser, &event, "Front door").await;
    app.clock.set(fair_morning());
    browser.goto(&app.url(&format!("/door/{token}"))).await;
    assert!(browser.text_with("Ticket code").await.contains("still to come"));
    browser.screenshot("phone-door").await;
    browser.type_into("#f-code", &code.to_lowercase()).await;
    browser.click("#code-form button[type=submit]").await;
    let text = browser.text_with("Checked in").await;
    assert!(text.contains("Ada Lovelace") && text.contains("1\narrived"), "{text}");
    browser.screenshot("phone-door-checked-in").await;
    browser.type_into("#f-code", &code).await;
    browser.click("#code-form button[type=submit]").await;
    assert!(browser.text_with("Already checked in").await.contains("by Front door"));
    browser.screenshot("phone-door-already").await;
    browser.type_into("#f-code", "ABCDE12345").await;
    browser.click("#code-form button[type=submit]").await;
    assert!(browser.text_with("Not a ticket").await.contains("Not a ticket for this event"));
    browser.screenshot("phone-door-refused").await;
    // A walk-in whose email is wrong: the message beside the field, then the place.
    browser.click(".govuk-details__summary").await;
    browser.type_into("#f-name", "Dee Walker").await;
    browser.type_into("#f-email", "dee@").await;
    browser.click("form[action$='/walk-in'] button[type=submit]").await;
    assert!(browser.text_with("There is a problem").await.contains("Email address"));
    browser.screenshot("phone-door-walk-in-error").await;
    browser.find("#f-email").await.clear().await.unwrap_or_else(|e| panic!("{e}"));
    browser.type_into("#f-email", "dee@example.org").await;
    browser.click("form[action$='/walk-in'] button[type=submit]").await;
    assert!(browser.text_with("Walk-in registered").await.contains("Dee Walker"));
    browser.screenshot("phone-door-walk-in").await;
    browser.close().await;

    // The organisers' door page on a desktop, with a name found.
    let Some(desktop) = Browser::start(false).await else { return };
    let email = user(&app, "organiser").await;
    desktop.sign_in(&app.url("/sign-in"), &email, PASSWORD, "Dashboard").await;
    desktop.goto(&app.url(&format!("/manage/events/{event}/check-in?q=walker"))).await;
    assert!(desktop.text_with("dee@example.org").await.contains("Checked in at"));
    desktop.screenshot("desktop-door-search").await;
    desktop.goto(&app.url(&format!("/manage/events/{event}/door-links"))).await;
    assert!(desktop.text_with("Door links").await.contains("Front door"));
    desktop.screenshot("desktop-door-links").await;
    desktop.type_into("#f-label", "Side door").await;
    desktop.click("form[action$='/door-links'] button[type=submit]").await;
    assert!(desktop.text_with("shown this once").await.contains("Door link for Side door"));
    desktop.screenshot("desktop-door-link-made").await;
    desktop.close().await;
}
