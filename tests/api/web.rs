//! The HTML pages over HTTP: each page, each form outcome, CSRF refusal and escaping.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, id_of};

/// A page as a browser gets it.
struct Page {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    html: String,
}

impl Page {
    /// The hidden CSRF field's value.
    fn csrf(&self) -> String {
        let start = self.html.find(r#"name="csrf" value=""#).unwrap_or_else(|| panic!("no csrf field in {}", self.html)) + 19;
        self.html[start..].split('"').next().unwrap_or_default().to_owned()
    }

    /// The `name=value` of the cookie the page set.
    fn cookie(&self) -> String {
        let set = self.headers.get("set-cookie").and_then(|v| v.to_str().ok()).unwrap_or_else(|| panic!("no cookie set"));
        set.split(';').next().unwrap_or_default().to_owned()
    }
}

async fn get(app: &TestApp, path: &str, cookie: Option<&str>) -> Page {
    let mut req = app.client.get(app.url(path));
    if let Some(cookie) = cookie {
        req = req.header("cookie", cookie);
    }
    read(req.send().await.unwrap_or_else(|e| panic!("{e}"))).await
}

async fn post(app: &TestApp, path: &str, cookie: Option<&str>, form: &[(&str, &str)]) -> Page {
    let mut req = app.client.post(app.url(path)).form(form);
    if let Some(cookie) = cookie {
        req = req.header("cookie", cookie);
    }
    read(req.send().await.unwrap_or_else(|e| panic!("{e}"))).await
}

async fn read(resp: reqwest::Response) -> Page {
    let status = resp.status();
    let headers = resp.headers().clone();
    // The templates escape `/` as `&#x2f;` too (harmless in HTML, which reads it as `/`); the
    // assertions read the page as a browser would.
    Page { status, headers, html: resp.text().await.unwrap_or_default().replace("&#x2f;", "/") }
}

#[tokio::test]
async fn the_home_page_lists_upcoming_published_events_escaped_and_filtered() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    app.create_published_event(&organiser, json!({"title": "<script>alert(1)</script> fair"})).await;
    app.create_published_event(&organiser, json!({"title": "Training day", "kind": "training", "max_exhibitors": null})).await;
    app.create_event(&organiser, json!({"title": "Secret draft"})).await;

    let home = get(&app, "/", None).await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.headers.get("content-security-policy").and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("default-src 'none'")));
    assert!(home.html.contains("&lt;script&gt;alert(1)&lt;/script&gt; fair"), "{}", home.html);
    assert!(!home.html.contains("<script>"), "{}", home.html);
    assert!(home.html.contains("Training day") && !home.html.contains("Secret draft"));
    assert!(home.html.contains("Tuesday 5 January 2027, 10:00 to 13:00"));
    let training = get(&app, "/?kind=training", None).await;
    assert!(training.html.contains("Training day") && !training.html.contains("alert(1)"), "{}", training.html);
    let css = app.client.get(app.url("/static/govuk-frontend.min.css")).send().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(css.headers().get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/css")));
    assert_eq!(get(&app, &format!("/events/{}", uuid::Uuid::now_v7()), None).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_candidate_books_sees_and_cancels_a_place_through_the_pages() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    let venue = app.create_venue(&organiser, Some(300)).await;
    let fair = id_of(&app.create_published_event(&organiser, json!({"venue_id": id_of(&venue)})).await);
    let employer = id_of(&app.create_employer(&organiser, "Oak & Ash Care", (51.7, 0.4)).await);
    let stand = app
        .post(
            &format!("/api/v1/events/{fair}/exhibitors"),
            Some(&organiser),
            json!({"employer_id": employer, "staff_count": 2, "roles_offered": ["Night carer"]}),
        )
        .await;
    app.post(&format!("/api/v1/events/{fair}/exhibitors/{}/confirm", id_of(&stand.json)), Some(&organiser), json!({"stand_label": "A4"}))
        .await;

    let page = get(&app, &format!("/events/{fair}"), None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.html.contains("Oak &amp; Ash Care") && page.html.contains("stand A4") && page.html.contains("Night carer"),
        "{}",
        page.html
    );
    assert!(page.html.contains("openstreetmap.org") && page.html.contains(&format!("/calendar/events/{fair}.ics")));
    assert!(page.html.contains(r#"<label class="govuk-label" for="f-email">"#));
    let cookie = page.cookie();
    let set_cookie = page.headers.get("set-cookie").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"), "{set_cookie}");

    // Without the cookie the form is refused and nothing is booked.
    let forged =
        post(&app, &format!("/events/{fair}/register"), None, &[("csrf", &page.csrf()), ("name", "Eve"), ("email", "eve@example.org")])
            .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let forged = post(
        &app,
        &format!("/events/{fair}/register"),
        Some(&cookie),
        &[("csrf", "0".repeat(64).as_str()), ("name", "Eve"), ("email", "eve@example.org")],
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let listed = app.get(&format!("/api/v1/events/{fair}/registrations"), Some(&organiser)).await;
    assert_eq!(listed.json["total"], 0);

    // A mistake keeps what was typed and says what is wrong next to the field.
    let wrong = post(
        &app,
        &format!("/events/{fair}/register"),
        Some(&cookie),
        &[("csrf", &page.csrf()), ("name", "Ann \"Lee\""), ("email", "ann@")],
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.html.contains(r#"value="Ann &quot;Lee&quot;""#), "{}", wrong.html);
    assert!(wrong.html.contains(r#"id="f-email-error""#) && wrong.html.contains("There is a problem"), "{}", wrong.html);

    let booked = post(
        &app,
        &format!("/events/{fair}/register"),
        Some(&cookie),
        &[("csrf", &page.csrf()), ("name", "Ann Lee"), ("email", "ann@example.org"), ("consent_marketing", "yes")],
    )
    .await;
    assert_eq!(booked.status, StatusCode::CREATED, "{}", booked.html);
    assert!(booked.html.contains("Your place is booked"), "{}", booked.html);
    let manage = booked
        .html
        .split("href=\"/r/")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .map(|t| format!("/r/{t}"))
        .unwrap_or_else(|| panic!("no manage link"));
    let again = post(
        &app,
        &format!("/events/{fair}/register"),
        Some(&cookie),
        &[("csrf", &page.csrf()), ("name", "Ann Lee"), ("email", "ANN@example.org")],
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.html.contains("already has a place"), "{}", again.html);

    let held = get(&app, &manage, None).await;
    assert_eq!(held.status, StatusCode::OK);
    assert!(held.html.contains("Booked") && held.html.contains("Ann Lee"), "{}", held.html);
    assert_eq!(held.headers.get("referrer-policy").and_then(|v| v.to_str().ok()), Some("no-referrer"));
    let confirm = get(&app, &format!("{manage}/cancel"), Some(&cookie)).await;
    assert!(confirm.html.contains("Yes, cancel my place"));
    let cancelled = post(&app, &format!("{manage}/cancel"), Some(&cookie), &[("csrf", &confirm.csrf())]).await;
    assert_eq!(cancelled.status, StatusCode::OK);
    assert!(cancelled.html.contains("Your place is cancelled"), "{}", cancelled.html);
    let listed = app.get(&format!("/api/v1/events/{fair}/registrations?status=cancelled"), Some(&organiser)).await;
    assert_eq!(listed.json["total"], 1);
    assert_eq!(get(&app, "/r/nonsense", None).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn full_and_cancelled_events_say_so() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    let fair = id_of(&app.create_published_event(&organiser, json!({"capacity": 1})).await);
    app.register(&fair, crate::helpers::person("First", "first@example.org")).await.assert_status(StatusCode::CREATED);
    let page = get(&app, &format!("/events/{fair}"), None).await;
    assert!(page.html.contains("Join the waiting list"), "{}", page.html);
    let cookie = page.cookie();
    let waiting = post(
        &app,
        &format!("/events/{fair}/register"),
        Some(&cookie),
        &[("csrf", &page.csrf()), ("name", "Second"), ("email", "second@example.org")],
    )
    .await;
    assert_eq!(waiting.status, StatusCode::CREATED);
    assert!(waiting.html.contains("You are on the waiting list") && waiting.html.contains("number 1"), "{}", waiting.html);

    app.post(&format!("/api/v1/events/{fair}/cancel"), Some(&organiser), json!({"reason": "The hall flooded"}))
        .await
        .assert_status(StatusCode::OK);
    let cancelled = get(&app, &format!("/events/{fair}"), Some(&cookie)).await;
    assert!(cancelled.html.contains("This event is cancelled") && cancelled.html.contains("The hall flooded"), "{}", cancelled.html);
    assert!(!cancelled.html.contains("Book my place"));
    let late = post(
        &app,
        &format!("/events/{fair}/register"),
        Some(&cookie),
        &[("csrf", &page.csrf()), ("name", "Third"), ("email", "third@example.org")],
    )
    .await;
    assert_eq!(late.status, StatusCode::CONFLICT);
    assert!(late.html.contains("Sorry, this event is cancelled."), "{}", late.html);
}

#[tokio::test]
async fn an_event_not_yet_open_says_when_bookings_open_in_its_own_time() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    // 08:30 UTC in June is 09:30 in London.
    let changes =
        json!({"starts_at": "2027-06-08T10:00:00Z", "ends_at": "2027-06-08T13:00:00Z", "registration_opens_at": "2027-06-01T08:30:00Z"});
    let fair = id_of(&app.create_published_event(&organiser, changes).await);
    let page = get(&app, &format!("/events/{fair}"), None).await;
    assert!(page.html.contains("Sorry, bookings open on Tuesday 1 June 2027 at 09:30."), "{}", page.html);
    assert!(!page.html.contains("Book my place"), "no form while closed");
    // A form sent anyway (from an open event's page) is refused with the same words.
    let open = id_of(&app.create_published_event(&organiser, json!({})).await);
    let form = get(&app, &format!("/events/{open}"), None).await;
    let early = post(
        &app,
        &format!("/events/{fair}/register"),
        Some(&form.cookie()),
        &[("csrf", &form.csrf()), ("name", "Early"), ("email", "early@example.org")],
    )
    .await;
    assert_eq!(early.status, StatusCode::CONFLICT);
    assert!(early.html.contains("Sorry, bookings open on Tuesday 1 June 2027 at 09:30."), "{}", early.html);
    assert!(!early.html.contains("Book my place"), "a closed event offers no form to fill again");
    // The API says the same in its own terms.
    let api = app.register(&fair, crate::helpers::person("Early", "early@example.org")).await;
    api.assert_status(StatusCode::CONFLICT);
    assert!(api.json["detail"].as_str().is_some_and(|d| d.contains("registration opens at 2027-06-01T08:30:00+00:00")), "{}", api.json);
}

#[tokio::test]
async fn a_campaign_page_lists_its_events_and_offers_its_feed() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    let campaign = id_of(&app.create_campaign(&organiser, "gift-of-care").await);
    app.create_published_event(&organiser, json!({"campaign_id": campaign, "title": "Colchester fair"})).await;
    app.create_published_event(&organiser, json!({"title": "Not in the campaign"})).await;
    let page = get(&app, "/campaigns/gift-of-care", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains("Colchester fair") && !page.html.contains("Not in the campaign"), "{}", page.html);
    assert!(page.html.contains("webcal://127.0.0.1") && page.html.contains("/calendar/campaigns/gift-of-care.ics"), "{}", page.html);
    assert_eq!(get(&app, "/campaigns/nope", None).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_employer_signs_up_through_the_form_fixing_a_mistake() {
    let app = TestApp::spawn().await;
    let form = get(&app, "/employers/signup", None).await;
    assert_eq!(form.status, StatusCode::OK);
    let cookie = form.cookie();
    let fields = |postcode: &'static str| {
        vec![
            ("name", "Willow <Care>"),
            ("provider_type", "home_care"),
            ("address", "3 Mill Lane, Witham"),
            ("postcode", postcode),
            ("contact_name", "Sam Patel"),
            ("contact_email", "sam@willow.example"),
            ("user_name", "Sam Patel"),
            ("user_email", "sam.login@willow.example"),
            ("password", "a-long-password"),
        ]
    };
    let csrf = form.csrf();
    let mut wrong = fields("NOT A POSTCODE");
    wrong.push(("csrf", &csrf));
    let answer = post(&app, "/employers/signup", Some(&cookie), &wrong).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(answer.html.contains(r#"id="f-postcode-error""#) && answer.html.contains("valid UK postcode"), "{}", answer.html);
    assert!(answer.html.contains(r#"value="Willow &lt;Care&gt;""#), "kept and escaped: {}", answer.html);
    assert!(!answer.html.contains("a-long-password"), "the password is not sent back");

    let mut right = fields("cm8 2aa");
    right.push(("csrf", &csrf));
    let done = post(&app, "/employers/signup", Some(&cookie), &right).await;
    assert_eq!(done.status, StatusCode::CREATED, "{}", done.html);
    assert!(done.html.contains("Thank you for signing up"));
    let organiser = app.organiser_token().await;
    let pending = app.get("/api/v1/employers?status=pending", Some(&organiser)).await;
    assert_eq!(pending.json["items"][0]["postcode"], "CM8 2AA");
    app.login("sam.login@willow.example", "a-long-password").await;
}
