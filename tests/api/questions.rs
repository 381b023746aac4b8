//! Registration questions: asked by organisers per event, answered through the API and the
//! public form, checked (`answers.{question_id}` named in each 422), shown to organisers and in
//! the GDPR export, erased with the candidate; an answered question is hidden, not deleted.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::chromium::Browser;
use crate::helpers::{PASSWORD, TestApp, id_of, person};
use crate::visitor::{Visitor, user};

/// Three questions on `event`: access needs (text, required), which kind of care (choice,
/// optional), a driving licence (yes/no, required). Their ids in that order.
async fn ask_three(app: &TestApp, organiser: &str, event: &str) -> (String, String, String) {
    let path = format!("/api/v1/events/{event}/questions");
    let access = app
        .post(&path, Some(organiser), json!({"label": "Do you have any access needs?", "kind": "text", "required": true, "purpose": "So we can make the venue work for you."}))
        .await;
    access.assert_status(StatusCode::CREATED);
    let care = app
        .post(&path, Some(organiser), json!({"label": "Which care interests you?", "kind": "choice", "options": ["Home care", "Care home"], "purpose": "To point you to the right stands."}))
        .await;
    care.assert_status(StatusCode::CREATED);
    let driving = app
        .post(&path, Some(organiser), json!({"label": "Do you hold a driving licence?", "kind": "yes_no", "required": true, "purpose": "Most home care jobs need one."}))
        .await;
    driving.assert_status(StatusCode::CREATED);
    (id_of(&access.json), id_of(&care.json), id_of(&driving.json))
}

fn with_answers(name: &str, email: &str, answers: Value) -> Value {
    let mut body = person(name, email);
    body["answers"] = answers;
    body
}

#[tokio::test]
async fn questions_are_asked_checked_shown_exported_and_erased() {
    let app = TestApp::spawn().await;
    let (event, organiser) = app.published_fair(10).await;
    let path = format!("/api/v1/events/{event}/questions");

    // Only organisers ask; a label is one line; a choice needs options, other kinds none.
    let employer = app.user_token("employer").await;
    let asked = json!({"label": "Anything?", "kind": "text", "purpose": "Because."});
    app.post(&path, None, asked.clone()).await.assert_problem(StatusCode::UNAUTHORIZED);
    app.post(&path, Some(&employer), asked).await.assert_problem(StatusCode::FORBIDDEN);
    app.post(&path, Some(&organiser), json!({"label": "Line one\r\nLine two", "kind": "choice", "options": ["Only one"], "purpose": ""}))
        .await
        .assert_invalid(&["label", "options", "purpose"]);
    app.post(&path, Some(&organiser), json!({"label": "Why?", "kind": "essay", "options": ["a", "b"], "purpose": "x"}))
        .await
        .assert_invalid(&["kind"]);
    app.post(&path, Some(&organiser), json!({"label": "Ok?", "kind": "yes_no", "options": ["a", "b"], "purpose": "x"}))
        .await
        .assert_invalid(&["options"]);
    app.post(&path, Some(&organiser), json!({"label": "Pick", "kind": "choice", "options": ["A", "a"], "purpose": "x"}))
        .await
        .assert_invalid(&["options[1]"]);

    let (access, care, driving) = ask_three(&app, &organiser, &event).await;
    let public = app.get(&path, None).await;
    public.assert_status(StatusCode::OK);
    let labels: Vec<&str> = public.json.as_array().into_iter().flatten().filter_map(|q| q["label"].as_str()).collect();
    assert_eq!(labels, ["Do you have any access needs?", "Which care interests you?", "Do you hold a driving licence?"]);
    assert_eq!(public.json[1]["options"], json!(["Home care", "Care home"]));
    assert_eq!(public.json[2]["purpose"], "Most home care jobs need one.");

    // Each wrong answer is named, and nothing is stored.
    app.register(&event, person("Ann Lee", "ann@example.org"))
        .await
        .assert_invalid(&[&format!("answers.{access}"), &format!("answers.{driving}")]);
    let unknown = "00000000-0000-0000-0000-000000000000";
    let wrong = json!({access.clone(): "  ", care.clone(): "Hospital", driving.clone(): "maybe", unknown: "x", "not-an-id": "y"});
    app.register(&event, with_answers("Ann Lee", "ann@example.org", wrong)).await.assert_invalid(&[
        &format!("answers.{access}"),
        &format!("answers.{care}"),
        &format!("answers.{driving}"),
        &format!("answers.{unknown}"),
        "answers.not-an-id",
    ]);
    let not_text = json!({access.clone(): 42, driving.clone(): true});
    app.register(&event, with_answers("Ann Lee", "ann@example.org", not_text)).await.assert_invalid(&[&format!("answers.{access}")]);
    assert_eq!(app.count_rows("SELECT COUNT(*) AS n FROM registrations").await, 0);
    assert_eq!(app.count_rows("SELECT COUNT(*) AS n FROM registration_answers").await, 0);

    // A good set: the optional choice left out, yes/no as a boolean or as a word.
    let ann = with_answers("Ann Lee", "ann@example.org", json!({access.clone(): "A ramp, please\n<b>thanks</b>", driving.clone(): true}));
    app.register(&event, ann).await.assert_status(StatusCode::CREATED);
    let ben = with_answers("Ben Ode", "ben@example.org", json!({access.clone(): "None", care.clone(): "Home care", driving.clone(): "No"}));
    app.register(&event, ben).await.assert_status(StatusCode::CREATED);

    let list = app.get(&format!("/api/v1/events/{event}/registrations"), Some(&organiser)).await;
    list.assert_status(StatusCode::OK);
    let items = list.json["items"].as_array().cloned().unwrap_or_default();
    let ann = items.iter().find(|i| i["name"] == "Ann Lee").cloned().unwrap_or_default();
    let ben = items.iter().find(|i| i["name"] == "Ben Ode").cloned().unwrap_or_default();
    assert_eq!(
        ann["answers"],
        json!([
            {"question_id": access, "question": "Do you have any access needs?", "value": "A ramp, please\n<b>thanks</b>"},
            {"question_id": driving, "question": "Do you hold a driving licence?", "value": "yes"},
        ])
    );
    let ben_values: Vec<&str> = ben["answers"].as_array().into_iter().flatten().filter_map(|a| a["value"].as_str()).collect();
    assert_eq!(ben_values, ["None", "Home care", "no"]);

    // The GDPR export holds them.
    let ann_candidate = ann["candidate_id"].as_str().unwrap_or_default().to_owned();
    let export = app.get(&format!("/api/v1/candidates/{ann_candidate}/export"), Some(&organiser)).await;
    export.assert_status(StatusCode::OK);
    assert_eq!(export.json["registrations"][0]["answers"][0]["value"], "A ramp, please\n<b>thanks</b>");

    // An answered question is hidden, not deleted; a choice keeps the options chosen.
    app.delete(&format!("{path}/{access}"), Some(&organiser)).await.assert_problem(StatusCode::CONFLICT);
    app.patch(&format!("{path}/{care}"), Some(&organiser), json!({"options": ["Care home", "Day care"]}))
        .await
        .assert_invalid(&["options"]);
    let hidden = app.patch(&format!("{path}/{access}"), Some(&organiser), json!({"hidden": true})).await;
    hidden.assert_status(StatusCode::OK);
    assert_eq!(hidden.json["hidden"], true);
    let public = app.get(&path, None).await;
    assert_eq!(public.json.as_array().map(Vec::len), Some(2), "{}", public.text);
    app.get(&format!("{path}?hidden=true"), None).await.assert_problem(StatusCode::UNAUTHORIZED);
    let all = app.get(&format!("{path}?hidden=true"), Some(&organiser)).await;
    assert_eq!(all.json.as_array().map(Vec::len), Some(3), "{}", all.text);
    // A hidden question is no longer asked: an answer to it is refused, its absence is fine.
    let late = with_answers("Cal Dee", "cal@example.org", json!({access.clone(): "x", driving.clone(): "yes"}));
    app.register(&event, late).await.assert_invalid(&[&format!("answers.{access}")]);

    // Erasing the candidate erases what they answered.
    app.delete(&format!("/api/v1/candidates/{ann_candidate}"), Some(&organiser)).await.assert_status(StatusCode::NO_CONTENT);
    let left = app.count_rows("SELECT COUNT(*) AS n FROM registration_answers").await;
    assert_eq!(left, 3, "only Ben's three answers are left");
    let export = app.get(&format!("/api/v1/candidates/{ann_candidate}/export"), Some(&organiser)).await;
    assert_eq!(export.json["registrations"][0]["answers"], json!([]));

    // A question nobody answered can be deleted; another event's question is not found here.
    let unused = app.post(&path, Some(&organiser), json!({"label": "Spare?", "kind": "text", "purpose": "x"})).await;
    let unused = id_of(&unused.json);
    let other = id_of(&app.create_published_event(&organiser, json!({})).await);
    app.delete(&format!("/api/v1/events/{other}/questions/{unused}"), Some(&organiser)).await.assert_problem(StatusCode::NOT_FOUND);
    app.delete(&format!("{path}/{unused}"), Some(&organiser)).await.assert_status(StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_draft_events_questions_are_not_public() {
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    let draft = id_of(&app.create_event(&organiser, json!({})).await);
    let path = format!("/api/v1/events/{draft}/questions");
    app.post(&path, Some(&organiser), json!({"label": "Secret?", "kind": "text", "purpose": "x"})).await.assert_status(StatusCode::CREATED);
    app.get(&path, None).await.assert_problem(StatusCode::NOT_FOUND);
    let seen = app.get(&path, Some(&organiser)).await;
    assert_eq!(seen.json[0]["label"], "Secret?", "{}", seen.text);
}

/// The hidden CSRF field's value in a page.
fn csrf_of(html: &str) -> String {
    let start = html.find(r#"name="csrf" value=""#).unwrap_or_else(|| panic!("no csrf field in {html}")) + 19;
    html[start..].split('"').next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn the_public_form_asks_the_questions_with_their_purpose_and_keeps_what_was_typed() {
    let app = TestApp::spawn().await;
    let (event, organiser) = app.published_fair(10).await;
    let (access, care, driving) = ask_three(&app, &organiser, &event).await;

    let page = app.client.get(app.url(&format!("/events/{event}"))).send().await.unwrap_or_else(|e| panic!("{e}"));
    let cookie =
        page.headers().get("set-cookie").and_then(|v| v.to_str().ok()).unwrap_or_default().split(';').next().unwrap_or_default().to_owned();
    let html = page.text().await.unwrap_or_default();
    assert!(
        html.contains("Do you have any access needs?") && html.contains("Why we ask: So we can make the venue work for you."),
        "{html}"
    );
    assert!(html.contains(&format!(r#"name="answers_{care}" type="radio" value="Home care""#)), "{html}");
    assert!(html.contains("Which care interests you? (optional)"), "{html}");
    let csrf = csrf_of(&html);

    // The required yes/no left out: said beside it, what was typed kept, nothing booked.
    let access_field = format!("answers_{access}");
    let care_field = format!("answers_{care}");
    let driving_field = format!("answers_{driving}");
    let form = [
        ("csrf", csrf.as_str()),
        ("name", "Ann Lee"),
        ("email", "ann@example.org"),
        (access_field.as_str(), "Step-free <access>"),
        (care_field.as_str(), "Care home"),
    ];
    let wrong = app.client.post(app.url(&format!("/events/{event}/register"))).header("cookie", &cookie).form(&form).send().await;
    let wrong = wrong.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = wrong.text().await.unwrap_or_default();
    assert!(html.contains(&format!(r#"id="f-answers_{driving}-error""#)) && html.contains("needs an answer"), "{html}");
    assert!(html.contains("Do you hold a driving licence? (needs an answer)"), "the summary names the question: {html}");
    assert!(html.contains("Step-free &lt;access&gt;</textarea>"), "{html}");
    assert!(html.contains(r#"value="Care home" checked"#), "{html}");
    assert_eq!(app.count_rows("SELECT COUNT(*) AS n FROM registrations").await, 0);

    let mut form = form.to_vec();
    form.push((driving_field.as_str(), "yes"));
    let booked = app.client.post(app.url(&format!("/events/{event}/register"))).header("cookie", &cookie).form(&form).send().await;
    let booked = booked.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(booked.status(), StatusCode::CREATED);
    let list = app.get(&format!("/api/v1/events/{event}/registrations"), Some(&organiser)).await;
    let values: Vec<&str> = list.json["items"][0]["answers"].as_array().into_iter().flatten().filter_map(|a| a["value"].as_str()).collect();
    assert_eq!(values, ["Step-free <access>", "Care home", "yes"]);
}

#[tokio::test]
async fn an_organiser_asks_a_question_and_a_candidate_answers_it_in_chromium() {
    let Some(desktop) = Browser::start(false).await else { return };
    let app = TestApp::spawn().await;
    let (event, organiser) = app.published_fair(10).await;
    let email = user(&app, "organiser").await;
    desktop.sign_in(&app.url("/sign-in"), &email, PASSWORD, "Dashboard").await;

    desktop.goto(&app.url(&format!("/manage/events/{event}/questions"))).await;
    let none = desktop.text_with("None: the form asks only").await;
    assert!(none.contains("None: the form asks only"), "{none}");
    desktop.screenshot("desktop-questions-none").await;
    // A choice with one option: said beside the box, what was typed kept.
    desktop.type_into("#f-label", "Which care interests you?").await;
    desktop.click("#f-kind-3").await;
    desktop.type_into("#f-options", "Home care").await;
    desktop.type_into("#f-purpose", "To point you to the right stands.").await;
    desktop.click("form[action$='/questions'] button[type=submit]").await;
    assert!(desktop.text_with("There is a problem").await.contains("a choice needs from 2 to 20 options"));
    desktop.screenshot("desktop-questions-error").await;
    desktop.type_into("#f-options", "Home care\nCare home").await;
    desktop.click("form[action$='/questions'] button[type=submit]").await;
    let made = desktop.text_with("One of: Home care, Care home").await;
    assert!(made.contains("One of: Home care, Care home"), "{made}");
    desktop.type_into("#f-label", "Do you hold a driving licence?").await;
    desktop.click("#f-kind-2").await;
    desktop.click("#f-required").await;
    desktop.type_into("#f-purpose", "Most home care jobs need one.").await;
    desktop.click("form[action$='/questions'] button[type=submit]").await;
    assert!(desktop.text_with("Yes or no").await.contains("Most home care jobs need one."));
    desktop.screenshot("desktop-questions").await;
    desktop.close().await;

    let asked = app.get(&format!("/api/v1/events/{event}/questions"), None).await;
    let driving = asked.json[1]["id"].as_str().unwrap_or_default().to_owned();

    let Some(phone) = Browser::start(true).await else { return };
    phone.goto(&app.url(&format!("/events/{event}"))).await;
    assert!(phone.text_with("Why we ask: Most home care jobs need one.").await.contains("Which care interests you? (optional)"));
    phone.type_into("#f-name", "Ann Lee").await;
    phone.type_into("#f-email", "ann@example.org").await;
    phone.click(&format!("#f-answers_{}-2", asked.json[0]["id"].as_str().unwrap_or_default())).await;
    phone.click("form[action$='/register'] button[type=submit]").await;
    assert!(phone.text_with("There is a problem").await.contains("Do you hold a driving licence? (needs an answer)"));
    phone.screenshot("phone-questions-error").await;
    phone.click(&format!("#f-answers_{driving}")).await;
    phone.click("form[action$='/register'] button[type=submit]").await;
    assert!(phone.text_with("Your place is booked").await.contains("Your place is booked"));
    phone.close().await;
    let list = app.get(&format!("/api/v1/events/{event}/registrations"), Some(&organiser)).await;
    let values: Vec<&str> = list.json["items"][0]["answers"].as_array().into_iter().flatten().filter_map(|a| a["value"].as_str()).collect();
    assert_eq!(values, ["Care home", "yes"]);
}

#[tokio::test]
async fn the_questions_page_is_the_organisers_alone_and_its_forms_need_their_token() {
    let app = TestApp::spawn().await;
    let (event, _organiser) = app.published_fair(10).await;
    let path = format!("/manage/events/{event}/questions");
    let away = Visitor::new(&app).get(&path).await;
    assert_eq!((away.status, away.location.as_str()), (StatusCode::SEE_OTHER, format!("/sign-in?next={path}").as_str()));
    for role in ["employer", "school"] {
        let mut other = Visitor::new(&app);
        other.sign_in(&user(&app, role).await, PASSWORD, "").await;
        assert_eq!(other.get(&path).await.status, StatusCode::NOT_FOUND, "{role}");
    }

    let mut staff = Visitor::new(&app);
    staff.sign_in(&user(&app, "organiser").await, PASSWORD, "").await;
    let page = staff.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = page.csrf();
    let asked = [("label", "Any access needs?"), ("kind", "text"), ("purpose", "So the venue works for you.")];
    for token in ["", "0000"] {
        let mut forged = asked.to_vec();
        forged.push(("csrf", token));
        assert_eq!(staff.post(&path, &forged).await.status, StatusCode::FORBIDDEN);
    }
    assert_eq!(app.count_rows("SELECT COUNT(*) AS n FROM registration_questions").await, 0);

    // A label over two lines: said beside it, what was typed kept, nothing asked.
    let wrong = staff.post(&path, &[("csrf", &csrf), ("label", "Any access\r\nneeds?"), ("kind", "text"), ("purpose", "Why <not>")]).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.html.contains(r#"id="f-label-error""#) && wrong.html.contains("must be a single line"), "{}", wrong.html);
    assert!(wrong.html.contains("Why &lt;not&gt;"), "{}", wrong.html);
    assert_eq!(app.count_rows("SELECT COUNT(*) AS n FROM registration_questions").await, 0);

    let mut good = asked.to_vec();
    good.push(("csrf", &csrf));
    assert_eq!(staff.post(&path, &good).await.status, StatusCode::SEE_OTHER);
    let question = app.get(&format!("/api/v1/events/{event}/questions"), None).await;
    let question = id_of(&question.json[0]);
    let typed = "Step-free <please>\nand a chair";
    app.register(&event, with_answers("Ann Lee", "ann@example.org", json!({question.clone(): typed})))
        .await
        .assert_status(StatusCode::CREATED);
    // The organisers' list shows it under the person, escaped.
    let listed = staff.get(&format!("/manage/events/{event}/registrations")).await;
    assert!(listed.html.contains("<dt>Any access needs?</dt>"), "{}", listed.html);
    assert!(listed.html.contains("Step-free &lt;please&gt;\nand a chair"), "{}", listed.html);
    // Answered: deleting says to hide it instead; hiding works.
    let refused = staff.post(&format!("{path}/{question}/delete"), &[("csrf", &csrf)]).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(refused.html.contains("hide it instead"), "{}", refused.html);
    assert_eq!(staff.post(&format!("{path}/{question}/hide"), &[("csrf", &csrf)]).await.status, StatusCode::SEE_OTHER);
    assert!(staff.get(&path).await.html.contains("Hidden"));
    assert_eq!(app.get(&format!("/api/v1/events/{event}/questions"), None).await.json, json!([]));
}

/// An invited person who says yes answers the event's questions as a registration does, by the
/// API and on the invitation's page; until they do, the invitation stays unanswered.
#[tokio::test]
async fn accepting_an_invitation_answers_the_events_questions() {
    let app = TestApp::spawn().await;
    let (event, organiser) = app.published_fair(10).await;
    let (access, care, driving) = ask_three(&app, &organiser, &event).await;
    let invited = json!({"recipients": [{"name": "Ann Lee", "email": "ann@example.org"}, {"name": "Ben Ode", "email": "ben@example.org"}]});
    app.post(&format!("/api/v1/events/{event}/invitations"), Some(&organiser), invited).await.assert_status(StatusCode::ACCEPTED);
    let token_for = |text: &str| {
        let link = text.split_whitespace().find(|w| w.contains("/rsvp/")).unwrap_or_default();
        link.split_once("/rsvp/").map(|(_, rest)| rest.split('?').next().unwrap_or_default().to_owned()).unwrap_or_default()
    };
    let ann = token_for(&app.wait_for_mail("Dear Ann Lee").await);
    let ben = token_for(&app.wait_for_mail("Dear Ben Ode").await);

    // By the API: a yes without the required answers is refused, naming each; nothing changes.
    let refused = app.post(&format!("/api/v1/rsvp/{ann}"), None, json!({"answer": "accept"})).await;
    refused.assert_invalid(&[&format!("answers.{access}"), &format!("answers.{driving}")]);
    assert_eq!(app.count_rows("SELECT COUNT(*) AS n FROM invitations WHERE answer IS NOT NULL").await, 0);
    assert_eq!(app.count_rows("SELECT COUNT(*) AS n FROM registrations").await, 0);
    let answers = json!({access.clone(): "None", driving.clone(): true});
    let body = json!({"answer": "accept", "answers": answers, "consent_share_with_employers": true});
    let accepted = app.post(&format!("/api/v1/rsvp/{ann}"), None, body).await;
    accepted.assert_status(StatusCode::OK);
    assert_eq!(accepted.json["registration"]["status"], "confirmed");

    // On the page: the questions under "If you are coming"; a missing answer is shown beside its
    // field with what was chosen kept; then the yes books the place with the answers.
    let mut visitor = Visitor::new(&app);
    let page = visitor.get(&format!("/rsvp/{ben}")).await;
    assert!(page.html.contains("If you are coming") && page.html.contains("Do you hold a driving licence?"), "{}", page.html);
    assert!(page.html.contains("Share my name and email address with the employers at this fair"));
    if let Some(phone) = Browser::start(true).await {
        phone.goto(&app.url(&format!("/rsvp/{ben}"))).await;
        let text = phone.text_with("If you are coming").await;
        assert!(text.contains("Why we ask: Most home care jobs need one."), "{text}");
        phone.screenshot("phone-rsvp-questions").await;
        phone.close().await;
    }
    let csrf = page.csrf();
    let care_field = format!("answers_{care}");
    let partial = [("csrf", csrf.as_str()), ("answer", "accept"), (care_field.as_str(), "Home care")];
    let sent_back = visitor.post(&format!("/rsvp/{ben}"), &partial).await;
    assert_eq!(sent_back.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(sent_back.html.contains(&format!(r##"href="#f-answers_{access}""##)), "{}", sent_back.html);
    assert!(sent_back.html.contains(r#"value="Home care" checked"#), "kept: {}", sent_back.html);
    assert_eq!(app.count_rows("SELECT COUNT(*) AS n FROM invitations WHERE answer IS NOT NULL").await, 1, "Ben's is unanswered");
    let (access_field, driving_field) = (format!("answers_{access}"), format!("answers_{driving}"));
    let full = [
        ("csrf", csrf.as_str()),
        ("answer", "accept"),
        (access_field.as_str(), "A quiet room"),
        (care_field.as_str(), "Home care"),
        (driving_field.as_str(), "no"),
    ];
    let done = visitor.post(&format!("/rsvp/{ben}"), &full).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.html);
    assert!(done.html.contains("Your place is booked"), "{}", done.html);

    let list = app.get(&format!("/api/v1/events/{event}/registrations"), Some(&organiser)).await;
    let items = list.json["items"].as_array().cloned().unwrap_or_default();
    let of = |name: &str| items.iter().find(|i| i["name"] == name).cloned().unwrap_or_default();
    let values = |item: &Value| {
        item["answers"].as_array().into_iter().flatten().filter_map(|a| a["value"].as_str().map(str::to_owned)).collect::<Vec<_>>()
    };
    assert_eq!(values(&of("Ann Lee")), ["None", "yes"]);
    assert_eq!(values(&of("Ben Ode")), ["A quiet room", "Home care", "no"]);
    assert_eq!(
        (of("Ann Lee")["consent_share_with_employers"].as_bool(), of("Ben Ode")["consent_share_with_employers"].as_bool()),
        (Some(true), Some(false))
    );
}
