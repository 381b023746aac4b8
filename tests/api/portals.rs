//! The employer and school portals over HTTP as a browser speaks them: each organisation sees
//! and changes only its own records, a pending employer can do nothing that needs approval, and
//! a careers leader's contact reaches an employer only with an active link.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp, id_of};
use crate::visitor::{Visitor, link_in_mail};

/// A signed-in visitor for a new user of `role` in the organisation `id`.
async fn member<'a>(app: &'a TestApp, role: &str, id: &str) -> Visitor<'a> {
    let admin = app.admin_token().await;
    let email = format!("{role}-{}@carefair.test", uuid::Uuid::now_v7().simple());
    let key = if role == "employer" { "employer_id" } else { "school_id" };
    let body = json!({"email": email, "name": format!("Pat {role}"), "role": role, "password": PASSWORD, key: id});
    app.post("/api/v1/users", Some(&admin), body).await.assert_status(StatusCode::CREATED);
    let mut visitor = Visitor::new(app);
    let signed_in = visitor.sign_in(&email, PASSWORD, "").await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    visitor
}

const EMPLOYER_PAGES: &[&str] = &[
    "/employer",
    "/employer/profile",
    "/employer/users",
    "/employer/stands",
    "/employer/schools",
    "/employer/engagements",
    "/employer/calendar",
];
const SCHOOL_PAGES: &[&str] = &["/school", "/school/encounters", "/school/encounters.csv"];

#[tokio::test]
async fn employers_book_stands_ask_schools_and_keep_their_profile_only_when_approved() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    let fair = id_of(&app.create_published_event(&organiser, json!({"max_exhibitors": 5})).await);
    let school = id_of(&app.create_school(&organiser, "135791", "Moulsham High", (51.72, 0.47)).await);
    let signup = json!({
        "name": "Willow Home Care", "provider_type": "home_care", "address": "3 Mill Lane, Witham", "postcode": "CM8 2AA",
        "contact_name": "Sam Patel", "contact_email": "sam@willow.example",
        "user": {"email": "sam.login@willow.example", "name": "Sam Patel", "password": PASSWORD},
    });
    let created = app.post("/api/v1/employers/signup", None, signup).await;
    created.assert_status(StatusCode::CREATED);
    let willow = id_of(&created.json);
    let mut sam = Visitor::new(&app);
    assert_eq!(sam.sign_in("sam.login@willow.example", PASSWORD, "").await.location, "/employer");

    // Pending: every page says so, and nothing that needs approval happens.
    for path in EMPLOYER_PAGES {
        assert_eq!(sam.get(path).await.status, StatusCode::OK, "{path}");
    }
    assert!(sam.get("/employer").await.html.contains("checking your details"));
    let stands = sam.get("/employer/stands").await;
    assert!(!stands.html.contains(&format!("action=\"/employer/stands/{fair}\"")), "no booking form while pending");
    let csrf = stands.csrf();
    let refused = sam.post(&format!("/employer/stands/{fair}"), &[("csrf", &csrf), ("staff_count", "3")]).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(refused.html.contains("not approved"), "{}", refused.html);
    let asked = sam.post(&format!("/employer/schools/{school}/ask"), &[("csrf", &csrf)]).await;
    assert_eq!(asked.status, StatusCode::CONFLICT);
    assert!(sam.get("/employer/schools").await.html.contains("not approved"));
    assert_eq!(app.get(&format!("/api/v1/events/{fair}/exhibitors"), Some(&organiser)).await.json.as_array().map(Vec::len), Some(0));
    assert_eq!(app.get(&format!("/api/v1/school-links?employer={willow}"), Some(&organiser)).await.json["total"], 0);

    // Approved, it books a stand (a bad count named first) and withdraws it.
    app.post(&format!("/api/v1/employers/{willow}/approve"), Some(&organiser), json!({})).await.assert_status(StatusCode::OK);
    let stands = sam.get("/employer/stands").await;
    assert!(stands.html.contains(&format!("action=\"/employer/stands/{fair}\"")));
    let bad = sam.post(&format!("/employer/stands/{fair}"), &[("csrf", &csrf), ("staff_count", "lots"), ("roles_offered", "Carer")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.html.contains(&format!("href=\"#f-staff_count-{fair}\"")) && bad.html.contains("value=\"Carer\""), "{}", bad.html);
    let forged = sam.post(&format!("/employer/stands/{fair}"), &[("staff_count", "3")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let booked = sam
        .post(
            &format!("/employer/stands/{fair}"),
            &[("csrf", &csrf), ("staff_count", "3"), ("roles_offered", "Care assistant, Senior carer")],
        )
        .await;
    assert_eq!(booked.location, "/employer/stands?done=booked");
    let held = app.get(&format!("/api/v1/events/{fair}/exhibitors"), Some(&organiser)).await;
    assert_eq!(held.json[0]["status"], "requested", "{}", held.text);
    assert_eq!(held.json[0]["roles_offered"], json!(["Care assistant", "Senior carer"]));
    let xid = held.json[0]["id"].as_str().unwrap_or_default().to_owned();
    assert!(sam.get("/employer/stands").await.html.contains("requested"));

    // Another employer's user cannot touch it.
    let oak = id_of(&app.create_employer(&organiser, "Oak Lodge Care", (51.7, 0.4)).await);
    let mut other = member(&app, "employer", &oak).await;
    let other_csrf = other.get("/employer").await.csrf();
    let theirs = other.post(&format!("/employer/stands/{fair}/{xid}/withdraw"), &[("csrf", &other_csrf)]).await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    assert!(!other.get("/employer/stands").await.html.contains("recruiting Care assistant"));
    let withdrawn = sam.post(&format!("/employer/stands/{fair}/{xid}/withdraw"), &[("csrf", &csrf)]).await;
    assert_eq!(withdrawn.location, "/employer/stands?done=withdrawn");
    assert_eq!(app.get(&format!("/api/v1/events/{fair}/exhibitors"), Some(&organiser)).await.json[0]["status"], "withdrawn");

    // Without a position there are no suggestions, and the page says why; placed, it asks.
    assert!(sam.get("/employer/schools").await.html.contains("no latitude and longitude"));
    app.patch(&format!("/api/v1/employers/{willow}"), Some(&organiser), json!({"latitude": 51.8, "longitude": 0.64}))
        .await
        .assert_status(StatusCode::OK);
    let schools = sam.get("/employer/schools").await;
    assert!(schools.html.contains("Moulsham High") && schools.html.contains("km away"), "{}", schools.html);
    let asked = sam.post(&format!("/employer/schools/{school}/ask"), &[("csrf", &csrf), ("notes", "Careers talks for year 10")]).await;
    assert_eq!(asked.location, "/employer/schools?done=asked");
    let links = app.get(&format!("/api/v1/school-links?employer={willow}"), Some(&organiser)).await;
    assert_eq!(links.json["items"][0]["status"], "requested");
    // The careers leader's address is not shown until the link is active.
    assert!(!sam.get("/employer/schools").await.html.contains("careers-135791@school.test"));
    let link_id = links.json["items"][0]["id"].as_str().unwrap_or_default().to_owned();
    app.post(&format!("/api/v1/school-links/{link_id}/accept"), Some(&organiser), json!({})).await.assert_status(StatusCode::OK);
    assert!(sam.get("/employer/schools").await.html.contains("careers-135791@school.test"));

    // The profile keeps the API's rules and what was typed.
    let bad = sam
        .post(
            "/employer/profile",
            &[
                ("csrf", &csrf),
                ("name", "Willow Home Care"),
                ("provider_type", "home_care"),
                ("address", "3 Mill Lane"),
                ("postcode", "NOT A CODE"),
                ("contact_name", "Sam"),
                ("contact_email", "sam@willow.example"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.html.contains("href=\"#f-postcode\"") && bad.html.contains("value=\"NOT A CODE\""));
    let saved = sam
        .post(
            "/employer/profile",
            &[
                ("csrf", &csrf),
                ("name", "Willow Home Care Ltd"),
                ("provider_type", "home_care"),
                ("address", "3 Mill Lane, Witham"),
                ("postcode", "CM8 2AA"),
                ("contact_name", "Sam Patel"),
                ("contact_email", "sam@willow.example"),
            ],
        )
        .await;
    assert_eq!(saved.location, "/employer/profile?done=saved");
    assert_eq!(app.get(&format!("/api/v1/employers/{willow}"), Some(&organiser)).await.json["name"], "Willow Home Care Ltd");

    // A colleague is invited by mail and lands in the same portal.
    let invited = sam.post("/employer/users", &[("csrf", &csrf), ("name", "Jo Colleague"), ("email", "jo@willow.example")]).await;
    assert_eq!(invited.location, "/employer/users?done=invited");
    let path = link_in_mail(&app, "jo@willow.example").await;
    let mut jo = Visitor::new(&app);
    let form = jo.get(&path).await;
    jo.post(&path, &[("csrf", &form.csrf()), ("password", "willow-colleague"), ("confirm", "willow-colleague")]).await;
    assert_eq!(jo.sign_in("jo@willow.example", "willow-colleague", "").await.location, "/employer");
    assert!(jo.get("/employer").await.html.contains("Willow Home Care Ltd"));
    assert!(sam.get("/employer/users").await.html.contains("jo@willow.example"));

    // The calendar address is shown once and works.
    let calendar = sam.post("/employer/calendar", &[("csrf", &csrf)]).await;
    assert_eq!(calendar.status, StatusCode::OK);
    let html = calendar.html.replace("&#x2f;", "/");
    let webcal =
        html.split("href=\"webcal://").nth(1).and_then(|rest| rest.split('"').next()).unwrap_or_else(|| panic!("{}", calendar.html));
    let feed_path = webcal.split_once('/').map(|(_, p)| format!("/{p}")).unwrap_or_default();
    let feed = app.client.get(app.url(&feed_path)).send().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(feed.status(), StatusCode::OK);
    let token = feed_path.rsplit('/').next().unwrap_or_default();
    assert!(token.len() > 20 && calendar.html.contains(token));
    assert!(!sam.get("/employer/calendar").await.html.contains(token), "shown once only");

    // Nobody else reaches the portal: anonymous to sign in, other roles 404.
    let mut anonymous = Visitor::new(&app);
    let mut careers = member(&app, "school", &school).await;
    for path in EMPLOYER_PAGES {
        assert!(anonymous.get(path).await.location.starts_with("/sign-in?next="), "{path}");
        assert_eq!(careers.get(path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
    for path in SCHOOL_PAGES {
        assert_eq!(sam.get(path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn careers_leaders_decide_links_record_outcomes_and_keep_their_record_of_encounters() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    let school = id_of(&app.create_school(&organiser, "246802", "Chelmer Valley High", (51.75, 0.45)).await);
    let other_school = id_of(&app.create_school(&organiser, "246803", "Boswells School", (51.76, 0.46)).await);
    let alder = id_of(&app.create_employer(&organiser, "Alder Care", (51.7, 0.4)).await);
    let birch = id_of(&app.create_employer(&organiser, "Birch Nursing", (51.7, 0.4)).await);
    let asked = app
        .post("/api/v1/school-links", Some(&organiser), json!({"employer_id": alder, "school_id": school, "notes": "Mock interviews"}))
        .await;
    let link = id_of(&asked.json);
    let other_link =
        id_of(&app.post("/api/v1/school-links", Some(&organiser), json!({"employer_id": birch, "school_id": other_school})).await.json);

    let mut kim = member(&app, "school", &school).await;
    let home = kim.get("/school").await;
    assert!(
        home.html.contains("Alder Care") && home.html.contains("Mock interviews") && home.html.contains("km from the school"),
        "{}",
        home.html
    );
    assert!(!home.html.contains("Birch Nursing"), "another school's requests are not shown");
    let csrf = home.csrf();
    assert_eq!(kim.post(&format!("/school/links/{other_link}/accept"), &[("csrf", &csrf)]).await.status, StatusCode::NOT_FOUND);
    assert_eq!(kim.post(&format!("/school/links/{link}/accept"), &[]).await.status, StatusCode::FORBIDDEN);
    assert_eq!(kim.post(&format!("/school/links/{link}/accept"), &[("csrf", &csrf)]).await.location, "/school?done=accepted");
    let home = kim.get("/school").await;
    assert!(home.html.contains("Linked employers") && home.html.contains("Pat Jones"), "the employer's contact once linked: {}", home.html);

    // An engagement with the school; its outcome is recorded after the day.
    let mut plan = json!({
        "kind": "school_engagement", "title": "Careers in care", "max_exhibitors": null, "capacity": null,
        "school_id": school, "employer_ids": [alder], "activity": "careers_talk", "year_groups": [10, 11],
        "expected_pupils": 60, "supervised": true,
    });
    let talk = id_of(&app.create_published_event(&organiser, plan.clone()).await);
    plan["school_id"] = json!(other_school);
    plan["employer_ids"] = json!([]);
    let elsewhere = id_of(&app.create_published_event(&organiser, plan).await);
    assert!(kim.get("/school").await.html.contains("Careers in care"));
    let page = kim.get(&format!("/school/engagements/{talk}")).await;
    assert!(page.html.contains("Alder Care") && !page.html.contains("name=\"pupils_reached\""), "no form before the day");
    assert_eq!(kim.get(&format!("/school/engagements/{elsewhere}")).await.status, StatusCode::NOT_FOUND);
    app.clock.advance(chrono::Duration::days(2));
    let mut kim = member(&app, "school", &school).await;
    let page = kim.get(&format!("/school/engagements/{talk}")).await;
    let csrf = page.csrf();
    assert!(page.html.contains("name=\"pupils_reached\""), "{}", page.html);
    let path = format!("/school/engagements/{talk}/outcome");
    let bad = kim.post(&path, &[("csrf", &csrf), ("pupils_reached", "-3")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.html.contains("href=\"#f-pupils_reached\"") && bad.html.contains("value=\"-3\""));
    let all = [
        ("csrf", csrf.as_str()),
        ("pupils_reached", "55"),
        ("notes", "=Ask them back, year 11 loved it"),
        ("purpose_briefed", "yes"),
        ("learning_outcomes", "yes"),
        ("two_way_interaction", "yes"),
        ("reflection", "yes"),
    ];
    assert_eq!(kim.post(&path, &all).await.location, format!("/school/engagements/{talk}?done=recorded"));
    let organiser = app.organiser_token().await;
    assert_eq!(app.get(&format!("/api/v1/events/{talk}"), Some(&organiser)).await.json["pupils_reached"], 55);

    let record = kim.get("/school/encounters").await;
    assert!(record.html.contains("Year 10") && record.html.contains("Year 11") && record.html.contains("Alder Care"), "{}", record.html);
    let csv = kim.get("/school/encounters.csv").await;
    assert_eq!(csv.status, StatusCode::OK);
    let rows: Vec<&str> = csv.html.lines().collect();
    assert_eq!(
        rows[0],
        "date,engagement,activity,employer,year_group,pupils_reached,purpose_briefed,learning_outcomes,two_way_interaction,reflection,meaningful,notes"
    );
    assert_eq!(rows.len(), 3, "one row per employer and year group: {rows:?}");
    assert!(
        rows[1].contains("Alder Care,10,55,yes,yes,yes,yes,yes,\"'=Ask them back, year 11 loved it\""),
        "notes kept, formulas neutralised: {rows:?}"
    );
    assert!(kim.get(&format!("/school/engagements/{talk}")).await.html.contains("year 11 loved it"));

    // Another school's user and the employers see none of it.
    let mut boswells = member(&app, "school", &other_school).await;
    assert!(!boswells.get("/school/encounters").await.html.contains("Alder Care"));
    assert_eq!(boswells.get(&format!("/school/engagements/{talk}")).await.status, StatusCode::NOT_FOUND);
    let mut alder_user = member(&app, "employer", &alder).await;
    for path in SCHOOL_PAGES {
        assert_eq!(alder_user.get(path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
    assert!(alder_user.get("/employer/engagements").await.html.contains("Careers in care"), "the employer taking part sees it");
    // The school's notes are for the school and the organisers, not the employer.
    let employer_token = app.member_token("employer", &alder).await;
    let seen = app.get(&format!("/api/v1/events/{talk}"), Some(&employer_token)).await;
    assert!(seen.json["outcome_notes"].is_null() && seen.json["pupils_reached"] == 55, "{}", seen.text);
    let school_token = app.member_token("school", &school).await;
    let seen = app.get(&format!("/api/v1/events/{talk}"), Some(&school_token)).await;
    assert_eq!(seen.json["outcome_notes"], "=Ask them back, year 11 loved it");
}

#[tokio::test]
async fn signups_and_stand_requests_tell_the_organisers_and_every_mail_opens_the_next_step() {
    let app = TestApp::spawn_with(|s| s.mail.organisers_to = Some("workforce@council.test".into())).await;
    let organiser = app.organiser_token().await;
    let fair = id_of(&app.create_published_event(&organiser, json!({"max_exhibitors": 5})).await);
    let signup = json!({
        "name": "Rowan Care", "provider_type": "nursing", "address": "1 Rowan Way, Braintree", "postcode": "CM7 1AA",
        "contact_name": "Ash Khan", "contact_email": "ash@rowan.example",
        "user": {"email": "ash.login@rowan.example", "name": "Ash Khan", "password": PASSWORD},
    });
    let created = app.post("/api/v1/employers/signup", None, signup).await;
    created.assert_status(StatusCode::CREATED);
    let rowan = id_of(&created.json);
    let received = app.wait_for_mail("Thank you for signing Rowan Care up").await;
    assert!(received.contains("/employer"), "{received}");
    let told = app.wait_for_mail("Approve it or not").await;
    assert!(told.contains("/manage/employers") && told.contains("Rowan Care"), "{told}");

    app.post(&format!("/api/v1/employers/{rowan}/approve"), Some(&organiser), json!({})).await.assert_status(StatusCode::OK);
    let approved = app.wait_for_mail("is now approved").await;
    assert!(approved.contains("/employer") && !approved.contains("/sign-in"), "{approved}");

    let mut ash = Visitor::new(&app);
    ash.sign_in("ash.login@rowan.example", PASSWORD, "").await;
    let csrf = ash.get("/employer/stands").await.csrf();
    assert_eq!(
        ash.post(&format!("/employer/stands/{fair}"), &[("csrf", &csrf), ("staff_count", "2")]).await.location,
        "/employer/stands?done=booked"
    );
    let asked = app.wait_for_mail("has asked for a stand").await;
    assert!(asked.contains(&format!("/manage/events/{fair}#stands")), "{asked}");
    let kinds = app.outbox_kinds().await;
    for want in [
        ("employer_signup_received", "ash@rowan.example"),
        ("organiser_employer_signed_up", "workforce@council.test"),
        ("employer_approved", "ash@rowan.example"),
        ("organiser_stand_requested", "workforce@council.test"),
    ] {
        assert!(kinds.contains(&(want.0.to_owned(), want.1.to_owned())), "{want:?} in {kinds:?}");
    }
}

/// Signs in through the browser's form and waits for the portal's home to say `lands`.
async fn browser_sign_in(browser: &crate::chromium::Browser, app: &TestApp, email: &str, password: &str, lands: &str) -> String {
    browser.goto(&app.url("/sign-in")).await;
    browser.type_into("#f-email", email).await;
    browser.type_into("#f-password", password).await;
    browser.click("form[action='/sign-in'] button[type=submit]").await;
    browser.text_with(lands).await
}

#[tokio::test]
async fn an_employer_and_a_careers_leader_work_in_their_portals_in_a_browser() {
    let Some(browser) = crate::chromium::Browser::start(true).await else { return };
    let app = TestApp::spawn().await;
    // The postcode directory places the employer that signs up without coordinates.
    let loaded = crate::cli::carefair(&app.database_url)
        .args(["import", "postcodes"])
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/onspd_postcodes.csv"))
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(loaded.status.success());
    let organiser = app.organiser_token().await;
    let fair = id_of(&app.create_published_event(&organiser, json!({"max_exhibitors": 5})).await);
    let school = id_of(&app.create_school(&organiser, "112244", "Witham Academy", (51.79, 0.63)).await);

    // A care-home manager signs up on a phone.
    browser.goto(&app.url("/employers/signup")).await;
    for (field, value) in [
        ("#f-name", "Willow Home Care"),
        ("#f-address", "3 Mill Lane, Witham"),
        ("#f-postcode", "cm8 2aa"),
        ("#f-contact_name", "Sam Patel"),
        ("#f-contact_email", "sam@willow.example"),
        ("#f-user\\.name", "Sam Patel"),
        ("#f-user\\.email", "sam.login@willow.example"),
        ("#f-user\\.password", "willow-password"),
    ] {
        browser.type_into(field, value).await;
    }
    browser.select("#f-provider_type", "home_care").await;
    browser.click("form[action='/employers/signup'] button[type=submit]").await;
    browser.text_with("Thank you").await;
    let home = browser_sign_in(&browser, &app, "sam.login@willow.example", "willow-password", "checking your details").await;
    assert!(home.contains("Willow Home Care"));
    browser.screenshot("employer-home-pending").await;
    let pending = app.get("/api/v1/employers?status=pending", Some(&organiser)).await;
    let willow = pending.json["items"][0]["id"].as_str().unwrap_or_default().to_owned();
    assert!(pending.json["items"][0]["latitude"].as_f64().is_some(), "placed from its postcode: {}", pending.text);
    app.post(&format!("/api/v1/employers/{willow}/approve"), Some(&organiser), json!({})).await.assert_status(StatusCode::OK);

    // Approved: a stand at the fair, then a link with the school nearby.
    browser.goto(&app.url("/employer")).await;
    assert!(browser.text_with("You are approved").await.contains("Book a stand"));
    browser.screenshot("employer-home").await;
    browser.click("a.govuk-button[href='/employer/stands']").await;
    browser.type_into(&format!("#f-staff_count-{fair}"), "3").await;
    browser.type_into(&format!("#f-roles_offered-{fair}"), "Care assistant, Senior carer").await;
    browser.screenshot("employer-stands").await;
    browser.click(&format!("form[action='/employer/stands/{fair}'] button")).await;
    assert!(browser.text_with("Your stand is requested").await.contains("requested"));
    browser.screenshot("employer-stand-requested").await;
    browser.goto(&app.url("/employer/schools")).await;
    assert!(browser.text_with("Witham Academy").await.contains("km away"));
    browser.type_into(&format!("#notes-{school}"), "Careers talks about home care").await;
    browser.screenshot("employer-schools").await;
    browser.click(&format!("form[action='/employer/schools/{school}/ask'] button")).await;
    assert!(browser.text_with("Your request is sent").await.contains("requested"));
    for (path, heading, shot) in [
        ("/employer/profile", "Your profile", "employer-profile"),
        ("/employer/users", "Invite a colleague", "employer-users"),
        ("/employer/engagements", "Engagements with schools", "employer-engagements"),
        ("/employer/calendar", "Your calendar", "employer-calendar"),
    ] {
        browser.goto(&app.url(path)).await;
        assert!(browser.text_with(heading).await.contains(heading), "{path}");
        browser.screenshot(shot).await;
    }
    browser.click("form[action='/employer/calendar'] button").await;
    assert!(browser.text_with("Your calendar address").await.contains("webcal") || browser.source().await.contains("webcal:"));
    browser.screenshot("employer-calendar-address").await;
    browser.sign_out().await;
    browser.text_with("You have signed out").await;

    // The careers leader is invited, chooses a password and accepts the link.
    let invited = app
        .post(
            "/api/v1/users/invitations",
            Some(&organiser),
            json!({"email": "kim@witham.test", "name": "Kim Careers", "role": "school", "school_id": school}),
        )
        .await;
    invited.assert_status(StatusCode::CREATED);
    let path = link_in_mail(&app, "kim@witham.test").await;
    browser.goto(&app.url(&path)).await;
    browser.type_into("#f-password", "witham-careers").await;
    browser.type_into("#f-confirm", "witham-careers").await;
    browser.click("form[action^='/password/reset/'] button").await;
    browser.text_with("Your password is set").await;
    let home = browser_sign_in(&browser, &app, "kim@witham.test", "witham-careers", "Employers asking to be linked").await;
    assert!(home.contains("Willow Home Care"));
    browser.screenshot("school-home-request").await;
    browser.click("form[action$='/accept'] button").await;
    assert!(browser.text_with("The link is accepted").await.contains("sam@willow.example"));
    browser.screenshot("school-home").await;

    // An engagement with the school, and after the day, what it achieved.
    let talk = id_of(
        &app.create_published_event(
            &organiser,
            json!({
                "kind": "school_engagement", "title": "Careers in home care", "max_exhibitors": null, "capacity": null,
                "school_id": school, "employer_ids": [willow], "activity": "careers_talk", "year_groups": [10],
                "expected_pupils": 30, "supervised": true,
            }),
        )
        .await,
    );
    app.clock.advance(chrono::Duration::days(2));
    browser_sign_in(&browser, &app, "kim@witham.test", "witham-careers", "Linked employers").await;
    browser.goto(&app.url(&format!("/school/engagements/{talk}"))).await;
    browser.type_into("#f-pupils_reached", "28").await;
    for name in ["purpose_briefed", "learning_outcomes", "two_way_interaction", "reflection"] {
        browser.click(&format!("label[for='f-{name}']")).await;
    }
    browser.screenshot("school-engagement").await;
    browser.click(&format!("form[action='/school/engagements/{talk}/outcome'] button")).await;
    assert!(browser.text_with("is recorded").await.contains("all four criteria were met"));
    browser.goto(&app.url("/school/encounters")).await;
    assert!(browser.text_with("By year group").await.contains("Willow Home Care"));
    browser.screenshot("school-encounters").await;
    browser.close().await;

    // The same employer's pages on a desktop.
    let Some(desktop) = crate::chromium::Browser::start(false).await else { return };
    browser_sign_in(&desktop, &app, "sam.login@willow.example", "willow-password", "Sign out").await;
    for (path, shot, holds) in [
        ("/employer", "desktop-employer-home", "Willow Home Care"),
        ("/employer/stands", "desktop-employer-stands", "Stands at fairs"),
        ("/employer/schools", "desktop-employer-schools", "Witham Academy"),
        ("/employer/profile", "desktop-employer-profile", "Willow Home Care"),
    ] {
        desktop.goto(&app.url(path)).await;
        assert!(desktop.text_with(holds).await.contains(holds), "{path}");
        desktop.screenshot(shot).await;
    }
    desktop.close().await;
}
