//! Mail, end to end: changes queue messages in the outbox, the worker sends them through a real
//! SMTP server (mailin-embedded on a loopback port), and the messages are read back with an
//! independent MIME parser (mail-parser) and calendar parser (ical).

use std::io::BufReader;

use carefair::clock::Clock;
use chrono::Duration;
use mail_parser::{MimeHeaders, PartType};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, person, smtp_on};
use crate::smtp::{Received, TestSmtp};

/// The MIME tree of a message, such as `multipart/mixed{multipart/alternative{text/plain,…},…}`,
/// with a calendar part's method.
fn structure(message: &mail_parser::Message<'_>) -> String {
    fn walk(message: &mail_parser::Message<'_>, id: usize) -> String {
        let part = &message.parts[id];
        let mut name = part.content_type().map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or(""))).unwrap_or_default();
        if let Some(method) = part.content_type().and_then(|c| c.attribute("method")) {
            name.push_str(&format!(";method={method}"));
        }
        match &part.body {
            PartType::Multipart(children) => {
                format!("{name}{{{}}}", children.iter().map(|c| walk(message, *c as usize)).collect::<Vec<_>>().join(","))
            }
            _ => name,
        }
    }
    walk(message, 0)
}

/// The `text/calendar` part (the inline one) and the `invite.ics` attachment, as text.
fn calendars(message: &mail_parser::Message<'_>) -> (String, String) {
    let mut inline = None;
    let mut attached = None;
    for part in &message.parts {
        let Some(ct) = part.content_type() else { continue };
        let text = || String::from_utf8_lossy(part.contents()).into_owned();
        if ct.ctype() == "text" && ct.subtype() == Some("calendar") {
            inline = Some(text());
        } else if part.attachment_name() == Some("invite.ics") {
            attached = Some(text());
        }
    }
    (inline.unwrap_or_else(|| panic!("no text/calendar part")), attached.unwrap_or_else(|| panic!("no invite.ics")))
}

/// A calendar's properties as (name, params, value), the VCALENDAR's then the VEVENT's.
struct Ics {
    calendar: ical::parser::ical::component::IcalCalendar,
}

impl Ics {
    fn parse(text: &str) -> Self {
        let mut parser = ical::IcalParser::new(BufReader::new(text.as_bytes()));
        match parser.next() {
            Some(Ok(calendar)) => Self { calendar },
            other => panic!("unparsable calendar ({other:?}):\n{text}"),
        }
    }

    fn method(&self) -> String {
        self.calendar.properties.iter().find(|p| p.name == "METHOD").and_then(|p| p.value.clone()).unwrap_or_default()
    }

    fn event(&self, name: &str) -> String {
        self.calendar.events[0].properties.iter().find(|p| p.name == name).and_then(|p| p.value.clone()).unwrap_or_default()
    }
}

/// Checks a calendar-carrying message: the iMIP structure, the MIME method equal to METHOD, and
/// the UID, SEQUENCE and ATTENDEE. Returns the parsed calendar.
fn assert_imip(message: &Received, method: &str, event_id: &str, sequence: i64, attendee: &str) -> Ics {
    let parsed = message.parsed();
    let m = format!(";method={method}");
    // A message that gives a place shows its ticket's QR code from inside: the HTML and the
    // image are `multipart/related` (the tickets' tests read the image).
    assert_eq!(
        structure(&parsed).replace("multipart/related{text/html,image/png}", "text/html"),
        format!("multipart/mixed{{multipart/alternative{{text/plain,text/html,text/calendar{m}}},application/ics{m}}}"),
        "{}",
        message.text()
    );
    let (inline, attached) = calendars(&parsed);
    assert_eq!(inline, attached, "the attachment is the same calendar");
    let ics = Ics::parse(&inline);
    assert_eq!(ics.method(), method);
    assert_eq!(ics.event("UID"), format!("{event_id}@127.0.0.1"));
    assert_eq!(ics.event("SEQUENCE"), sequence.to_string());
    assert_eq!(ics.event("ATTENDEE").to_lowercase(), format!("mailto:{attendee}"));
    assert!(ics.event("ORGANIZER").starts_with("mailto:"), "{inline}");
    ics
}

async fn mail_app(smtp: &TestSmtp) -> TestApp {
    let port = smtp.port;
    TestApp::spawn_with(move |s| smtp_on(s, port)).await
}

/// The outbox as an admin sees it, of one status.
async fn outbox(app: &TestApp, admin: &str, status: &str) -> Vec<Value> {
    let filter = if status.is_empty() { String::new() } else { format!("status={status}&") };
    let answer = app.get(&format!("/api/v1/outbox?{filter}limit=200"), Some(admin)).await;
    answer.assert_status(StatusCode::OK);
    answer.json["items"].as_array().cloned().unwrap_or_default()
}

/// Waits (up to 30 s) until the outbox holds `n` messages of `status`.
async fn wait_outbox(app: &TestApp, admin: &str, status: &str, n: usize) -> Vec<Value> {
    for _ in 0..300 {
        let items = outbox(app, admin, status).await;
        if items.len() >= n {
            return items;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("expected {n} {status} messages; outbox: {:?}", outbox(app, admin, "").await);
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_registration_is_confirmed_by_an_imip_request() {
    let smtp = TestSmtp::start();
    let app = mail_app(&smtp).await;
    let organiser = app.organiser_token().await;
    let admin = app.admin_token().await;
    let event = app.create_published_event(&organiser, json!({"title": "Care Jobs Fair; Chelmsford, <Essex>"})).await;
    let answer = app.register(&id(&event), person("Doe, Jane <b>", "jane@example.org")).await;
    answer.assert_status(StatusCode::CREATED);
    let manage_url = answer.json["manage_url"].as_str().unwrap_or_default().to_owned();

    let message = smtp.wait_for(1).await.remove(0);
    assert_eq!(message.to, vec!["jane@example.org".to_owned()]);
    let parsed = message.parsed();
    assert_eq!(parsed.subject(), Some("Your place is booked: Care Jobs Fair; Chelmsford, <Essex>"));
    assert_eq!(parsed.from().and_then(|a| a.first()).and_then(|a| a.address()), Some("events@carefair.invalid"));
    assert_eq!(parsed.to().and_then(|a| a.first()).and_then(|a| a.address()), Some("jane@example.org"));
    let text = parsed.body_text(0).unwrap_or_default().into_owned();
    assert!(text.contains(&manage_url), "{text}");
    assert!(text.contains("Tuesday 5 January 2027, 10:00 to 13:00"), "{text}");
    let html = parsed.body_html(0).unwrap_or_default().into_owned();
    assert!(html.contains("Doe, Jane &lt;b&gt;") && !html.contains("<b>,"), "{html}");
    assert!(html.contains("&lt;Essex&gt;"), "{html}");
    let ics = assert_imip(&message, "REQUEST", &id(&event), 0, "jane@example.org");
    assert_eq!(ics.event("SUMMARY"), "Care Jobs Fair\\; Chelmsford\\, <Essex>");

    // The Message-ID was fixed when the message was queued, and the outbox shows it sent.
    let sent = wait_outbox(&app, &admin, "sent", 1).await;
    assert_eq!(sent[0]["message_id"].as_str(), Some(message.message_id().as_str()));
    assert_eq!(sent[0]["kind"], json!("registration_confirmed"));
    assert_eq!(sent[0]["attempts"], json!(1));
    assert!(sent[0]["payload"].is_null(), "links stay out of the API");
}

#[tokio::test]
async fn waitlisting_cancelling_and_promotion_each_send_their_message() {
    let smtp = TestSmtp::start();
    let app = mail_app(&smtp).await;
    let organiser = app.organiser_token().await;
    let event = app.create_published_event(&organiser, json!({"capacity": 1})).await;
    let first = app.register(&id(&event), person("Ann", "ann@example.org")).await;
    let second = app.register(&id(&event), person("Bob", "bob@example.org")).await;
    assert_eq!(second.json["status"], json!("waitlisted"));
    smtp.wait_for(2).await;
    let waitlisted = smtp.to("bob@example.org").remove(0);
    assert_eq!(structure(&waitlisted.parsed()), "multipart/alternative{text/plain,text/html}");
    assert!(waitlisted.parsed().body_text(0).unwrap_or_default().contains("at number 1"));

    let token = first.json["manage_url"].as_str().unwrap_or_default().rsplit('/').next().unwrap_or_default().to_owned();
    app.delete(&format!("/api/v1/registrations/{token}"), None).await.assert_status(StatusCode::OK);
    smtp.wait_for(4).await;
    let ann = smtp.to("ann@example.org");
    assert_eq!(ann.len(), 2);
    let cancelled = ann.iter().find(|m| m.parsed().subject().is_some_and(|s| s.starts_with("Your place is cancelled"))).cloned();
    // Withdrawing one attendee's copy: CANCEL, the same UID, a sequence above the REQUEST's.
    let ics = assert_imip(&cancelled.unwrap_or_default(), "CANCEL", &id(&event), 1, "ann@example.org");
    assert_eq!(ics.event("STATUS"), "CANCELLED");
    let bob = smtp.to("bob@example.org");
    let promoted = bob.iter().find(|m| m.parsed().subject().is_some_and(|s| s.starts_with("A place has come up"))).cloned();
    assert_imip(&promoted.unwrap_or_default(), "REQUEST", &id(&event), 0, "bob@example.org");
}

#[tokio::test]
async fn event_changes_and_cancellation_reach_everyone_with_the_raised_sequence() {
    let smtp = TestSmtp::start();
    let app = mail_app(&smtp).await;
    let organiser = app.organiser_token().await;
    let event = app.create_published_event(&organiser, json!({"capacity": 3})).await;
    let people: Vec<String> = (0..4).map(|i| format!("person{i}@example.org")).collect();
    for (i, email) in people.iter().enumerate() {
        app.register(&id(&event), person(&format!("Person {i}"), email)).await.assert_status(StatusCode::CREATED);
    }
    smtp.wait_for(4).await;

    // A change of description alone matters to no calendar: nobody is told.
    app.patch(&format!("/api/v1/events/{}", id(&event)), Some(&organiser), json!({"description": "Now with tea."}))
        .await
        .assert_status(StatusCode::OK);
    // A new time does: every confirmed person gets a REQUEST with sequence 1.
    let moved = json!({"starts_at": "2027-01-05T11:00:00Z", "ends_at": "2027-01-05T14:00:00Z"});
    app.patch(&format!("/api/v1/events/{}", id(&event)), Some(&organiser), moved).await.assert_status(StatusCode::OK);
    let all = smtp.wait_for(7).await;
    let updates: Vec<&Received> = all.iter().filter(|m| m.parsed().subject().is_some_and(|s| s.starts_with("Changed:"))).collect();
    assert_eq!(updates.len(), 3, "the three confirmed, not the waitlisted");
    for update in &updates {
        let to = update.to[0].clone();
        assert!(people[..3].contains(&to), "{to}");
        let ics = assert_imip(update, "REQUEST", &id(&event), 1, &to);
        assert!(ics.event("DTSTART").ends_with("T110000"), "the new time");
        assert!(update.parsed().body_text(0).unwrap_or_default().contains("11:00 to 14:00"));
    }

    // Cancelling tells the confirmed and the waitlisted, with CANCEL and sequence 2.
    app.post(&format!("/api/v1/events/{}/cancel", id(&event)), Some(&organiser), json!({"reason": "The hall is flooded."}))
        .await
        .assert_status(StatusCode::OK);
    let all = smtp.wait_for(11).await;
    let cancels: Vec<&Received> = all.iter().filter(|m| m.parsed().subject().is_some_and(|s| s.starts_with("Cancelled:"))).collect();
    assert_eq!(cancels.len(), 4);
    for cancel in cancels {
        let to = cancel.to[0].clone();
        let ics = assert_imip(cancel, "CANCEL", &id(&event), 2, &to);
        assert_eq!(ics.event("STATUS"), "CANCELLED");
        assert!(cancel.parsed().body_text(0).unwrap_or_default().contains("The hall is flooded."));
    }
    assert_eq!(smtp.received().len(), 11, "nothing else was sent");
}

#[tokio::test]
async fn mail_waits_while_the_server_is_down_and_each_message_arrives_once() {
    let smtp = TestSmtp::reserve();
    let app = mail_app(&smtp).await;
    let organiser = app.organiser_token().await;
    let admin = app.admin_token().await;
    let event = app.create_published_event(&organiser, json!({})).await;
    for i in 0..5 {
        app.register(&id(&event), person("Down", &format!("down{i}@example.org"))).await.assert_status(StatusCode::CREATED);
    }
    // Every message was tried, failed, and waits for its next attempt.
    for _ in 0..100 {
        let pending = outbox(&app, &admin, "pending").await;
        if pending.len() == 5 && pending.iter().all(|m| m["attempts"] == json!(1) && m["last_error"].is_string()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let pending = outbox(&app, &admin, "pending").await;
    assert!(pending.iter().all(|m| m["attempts"] == json!(1) && m["last_error"].is_string()), "{pending:?}");

    smtp.listen();
    // The retry comes after the backoff (retry_base_ms is 100 ms in the test settings).
    app.clock.advance(Duration::seconds(1));
    let received = smtp.wait_for(5).await;
    wait_outbox(&app, &admin, "sent", 5).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!((received.len(), distinct_ids(&smtp.received())), (5, 5), "each message once");
}

#[tokio::test]
async fn a_rejecting_server_leads_to_failed_and_a_manual_retry_sends() {
    let smtp = TestSmtp::start();
    smtp.set_rejecting(true);
    let port = smtp.port;
    let app = TestApp::spawn_with(move |s| {
        smtp_on(s, port);
        s.mail.max_attempts = 3;
    })
    .await;
    let organiser = app.organiser_token().await;
    let admin = app.admin_token().await;
    let event = app.create_published_event(&organiser, json!({})).await;
    app.register(&id(&event), person("Rejected", "rejected@example.org")).await.assert_status(StatusCode::CREATED);
    let mut failed = Vec::new();
    for _ in 0..200 {
        app.clock.advance(Duration::seconds(10));
        failed = outbox(&app, &admin, "failed").await;
        if !failed.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(failed.len(), 1, "failed after max_attempts");
    assert_eq!(failed[0]["attempts"], json!(3));
    assert!(failed[0]["last_error"].as_str().is_some_and(|e| e.contains("550")), "{:?}", failed[0]);
    let metrics = app.get("/metrics", Some(crate::helpers::METRICS_TOKEN)).await.text;
    assert!(metrics.contains("carefair_mail_failed_total 1"), "{metrics}");
    assert!(metrics.contains("carefair_mail_retries_total 2"), "{metrics}");

    // Only admins retry, only failed or pending messages, and unknown ids are 404.
    let retry = format!("/api/v1/outbox/{}/retry", id(&failed[0]));
    app.post(&retry, Some(&organiser), json!({})).await.assert_problem(StatusCode::FORBIDDEN);
    app.post(&format!("/api/v1/outbox/{}/retry", uuid::Uuid::now_v7()), Some(&admin), json!({}))
        .await
        .assert_problem(StatusCode::NOT_FOUND);
    smtp.set_rejecting(false);
    let answer = app.post(&retry, Some(&admin), json!({}));
    let answer = answer.await;
    answer.assert_status(StatusCode::OK);
    assert_eq!(answer.json["status"], json!("pending"));
    assert_eq!(answer.json["attempts"], json!(0));
    let received = smtp.wait_for(1).await;
    assert_eq!(received[0].to, vec!["rejected@example.org".to_owned()]);
    let sent = wait_outbox(&app, &admin, "sent", 1).await;
    assert_eq!(sent[0]["message_id"].as_str(), Some(received[0].message_id().as_str()));
    app.post(&retry, Some(&admin), json!({})).await.assert_problem(StatusCode::CONFLICT);
    let metrics = app.get("/metrics", Some(crate::helpers::METRICS_TOKEN)).await.text;
    assert!(metrics.contains("carefair_mail_sent_total 1") && metrics.contains("carefair_outbox_depth 0"), "{metrics}");
}

/// A server that queues mail but runs no worker, with an organiser, an admin and a published
/// event.
struct Queuing {
    app: TestApp,
    organiser: String,
    admin: String,
    event: Value,
}

async fn queuing_only(port: u16) -> Queuing {
    let app = TestApp::spawn_with(move |s| {
        smtp_on(s, port);
        s.mail.run_worker = false;
    })
    .await;
    let organiser = app.organiser_token().await;
    let admin = app.admin_token().await;
    let event = app.create_published_event(&organiser, json!({})).await;
    Queuing { app, organiser, admin, event }
}

/// How many different Message-IDs the server received.
fn distinct_ids(received: &[Received]) -> usize {
    let mut ids: Vec<String> = received.iter().map(Received::message_id).collect();
    ids.sort();
    ids.dedup();
    ids.len()
}

#[tokio::test]
async fn messages_claimed_by_a_worker_that_died_are_sent_after_the_lease() {
    let smtp = TestSmtp::start();
    let port = smtp.port;
    let Queuing { app, admin, event, .. } = queuing_only(port).await;
    for i in 0..3 {
        app.register(&id(&event), person("Lease", &format!("lease{i}@example.org"))).await.assert_status(StatusCode::CREATED);
    }
    // A worker claims them and dies before sending.
    let db = carefair::store::Db::connect(&app.database_url, 1).await.unwrap_or_else(|e| panic!("{e}"));
    let lease = Duration::seconds(carefair::service::mail_worker::LEASE_SECS);
    let claimed = carefair::service::outbox::claim(&db.write, app.clock.now(), lease, 100).await;
    assert_eq!(claimed.map(|c| c.len()).unwrap_or_default(), 3);
    db.close().await;
    assert_eq!(outbox(&app, &admin, "sending").await.len(), 3);

    let _worker = app.spawn_sharing_with(move |s| smtp_on(s, port)).await;
    if app.is_postgres() {
        // Another process may still be alive: a live worker leaves them alone while the lease
        // holds (30 s), then sends each once.
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        assert!(smtp.received().is_empty(), "sent while another worker held them");
        app.clock.advance(lease + Duration::seconds(1));
    }
    // On SQLite one process owns the database: a starting worker takes them back at once.
    smtp.wait_for(3).await;
    wait_outbox(&app, &admin, "sent", 3).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(smtp.received().len(), 3);
}

#[tokio::test]
async fn three_workers_deliver_a_thousand_invitations_each_once() {
    let smtp = TestSmtp::start();
    let port = smtp.port;
    let Queuing { app, organiser, admin, event } = queuing_only(port).await;
    // The workers start first: on SQLite a starting worker takes back every claimed message
    // (one process owns the database), so one that started mid-round would send again.
    let mut workers = Vec::new();
    for _ in 0..3 {
        workers.push(app.spawn_sharing_with(move |s| smtp_on(s, port)).await);
    }
    let recipients: Vec<Value> =
        (0..1000).map(|i| json!({"name": format!("Guest {i}"), "email": format!("guest{i}@example.org")})).collect();
    let answer = app.post(&format!("/api/v1/events/{}/invitations", id(&event)), Some(&organiser), json!({"recipients": recipients})).await;
    answer.assert_status(StatusCode::ACCEPTED);
    assert_eq!(answer.json["queued"], json!(1000));
    smtp.wait_for(1000).await;
    wait_outbox(&app, &admin, "sent", 200).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let received = smtp.received();
    assert_eq!((received.len(), distinct_ids(&received)), (1000, 1000), "every invitation exactly once");
    let mut to: Vec<String> = received.iter().flat_map(|m| m.to.clone()).collect();
    to.sort();
    to.dedup();
    assert_eq!(to.len(), 1000);
    let pending = outbox(&app, &admin, "pending").await.len() + outbox(&app, &admin, "sending").await.len();
    assert_eq!(pending, 0);
}

/// The path and query of an RSVP link in a message's text.
fn rsvp_link(message: &Received, answer: &str) -> String {
    let text = message.parsed().body_text(0).unwrap_or_default().into_owned();
    let link = text.split_whitespace().find(|w| w.contains("/rsvp/") && w.ends_with(&format!("answer={answer}")));
    let link = link.unwrap_or_else(|| panic!("no {answer} link in {text}"));
    link.split_once("://").and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_owned())).unwrap_or_default()
}

#[tokio::test]
async fn invitations_carry_rsvp_links_that_answer_once() {
    let smtp = TestSmtp::start();
    let app = mail_app(&smtp).await;
    let organiser = app.organiser_token().await;
    let event = app.create_published_event(&organiser, json!({"capacity": 1})).await;
    let path = format!("/api/v1/events/{}/invitations", id(&event));
    let body = json!({
        "recipients": [
            {"name": "Ann", "email": "ann@example.org"},
            {"name": "Bob", "email": "bob@example.org"},
            {"name": "Ann again", "email": "ANN@example.org"},
            {"name": "Cat", "email": "cat@example.org"},
        ],
        "message": "We would love to see you there.",
    });
    let answer = app.post(&path, Some(&organiser), body).await;
    answer.assert_status(StatusCode::ACCEPTED);
    assert_eq!(answer.json["queued"], json!(3), "duplicates collapsed");
    smtp.wait_for(3).await;
    let ann = smtp.to("ann@example.org").remove(0);
    let parsed = ann.parsed();
    assert_eq!(parsed.subject(), Some("You are invited: Chelmsford Care Jobs Fair"));
    assert_eq!(parsed.header_raw("List-Unsubscribe").map(str::trim), Some("<mailto:events@carefair.invalid?subject=unsubscribe>"));
    assert!(parsed.body_text(0).unwrap_or_default().contains("We would love to see you there."));
    let ics = assert_imip(&ann, "REQUEST", &id(&event), 0, "ann@example.org");
    assert!(ics.calendar.events[0].properties.iter().any(|p| p.name == "ATTENDEE"
        && p.params.as_ref().is_some_and(|ps| ps.iter().any(|(k, v)| k == "RSVP" && v == &vec!["TRUE".to_owned()]))));

    // The link opens a page that asks, and GET or HEAD (a mail scanner, a link checker)
    // answers nothing.
    let accept = rsvp_link(&ann, "accept");
    assert!(accept.starts_with("/rsvp/"), "{accept}");
    let page = app.get(&accept, None).await;
    page.assert_status(StatusCode::OK);
    assert!(
        page.text.contains("Will you come to Chelmsford Care Jobs Fair?") && page.text.contains("value=\"accept\" checked"),
        "{}",
        page.text
    );
    let head = app.client.head(app.url(&accept)).send().await.map(|r| r.status()).ok();
    assert_eq!(head, Some(StatusCode::OK));
    assert_eq!(app.count_rows("SELECT COUNT(*) AS n FROM registrations").await, 0, "reading the link booked nothing");
    assert_eq!(app.count_rows("SELECT COUNT(*) AS n FROM invitations WHERE answer IS NOT NULL").await, 0);

    // Answering is a POST: accepting books the place, once; the same answer again changes
    // nothing; the other is a 409.
    let api = |link: &str| link.split('?').next().unwrap_or_default().replacen("/rsvp/", "/api/v1/rsvp/", 1);
    let first = app.post(&api(&accept), None, json!({"answer": "accept"})).await;
    first.assert_status(StatusCode::OK);
    assert_eq!(first.json["answer"], json!("accepted"));
    assert_eq!(first.json["registration"]["status"], json!("confirmed"));
    assert_eq!(first.json["already_answered"], json!(false));
    let again = app.post(&api(&accept), None, json!({"answer": "accept"})).await;
    again.assert_status(StatusCode::OK);
    assert_eq!(again.json["already_answered"], json!(true));
    app.post(&api(&rsvp_link(&ann, "decline")), None, json!({"answer": "decline"})).await.assert_problem(StatusCode::CONFLICT);
    let answered = app.get(&accept, None).await;
    assert!(answered.text.contains("You have already answered: yes"), "{}", answered.text);
    let confirmation = smtp.wait_for(4).await;
    assert!(confirmation.iter().any(|m| m.parsed().subject().is_some_and(|s| s.starts_with("Your place is booked"))));

    // The event is now full: Bob's acceptance waitlists him. Cat declines.
    let bob = app.post(&api(&rsvp_link(&smtp.to("bob@example.org").remove(0), "accept")), None, json!({"answer": "accept"})).await;
    assert_eq!(bob.json["registration"]["status"], json!("waitlisted"));
    let cat = app.post(&api(&rsvp_link(&smtp.to("cat@example.org").remove(0), "decline")), None, json!({"answer": "decline"})).await;
    cat.assert_status(StatusCode::OK);
    assert_eq!(cat.json["answer"], json!("declined"));
    assert!(cat.json["registration"].is_null());
    let registrations = app.get(&format!("/api/v1/events/{}/registrations", id(&event)), Some(&organiser)).await;
    assert_eq!(registrations.json["total"], json!(2));

    // Bad links and answers.
    app.post("/api/v1/rsvp/not-a-token", None, json!({"answer": "accept"})).await.assert_problem(StatusCode::NOT_FOUND);
    app.post(&api(&accept), None, json!({"answer": "maybe"})).await.assert_invalid(&["answer"]);
    app.get("/rsvp/not-a-token", None).await.assert_status(StatusCode::NOT_FOUND);
    let old_way = app.get(&format!("{}?answer=accept", api(&accept)), None).await;
    assert!(old_way.status == StatusCode::METHOD_NOT_ALLOWED || old_way.status == StatusCode::NOT_FOUND, "{}", old_way.status);
}

#[tokio::test]
async fn bad_invitations_are_refused_and_queue_nothing() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    let admin = app.admin_token().await;
    let event = app.create_published_event(&organiser, json!({})).await;
    let path = format!("/api/v1/events/{}/invitations", id(&event));
    let ok = json!({"recipients": [{"name": "Ann", "email": "ann@example.org"}]});

    let bad = json!({"recipients": [
        {"name": "Ann", "email": "ann@example.org"},
        {"name": "Bob", "email": "not an address"},
        {"name": "Cat\r\nBcc: evil@example.org", "email": "cat@example.org"},
        {"name": "x".repeat(5000), "email": "dan@example.org"},
    ], "message": "y".repeat(3000)});
    app.post(&path, Some(&organiser), bad).await.assert_invalid(&[
        "message",
        "recipients[1].email",
        "recipients[2].name",
        "recipients[3].name",
    ]);
    app.post(&path, Some(&organiser), json!({"recipients": []})).await.assert_invalid(&["recipients"]);
    let too_many: Vec<Value> = (0..1001).map(|i| json!({"name": "G", "email": format!("g{i}@example.org")})).collect();
    app.post(&path, Some(&organiser), json!({"recipients": too_many})).await.assert_invalid(&["recipients"]);
    app.post(&path, Some(&organiser), json!({"recipients": "everyone"})).await.assert_problem(StatusCode::UNPROCESSABLE_ENTITY);
    app.post(&path, None, ok.clone()).await.assert_problem(StatusCode::UNAUTHORIZED);
    let employer = app.user_token("employer").await;
    app.post(&path, Some(&employer), ok.clone()).await.assert_problem(StatusCode::FORBIDDEN);
    app.post(&format!("/api/v1/events/{}/invitations", uuid::Uuid::now_v7()), Some(&organiser), ok.clone())
        .await
        .assert_problem(StatusCode::NOT_FOUND);
    let draft = app.create_event(&organiser, json!({})).await;
    app.post(&format!("/api/v1/events/{}/invitations", id(&draft)), Some(&organiser), ok.clone())
        .await
        .assert_problem(StatusCode::CONFLICT);

    let answer = app.get("/api/v1/outbox", Some(&admin)).await;
    assert_eq!(answer.json["total"], json!(0), "nothing was queued");
    app.get("/api/v1/outbox", Some(&organiser)).await.assert_problem(StatusCode::FORBIDDEN);
    app.get("/api/v1/outbox?status=lost", Some(&admin)).await.assert_invalid(&["status"]);
}

#[tokio::test]
async fn a_reminder_goes_out_once_a_day_before_the_start() {
    let smtp = TestSmtp::start();
    let app = mail_app(&smtp).await;
    let organiser = app.organiser_token().await;
    // The tests start on Monday 4 January 2027 at 09:00; this event starts two days later.
    let event = app
        .create_published_event(&organiser, json!({"starts_at": "2027-01-06T10:00:00Z", "ends_at": "2027-01-06T12:00:00Z", "capacity": 1}))
        .await;
    app.register(&id(&event), person("Ann", "ann@example.org")).await.assert_status(StatusCode::CREATED);
    app.register(&id(&event), person("Bob", "bob@example.org")).await.assert_status(StatusCode::CREATED);
    smtp.wait_for(2).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(smtp.received().len(), 2, "no reminder two days before");

    app.clock.advance(Duration::hours(25) + Duration::minutes(1));
    let all = smtp.wait_for(3).await;
    let reminder = all.iter().find(|m| m.parsed().subject().is_some_and(|s| s.starts_with("Tomorrow:"))).cloned().unwrap_or_default();
    assert_eq!(reminder.to, vec!["ann@example.org".to_owned()], "the confirmed only");
    assert_imip(&reminder, "REQUEST", &id(&event), 0, "ann@example.org");
    // Its manage link works.
    let text = reminder.parsed().body_text(0).unwrap_or_default().into_owned();
    let link = text.split_whitespace().find(|w| w.contains("/r/")).unwrap_or_default();
    let token = link.rsplit('/').next().unwrap_or_default();
    app.get(&format!("/api/v1/registrations/{token}"), None).await.assert_status(StatusCode::OK);

    app.clock.advance(Duration::hours(1));
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(smtp.received().len(), 3, "reminded once");
}

#[tokio::test]
async fn the_file_transport_writes_eml_files() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mail_dir = dir.path().join("mail");
    let configured = mail_dir.display().to_string();
    let app = TestApp::spawn_with(move |s| s.mail.file_dir = configured).await;
    let organiser = app.organiser_token().await;
    let event = app.create_published_event(&organiser, json!({})).await;
    app.register(&id(&event), person("Ann", "ann@example.org")).await.assert_status(StatusCode::CREATED);
    let mut files = Vec::new();
    for _ in 0..100 {
        files = std::fs::read_dir(&mail_dir).map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect()).unwrap_or_default();
        if !files.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].extension().and_then(|e| e.to_str()), Some("eml"));
    let raw = std::fs::read(&files[0]).unwrap_or_default();
    let message = Received { to: vec![], data: raw };
    assert_imip(&message, "REQUEST", &id(&event), 0, "ann@example.org");
}

#[tokio::test]
async fn organisations_are_told_of_approval_links_and_stands_in_plain_multipart_mail() {
    let smtp = TestSmtp::start();
    let app = mail_app(&smtp).await;
    let organiser = app.organiser_token().await;
    let body = json!({
        "name": "Oak <Lodge> Care", "provider_type": "residential", "address": "1 High Street, Chelmsford", "postcode": "CM1 1AA",
        "latitude": 51.7, "longitude": 0.4, "contact_name": "Priya Shah", "contact_email": "priya@oaklodge.example",
        "user": {"email": "login@oaklodge.example", "name": "Priya", "password": crate::helpers::PASSWORD}
    });
    let employer = id(&app.post("/api/v1/employers/signup", None, body).await.json);
    app.post(&format!("/api/v1/employers/{employer}/approve"), Some(&organiser), json!({})).await.assert_status(StatusCode::OK);
    let school = id(&app.create_school(&organiser, "100001", "Chelmer Academy", (51.71, 0.41)).await);
    app.link(&organiser, &employer, &school).await;
    let fair = id(&app.create_published_event(&organiser, json!({})).await);
    let stand =
        app.post(&format!("/api/v1/events/{fair}/exhibitors"), Some(&organiser), json!({"employer_id": employer, "staff_count": 2})).await;
    app.post(&format!("/api/v1/events/{fair}/exhibitors/{}/confirm", id(&stand.json)), Some(&organiser), json!({"stand_label": "B7"}))
        .await
        .assert_status(StatusCode::OK);

    let received = smtp.wait_for(5).await;
    let subjects: Vec<(String, String)> =
        received.iter().map(|m| (m.to.join(","), m.parsed().subject().unwrap_or_default().to_owned())).collect();
    for want in [
        ("priya@oaklodge.example", "We have your details: Oak <Lodge> Care"),
        ("priya@oaklodge.example", "Oak <Lodge> Care is approved for Gift of Care"),
        ("careers-100001@school.test", "Oak <Lodge> Care would like to work with Chelmer Academy"),
        ("priya@oaklodge.example", "Chelmer Academy accepted the link with Oak <Lodge> Care"),
        ("priya@oaklodge.example", "Your stand at Chelmsford Care Jobs Fair is confirmed"),
    ] {
        assert!(subjects.contains(&(want.0.to_owned(), want.1.to_owned())), "{want:?} not in {subjects:#?}");
    }
    for message in &received {
        let parsed = message.parsed();
        assert_eq!(structure(&parsed), "multipart/alternative{text/plain,text/html}", "{}", message.text());
        let html = parsed.body_html(0).unwrap_or_default().into_owned();
        assert!(!html.contains("<Lodge>"), "escaped in HTML: {html}");
    }
    let confirmed = received
        .iter()
        .find(|m| m.parsed().subject().is_some_and(|s| s.contains("stand")))
        .map(|m| m.parsed().body_text(0).unwrap_or_default().into_owned());
    let confirmed = confirmed.unwrap_or_default();
    assert!(confirmed.contains("stand B7") && confirmed.contains("Tuesday 5 January 2027, 10:00 to 13:00"), "{confirmed}");
}

/// A batch of registrations renders each subject once per kind and title: the confirmed and the
/// waitlisted of one rush each get their own kind's subject, with the event's title.
#[tokio::test]
async fn a_rush_queues_each_kind_with_its_own_subject() {
    let smtp = TestSmtp::start();
    let app = TestApp::spawn_with(move |s| {
        smtp_on(s, smtp.port);
        s.mail.run_worker = false;
    })
    .await;
    let organiser = app.organiser_token().await;
    let event = app.create_published_event(&organiser, json!({"title": "Subject & <Fair>", "capacity": 2})).await;
    let id = event["id"].as_str().unwrap_or_default().to_owned();
    let mut handles = Vec::new();
    for i in 0..6 {
        let req =
            app.client.post(app.url(&format!("/api/v1/events/{id}/registrations"))).json(&person("Subject", &format!("s{i}@example.org")));
        handles.push(tokio::spawn(async move { req.send().await.map(|r| r.status()).ok() }));
    }
    for h in handles {
        assert_eq!(h.await.ok().flatten(), Some(StatusCode::CREATED));
    }
    let subjects = app.outbox_by_kind("subject").await;
    let confirmed = ("registration_confirmed".to_owned(), "Your place is booked: Subject & <Fair>".to_owned());
    let waitlisted = ("registration_waitlisted".to_owned(), "You are on the waiting list: Subject & <Fair>".to_owned());
    assert_eq!(subjects, vec![confirmed.clone(), confirmed, waitlisted.clone(), waitlisted.clone(), waitlisted.clone(), waitlisted]);
}
