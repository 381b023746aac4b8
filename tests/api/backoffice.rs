//! The back office and signing in, over HTTP as a browser speaks it (forms, cookies, 303s) and
//! in real Chromium: each role lands home and sees no other role's pages; forms refuse a
//! missing or wrong CSRF token and change nothing; passwords are set by single-use links;
//! organisers run an event from their pages. Every page the browser reaches is audited by axe.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::chromium::Browser;
use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, PASSWORD, TestApp, id_of};
use crate::visitor::{Visitor, link_in_mail, user};

/// Every list and form page of each area that needs no id.
const PRIVATE: &[&str] = &[
    "/manage",
    "/manage/events",
    "/manage/events/new",
    "/manage/campaigns",
    "/manage/campaigns/new",
    "/manage/venues",
    "/manage/venues/new",
    "/manage/employers",
    "/manage/schools",
    "/manage/school-links",
    "/manage/engagements",
    "/manage/reports",
    "/manage/outbox",
    "/manage/users",
    "/employer",
    "/employer/profile",
    "/employer/users",
    "/employer/stands",
    "/employer/interviews",
    "/employer/schools",
    "/employer/engagements",
    "/employer/calendar",
    "/school",
    "/school/encounters",
    "/school/encounters.csv",
];

#[tokio::test]
async fn each_role_signs_in_lands_home_and_finds_no_other_roles_pages() {
    let app = TestApp::spawn().await;
    // Signed out, every private page sends to the sign-in page and back.
    let mut anonymous = Visitor::new(&app);
    for path in PRIVATE {
        let page = anonymous.get(path).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(page.location, format!("/sign-in?next={path}"), "{path}");
    }
    let cases = [
        (ADMIN_EMAIL.to_owned(), ADMIN_PASSWORD, "/manage"),
        (user(&app, "organiser").await, PASSWORD, "/manage"),
        (user(&app, "employer").await, PASSWORD, "/employer"),
        (user(&app, "school").await, PASSWORD, "/school"),
    ];
    for (email, password, home) in &cases {
        let mut visitor = Visitor::new(&app);
        let signed_in = visitor.sign_in(email, password, "").await;
        assert_eq!(signed_in.status, StatusCode::SEE_OTHER, "{email}: {}", signed_in.html);
        assert_eq!(&signed_in.location, home, "{email}");
        let session = signed_in.set_cookies.iter().find(|c| c.starts_with("carefair_session=")).unwrap_or_else(|| panic!("no session"));
        assert!(session.contains("HttpOnly") && session.contains("SameSite=Lax") && !session.contains("Secure"), "{session}");
        let token = session.split(';').next().and_then(|kv| kv.split_once('=')).map(|(_, v)| v).unwrap_or_default();
        assert_eq!(token.len(), 64);
        // Stored hashed: the token itself is in no row.
        let stored = app.count_rows(&format!("SELECT COUNT(*) AS n FROM auth_tokens WHERE token_hash = '{token}'")).await;
        assert_eq!(stored, 0, "the session token is stored as its hash");
        let page = visitor.get(home).await;
        assert_eq!(page.status, StatusCode::OK, "{email} at {home}");
        assert!(page.html.contains("Sign out"));
        for other in PRIVATE.iter().filter(|p| !p.starts_with(home)) {
            assert_eq!(visitor.get(other).await.status, StatusCode::NOT_FOUND, "{email} at {other}");
        }
        // Signed in already, the sign-in page goes home.
        assert_eq!(visitor.get("/sign-in").await.location, *home);
    }
    // Organisers reach the admins' users page as a page that does not exist.
    let mut organiser = Visitor::new(&app);
    organiser.sign_in(&cases[1].0, PASSWORD, "").await;
    assert_eq!(organiser.get("/manage/users").await.status, StatusCode::NOT_FOUND);

    // Back to where they were going; never to another site or another role's area.
    let mut visitor = Visitor::new(&app);
    assert_eq!(visitor.sign_in(&cases[1].0, PASSWORD, "/manage/events?status=draft").await.location, "/manage/events?status=draft");
    let mut visitor = Visitor::new(&app);
    assert_eq!(visitor.sign_in(&cases[1].0, PASSWORD, "//evil.example/x").await.location, "/manage");
    let mut visitor = Visitor::new(&app);
    assert_eq!(visitor.sign_in(&cases[2].0, PASSWORD, "/manage/events").await.location, "/employer");
}

#[tokio::test]
async fn wrong_passwords_are_refused_alike_kept_out_of_the_page_and_throttled() {
    let app = TestApp::spawn().await;
    let email = user(&app, "organiser").await;
    let mut visitor = Visitor::new(&app);
    let wrong = visitor.sign_in(&email, "not-the-password-xyz", "").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.html.contains("There is a problem") && wrong.html.contains(&email), "the email is kept");
    assert!(!wrong.html.contains("not-the-password-xyz"), "the password is never sent back");
    let unknown = visitor.sign_in("nobody@carefair.test", "not-the-password-xyz", "").await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    let message = |html: &str| html.split("govuk-error-message").nth(1).map(|s| s.split("</p>").next().unwrap_or_default().to_owned());
    assert_eq!(message(&wrong.html), message(&unknown.html), "the same answer for an unknown email");
    for _ in 0..4 {
        visitor.sign_in(&email, "still-wrong-password", "").await;
    }
    let locked = visitor.sign_in(&email, PASSWORD, "").await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS, "the API's throttling: {}", locked.html);
    assert!(locked.html.contains("Too many tries"));
}

#[tokio::test]
async fn forms_without_or_with_a_wrong_csrf_token_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let organiser_token = app.organiser_token().await;
    let draft = id_of(&app.create_event(&organiser_token, json!({})).await);
    let email = user(&app, "organiser").await;
    let mut visitor = Visitor::new(&app);
    visitor.sign_in(&email, PASSWORD, "").await;
    let events_before = app.count_rows("SELECT COUNT(*) AS n FROM events").await;
    let event_form = [
        ("kind", "recruitment_fair"),
        ("title", "Forged fair"),
        ("timezone", "Europe/London"),
        ("starts_at_day", "1"),
        ("starts_at_month", "2"),
        ("starts_at_year", "2027"),
        ("starts_at_time", "10:00"),
        ("ends_at_day", "1"),
        ("ends_at_month", "2"),
        ("ends_at_year", "2027"),
        ("ends_at_time", "12:00"),
    ];
    let forms: Vec<(String, Vec<(&str, &str)>)> = vec![
        ("/manage/events/new".into(), event_form.to_vec()),
        (format!("/manage/events/{draft}/edit"), event_form.to_vec()),
        (format!("/manage/events/{draft}/publish"), vec![]),
        (format!("/manage/events/{draft}/delete"), vec![]),
        (format!("/manage/events/{draft}/duplicate"), vec![]),
        ("/manage/users/invite".into(), vec![("email", "x@carefair.test"), ("name", "X"), ("role", "organiser")]),
        ("/manage/venues/new".into(), vec![("name", "Hall"), ("address", "1 Road"), ("postcode", "CM1 1AA")]),
        (
            "/manage/campaigns/new".into(),
            vec![
                ("name", "C"),
                ("slug", "c"),
                ("starts_on_day", "1"),
                ("starts_on_month", "1"),
                ("starts_on_year", "2027"),
                ("ends_on_day", "2"),
                ("ends_on_month", "1"),
                ("ends_on_year", "2027"),
            ],
        ),
        ("/sign-out".into(), vec![]),
    ];
    for (path, fields) in &forms {
        for csrf in [None, Some("0".repeat(64))] {
            let mut form = fields.clone();
            if let Some(csrf) = &csrf {
                form.push(("csrf", csrf));
            }
            let page = visitor.post(path, &form).await;
            assert_eq!(page.status, StatusCode::FORBIDDEN, "{path} with {csrf:?}");
        }
    }
    assert_eq!(app.count_rows("SELECT COUNT(*) AS n FROM events").await, events_before, "nothing created or deleted");
    assert_eq!(app.count_rows("SELECT COUNT(*) AS n FROM venues").await, 0);
    assert_eq!(app.count_rows("SELECT COUNT(*) AS n FROM campaigns").await, 0);
    let event = app.get(&format!("/api/v1/events/{draft}"), Some(&organiser_token)).await;
    assert_eq!(event.json["status"], "draft", "not published");
    assert_eq!(visitor.get("/manage").await.status, StatusCode::OK, "still signed in");
    // Signing in needs the token too (no login CSRF).
    let page = Visitor::new(&app).post("/sign-in", &[("email", &email), ("password", PASSWORD)]).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn signing_out_ends_the_session() {
    let app = TestApp::spawn().await;
    let email = user(&app, "organiser").await;
    let mut visitor = Visitor::new(&app);
    visitor.sign_in(&email, PASSWORD, "").await;
    let kept = visitor.cookies.clone();
    let csrf = visitor.csrf().await;
    let out = visitor.post("/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!((out.status, out.location.as_str()), (StatusCode::SEE_OTHER, "/sign-in?signed_out=1"));
    assert!(out.set_cookies.iter().any(|c| c.starts_with("carefair_session=;") && c.contains("Max-Age=0")));
    // The old cookie, sent again, no longer works.
    let mut replay = Visitor { app: &app, cookies: kept };
    assert_eq!(replay.get("/manage").await.status, StatusCode::SEE_OTHER);
    assert!(visitor.get("/sign-in?signed_out=1").await.html.contains("You have signed out"));
}

#[tokio::test]
async fn a_forgotten_password_is_set_by_a_single_use_link_that_ends_every_session() {
    let app = TestApp::spawn().await;
    let email = user(&app, "organiser").await;
    let api_token = app.login(&email, PASSWORD).await;
    let mut signed_in = Visitor::new(&app);
    signed_in.sign_in(&email, PASSWORD, "").await;

    let mut visitor = Visitor::new(&app);
    let form = visitor.get("/password/forgot").await;
    let for_unknown = visitor.post("/password/forgot", &[("csrf", &form.csrf()), ("email", "nobody@carefair.test")]).await;
    let for_known = visitor.post("/password/forgot", &[("csrf", &form.csrf()), ("email", &email)]).await;
    assert_eq!((for_unknown.status, for_known.status), (StatusCode::OK, StatusCode::OK));
    assert_eq!(for_unknown.html.replace("nobody@carefair.test", &email), for_known.html, "the same answer either way");
    // The API says the same.
    app.post("/api/v1/auth/password-reset", None, json!({"email": "nobody@carefair.test"})).await.assert_status(StatusCode::ACCEPTED);
    let path = link_in_mail(&app, &email).await;
    assert!(!app.mail_texts().iter().any(|m| m.contains("nobody@carefair.test")), "no mail for an unknown address");

    let page = visitor.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    let mismatch =
        visitor.post(&path, &[("csrf", &page.csrf()), ("password", "brand-new-password"), ("confirm", "different-password")]).await;
    assert_eq!(mismatch.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!mismatch.html.contains("brand-new-password") && mismatch.html.contains("must be the same password"));
    let short = visitor.post(&path, &[("csrf", &page.csrf()), ("password", "short"), ("confirm", "short")]).await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    let set = visitor.post(&path, &[("csrf", &page.csrf()), ("password", "brand-new-password"), ("confirm", "brand-new-password")]).await;
    assert_eq!((set.status, set.location.as_str()), (StatusCode::SEE_OTHER, "/sign-in?password_set=1"));

    // Every session and token of the user has ended; the link works once.
    assert_eq!(app.get("/api/v1/me", Some(&api_token)).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(signed_in.get("/manage").await.status, StatusCode::SEE_OTHER);
    assert_eq!(visitor.get(&path).await.status, StatusCode::NOT_FOUND);
    let token = path.trim_start_matches("/password/reset/");
    app.post(&format!("/api/v1/auth/password-reset/{token}"), None, json!({"password": "another-password"}))
        .await
        .assert_status(StatusCode::NOT_FOUND);
    assert_eq!(visitor.sign_in(&email, "brand-new-password", "").await.location, "/manage");

    // A link older than an hour does not work.
    app.post("/api/v1/auth/password-reset", None, json!({"email": email})).await.assert_status(StatusCode::ACCEPTED);
    let mut texts = app.mail_texts();
    for _ in 0..100 {
        if texts.iter().filter(|m| m.contains("/password/reset/")).count() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        texts = app.mail_texts();
    }
    let second = texts
        .iter()
        .flat_map(|m| m.split_whitespace())
        .filter(|w| w.contains("/password/reset/"))
        .map(|w| format!("/password/reset/{}", w.split_once("/password/reset/").map(|(_, t)| t).unwrap_or_default()))
        .find(|p| *p != path)
        .unwrap_or_else(|| panic!("no second link"));
    app.clock.advance(chrono::Duration::minutes(61));
    assert_eq!(visitor.get(&second).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn invited_users_choose_their_password_and_organisers_invite_only_organisations_users() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    let school = id_of(&app.create_school(&organiser, "654321", "Moulsham High", (51.72, 0.47)).await);
    let invite = json!({"email": "careers@moulsham.test", "name": "Kim Careers", "role": "school", "school_id": school});
    let created = app.post("/api/v1/users/invitations", Some(&organiser), invite.clone()).await;
    created.assert_status(StatusCode::CREATED);
    assert_eq!(created.json["role"], "school");
    app.post("/api/v1/users/invitations", Some(&organiser), invite).await.assert_status(StatusCode::CONFLICT);
    let staff = json!({"email": "new.organiser@carefair.test", "name": "New Org", "role": "organiser"});
    app.post("/api/v1/users/invitations", Some(&organiser), staff.clone()).await.assert_status(StatusCode::FORBIDDEN);
    let bad = json!({"email": "not an email", "name": "A\r\nB", "role": "boss"});
    app.post("/api/v1/users/invitations", Some(&organiser), bad).await.assert_invalid(&["email", "name", "role"]);
    // Until the password is chosen nobody can sign in as them.
    app.post("/api/v1/auth/login", None, json!({"email": "careers@moulsham.test", "password": ""}))
        .await
        .assert_status(StatusCode::UNAUTHORIZED);

    let path = link_in_mail(&app, "careers@moulsham.test").await;
    let mut visitor = Visitor::new(&app);
    let page = visitor.get(&path).await;
    assert!(page.html.contains("Choose your password") && page.html.contains("careers@moulsham.test"));
    let set = visitor.post(&path, &[("csrf", &page.csrf()), ("password", "moulsham-careers"), ("confirm", "moulsham-careers")]).await;
    assert_eq!(set.status, StatusCode::SEE_OTHER);
    assert_eq!(visitor.sign_in("careers@moulsham.test", "moulsham-careers", "").await.location, "/school");
    assert!(visitor.get("/school").await.html.contains("Moulsham High"));
}

#[tokio::test]
async fn organisers_run_an_event_from_the_back_office() {
    let app = TestApp::spawn().await;
    let token = app.organiser_token().await;
    let email = user(&app, "organiser").await;
    let mut visitor = Visitor::new(&app);
    visitor.sign_in(&email, PASSWORD, "").await;
    let csrf = visitor.csrf().await;

    // Wrong input: every problem named beside its field, what was typed kept, nothing saved.
    let before = app.count_rows("SELECT COUNT(*) AS n FROM events").await;
    let bad = visitor
        .post(
            "/manage/events/new",
            &[
                ("csrf", &csrf),
                ("kind", "recruitment_fair"),
                ("title", "<b>Spring</b> fair"),
                ("timezone", "Europe/London"),
                ("starts_at_day", "10"),
                ("starts_at_month", "3"),
                ("starts_at_year", "2027"),
                ("starts_at_time", "13:00"),
                ("ends_at_day", "10"),
                ("ends_at_month", "3"),
                ("ends_at_year", "2027"),
                ("ends_at_time", "10:00"),
                ("capacity", "lots"),
                ("offer_hours", "0"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.html.contains(r##"href="#f-ends_at""##) && bad.html.contains(r##"href="#f-capacity""##), "{}", bad.html);
    assert!(bad.html.contains(r##"href="#f-offer_hours""##) && bad.html.contains(r#"value="0""#), "{}", bad.html);
    assert!(bad.html.contains("&lt;b&gt;Spring") && !bad.html.contains("<b>Spring"), "kept, escaped");
    assert_eq!(app.count_rows("SELECT COUNT(*) AS n FROM events").await, before);

    let fields = |title: &'static str, capacity: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("kind", "recruitment_fair".to_owned()),
            ("title", title.to_owned()),
            ("description", "Meet employers.".to_owned()),
            ("timezone", "Europe/London".to_owned()),
            ("starts_at_day", "4".to_owned()),
            ("starts_at_month", "1".to_owned()),
            ("starts_at_year", "2027".to_owned()),
            ("starts_at_time", "10:00".to_owned()),
            ("ends_at_day", "4".to_owned()),
            ("ends_at_month", "1".to_owned()),
            ("ends_at_year", "2027".to_owned()),
            ("ends_at_time", "13:00".to_owned()),
            ("capacity", capacity.to_owned()),
            ("max_exhibitors", "10".to_owned()),
        ]
    };
    let as_refs = |v: &Vec<(&'static str, String)>| v.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>();
    let form = as_refs(&fields("Spring Care Jobs Fair", "2"));
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let created = visitor.post("/manage/events/new", &form).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.html);
    let id = created.location.trim_start_matches("/manage/events/").split('?').next().unwrap_or_default().to_owned();
    let event = app.get(&format!("/api/v1/events/{id}"), Some(&token)).await;
    assert!(event.json["starts_at"].as_str().is_some_and(|t| t.starts_with("2027-01-04T10:00:00")), "read in London time: {}", event.json);
    assert_eq!(event.json["status"], "draft");

    assert_eq!(event.json["offer_hours"], Value::Null, "blank: freed places are given at once");
    let mut form = as_refs(&fields("Spring Care Jobs Fair, Chelmsford", "2"));
    form.push(("offer_hours", "24".to_owned()));
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(visitor.post(&format!("/manage/events/{id}/edit"), &form).await.status, StatusCode::SEE_OTHER);
    assert_eq!(app.get(&format!("/api/v1/events/{id}"), Some(&token)).await.json["offer_hours"], 24);
    let page = visitor.get(&format!("/manage/events/{id}")).await;
    assert!(page.html.contains("who has 24 hours to claim it"), "{}", page.html);
    let edit = visitor.get(&format!("/manage/events/{id}/edit")).await;
    assert!(edit.html.contains(r#"name="offer_hours" type="text" value="24""#), "{}", edit.html);
    let copied = visitor.post(&format!("/manage/events/{id}/duplicate"), &[("csrf", &csrf)]).await;
    assert_eq!(copied.status, StatusCode::SEE_OTHER);
    let copy = copied.location.trim_start_matches("/manage/events/").split(['/', '?']).next().unwrap_or_default().to_owned();
    assert_ne!(copy, id);
    assert_eq!(app.get(&format!("/api/v1/events/{copy}"), Some(&token)).await.json["offer_hours"], 24, "the copy keeps its offers");
    assert_eq!(visitor.post(&format!("/manage/events/{id}/publish"), &[("csrf", &csrf)]).await.status, StatusCode::SEE_OTHER);
    let event = app.get(&format!("/api/v1/events/{id}"), Some(&token)).await;
    assert_eq!(
        (event.json["title"].as_str(), event.json["status"].as_str()),
        (Some("Spring Care Jobs Fair, Chelmsford"), Some("published"))
    );
    // A published event cannot be deleted: the page says why.
    let refused = visitor.post(&format!("/manage/events/{id}/delete"), &[("csrf", &csrf)]).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(refused.html.contains("There is a problem"));

    // People book; the organiser finds one, checks them in, undoes it and checks in again.
    for (name, mail) in [("Ann Lee", "ann@example.org"), ("Bob Ray", "bob@example.org"), ("Cy Dee", "cy@example.org")] {
        app.register(&id, json!({"name": name, "email": mail, "consent_marketing": name == "Ann Lee"})).await;
    }
    let list = visitor.get(&format!("/manage/events/{id}/registrations")).await;
    assert!(list.html.contains("3 registrations") && list.html.contains("Waiting list"), "{}", list.html);
    let found = visitor.get(&format!("/manage/events/{id}/registrations?q=ANN%40example")).await;
    assert!(found.html.contains("Ann Lee") && !found.html.contains("Bob Ray"));
    let waiting = visitor.get(&format!("/manage/events/{id}/registrations?status=waitlisted")).await;
    assert!(waiting.html.contains("Cy Dee") && !waiting.html.contains("Ann Lee"));
    let registrations = app.get(&format!("/api/v1/events/{id}/registrations"), Some(&token)).await;
    let ann = registrations.json["items"].as_array().into_iter().flatten().find(|r| r["name"] == "Ann Lee").map(id_of).unwrap_or_default();
    let back = format!("/manage/events/{id}/registrations?q=ann&status=&page=1");
    let checked = visitor.post(&format!("/manage/events/{id}/registrations/{ann}/check-in"), &[("csrf", &csrf), ("back", &back)]).await;
    assert_eq!((checked.status, checked.location.clone()), (StatusCode::SEE_OTHER, format!("{back}&done=checked_in")));
    let undone =
        visitor.post(&format!("/manage/events/{id}/registrations/{ann}/undo"), &[("csrf", &csrf), ("back", "https://evil.example/")]).await;
    assert!(undone.location.starts_with(&format!("/manage/events/{id}/registrations?")), "only back to this list: {}", undone.location);
    let attended = format!("/api/v1/events/{id}/registrations?status=attended");
    assert_eq!(app.get(&attended, Some(&token)).await.json["total"], 0);
    visitor.post(&format!("/manage/events/{id}/registrations/{ann}/check-in"), &[("csrf", &csrf), ("back", "")]).await;
    assert_eq!(app.get(&attended, Some(&token)).await.json["total"], 1);

    // The CSV has the check-in time and consent; the printable list has everyone coming.
    let csv = visitor.get(&format!("/manage/events/{id}/registrations.csv")).await;
    assert_eq!(csv.status, StatusCode::OK);
    let header = csv.html.lines().next().unwrap_or_default().to_owned();
    assert!(header.ends_with("checked_in_at,consent_marketing"), "{header}");
    let ann_row = csv.html.lines().find(|l| l.contains("Ann Lee")).unwrap_or_default();
    assert!(ann_row.contains("2027-01-04T09:00:00") && ann_row.ends_with(",yes"), "{ann_row}");
    let attendance = visitor.get(&format!("/manage/events/{id}/attendance")).await;
    assert!(attendance.html.contains("Ann Lee") && attendance.html.contains("Bob Ray") && !attendance.html.contains("Cy Dee"));

    // The dashboard counts places; the event is cancelled with a reason everyone is told.
    let dashboard = visitor.get("/manage").await;
    assert!(dashboard.html.contains("Spring Care Jobs Fair, Chelmsford"), "{}", dashboard.html);
    let cancelled = visitor.post(&format!("/manage/events/{id}/cancel"), &[("csrf", &csrf), ("reason", "The hall is flooded.")]).await;
    assert_eq!(cancelled.status, StatusCode::SEE_OTHER);
    let event = app.get(&format!("/api/v1/events/{id}"), Some(&token)).await;
    assert_eq!((event.json["status"].as_str(), event.json["cancel_reason"].as_str()), (Some("cancelled"), Some("The hall is flooded.")));

    // Another organisation's user gets 404 for these pages.
    let employer_email = user(&app, "employer").await;
    let mut employer = Visitor::new(&app);
    employer.sign_in(&employer_email, PASSWORD, "").await;
    for path in
        [format!("/manage/events/{id}"), format!("/manage/events/{id}/registrations"), format!("/manage/events/{id}/registrations.csv")]
    {
        assert_eq!(employer.get(&path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn admins_swap_staff_roles_and_deactivate_users_whose_sessions_end() {
    let app = TestApp::spawn().await;
    let email = user(&app, "organiser").await;
    let api_token = app.login(&email, PASSWORD).await;
    let mut organiser = Visitor::new(&app);
    organiser.sign_in(&email, PASSWORD, "").await;
    let mut admin = Visitor::new(&app);
    admin.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD, "").await;
    let csrf = admin.csrf().await;
    let admin_token = app.admin_token().await;
    let users = app.get("/api/v1/users", Some(&admin_token)).await;
    let id_for =
        |address: &str| users.json["items"].as_array().into_iter().flatten().find(|u| u["email"] == address).map(id_of).unwrap_or_default();
    let (id, own) = (id_for(&email), id_for(ADMIN_EMAIL));

    // An organiser cannot use the admins' forms: they do not exist for them.
    let organiser_csrf = organiser.csrf().await;
    let refused = organiser.post(&format!("/manage/users/{own}/deactivate"), &[("csrf", &organiser_csrf)]).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);

    let made = admin.post(&format!("/manage/users/{id}/role"), &[("csrf", &csrf), ("role", "admin")]).await;
    assert_eq!((made.status, made.location.as_str()), (StatusCode::SEE_OTHER, "/manage/users?done=role"));
    assert_eq!(app.get("/api/v1/me", Some(&api_token)).await.status, StatusCode::UNAUTHORIZED, "sessions carry the old role: they end");
    let to_school = admin.post(&format!("/manage/users/{id}/role"), &[("csrf", &csrf), ("role", "school")]).await;
    assert_eq!(to_school.status, StatusCode::CONFLICT, "a staff member is not turned into a school user");
    let myself = admin.post(&format!("/manage/users/{own}/deactivate"), &[("csrf", &csrf)]).await;
    assert_eq!(myself.status, StatusCode::CONFLICT, "an admin cannot lock themself out");

    let mut again = Visitor::new(&app);
    again.sign_in(&email, PASSWORD, "").await;
    let done = admin.post(&format!("/manage/users/{id}/deactivate"), &[("csrf", &csrf)]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(again.get("/manage").await.status, StatusCode::SEE_OTHER, "signed out");
    assert_eq!(Visitor::new(&app).sign_in(&email, PASSWORD, "").await.status, StatusCode::UNAUTHORIZED, "cannot sign in");
    assert!(admin.get("/manage/users").await.html.contains("deactivated"));
}

#[tokio::test]
async fn the_registrations_csv_is_streamed_in_pages_and_holds_everyone_once() {
    let app = TestApp::spawn().await;
    let token = app.organiser_token().await;
    let fair = id_of(&app.create_published_event(&token, json!({"capacity": 1000})).await);
    // More than one page of the stream (2,000 rows a page).
    let n = 2_150;
    for chunk in (0..n).collect::<Vec<_>>().chunks(50) {
        let sends = chunk.iter().map(|i| {
            app.register(&fair, json!({"name": format!("Person {i}"), "email": format!("p{i}@example.org"), "consent_marketing": false}))
        });
        futures::future::join_all(sends).await;
    }
    let email = user(&app, "organiser").await;
    let mut visitor = Visitor::new(&app);
    visitor.sign_in(&email, PASSWORD, "").await;
    let csv = visitor.get(&format!("/manage/events/{fair}/registrations.csv")).await;
    assert_eq!(csv.status, StatusCode::OK);
    let lines: Vec<&str> = csv.html.lines().collect();
    assert_eq!(lines.len(), n + 1, "a header and everyone");
    let ids: std::collections::HashSet<&str> = lines[1..].iter().filter_map(|l| l.split(',').next()).collect();
    assert_eq!(ids.len(), n, "each once");
    // Waiting-list positions run on across the pages: 1 to 1,150.
    let positions: Vec<i64> = lines[1..].iter().filter_map(|l| l.split(',').nth(7)).filter_map(|p| p.parse().ok()).collect();
    assert_eq!(positions.len(), n - 1000);
    assert_eq!((positions.iter().min().copied(), positions.iter().max().copied()), (Some(1), Some(1150)));
}

#[tokio::test]
async fn the_streamed_csv_says_what_the_apis_csv_says_whatever_people_typed() {
    let app = TestApp::spawn().await;
    let token = app.organiser_token().await;
    let fair = id_of(&app.create_published_event(&token, json!({"capacity": 2})).await);
    let people = [
        ("=HYPERLINK(\"x\")", "formula@example.org", "+44 1245 000000"),
        ("Doe, \"Jane\" 12:34", "jane@example.org", "01245 000001"),
        ("Zoë Ashby;:1:", "zoe@example.org", "+44 1245 000002"),
        ("-Ann Lee", "ann@example.org", "01245 000003"),
    ];
    // A question's answers are columns of both, neutralised the same way.
    let question = app
        .post(
            &format!("/api/v1/events/{fair}/questions"),
            Some(&token),
            json!({"label": "Access needs, if any?", "kind": "text", "purpose": "So the venue works for you."}),
        )
        .await;
    let question = id_of(&question.json);
    for (i, (name, email, phone)) in people.into_iter().enumerate() {
        let answers = if i % 2 == 0 { json!({question.clone(): format!("=1+{i}, \"quoted\"\nnext line")}) } else { json!({}) };
        let body = json!({"name": name, "email": email, "phone": phone, "consent_marketing": true, "answers": answers});
        let answer = app.register(&fair, body).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    }
    let email = user(&app, "organiser").await;
    let mut visitor = Visitor::new(&app);
    visitor.sign_in(&email, PASSWORD, "").await;
    let streamed = visitor.get(&format!("/manage/events/{fair}/registrations.csv")).await;
    let whole = app.get(&format!("/api/v1/events/{fair}/registrations.csv"), Some(&token)).await;
    assert_eq!((streamed.status, whole.status), (StatusCode::OK, StatusCode::OK));
    assert_eq!(streamed.html, whole.text, "the two exports are read by different code and must agree");
    assert!(streamed.html.contains("\"'=HYPERLINK(\"\"x\"\")\""), "{}", streamed.html);
    assert!(
        streamed.html.contains("\"Doe, \"\"Jane\"\" 12:34\"") && streamed.html.contains("Zoë Ashby;:1:,zoe@example.org,'+44 1245 000002")
    );
    assert!(streamed.html.contains("'-Ann Lee,ann@example.org,01245 000003"));
    assert!(streamed.html.lines().next().is_some_and(|h| h.ends_with(",consent_marketing,\"Access needs, if any?\"")), "{}", streamed.html);
    assert!(streamed.html.contains(",yes,\"'=1+0, \"\"quoted\"\"\nnext line\"\r\n"), "{}", streamed.html);
    assert!(streamed.html.contains(",yes,\r\n"), "an unanswered question is an empty cell: {}", streamed.html);
}

#[tokio::test]
async fn a_search_finds_this_events_people_by_name_or_email_with_the_status_filter() {
    let app = TestApp::spawn().await;
    let token = app.organiser_token().await;
    let fair = id_of(&app.create_published_event(&token, json!({"capacity": 1})).await);
    let other = id_of(&app.create_published_event(&token, json!({"capacity": 10})).await);
    let person = |name: &str, email: &str| json!({"name": name, "email": email, "consent_marketing": false});
    app.register(&fair, person("Dana Scully", "dana@example.org")).await;
    app.register(&fair, person("Fox Mulder", "fox.scully@example.org")).await;
    app.register(&fair, person("Walter Skinner", "walter@example.org")).await;
    app.register(&fair, person("Élodie Martin", "elodie@example.org")).await;
    app.register(&other, person("Margaret Scully", "maggie@example.org")).await;
    app.register(&other, person("Dana Scully", "dana@example.org")).await;
    let names = |answer: &crate::helpers::Answer| {
        let mut names: Vec<String> =
            answer.json["items"].as_array().into_iter().flatten().filter_map(|r| r["name"].as_str().map(str::to_owned)).collect();
        names.sort();
        (answer.json["total"].as_u64(), names)
    };
    let search = |event: &str, query: &str| format!("/api/v1/events/{event}/registrations?{query}");
    let found = app.get(&search(&fair, "q=SCULLY"), Some(&token)).await;
    assert_eq!(names(&found), (Some(2), vec!["Dana Scully".to_owned(), "Fox Mulder".to_owned()]), "by name or email, this event's only");
    let waiting = app.get(&search(&fair, "q=scully&status=waitlisted"), Some(&token)).await;
    assert_eq!(names(&waiting), (Some(1), vec!["Fox Mulder".to_owned()]));
    let there = app.get(&search(&other, "q=scully"), Some(&token)).await;
    assert_eq!(names(&there), (Some(2), vec!["Dana Scully".to_owned(), "Margaret Scully".to_owned()]));
    // Case is ignored for ASCII letters, the same on both databases; an accented letter is
    // matched as it is written.
    let accented = app.get(&search(&fair, "q=%C3%89lodie%20MARTIN"), Some(&token)).await;
    assert_eq!(names(&accented), (Some(1), vec!["Élodie Martin".to_owned()]));
    let wildcard = app.get(&search(&fair, "q=%25"), Some(&token)).await;
    assert_eq!(names(&wildcard), (Some(0), vec![]), "a % is a character, not a wildcard");
}

#[tokio::test]
async fn organisers_keep_campaigns_and_venues_with_the_apis_rules() {
    let app = TestApp::spawn().await;
    let email = user(&app, "organiser").await;
    let mut visitor = Visitor::new(&app);
    visitor.sign_in(&email, PASSWORD, "").await;
    let csrf = visitor.csrf().await;
    let campaign = |slug: &'static str, ends_day: &'static str| {
        vec![
            ("name", "Gift of Care 2027"),
            ("slug", slug),
            ("starts_on_day", "1"),
            ("starts_on_month", "3"),
            ("starts_on_year", "2027"),
            ("ends_on_day", ends_day),
            ("ends_on_month", "2"),
            ("ends_on_year", "2027"),
            ("objective_training_development", "yes"),
        ]
    };
    let mut bad = campaign("Not A Slug!", "31");
    bad.push(("csrf", &csrf));
    let refused = visitor.post("/manage/campaigns/new", &bad).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.html.contains(r##"href="#f-slug""##) && refused.html.contains(r##"href="#f-ends_on""##), "{}", refused.html);
    assert!(refused.html.contains(r#"value="Gift of Care 2027""#), "kept");
    let mut wrong_order = campaign("gift-of-care-2027", "20");
    wrong_order.push(("csrf", &csrf));
    assert_eq!(visitor.post("/manage/campaigns/new", &wrong_order).await.status, StatusCode::UNPROCESSABLE_ENTITY, "ends before it starts");
    let mut good = campaign("gift-of-care-2027", "20");
    good.retain(|(k, _)| *k != "ends_on_month");
    good.push(("ends_on_month", "4"));
    good.push(("csrf", &csrf));
    let created = visitor.post("/manage/campaigns/new", &good).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.html);
    let again = visitor.post("/manage/campaigns/new", &good).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "the slug is taken");
    let listed = app.get("/api/v1/campaigns", None).await;
    assert_eq!(listed.json["items"][0]["objectives"], json!(["training_development"]));
    let id = id_of(&listed.json["items"][0]);
    let form = visitor.get(&format!("/manage/campaigns/{id}")).await;
    assert!(form.html.contains(r#"value="gift-of-care-2027""#) && form.html.contains("checked"));

    let venue =
        [("csrf", csrf.as_str()), ("name", "Witham Library"), ("address", "18 Newland St"), ("postcode", "nowhere"), ("latitude", "95")];
    let refused = visitor.post("/manage/venues/new", &venue).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.html.contains(r##"href="#f-postcode""##) && refused.html.contains(r##"href="#f-latitude""##));
    let venue =
        [("csrf", csrf.as_str()), ("name", "Witham Library"), ("address", "18 Newland St"), ("postcode", "cm8 2aq"), ("capacity", "80")];
    assert_eq!(visitor.post("/manage/venues/new", &venue).await.status, StatusCode::SEE_OTHER);
    let listed = app.get("/api/v1/venues", None).await;
    assert_eq!((listed.json["items"][0]["postcode"].as_str(), listed.json["items"][0]["capacity"].as_i64()), (Some("CM8 2AQ"), Some(80)));
    assert!(visitor.get("/manage/venues").await.html.contains("not placed"), "no coordinates yet");
}

#[tokio::test]
async fn reports_draw_their_figures_and_the_mail_page_is_for_admins() {
    let app = TestApp::spawn().await;
    let token = app.organiser_token().await;
    let campaign = id_of(&app.create_campaign(&token, "gift-of-care").await);
    let fair = id_of(&app.create_published_event(&token, json!({"campaign_id": campaign})).await);
    for (name, mail) in [("Ann Lee", "ann@example.org"), ("Bob Ray", "bob@example.org")] {
        app.register(&fair, json!({"name": name, "email": mail, "consent_marketing": false})).await;
    }
    let email = user(&app, "organiser").await;
    let mut organiser = Visitor::new(&app);
    organiser.sign_in(&email, PASSWORD, "").await;
    let page = organiser.get(&format!("/manage/reports?campaign={campaign}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains("<svg") && page.html.contains("Registrations by status"), "{}", page.html);
    // The chart's figures are in its table too: two confirmed registrations.
    let confirmed_row =
        page.html.split("The figures of the chart").nth(1).and_then(|t| t.split("confirmed</th>").nth(1)).unwrap_or_default();
    assert!(confirmed_row.trim_start().starts_with(r#"<td class="govuk-table__cell govuk-table__cell--numeric">2<"#), "{confirmed_row}");
    // A school with a link is charted, a long name cut in the chart and whole in the table.
    let school = id_of(&app.create_school(&token, "998877", "The Very Long Named Community Academy of Chelmsford", (51.73, 0.47)).await);
    let employer = id_of(&app.create_employer(&token, "Oak Lodge Care", (51.7, 0.4)).await);
    app.link(&token, &employer, &school).await;
    let page = organiser.get("/manage/reports").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains("The Very Long Named Commu…") && page.html.contains("The Very Long Named Community Academy of Chelmsford"));
    assert_eq!(organiser.get("/manage/outbox").await.status, StatusCode::NOT_FOUND, "organisers do not watch the mail");
    let mut admin = Visitor::new(&app);
    admin.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD, "").await;
    let mail = admin.get("/manage/outbox?status=any").await;
    assert_eq!(mail.status, StatusCode::OK);
    assert!(mail.html.contains("Your place is booked"), "{}", mail.html);
    let csrf = admin.csrf().await;
    let missing = admin.post(&format!("/manage/outbox/{}/retry", uuid::Uuid::now_v7()), &[("csrf", &csrf)]).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn organisers_invite_by_pasting_or_uploading_a_list_and_see_who_answered() {
    let app = TestApp::spawn().await;
    let token = app.organiser_token().await;
    let fair = id_of(&app.create_published_event(&token, json!({})).await);
    let email = user(&app, "organiser").await;
    let mut visitor = Visitor::new(&app);
    visitor.sign_in(&email, PASSWORD, "").await;
    let csrf = visitor.csrf().await;
    let path = format!("/manage/events/{fair}/invitations");

    // One bad line: named by its number, what was typed kept, nothing sent.
    let list = "Ann Lee, ann@example.org\nBob Ray, not-an-address\n";
    let refused = visitor.post(&path, &[("csrf", &csrf), ("recipients", list), ("message", "Bring a CV")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.html.contains("Line 2: the email address"), "{}", refused.html);
    assert!(refused.html.contains("not-an-address") && refused.html.contains("Bring a CV"), "kept");
    assert_eq!(app.count_rows("SELECT COUNT(*) AS n FROM invitations").await, 0);

    let list = "name,email\nAnn Lee, ann@example.org\nbob@example.org; Bob Ray\nAnn Again <ANN@example.org>\n";
    let sent = visitor.post(&path, &[("csrf", &csrf), ("recipients", list), ("message", "")]).await;
    assert_eq!((sent.status, sent.location.as_str()), (StatusCode::SEE_OTHER, format!("{path}?queued=2").as_str()), "duplicates collapsed");

    // A CSV file, as a spreadsheet saves it.
    let boundary = "carefair-test-boundary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"people.csv\"\r\nContent-Type: text/csv\r\n\r\n\u{feff}Name,Email\r\nCy Dee,cy@example.org\r\n\r\n--{boundary}--\r\n"
    );
    let resp = app
        .client
        .post(app.url(&format!("{path}/upload")))
        .header("cookie", visitor.cookie_header())
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let uploaded = visitor.read(resp).await;
    assert_eq!(
        (uploaded.status, uploaded.location.as_str()),
        (StatusCode::SEE_OTHER, format!("{path}?queued=1").as_str()),
        "{}",
        uploaded.html
    );

    // Bob says yes through his mail's page; the list shows it.
    let mail = app.wait_for_mail("Bob Ray").await;
    let link = mail.split_whitespace().find(|w| w.contains("/rsvp/") && w.ends_with("answer=accept")).unwrap_or_default();
    let token_path = link.split_once("/rsvp/").map(|(_, rest)| rest.split('?').next().unwrap_or_default().to_owned()).unwrap_or_default();
    app.post(&format!("/api/v1/rsvp/{token_path}"), None, json!({"answer": "accept"})).await.assert_status(StatusCode::OK);
    let page = visitor.get(&format!("{path}?queued=1")).await;
    assert!(page.html.contains("3 invited, 1 answered") && page.html.contains("Coming"), "{}", page.html);
}

#[tokio::test]
async fn organisers_decide_school_links_and_invite_careers_leaders_from_the_schools_page() {
    let app = TestApp::spawn().await;
    let token = app.organiser_token().await;
    let school = id_of(&app.create_school(&token, "246810", "Moulsham High", (51.72, 0.47)).await);
    let employer = id_of(&app.create_employer(&token, "Oak Lodge Care", (51.7, 0.4)).await);
    let link = app
        .post(
            "/api/v1/school-links",
            Some(&token),
            json!({"employer_id": employer, "school_id": school, "notes": "Careers talk for year 10"}),
        )
        .await;
    link.assert_status(StatusCode::CREATED);
    let link_id = id_of(&link.json);
    let email = user(&app, "organiser").await;
    let mut visitor = Visitor::new(&app);
    visitor.sign_in(&email, PASSWORD, "").await;
    assert!(visitor.get("/manage/schools?q=Moulsham").await.html.contains("Moulsham High"));
    let page = visitor.get(&format!("/manage/schools/{school}")).await;
    assert!(page.html.contains("Oak Lodge Care") && page.html.contains("Careers talk for year 10"), "{}", page.html);
    let csrf = page.csrf();
    let back = format!("/manage/schools/{school}");
    let accepted = visitor.post(&format!("/manage/school-links/{link_id}/accept"), &[("csrf", &csrf), ("back", &back)]).await;
    assert_eq!(accepted.location, format!("{back}?done=accepted"));
    let stored = app.get(&format!("/api/v1/school-links?school={school}"), Some(&token)).await;
    assert_eq!(stored.json["items"][0]["status"], "active");
    let again = visitor.post(&format!("/manage/school-links/{link_id}/accept"), &[("csrf", &csrf), ("back", "https://evil.example")]).await;
    assert!(again.location.starts_with("/manage/school-links"), "back only to our own pages: {}", again.location);
    assert!(visitor.get("/manage/school-links?status=active").await.html.contains("Oak Lodge Care"));

    // The careers leader is invited from the school's page and lands in the school portal.
    let bad =
        visitor.post(&format!("/manage/schools/{school}/invite"), &[("csrf", &csrf), ("name", "Kim"), ("email", "not an address")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.html.contains(r##"href="#f-email""##) && bad.html.contains(r#"value="not an address""#));
    let invited = visitor
        .post(&format!("/manage/schools/{school}/invite"), &[("csrf", &csrf), ("name", "Kim Careers"), ("email", "kim@moulsham.test")])
        .await;
    assert_eq!(invited.location, format!("/manage/schools/{school}?done=invited"));
    let path = link_in_mail(&app, "kim@moulsham.test").await;
    let mut kim = Visitor::new(&app);
    let form = kim.get(&path).await;
    kim.post(&path, &[("csrf", &form.csrf()), ("password", "moulsham-careers"), ("confirm", "moulsham-careers")]).await;
    assert_eq!(kim.sign_in("kim@moulsham.test", "moulsham-careers", "").await.location, "/school");
    assert!(kim.get("/school").await.html.contains("Moulsham High"));
    assert_eq!(kim.get(&format!("/manage/schools/{school}")).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_organiser_and_an_admin_work_in_the_back_office_in_a_browser() {
    let Some(browser) = Browser::start(true).await else { return };
    let app = TestApp::spawn().await;
    let token = app.organiser_token().await;
    let email = user(&app, "organiser").await;
    let employer = id_of(&app.create_employer(&token, "Oak Lodge Care", (51.7, 0.4)).await);
    let signup = json!({
        "name": "Willow Home Care", "provider_type": "home_care", "address": "3 Mill Lane, Witham", "postcode": "CM8 2AA",
        "contact_name": "Sam Patel", "contact_email": "sam@willow.example",
        "user": {"email": "sam.login@willow.example", "name": "Sam Patel", "password": PASSWORD},
    });
    app.post("/api/v1/employers/signup", None, signup).await.assert_status(StatusCode::CREATED);

    // Sign in, from a private page and back to it.
    browser.goto(&app.url("/manage/events")).await;
    assert!(browser.text_with("Sign in").await.contains("Email address"));
    browser.screenshot("sign-in").await;
    browser.type_into("#f-email", &email).await;
    browser.type_into("#f-password", PASSWORD).await;
    browser.click("form[action='/sign-in'] button[type=submit]").await;
    assert!(browser.text_with("Create an event").await.contains("Events"));
    assert_eq!(browser.current_path().await, "/manage/events");
    browser.screenshot("manage-events-empty").await;

    // Create a fair, with the times the wrong way round first.
    browser.click("a[href='/manage/events/new']").await;
    assert!(browser.text_with("Save as a draft").await.contains("Create an event"));
    browser.screenshot("manage-event-new").await;
    browser.type_into("#f-title", "Witham Care Jobs Fair").await;
    for (part, value) in [("day", "4"), ("month", "1"), ("year", "2027")] {
        browser.type_into(&format!("#f-starts_at-{part}"), value).await;
        browser.type_into(&format!("#f-ends_at-{part}"), value).await;
    }
    browser.type_into("#f-starts_at-time", "14:00").await;
    browser.type_into("#f-ends_at-time", "10:00").await;
    browser.type_into("#f-capacity", "1").await;
    browser.type_into("#f-max_exhibitors", "5").await;
    browser.click("form[action='/manage/events/new'] button[type=submit]").await;
    let wrong = browser.text_with("There is a problem").await;
    assert!(wrong.contains("There is a problem") && wrong.contains("Ends"), "{wrong}");
    assert!(browser.source().await.contains(r#"value="Witham Care Jobs Fair""#), "kept");
    browser.screenshot("manage-event-new-error").await;
    browser.type_into("#f-ends_at-time", "1700").await; // typed without the colon, as people do
    browser.click("form[action='/manage/events/new'] button[type=submit]").await;
    assert!(browser.text_with("saved as a draft").await.contains("saved as a draft"));
    browser.screenshot("manage-event-draft").await;
    let id = browser.current_path().await.trim_start_matches("/manage/events/").to_owned();

    // Edit it, then publish.
    browser.click(&format!("a[href='/manage/events/{id}/edit']")).await;
    assert!(browser.text_with("Edit the event").await.contains("Save changes"));
    browser.screenshot("manage-event-edit").await;
    browser.type_into("#f-title", "Witham Care Jobs Fair 2027").await;
    browser.click(&format!("form[action='/manage/events/{id}/edit'] button[type=submit]")).await;
    assert!(browser.text_with("Your changes are saved").await.contains("Witham Care Jobs Fair 2027"));
    browser.click(&format!("form[action='/manage/events/{id}/publish'] button")).await;
    assert!(browser.text_with("The event is published").await.contains("Published"));
    browser.screenshot("manage-event-published").await;

    // A stand to confirm, and someone to check in.
    let stand = app
        .post(
            &format!("/api/v1/events/{id}/exhibitors"),
            Some(&token),
            json!({"employer_id": employer, "staff_count": 3, "roles_offered": ["Carer"]}),
        )
        .await;
    let xid = id_of(&stand.json);
    app.register(&id, json!({"name": "Ann Lee", "email": "ann@example.org", "consent_marketing": false})).await;
    app.register(&id, json!({"name": "Bob Ray", "email": "bob@example.org", "consent_marketing": false})).await;
    browser.goto(&app.url(&format!("/manage/events/{id}"))).await;
    browser.type_into(&format!("#label-{xid}"), "A1").await;
    browser.click(&format!("form[action$='/exhibitors/{xid}/confirm'] button")).await;
    assert!(browser.text_with("The stand is confirmed").await.contains("stand A1"));
    browser.screenshot("manage-event-stand-confirmed").await;

    browser.click(&format!("a[href='/manage/events/{id}/registrations']")).await;
    assert!(browser.text_with("Ann Lee").await.contains("Waiting list"));
    browser.screenshot("manage-registrations").await;
    browser.click("form[action$='/check-in'] button").await;
    assert!(browser.text_with("Checked in.").await.contains("Undo check-in"));
    browser.screenshot("manage-registrations-checked-in").await;
    let attended = app.get(&format!("/api/v1/events/{id}/registrations?status=attended"), Some(&token)).await;
    assert_eq!(attended.json["total"], 1);
    browser.goto(&app.url(&format!("/manage/events/{id}/attendance"))).await;
    assert!(browser.text_with("Attendance list").await.contains("Ann Lee"));
    browser.screenshot("manage-attendance").await;

    // Invite someone by pasting their address.
    browser.goto(&app.url(&format!("/manage/events/{id}/invitations"))).await;
    browser.type_into("#f-recipients", "Dee Ray, dee@example.org").await;
    browser.screenshot("manage-invitations").await;
    browser.click(&format!("form[action='/manage/events/{id}/invitations'] button")).await;
    assert!(browser.text_with("1 invitation is on its way").await.contains("dee@example.org"));
    browser.screenshot("manage-invitations-sent").await;

    // A school link to accept, on the school's page.
    let school_id = id_of(&app.create_school(&token, "112233", "Witham Academy", (51.8, 0.64)).await);
    app.post("/api/v1/school-links", Some(&token), json!({"employer_id": employer, "school_id": school_id}))
        .await
        .assert_status(StatusCode::CREATED);
    browser.goto(&app.url("/manage/schools")).await;
    assert!(browser.text_with("Witham Academy").await.contains("Witham Academy"));
    browser.screenshot("manage-schools").await;
    browser.click(&format!("a[href='/manage/schools/{school_id}']")).await;
    assert!(browser.text_with("Links with employers").await.contains("Oak Lodge Care"));
    browser.screenshot("manage-school").await;
    browser.click("form[action$='/accept'] button").await;
    assert!(browser.text_with("The link is accepted").await.contains("active"));

    // Plan an engagement with the school and the employer now linked with it.
    browser.click(&format!("a[href='/manage/schools/{school_id}/engagements/new']")).await;
    assert!(browser.text_with("Plan an engagement").await.contains("Oak Lodge Care"));
    browser.type_into("#f-title", "Careers in care: Year 10 talk").await;
    browser.select("#f-activity", "careers_talk").await;
    browser.click("label[for='f-employer_ids']").await;
    browser.click("label[for='f-year_groups-4']").await;
    browser.type_into("#f-expected_pupils", "60").await;
    for (part, value) in [("day", "5"), ("month", "1"), ("year", "2027")] {
        browser.type_into(&format!("#f-starts_at-{part}"), value).await;
        browser.type_into(&format!("#f-ends_at-{part}"), value).await;
    }
    browser.type_into("#f-starts_at-time", "10:00").await;
    browser.type_into("#f-ends_at-time", "09:00").await;
    browser.click(&format!("form[action='/manage/schools/{school_id}/engagements/new'] button[type=submit]")).await;
    let wrong = browser.text_with("There is a problem").await;
    assert!(wrong.contains("Ends") && wrong.contains("Supervision"), "{wrong}");
    browser.screenshot("manage-engagement-new-error").await;
    browser.type_into("#f-ends_at-time", "11:30").await;
    browser.click("label[for='f-supervised']").await;
    browser.click(&format!("form[action='/manage/schools/{school_id}/engagements/new'] button[type=submit]")).await;
    let planned = browser.text_with("The engagement is saved as a draft").await;
    assert!(planned.contains("Oak Lodge Care") && planned.contains("Year 10"), "{planned}");
    browser.screenshot("manage-engagement").await;
    let engagement = browser.current_path().await.trim_start_matches("/manage/events/").to_owned();
    browser.goto(&app.url("/manage/engagements")).await;
    assert!(browser.text_with("Careers in care: Year 10 talk").await.contains("Witham Academy"));
    browser.screenshot("manage-engagements").await;
    browser.goto(&app.url(&format!("/manage/engagements/{engagement}/edit"))).await;
    assert!(browser.text_with("Edit the engagement").await.contains("Save changes"));

    // Campaigns and venues have their own pages.
    let campaign_page = format!("/manage/campaigns/{}", id_of(&app.create_campaign(&token, "witham-2027").await));
    let venue_page = format!("/manage/venues/{}", id_of(&app.create_venue(&token, Some(200)).await));
    for (path, heading, shot) in [
        ("/manage/campaigns", "Create a campaign", "manage-campaigns"),
        ("/manage/campaigns/new", "Web address", "manage-campaign-new"),
        ("/manage/venues", "Add a venue", "manage-venues"),
        ("/manage/venues/new", "Most people", "manage-venue-new"),
        ("/manage/school-links", "School links", "manage-school-links"),
        (&campaign_page, "Change the campaign", "manage-campaign-edit"),
        (&venue_page, "Change the venue", "manage-venue-edit"),
        ("/password/reset/not-a-real-link", "does not work", "link-does-not-work"),
    ] {
        browser.goto(&app.url(path)).await;
        assert!(browser.text_with(heading).await.contains(heading), "{path}");
        browser.screenshot(shot).await;
    }

    // Approve the employer that signed up.
    browser.goto(&app.url("/manage")).await;
    assert!(browser.text_with("Willow Home Care").await.contains("Employers to approve"));
    browser.screenshot("manage-dashboard").await;
    browser.goto(&app.url("/manage/employers")).await;
    browser.click("form[action$='/approve'] button").await;
    assert!(browser.text_with("The employer is approved").await.contains("approved"));
    browser.screenshot("manage-employers").await;
    let pending = app.get("/api/v1/employers?status=pending", Some(&token)).await;
    assert_eq!(pending.json["total"], 0);
    browser.sign_out().await;
    assert!(browser.text_with("You have signed out").await.contains("You have signed out"));
    browser.close().await;

    // An admin, on a desktop, invites a careers leader, who chooses a password.
    let Some(desktop) = Browser::start(false).await else { return };
    let school = id_of(&app.create_school(&token, "135790", "Maltings Academy", (51.8, 0.64)).await);
    app.create_campaign(&token, "gift-of-care").await;
    desktop.goto(&app.url("/sign-in")).await;
    desktop.type_into("#f-email", ADMIN_EMAIL).await;
    desktop.type_into("#f-password", ADMIN_PASSWORD).await;
    desktop.click("form[action='/sign-in'] button[type=submit]").await;
    assert!(desktop.text_with("Dashboard").await.contains("Upcoming events"));
    desktop.screenshot("desktop-manage-dashboard").await;
    for (path, shot) in [("/manage/reports", "desktop-manage-reports"), ("/manage/outbox?status=any", "desktop-manage-outbox")] {
        desktop.goto(&app.url(path)).await;
        assert!(desktop.text_with("Sign out").await.contains("Sign out"), "{path}");
        desktop.screenshot(shot).await;
    }
    desktop.goto(&app.url("/manage/users")).await;
    desktop.type_into("#f-name", "Kim Careers").await;
    desktop.type_into("#f-email", "kim@maltings.test").await;
    desktop.select("#f-role", "school").await;
    desktop.select("#f-school_id", &school).await;
    desktop.click("form[action='/manage/users/invite'] button").await;
    assert!(desktop.text_with("The invitation is on its way").await.contains("kim@maltings.test"));
    desktop.screenshot("desktop-manage-users").await;
    desktop.sign_out().await;
    desktop.text_with("You have signed out").await;

    let path = link_in_mail(&app, "kim@maltings.test").await;
    desktop.goto(&app.url(&path)).await;
    assert!(desktop.text_with("Choose your password").await.contains("kim@maltings.test"));
    desktop.screenshot("desktop-choose-password").await;
    desktop.type_into("#f-password", "maltings-careers").await;
    desktop.type_into("#f-confirm", "maltings-careers").await;
    desktop.click("form[action^='/password/reset/'] button").await;
    assert!(desktop.text_with("Your password is set").await.contains("Sign in"));
    desktop.type_into("#f-email", "kim@maltings.test").await;
    desktop.type_into("#f-password", "maltings-careers").await;
    desktop.click("form[action='/sign-in'] button[type=submit]").await;
    assert!(desktop.text_with("Maltings Academy").await.contains("School portal"));
    assert_eq!(desktop.current_path().await, "/school");
    desktop.screenshot("desktop-school-home").await;
    desktop.sign_out().await;
    desktop.text_with("You have signed out").await;

    // Kim forgets it and sets a new one.
    desktop.click("a[href='/password/forgot']").await;
    desktop.type_into("#f-email", "kim@maltings.test").await;
    desktop.screenshot("desktop-forgot").await;
    desktop.click("form[action='/password/forgot'] button").await;
    assert!(desktop.text_with("Check your email").await.contains("kim@maltings.test"));
    desktop.screenshot("desktop-forgot-sent").await;
    let mut reset = String::new();
    for _ in 0..100 {
        reset = app
            .mail_texts()
            .iter()
            .filter(|m| m.contains("Someone asked to set a new password"))
            .flat_map(|m| m.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
            .find(|w| w.contains("/password/reset/"))
            .unwrap_or_default();
        if !reset.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let reset_path =
        reset.split_once("/password/reset/").map(|(_, t)| format!("/password/reset/{t}")).unwrap_or_else(|| panic!("no reset mail"));
    desktop.goto(&app.url(&reset_path)).await;
    desktop.type_into("#f-password", "maltings-new-pass").await;
    desktop.type_into("#f-confirm", "maltings-new-pass").await;
    desktop.click("form[action^='/password/reset/'] button").await;
    assert!(desktop.text_with("Your password is set").await.contains("Your password is set"));
    desktop.screenshot("desktop-password-set").await;
    desktop.close().await;
    app.login("kim@maltings.test", "maltings-new-pass").await;
}

/// The engagement form filled in: a careers talk on 5 January 2027 with `employer`, each of
/// `extra` replacing the field of its name.
fn plan<'a>(csrf: &'a str, employer: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![
        ("csrf", csrf),
        ("title", "Careers in care: Year 10"),
        ("activity", "careers_talk"),
        ("employer_ids", employer),
        ("year_groups", "10"),
        ("year_groups", "11"),
        ("expected_pupils", "60"),
        ("timezone", "Europe/London"),
        ("starts_at_day", "5"),
        ("starts_at_month", "1"),
        ("starts_at_year", "2027"),
        ("starts_at_time", "10:00"),
        ("ends_at_day", "5"),
        ("ends_at_month", "1"),
        ("ends_at_year", "2027"),
        ("ends_at_time", "12:00"),
        ("supervised", "yes"),
        ("risk_assessment_ref", "RA-14"),
    ];
    for (name, value) in extra {
        fields.retain(|(n, _)| n != name);
        fields.push((name, value));
    }
    fields
}

#[tokio::test]
async fn organisers_plan_school_engagements_with_linked_employers_and_record_what_they_achieved() {
    let app = TestApp::spawn().await;
    let token = app.organiser_token().await;
    let school = id_of(&app.create_school(&token, "135790", "Great Baddow High", (51.71, 0.5)).await);
    let linked = id_of(&app.create_employer(&token, "Oak Lodge Care", (51.7, 0.4)).await);
    let unlinked = id_of(&app.create_employer(&token, "Rowan House", (51.7, 0.4)).await);
    app.link(&token, &linked, &school).await;
    let email = user(&app, "organiser").await;
    let mut visitor = Visitor::new(&app);
    visitor.sign_in(&email, PASSWORD, "").await;

    let new = format!("/manage/schools/{school}/engagements/new");
    let form = visitor.get(&new).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.html);
    assert!(form.html.contains("Oak Lodge Care") && !form.html.contains("Rowan House"), "only linked employers are offered");
    let csrf = form.csrf();
    // Nothing chosen: every missing field is named beside itself, and what was typed is kept.
    let empty = visitor.post(&new, &[("csrf", &csrf), ("title", "Talk <b>for</b> pupils")]).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    for field in ["activity", "employer_ids", "year_groups", "expected_pupils", "supervised", "starts_at"] {
        assert!(empty.html.contains(&format!(r##"href="#f-{field}""##)), "{field} is named: {}", empty.html);
    }
    assert!(empty.html.contains("Talk &lt;b&gt;for&lt;") && !empty.html.contains("<b>for"), "the title is kept, escaped");
    let not_linked = visitor.post(&new, &plan(&csrf, &unlinked, &[])).await;
    assert_eq!(not_linked.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(not_linked.html.contains("has no active link"), "{}", not_linked.html);
    let backwards = plan(&csrf, &linked, &[("ends_at_time", "09:00"), ("year_groups", "14"), ("risk_assessment_ref", "RA\r\n14")]);
    let refused = visitor.post(&new, &backwards).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    for field in ["ends_at", "year_groups", "risk_assessment_ref"] {
        assert!(refused.html.contains(&format!(r##"href="#f-{field}""##)), "{field} is named: {}", refused.html);
    }
    let listed = app.get("/api/v1/events?kind=school_engagement", Some(&token)).await;
    assert_eq!(listed.json["total"], 0, "nothing was saved: {}", listed.text);
    // Without the form's token nothing is saved either.
    let forged = visitor.post(&new, &plan("", &linked, &[])).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    let planned = visitor.post(&new, &plan(&csrf, &linked, &[])).await;
    assert_eq!(planned.status, StatusCode::SEE_OTHER, "{}", planned.html);
    let id = planned.location.trim_start_matches("/manage/events/").split('?').next().unwrap_or_default().to_owned();
    let stored = app.get(&format!("/api/v1/events/{id}"), Some(&token)).await;
    assert_eq!(stored.json["activity"], "careers_talk", "{}", stored.text);
    assert_eq!(stored.json["year_groups"], json!([10, 11]));
    assert_eq!(stored.json["employer_ids"], json!([linked]));
    assert_eq!(stored.json["school_id"], json!(school));
    assert_eq!(stored.json["supervised"], true);
    let page = visitor.get(&format!("/manage/events/{id}")).await;
    assert!(
        page.html.contains("Great Baddow High") && page.html.contains("Careers talk") && page.html.contains("Year 10, Year 11"),
        "{}",
        page.html
    );
    assert!(!page.html.contains("/registrations"), "an engagement takes no registrations");
    assert_eq!(visitor.get(&format!("/manage/events/{id}/edit")).await.location, format!("/manage/engagements/{id}/edit"));
    let edit = visitor.get(&format!("/manage/engagements/{id}/edit")).await;
    assert!(edit.html.contains(r#"value="RA-14""#) && edit.html.contains(r#"value="11" checked"#), "{}", edit.html);
    let changed = plan(&csrf, &linked, &[("expected_pupils", "90"), ("risk_assessment_ref", "")]);
    let saved = visitor.post(&format!("/manage/engagements/{id}/edit"), &changed).await;
    assert_eq!(saved.location, format!("/manage/events/{id}?done=saved"), "{}", saved.html);
    let stored = app.get(&format!("/api/v1/events/{id}"), Some(&token)).await;
    assert_eq!(stored.json["expected_pupils"], 90);
    assert!(stored.json["risk_assessment_ref"].is_null(), "a blank reference clears it");
    assert!(visitor.get("/manage/engagements").await.html.contains("Careers in care: Year 10"));
    assert!(visitor.get(&format!("/manage/schools/{school}")).await.html.contains("Careers in care: Year 10"));
    // A fair is not an engagement: its id has no engagement form.
    let fair = id_of(&app.create_event(&token, json!({})).await);
    assert_eq!(visitor.get(&format!("/manage/engagements/{fair}/edit")).await.status, StatusCode::NOT_FOUND);

    // The outcome: not before it is held, then recorded with the four criteria.
    visitor.post(&format!("/manage/events/{id}/publish"), &[("csrf", &csrf)]).await;
    let outcome = format!("/manage/engagements/{id}/outcome");
    let early = visitor.post(&outcome, &[("csrf", &csrf), ("pupils_reached", "57")]).await;
    assert_eq!(early.status, StatusCode::CONFLICT);
    assert!(early.html.contains("has not been held yet"), "{}", early.html);
    app.clock.advance(chrono::Duration::days(2));
    visitor.sign_in(&email, PASSWORD, "").await;
    let page = visitor.get(&format!("/manage/events/{id}")).await;
    let csrf = page.csrf();
    assert!(
        page.html.contains(r#"name="pupils_reached""#),
        "the form is offered once it is held: {} {} {}",
        page.status,
        page.location,
        page.html
    );
    let bad = visitor.post(&outcome, &[("csrf", &csrf), ("pupils_reached", "lots"), ("reflection", "yes")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.html.contains(r##"href="#f-pupils_reached""##) && bad.html.contains(r#"value="lots""#), "{}", bad.html);
    assert!(bad.html.contains(r#"id="f-reflection" name="reflection" type="checkbox" value="yes" checked"#), "ticks are kept");
    let token = app.organiser_token().await;
    assert!(app.get(&format!("/api/v1/events/{id}"), Some(&token)).await.json["pupils_reached"].is_null(), "nothing recorded");
    let four = [
        ("csrf", csrf.as_str()),
        ("pupils_reached", "57"),
        ("purpose_briefed", "yes"),
        ("learning_outcomes", "yes"),
        ("two_way_interaction", "yes"),
        ("reflection", "yes"),
    ];
    let recorded = visitor.post(&outcome, &four).await;
    assert_eq!(recorded.location, format!("/manage/events/{id}?done=recorded#outcome"));
    let stored = app.get(&format!("/api/v1/events/{id}"), Some(&token)).await;
    assert_eq!(stored.json["pupils_reached"], 57);
    assert_eq!(
        stored.json["meaningful"],
        json!({"purpose_briefed": true, "learning_outcomes": true, "two_way_interaction": true, "reflection": true})
    );
    assert!(visitor.get(&format!("/manage/events/{id}")).await.html.contains("all four criteria were met"));

    // Other roles see none of it.
    for role in ["employer", "school"] {
        let email = user(&app, role).await;
        let mut other = Visitor::new(&app);
        other.sign_in(&email, PASSWORD, "").await;
        for path in ["/manage/engagements".to_owned(), new.clone(), format!("/manage/engagements/{id}/edit")] {
            assert_eq!(other.get(&path).await.status, StatusCode::NOT_FOUND, "{role} {path}");
        }
    }
}
