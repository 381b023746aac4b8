//! Feedback: one mail to each attendee once an event ends (with the injected clock), a link of
//! their own to rate it once (again is a 409), the results for organisers alone, and a comment
//! erased with its writer.

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::json;

use crate::chromium::Browser;
use crate::helpers::{TestApp, id_of, person};
use crate::visitor::Visitor;

fn at(time: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(time).map(|t| t.to_utc()).unwrap_or_default()
}

/// The feedback link in the mail to `name` (waiting for it).
async fn feedback_link(app: &TestApp, name: &str) -> String {
    for _ in 0..200 {
        let found = app.mail_texts().into_iter().find(|t| t.contains(&format!("Dear {name},")) && t.contains("/feedback/"));
        if let Some(text) = found {
            let link = text.split_whitespace().find(|w| w.contains("/feedback/")).unwrap_or_default();
            return link.rsplit('/').next().unwrap_or_default().trim().to_owned();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no feedback mail to {name}");
}

/// A fair (5 January 2027, 10:00 to 13:00) with Ann and Ben checked in and Cal not.
async fn fair_with_attendees(app: &TestApp) -> (String, String) {
    let (event, _) = app.published_fair(10).await;
    let ann = app.register(&event, person("Ann Lee", "ann@example.org")).await;
    let ben = app.register(&event, person("Ben Ode", "ben@example.org")).await;
    app.register(&event, person("Cal Dee", "cal@example.org")).await.assert_status(StatusCode::CREATED);
    app.clock.set(at("2027-01-05T09:30:00Z"));
    let organiser = app.organiser_token().await;
    for held in [&ann, &ben] {
        let path = format!("/api/v1/events/{event}/registrations/{}/check-in", id_of(&held.json));
        app.post(&path, Some(&organiser), json!({})).await.assert_status(StatusCode::OK);
    }
    (event, organiser)
}

fn feedback_mails(app: &TestApp) -> Vec<String> {
    app.mail_texts().into_iter().filter(|t| t.contains("/feedback/")).collect()
}

#[tokio::test]
async fn each_attendee_is_asked_once_after_the_end_and_answers_once() {
    let app = TestApp::spawn().await;
    let (event, organiser) = fair_with_attendees(&app).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(feedback_mails(&app).is_empty(), "nobody is asked before the end");

    app.clock.set(at("2027-01-05T13:01:00Z"));
    let ann = feedback_link(&app, "Ann Lee").await;
    let ben = feedback_link(&app, "Ben Ode").await;
    assert_eq!(ann.len(), 64);
    app.clock.set(at("2027-01-05T14:00:00Z"));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let mails = feedback_mails(&app);
    assert_eq!(mails.len(), 2, "one each, and none to Cal, who did not come: {mails:?}");
    assert!(mails.iter().all(|m| m.contains("Thank you for coming to Chelmsford Care Jobs Fair")), "{mails:?}");
    let raw: Vec<String> =
        app.mail_raw().iter().map(|m| String::from_utf8_lossy(m).into_owned()).filter(|m| m.contains("What did you think of")).collect();
    assert_eq!(raw.len(), 2);
    assert!(!raw.iter().any(|m| m.contains("text/calendar")), "no calendar travels with it");

    // Bad input changes nothing; the answer is taken once.
    let path = |token: &str| format!("/api/v1/feedback/{token}");
    app.post(&path(&ann), None, json!({"rating": 6})).await.assert_invalid(&["rating"]);
    app.post(&path(&ann), None, json!({"rating": 0, "comment": "x".repeat(2_001)})).await.assert_invalid(&["comment", "rating"]);
    app.post(&path(&"0".repeat(64)), None, json!({"rating": 3})).await.assert_problem(StatusCode::NOT_FOUND);
    assert_eq!(app.count_rows("SELECT COUNT(*) AS n FROM feedback").await, 0);
    app.post(&path(&ann), None, json!({"rating": 4, "comment": "=1+1 <b>Friendly</b>\r\nstands"}))
        .await
        .assert_status(StatusCode::NO_CONTENT);
    app.post(&path(&ann), None, json!({"rating": 1})).await.assert_problem(StatusCode::CONFLICT);
    app.post(&path(&ben), None, json!({"rating": 5})).await.assert_status(StatusCode::NO_CONTENT);

    // The results: organisers only.
    let results = format!("/api/v1/events/{event}/feedback");
    app.get(&results, None).await.assert_problem(StatusCode::UNAUTHORIZED);
    let employer = app.user_token("employer").await;
    app.get(&results, Some(&employer)).await.assert_problem(StatusCode::FORBIDDEN);
    let seen = app.get(&results, Some(&organiser)).await;
    seen.assert_status(StatusCode::OK);
    assert_eq!(seen.json["count"], 2);
    assert_eq!(seen.json["mean"], 4.5);
    assert_eq!(seen.json["distribution"], json!([0, 0, 0, 1, 1]));
    assert_eq!(seen.json["comments"][0]["comment"], "=1+1 <b>Friendly</b>\r\nstands");

    // Erasing Ann erases what she wrote, and her link; her rating stays in the figures.
    let list = app.get(&format!("/api/v1/events/{event}/registrations"), Some(&organiser)).await;
    let ann_candidate =
        list.json["items"].as_array().into_iter().flatten().find(|i| i["name"] == "Ann Lee").map(|i| i["candidate_id"].clone());
    let ann_candidate = ann_candidate.and_then(|c| c.as_str().map(str::to_owned)).unwrap_or_default();
    app.delete(&format!("/api/v1/candidates/{ann_candidate}"), Some(&organiser)).await.assert_status(StatusCode::NO_CONTENT);
    let seen = app.get(&results, Some(&organiser)).await;
    assert_eq!((seen.json["count"].clone(), seen.json["comments"].clone()), (json!(2), json!([])));
    app.post(&path(&ann), None, json!({"rating": 3})).await.assert_problem(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_feedback_page_asks_keeps_what_was_typed_and_thanks_in_chromium() {
    let app = TestApp::spawn().await;
    let (event, _organiser) = fair_with_attendees(&app).await;
    app.clock.set(at("2027-01-05T13:01:00Z"));
    let ann = feedback_link(&app, "Ann Lee").await;
    let page = format!("/feedback/{ann}");

    // Over HTTP: no rating chosen is said beside the field, the comment kept; a forged form
    // changes nothing.
    let mut visitor = Visitor::new(&app);
    let form = visitor.get(&page).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.html.contains("What did you think?"), "{}", form.html);
    let csrf = form.csrf();
    assert_eq!(visitor.post(&page, &[("csrf", "0"), ("rating", "5")]).await.status, StatusCode::FORBIDDEN);
    let wrong = visitor.post(&page, &[("csrf", &csrf), ("comment", "Kind <people>")]).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.html.contains(r#"id="f-rating-error""#) && wrong.html.contains("Kind &lt;people&gt;"), "{}", wrong.html);
    assert_eq!(app.count_rows("SELECT COUNT(*) AS n FROM feedback").await, 0);

    let Some(phone) = Browser::start(true).await else { return };
    phone.goto(&app.url(&page)).await;
    assert!(phone.text_with("How was the event?").await.contains("Chelmsford Care Jobs Fair"));
    phone.screenshot("phone-feedback").await;
    phone.click("#f-rating-2").await;
    phone.type_into("#f-comment", "Friendly stands, and I have an interview next week.").await;
    phone.click("form button[type=submit]").await;
    assert!(phone.text_with("Thank you").await.contains("Your feedback on Chelmsford Care Jobs Fair is recorded"));
    phone.screenshot("phone-feedback-thanks").await;
    phone.goto(&app.url(&page)).await;
    assert!(phone.text_with("already given").await.contains("You have already given your feedback"));
    phone.close().await;

    // The organisers' page: the chart's figures in a table, and the comment.
    let Some(desktop) = Browser::start(false).await else { return };
    let email = crate::visitor::user(&app, "organiser").await;
    desktop.sign_in(&app.url("/sign-in"), &email, crate::helpers::PASSWORD, "Dashboard").await;
    desktop.goto(&app.url(&format!("/manage/events/{event}/feedback"))).await;
    let text = desktop.text_with("Mean rating").await;
    assert!(text.contains("4.0 of 5") && text.contains("Friendly stands, and I have an interview next week."), "{text}");
    desktop.screenshot("desktop-feedback").await;
    desktop.close().await;
}
