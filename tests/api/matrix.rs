//! The authorization matrix: for every operation of the employers-and-schools API, each role
//! gets exactly the answer SPEC §3 and §6 give (401 without a token, 403 for a role that may not,
//! 404 for another organisation's ids). A walk over the OpenAPI document fails when an operation
//! has neither a row here nor a place in the list of operations whose rules the earlier areas'
//! tests hold.
//!
//! Every row runs on one shared world. Refusals (401, 403, 404) run first, since they must change
//! nothing; then the organisation's own users, then organisers and admins, so that an operation
//! that creates something answers 409 to the later callers, as it would to anyone repeating it.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, id_of, merge};

/// The roles, in the order of each row's expected answers.
const ROLES: [&str; 7] = ["anonymous", "admin", "organiser", "employer A", "employer B", "school X", "school Y"];

/// The order the allowed callers go in: the public, the organisations' users, then organisers
/// and admins.
const ALLOWED_ORDER: [usize; 7] = [0, 3, 4, 5, 6, 2, 1];

fn is_refusal(status: u16) -> bool {
    matches!(status, 401 | 403 | 404)
}

/// Operations older than this matrix, with the tests that hold their rules.
const EARLIER: &[(&str, &str, &str)] = &[
    ("POST", "/api/v1/auth/login", "auth.rs"),
    ("POST", "/api/v1/auth/logout", "auth.rs"),
    ("GET", "/api/v1/me", "auth.rs"),
    ("GET", "/api/v1/users", "auth.rs"),
    ("POST", "/api/v1/users", "auth.rs"),
    ("GET", "/api/v1/campaigns", "campaigns.rs"),
    ("POST", "/api/v1/campaigns", "campaigns.rs"),
    ("DELETE", "/api/v1/campaigns/{id}", "campaigns.rs"),
    ("GET", "/api/v1/campaigns/{id}", "campaigns.rs"),
    ("PATCH", "/api/v1/campaigns/{id}", "campaigns.rs"),
    ("DELETE", "/api/v1/candidates/{id}", "registrations.rs"),
    ("GET", "/api/v1/candidates/{id}/export", "registrations.rs"),
    ("GET", "/api/v1/events", "events.rs"),
    ("POST", "/api/v1/events", "events.rs, engagements.rs"),
    ("DELETE", "/api/v1/events/{id}", "events.rs"),
    ("GET", "/api/v1/events/{id}", "events.rs"),
    ("PATCH", "/api/v1/events/{id}", "events.rs, engagements.rs"),
    ("POST", "/api/v1/events/{id}/cancel", "events.rs"),
    ("POST", "/api/v1/events/{id}/publish", "events.rs"),
    ("POST", "/api/v1/events/{id}/invitations", "mail.rs"),
    ("GET", "/api/v1/events/{id}/registrations", "registrations.rs"),
    ("POST", "/api/v1/events/{id}/registrations", "registrations.rs"),
    ("GET", "/api/v1/events/{id}/registrations.csv", "registrations.rs"),
    ("POST", "/api/v1/events/{id}/registrations/close", "registrations.rs"),
    ("POST", "/api/v1/events/{id}/registrations/{rid}/cancel", "registrations.rs"),
    ("POST", "/api/v1/events/{id}/registrations/{rid}/check-in", "registrations.rs"),
    ("POST", "/api/v1/events/{id}/check-ins", "door.rs"),
    ("DELETE", "/api/v1/events/{id}/check-ins/{rid}", "door.rs"),
    ("POST", "/api/v1/events/{id}/walk-ins", "door.rs"),
    ("GET", "/api/v1/events/{id}/door-links", "door.rs"),
    ("POST", "/api/v1/events/{id}/door-links", "door.rs"),
    ("DELETE", "/api/v1/events/{id}/door-links/{lid}", "door.rs"),
    ("POST", "/api/v1/events/{id}/exhibitors/{xid}/slots", "slots.rs"),
    ("GET", "/api/v1/events/{id}/slots", "slots.rs"),
    ("GET", "/api/v1/events/{id}/schedule", "slots.rs"),
    ("POST", "/api/v1/registrations/{token}/slots", "slots.rs"),
    ("DELETE", "/api/v1/registrations/{token}/slots/{slot_id}", "slots.rs"),
    ("GET", "/api/v1/employers/{id}/schedule", "slots.rs"),
    ("POST", "/api/v1/events/{id}/questions", "questions.rs"),
    ("POST", "/api/v1/feedback/{token}", "feedback.rs"),
    ("POST", "/api/v1/events/{id}/outcomes", "outcomes.rs"),
    ("POST", "/api/v1/registrations/{token}/claim", "offers.rs"),
    ("GET", "/api/v1/events/{id}/outcomes", "outcomes.rs"),
    ("GET", "/api/v1/events/{id}/feedback", "feedback.rs"),
    ("GET", "/api/v1/events/{id}/questions", "questions.rs"),
    ("PATCH", "/api/v1/events/{id}/questions/{qid}", "questions.rs"),
    ("DELETE", "/api/v1/events/{id}/questions/{qid}", "questions.rs"),
    ("DELETE", "/api/v1/registrations/{token}", "registrations.rs"),
    ("GET", "/api/v1/registrations/{token}", "registrations.rs"),
    ("POST", "/api/v1/rsvp/{token}", "mail.rs"),
    ("GET", "/api/v1/outbox", "mail.rs"),
    ("POST", "/api/v1/outbox/{id}/retry", "mail.rs"),
    ("GET", "/api/v1/venues", "venues.rs"),
    ("POST", "/api/v1/venues", "venues.rs"),
    ("DELETE", "/api/v1/venues/{id}", "venues.rs"),
    ("GET", "/api/v1/venues/{id}", "venues.rs"),
    ("PATCH", "/api/v1/venues/{id}", "venues.rs"),
];

/// One operation called by every role.
struct Row {
    method: Method,
    /// As the OpenAPI document names it.
    template: &'static str,
    path: String,
    /// The body for the role with this index, if the operation takes one.
    body: Box<dyn Fn(usize) -> Option<Value>>,
    /// For each of `ROLES`.
    expect: [u16; 7],
}

fn row(method: Method, template: &'static str, path: String, body: Option<Value>, expect: [u16; 7]) -> Row {
    Row { method, template, path, body: Box::new(move |_| body.clone()), expect }
}

/// Everything the rows act on.
#[derive(Default)]
struct World {
    tokens: Vec<Option<String>>,
    a: String,
    b: String,
    c: String,
    x: String,
    y: String,
    link_to_accept: String,
    link_to_decline: String,
    link_to_end: String,
    fair: String,
    other_fair: String,
    stand_a: String,
    stand_b: String,
    stand_to_withdraw: String,
    engagement: String,
    campaign: String,
}

async fn world(app: &TestApp) -> World {
    let organiser = app.organiser_token().await;
    let a = id_of(&app.create_employer(&organiser, "Alder Care", (51.70, 0.40)).await);
    let b = id_of(&app.create_employer(&organiser, "Birch Care", (51.71, 0.41)).await);
    let c = id_of(&app.create_employer(&organiser, "Cedar Care", (51.72, 0.42)).await);
    let x = id_of(&app.create_school(&organiser, "100001", "Chelmer Academy", (51.73, 0.43)).await);
    let y = id_of(&app.create_school(&organiser, "100002", "Colne School", (51.74, 0.44)).await);
    let ask = |employer: &str, school: &str| {
        let body = json!({"employer_id": employer, "school_id": school});
        let organiser = organiser.clone();
        async move { id_of(&app.post("/api/v1/school-links", Some(&organiser), body).await.json) }
    };
    let link_to_accept = ask(&a, &x).await;
    let link_to_decline = ask(&a, &y).await;
    let link_to_end = id_of(&app.link(&organiser, &b, &x).await);
    let campaign = id_of(&app.create_campaign(&organiser, "gift-of-care").await);
    let fair = id_of(&app.create_published_event(&organiser, json!({"campaign_id": campaign})).await);
    let other_fair = id_of(&app.create_published_event(&organiser, json!({"title": "Second fair"})).await);
    let stand = |event: &str, employer: &str| {
        let path = format!("/api/v1/events/{event}/exhibitors");
        let body = json!({"employer_id": employer, "staff_count": 2, "roles_offered": ["Care assistant"]});
        let organiser = organiser.clone();
        async move { id_of(&app.post(&path, Some(&organiser), body).await.json) }
    };
    let stand_a = stand(&fair, &a).await;
    let stand_b = stand(&fair, &b).await;
    let stand_to_withdraw = stand(&other_fair, &a).await;
    let engagement = json!({
        "kind": "school_engagement", "title": "Careers talk", "max_exhibitors": null, "school_id": x, "employer_ids": [b],
        "activity": "careers_talk", "year_groups": [9], "expected_pupils": 30, "supervised": true,
        "starts_at": "2027-01-01T10:00:00Z", "ends_at": "2027-01-01T11:00:00Z", "campaign_id": campaign
    });
    let engagement = id_of(&app.create_past_event(&organiser, engagement).await);
    let tokens = vec![
        None,
        Some(app.admin_token().await),
        Some(organiser.clone()),
        Some(app.member_token("employer", &a).await),
        Some(app.member_token("employer", &b).await),
        Some(app.member_token("school", &x).await),
        Some(app.member_token("school", &y).await),
    ];
    World {
        tokens,
        a,
        b,
        c,
        x,
        y,
        link_to_accept,
        link_to_decline,
        link_to_end,
        fair,
        other_fair,
        stand_a,
        stand_b,
        stand_to_withdraw,
        engagement,
        campaign,
    }
}

fn rows(w: &World) -> Vec<Row> {
    let (a, b, c, x, y) = (&w.a, &w.b, &w.c, &w.x, &w.y);
    let employer_body = |n: usize| {
        Some(
            json!({"name": format!("Made by role {n}"), "provider_type": "other", "address": "A", "postcode": "CM1 1AA", "contact_name": "P", "contact_email": "p@x.test"}),
        )
    };
    let fair = &w.fair;
    let stands = format!("/api/v1/events/{fair}/exhibitors");
    let outcome = json!({"pupils_reached": 25, "meaningful": {"purpose_briefed": true, "learning_outcomes": true, "two_way_interaction": true, "reflection": false}});
    let invited_employer = a.clone();
    vec![
        Row {
            method: Method::POST,
            template: "/api/v1/users/invitations",
            path: "/api/v1/users/invitations".into(),
            body: Box::new(move |n| {
                Some(
                    json!({"email": format!("invited{n}@x.test"), "name": "Ivy Invited", "role": "employer", "employer_id": invited_employer}),
                )
            }),
            expect: [401, 201, 201, 201, 403, 403, 403],
        },
        row(
            Method::POST,
            "/api/v1/auth/password-reset",
            "/api/v1/auth/password-reset".into(),
            Some(json!({"email": "nobody@x.test"})),
            [202; 7],
        ),
        row(
            Method::POST,
            "/api/v1/auth/password-reset/{token}",
            format!("/api/v1/auth/password-reset/{}", "0".repeat(64)),
            Some(json!({"password": "a-long-password"})),
            [404; 7],
        ),
        Row {
            method: Method::POST,
            template: "/api/v1/employers/signup",
            path: "/api/v1/employers/signup".into(),
            body: Box::new(move |n| {
                employer_body(n)
                    .map(|b| merge(b, json!({"user": {"email": format!("signup{n}@x.test"), "name": "S", "password": "a-long-password"}})))
            }),
            expect: [201, 201, 201, 201, 201, 201, 201],
        },
        Row {
            method: Method::POST,
            template: "/api/v1/employers",
            path: "/api/v1/employers".into(),
            body: Box::new(employer_body),
            expect: [401, 201, 201, 403, 403, 403, 403],
        },
        row(Method::GET, "/api/v1/employers", "/api/v1/employers".into(), None, [401, 200, 200, 200, 200, 403, 403]),
        row(Method::GET, "/api/v1/employers/{id}", format!("/api/v1/employers/{a}"), None, [401, 200, 200, 200, 404, 403, 403]),
        row(
            Method::PATCH,
            "/api/v1/employers/{id}",
            format!("/api/v1/employers/{a}"),
            Some(json!({"contact_name": "Pat"})),
            [401, 200, 200, 200, 404, 403, 403],
        ),
        row(
            Method::POST,
            "/api/v1/employers/{id}/approve",
            format!("/api/v1/employers/{a}/approve"),
            None,
            [401, 200, 200, 403, 403, 403, 403],
        ),
        row(
            Method::POST,
            "/api/v1/employers/{id}/suspend",
            format!("/api/v1/employers/{c}/suspend"),
            None,
            [401, 200, 200, 403, 403, 403, 403],
        ),
        row(Method::POST, "/api/v1/employers/{id}/feed", format!("/api/v1/employers/{a}/feed"), None, [401, 201, 201, 201, 404, 403, 403]),
        row(
            Method::GET,
            "/api/v1/employers/{id}/school-suggestions",
            format!("/api/v1/employers/{a}/school-suggestions"),
            None,
            [401, 200, 200, 200, 404, 403, 403],
        ),
        Row {
            method: Method::POST,
            template: "/api/v1/schools",
            path: "/api/v1/schools".into(),
            body: Box::new(|n| Some(json!({"urn": format!("20000{n}"), "name": "New school", "address": "A", "postcode": "CM1 1AA"}))),
            expect: [401, 201, 201, 403, 403, 403, 403],
        },
        row(Method::GET, "/api/v1/schools", "/api/v1/schools".into(), None, [401, 200, 200, 403, 403, 200, 200]),
        row(Method::GET, "/api/v1/schools/{id}", format!("/api/v1/schools/{x}"), None, [401, 200, 200, 403, 403, 200, 404]),
        row(
            Method::PATCH,
            "/api/v1/schools/{id}",
            format!("/api/v1/schools/{x}"),
            Some(json!({"district": "Chelmsford"})),
            [401, 200, 200, 403, 403, 403, 403],
        ),
        row(
            Method::POST,
            "/api/v1/school-links",
            "/api/v1/school-links".into(),
            Some(json!({"employer_id": b, "school_id": y})),
            [401, 409, 409, 404, 201, 403, 403],
        ),
        row(Method::GET, "/api/v1/school-links", "/api/v1/school-links".into(), None, [401, 200, 200, 200, 200, 200, 200]),
        row(
            Method::POST,
            "/api/v1/school-links/{id}/accept",
            format!("/api/v1/school-links/{}/accept", w.link_to_accept),
            None,
            [401, 200, 200, 403, 404, 200, 404],
        ),
        row(
            Method::POST,
            "/api/v1/school-links/{id}/decline",
            format!("/api/v1/school-links/{}/decline", w.link_to_decline),
            None,
            [401, 200, 200, 403, 404, 404, 200],
        ),
        row(
            Method::POST,
            "/api/v1/school-links/{id}/end",
            format!("/api/v1/school-links/{}/end", w.link_to_end),
            None,
            [401, 200, 200, 404, 200, 200, 404],
        ),
        row(
            Method::POST,
            "/api/v1/events/{id}/exhibitors",
            stands.clone(),
            Some(json!({"employer_id": a, "staff_count": 1})),
            [401, 409, 409, 409, 404, 403, 403],
        ),
        row(Method::GET, "/api/v1/events/{id}/exhibitors", stands.clone(), None, [200, 200, 200, 200, 200, 200, 200]),
        row(
            Method::POST,
            "/api/v1/events/{id}/exhibitors/{xid}/confirm",
            format!("{stands}/{}/confirm", w.stand_a),
            Some(json!({"stand_label": "A1"})),
            [401, 200, 200, 403, 403, 403, 403],
        ),
        row(
            Method::POST,
            "/api/v1/events/{id}/exhibitors/{xid}/decline",
            format!("{stands}/{}/decline", w.stand_b),
            None,
            [401, 200, 200, 404, 403, 403, 403],
        ),
        row(
            Method::POST,
            "/api/v1/events/{id}/exhibitors/{xid}/withdraw",
            format!("/api/v1/events/{}/exhibitors/{}/withdraw", w.other_fair, w.stand_to_withdraw),
            None,
            [401, 403, 403, 200, 404, 403, 403],
        ),
        row(
            Method::POST,
            "/api/v1/events/{id}/outcome",
            format!("/api/v1/events/{}/outcome", w.engagement),
            Some(outcome),
            [401, 200, 200, 403, 403, 200, 404],
        ),
        row(
            Method::GET,
            "/api/v1/reports/campaigns/{id}",
            format!("/api/v1/reports/campaigns/{}", w.campaign),
            None,
            [401, 200, 200, 403, 403, 403, 403],
        ),
        row(Method::GET, "/api/v1/reports/schools", "/api/v1/reports/schools".into(), None, [401, 200, 200, 403, 403, 403, 403]),
    ]
}

#[tokio::test]
async fn every_role_gets_the_answer_the_spec_gives() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let mut wrong = Vec::new();
    for r in rows(&w) {
        let mut order: Vec<usize> = (0..ROLES.len()).filter(|&i| is_refusal(r.expect[i])).collect();
        order.extend(ALLOWED_ORDER.iter().copied().filter(|&i| !is_refusal(r.expect[i])));
        for i in order {
            let answer = app.call(r.method.clone(), &r.path, w.tokens[i].as_deref(), (r.body)(i)).await;
            if answer.status.as_u16() != r.expect[i] {
                wrong.push(format!(
                    "{} {} as {}: {} (wanted {}): {}",
                    r.method, r.template, ROLES[i], answer.status, r.expect[i], answer.text
                ));
            } else if is_refusal(r.expect[i]) {
                answer.assert_problem(answer.status);
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[tokio::test]
async fn every_operation_in_the_openapi_document_has_a_row_or_an_earlier_area() {
    let app = TestApp::spawn().await;
    let doc = app.get("/api/v1/openapi.json", None).await;
    doc.assert_status(StatusCode::OK);
    let documented: BTreeSet<(String, String)> = doc.json["paths"]
        .as_object()
        .into_iter()
        .flatten()
        .flat_map(|(path, ops)| ops.as_object().into_iter().flatten().map(move |(method, _)| (method.to_uppercase(), path.clone())))
        .collect();
    let in_matrix: BTreeSet<(String, String)> =
        rows(&World::default()).iter().map(|r| (r.method.to_string(), r.template.to_owned())).collect();
    let earlier: BTreeSet<(String, String)> = EARLIER.iter().map(|(m, p, _)| ((*m).to_owned(), (*p).to_owned())).collect();
    let missing: Vec<_> = documented.iter().filter(|op| !in_matrix.contains(*op) && !earlier.contains(*op)).collect();
    assert!(missing.is_empty(), "operations with no row in the authorization matrix: {missing:#?}");
    let stale: Vec<_> = in_matrix.union(&earlier).filter(|op| !documented.contains(*op)).collect();
    assert!(stale.is_empty(), "rows for operations the document no longer has: {stale:#?}");
    assert!(in_matrix.is_disjoint(&earlier), "an operation is in both lists");
}
