//! From a booking to a hire: consent to share one's details with the employers at a fair,
//! outcomes recorded by employers with a confirmed stand for those who agreed and came (refused
//! otherwise, nothing recorded), and the campaign's funnel, each person counted once.

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::chromium::Browser;
use crate::helpers::{PASSWORD, TestApp, id_of};
use crate::visitor::Visitor;

fn at(time: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(time).map(|t| t.to_utc()).unwrap_or_default()
}

/// A campaign's fair with employer A's confirmed stand: its ids and tokens.
pub struct Fair {
    pub campaign: String,
    pub event: String,
    pub employer: String,
    pub employer_user: String,
    pub organiser: String,
}

pub async fn fair_with_stand(app: &TestApp) -> Fair {
    let organiser = app.organiser_token().await;
    let campaign = id_of(&app.create_campaign(&organiser, "gift-of-care").await);
    let event = id_of(&app.create_published_event(&organiser, json!({"campaign_id": campaign, "capacity": 10, "max_exhibitors": 5})).await);
    let employer = id_of(&app.create_employer(&organiser, "Alder Care", (51.7, 0.4)).await);
    let employer_user = app.member_token("employer", &employer).await;
    let path = format!("/api/v1/events/{event}/exhibitors");
    let stand = app.post(&path, Some(&employer_user), json!({"employer_id": employer, "staff_count": 2})).await;
    stand.assert_status(StatusCode::CREATED);
    app.post(&format!("{path}/{}/confirm", id_of(&stand.json)), Some(&organiser), json!({"stand_label": "A1"}))
        .await
        .assert_status(StatusCode::OK);
    Fair { campaign, event, employer, employer_user, organiser }
}

fn registering(name: &str, email: &str, share: bool, answers: Value) -> Value {
    json!({"name": name, "email": email, "consent_marketing": false, "consent_share_with_employers": share, "answers": answers})
}

#[tokio::test]
async fn outcomes_are_recorded_only_for_attendees_who_agreed_and_the_funnel_counts_each_person_once() {
    let app = TestApp::spawn().await;
    let fair = fair_with_stand(&app).await;
    let (event, organiser) = (fair.event.clone(), fair.organiser.clone());
    let question = app
        .post(
            &format!("/api/v1/events/{event}/questions"),
            Some(&organiser),
            json!({"label": "Are you New to Care?", "kind": "yes_no", "purpose": "To count who the campaign brings in."}),
        )
        .await;
    let question = id_of(&question.json);
    let ann = app.register(&event, registering("Ann Lee", "ann@example.org", true, json!({question.clone(): true}))).await;
    let ben = app.register(&event, registering("Ben Ode", "ben@example.org", false, json!({question.clone(): "no"}))).await;
    let cal = app.register(&event, registering("Cal Dee", "cal@example.org", true, json!({question.clone(): "yes"}))).await;
    let (ann, ben, cal) = (id_of(&ann.json), id_of(&ben.json), id_of(&cal.json));
    // Consent is off unless given.
    let dee = app.register(&event, json!({"name": "Dee Fay", "email": "dee@example.org", "consent_marketing": false})).await;
    let dee = id_of(&dee.json);
    app.clock.set(at("2027-01-05T09:30:00Z"));
    // Tokens made at the start of the tests have expired by the fair's morning.
    let organiser = app.organiser_token().await;
    let fair = Fair { employer_user: app.member_token("employer", &fair.employer).await, organiser: organiser.clone(), ..fair };
    for held in [&ann, &ben, &dee] {
        let path = format!("/api/v1/events/{event}/registrations/{held}/check-in");
        app.post(&path, Some(&organiser), json!({})).await.assert_status(StatusCode::OK);
    }

    // The employer sees only those who came and agreed.
    let listed = app.get(&format!("/api/v1/events/{event}/outcomes?employer_id={}", fair.employer), Some(&fair.employer_user)).await;
    listed.assert_status(StatusCode::OK);
    let names: Vec<&str> = listed.json.as_array().into_iter().flatten().filter_map(|a| a["name"].as_str()).collect();
    assert_eq!(names, ["Ann Lee"], "{}", listed.text);
    assert_eq!(listed.json[0]["email"], "ann@example.org");

    let path = format!("/api/v1/events/{event}/outcomes");
    let stage = |who: &str, stage: &str| json!({"registration_id": who, "employer_id": fair.employer, "stage": stage});
    // Refusals change nothing.
    app.post(&path, None, stage(&ann, "met")).await.assert_problem(StatusCode::UNAUTHORIZED);
    let school = app.user_token("school").await;
    app.post(&path, Some(&school), stage(&ann, "met")).await.assert_problem(StatusCode::FORBIDDEN);
    app.post(&path, Some(&fair.employer_user), stage(&ann, "hired")).await.assert_invalid(&["stage"]);
    let mut long = stage(&ann, "met");
    long["note"] = json!("x".repeat(1_001));
    app.post(&path, Some(&fair.employer_user), long).await.assert_invalid(&["note"]);
    app.post(&path, Some(&fair.employer_user), stage(&ben, "met")).await.assert_problem(StatusCode::CONFLICT);
    app.post(&path, Some(&fair.employer_user), stage(&dee, "met")).await.assert_problem(StatusCode::CONFLICT);
    app.post(&path, Some(&fair.employer_user), stage(&cal, "met")).await.assert_problem(StatusCode::CONFLICT);
    // Another employer: its own id without a stand is refused; naming A is not found.
    let other = id_of(&app.create_employer(&organiser, "Birch Homes", (51.8, 0.5)).await);
    let other_user = app.member_token("employer", &other).await;
    app.post(&path, Some(&other_user), stage(&ann, "met")).await.assert_problem(StatusCode::NOT_FOUND);
    let mut own = stage(&ann, "met");
    own["employer_id"] = json!(other);
    app.post(&path, Some(&other_user), own.clone()).await.assert_problem(StatusCode::FORBIDDEN);
    app.post(&path, Some(&organiser), own).await.assert_problem(StatusCode::CONFLICT);
    app.get(&format!("{path}?employer_id={}", fair.employer), Some(&other_user)).await.assert_problem(StatusCode::NOT_FOUND);
    assert_eq!(app.count_rows("SELECT COUNT(*) AS n FROM outcomes").await, 0);

    // Recorded, each stage once.
    let mut met = stage(&ann, "met");
    met["note"] = json!("Keen on <i>nights</i>; =call back");
    let made = app.post(&path, Some(&fair.employer_user), met.clone()).await;
    made.assert_status(StatusCode::CREATED);
    assert_eq!(made.json["recorded_by"], "A employer");
    app.post(&path, Some(&fair.employer_user), met).await.assert_problem(StatusCode::CONFLICT);
    app.post(&path, Some(&fair.employer_user), stage(&ann, "interviewed")).await.assert_status(StatusCode::CREATED);
    app.post(&path, Some(&organiser), stage(&ann, "offered")).await.assert_status(StatusCode::CREATED);
    app.post(&path, Some(&organiser), stage(&ann, "started")).await.assert_status(StatusCode::CREATED);
    let listed = app.get(&format!("{path}?employer_id={}", fair.employer), Some(&organiser)).await;
    let stages: Vec<&str> = listed.json[0]["outcomes"].as_array().into_iter().flatten().filter_map(|o| o["stage"].as_str()).collect();
    assert_eq!(stages, ["met", "interviewed", "offered", "started"]);

    // The organisers' page has every stand's counts and every stage recorded; it is theirs only.
    let page = format!("/manage/events/{event}/outcomes");
    let mut staff = Visitor::new(&app);
    staff.sign_in(&crate::visitor::user(&app, "organiser").await, PASSWORD, "").await;
    let shown = staff.get(&page).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert!(shown.html.contains("3 people came; 1 agreed"), "{}", shown.html);
    let row = shown.html.split("Alder Care").nth(1).and_then(|r| r.split("</tr>").next()).unwrap_or_default().to_owned();
    assert_eq!(row.matches(r#"numeric">1</td>"#).count(), 4, "one person at each stage: {row}");
    assert!(shown.html.contains("Keen on &lt;i&gt;nights") && shown.html.contains("Offered a job"), "{}", shown.html);
    assert!(!shown.html.contains("<i>nights"), "a note is text, never markup");
    let mut employer_page = Visitor::new(&app);
    employer_page.sign_in(&crate::visitor::member(&app, "employer", &fair.employer).await, PASSWORD, "").await;
    assert_eq!(employer_page.get(&page).await.status, StatusCode::NOT_FOUND, "not an employer's page");
    let mut anonymous_visitor = Visitor::new(&app);
    let anonymous = anonymous_visitor.get(&page).await;
    assert!(anonymous.location.starts_with("/sign-in"), "{}", anonymous.location);

    // The funnel: each person once, at every step up to the furthest they reached.
    let report = app.get(&format!("/api/v1/reports/campaigns/{}", fair.campaign), Some(&organiser)).await;
    report.assert_status(StatusCode::OK);
    assert_eq!(report.json["funnel"], json!({"registered": 4, "attended": 3, "met": 1, "interviewed": 1, "offered": 1, "started": 1}));
    assert_eq!(report.json["new_to_care"], 2, "Ann and Cal said yes");

    // Erasing Ann clears the note about her; the figures stand.
    let export = app.get(&format!("/api/v1/events/{event}/registrations"), Some(&organiser)).await;
    let ann_candidate =
        export.json["items"].as_array().into_iter().flatten().find(|i| i["name"] == "Ann Lee").map(|i| i["candidate_id"].clone());
    let ann_candidate = ann_candidate.and_then(|c| c.as_str().map(str::to_owned)).unwrap_or_default();
    app.delete(&format!("/api/v1/candidates/{ann_candidate}"), Some(&organiser)).await.assert_status(StatusCode::NO_CONTENT);
    assert_eq!(app.count_rows("SELECT COUNT(*) AS n FROM outcomes WHERE note IS NOT NULL").await, 0);
    let report = app.get(&format!("/api/v1/reports/campaigns/{}", fair.campaign), Some(&organiser)).await;
    assert_eq!(report.json["funnel"]["started"], 1);
    let listed = app.get(&format!("{path}?employer_id={}", fair.employer), Some(&fair.employer_user)).await;
    assert_eq!(listed.json, json!([]), "an erased person is no longer shown");
    let shown = staff.get(&page).await;
    assert!(shown.html.contains("Details erased") && !shown.html.contains("Ann Lee") && !shown.html.contains("call back"));
}

#[tokio::test]
async fn a_candidate_agrees_on_the_form_and_the_employer_records_how_it_went_in_chromium() {
    let app = TestApp::spawn().await;
    let fair = fair_with_stand(&app).await;
    let event = fair.event.clone();

    // The form's consent box, on a phone: off unless ticked.
    let Some(phone) = Browser::start(true).await else { return };
    phone.goto(&app.url(&format!("/events/{event}"))).await;
    assert!(
        phone.text_with("Share my name and email address with the employers at this fair").await.contains("Only employers with a stand")
    );
    phone.type_into("#f-name", "Ann Lee").await;
    phone.type_into("#f-email", "ann@example.org").await;
    phone.click("#f-consent_share_with_employers").await;
    phone.screenshot("phone-event-consent").await;
    phone.click("form[action$='/register'] button[type=submit]").await;
    assert!(phone.text_with("Your place is booked").await.contains("Your place is booked"));
    app.register(&event, json!({"name": "Ben Ode", "email": "ben@example.org", "consent_marketing": false}))
        .await
        .assert_status(StatusCode::CREATED);

    app.clock.set(at("2027-01-05T09:30:00Z"));
    let organiser = app.organiser_token().await;
    let list = app.get(&format!("/api/v1/events/{event}/registrations"), Some(&organiser)).await;
    for item in list.json["items"].as_array().into_iter().flatten() {
        let path = format!("/api/v1/events/{event}/registrations/{}/check-in", item["id"].as_str().unwrap_or_default());
        app.post(&path, Some(&organiser), json!({})).await.assert_status(StatusCode::OK);
    }

    // The employer's page: only Ann; a forged form changes nothing; another employer finds nothing.
    let people = format!("/employer/people/{event}");
    let mut outsider = Visitor::new(&app);
    let other = id_of(&app.create_employer(&organiser, "Birch Homes", (51.8, 0.5)).await);
    let other_email = crate::visitor::member(&app, "employer", &other).await;
    outsider.sign_in(&other_email, PASSWORD, "").await;
    assert_eq!(outsider.get(&people).await.status, StatusCode::NOT_FOUND, "an employer without a stand there");
    let email = crate::visitor::member(&app, "employer", &fair.employer).await;
    let mut visitor = Visitor::new(&app);
    visitor.sign_in(&email, PASSWORD, "").await;
    let page = visitor.get(&people).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains("Ann Lee") && !page.html.contains("Ben Ode"), "{}", page.html);
    let ann = list.json["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| i["name"] == "Ann Lee")
        .map(|i| i["id"].as_str().unwrap_or_default().to_owned());
    let ann = ann.unwrap_or_default();
    let forged = visitor.post(&people, &[("csrf", "0"), ("registration_id", &ann), ("stage", "met")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(app.count_rows("SELECT COUNT(*) AS n FROM outcomes").await, 0);

    phone.sign_in(&app.url("/sign-in"), &email, PASSWORD, "Sign out").await;
    phone.goto(&app.url("/employer/stands")).await;
    phone.click(&format!("a[href='{people}']")).await;
    assert!(phone.text_with("People you can follow up").await.contains("Nothing recorded yet"));
    phone.screenshot("phone-employer-people").await;
    phone.type_into(&format!("#f-note-{ann}"), "Keen on night shifts").await;
    phone.click(&format!("form[action='{people}'] button[type=submit]")).await;
    let text = phone.text_with("Recorded.").await;
    assert!(text.contains("Met") && text.contains("Keen on night shifts"), "{text}");
    phone.screenshot("phone-employer-people-recorded").await;
    phone.close().await;

    // The organisers' report draws the funnel with its table.
    let Some(desktop) = Browser::start(false).await else { return };
    let staff = crate::visitor::user(&app, "organiser").await;
    desktop.sign_in(&app.url("/sign-in"), &staff, PASSWORD, "Dashboard").await;
    desktop.goto(&app.url(&format!("/manage/reports?campaign={}", fair.campaign))).await;
    let text = desktop.text_with("From a booking to a hire").await;
    assert!(text.contains("The figures of the funnel") && text.contains("offered a job"), "{text}");
    let report = app.get(&format!("/api/v1/reports/campaigns/{}", fair.campaign), Some(&organiser)).await;
    assert_eq!(report.json["funnel"], json!({"registered": 2, "attended": 2, "met": 1, "interviewed": 0, "offered": 0, "started": 0}));
    desktop.screenshot("desktop-report-funnel").await;
    desktop.goto(&app.url(&format!("/manage/events/{event}"))).await;
    desktop.click(&format!("a[href='/manage/events/{event}/outcomes']")).await;
    let text = desktop.text_with("What came of the fair").await;
    assert!(text.contains("Alder Care") && text.contains("Keen on night shifts") && text.contains("Ann Lee"), "{text}");
    desktop.screenshot("desktop-manage-outcomes").await;
    desktop.close().await;
}
