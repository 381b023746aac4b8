//! The public pages in headless Chromium (see `chromium.rs`): a candidate books a place at a
//! fair, sees the confirmation, opens the manage page and cancels; answers an invitation; an
//! employer signs up with one field wrong, fixes it and succeeds. Every page is audited by axe.

use serde_json::json;

use crate::chromium::Browser;
use crate::helpers::{TestApp, id_of};

#[tokio::test]
async fn a_candidate_books_and_cancels_and_an_employer_signs_up_in_a_browser() {
    let Some(browser) = Browser::start(true).await else { return };
    let app = TestApp::spawn().await;
    let organiser = app.organiser_token().await;
    let campaign = id_of(&app.create_campaign(&organiser, "gift-of-care").await);
    let venue = app.create_venue(&organiser, Some(300)).await;
    let fair = id_of(&app.create_published_event(&organiser, json!({"venue_id": id_of(&venue), "campaign_id": campaign})).await);
    let employer = id_of(&app.create_employer(&organiser, "Oak Lodge Care", (51.7, 0.4)).await);
    let stand = app
        .post(
            &format!("/api/v1/events/{fair}/exhibitors"),
            Some(&organiser),
            json!({"employer_id": employer, "staff_count": 2, "roles_offered": ["Care assistant", "Night carer"]}),
        )
        .await;
    app.post(&format!("/api/v1/events/{fair}/exhibitors/{}/confirm", id_of(&stand.json)), Some(&organiser), json!({"stand_label": "A4"}))
        .await;

    browser.goto(&app.url("/")).await;
    assert!(browser.text_with("Chelmsford Care Jobs Fair").await.contains("Chelmsford Care Jobs Fair"));
    browser.screenshot("home").await;
    browser.goto(&app.url("/campaigns/gift-of-care")).await;
    assert!(browser.text_with("Subscribe in your calendar").await.contains("Subscribe in your calendar"));
    browser.screenshot("campaign").await;

    // Book a place.
    browser.goto(&app.url(&format!("/events/{fair}"))).await;
    let page = browser.text_with("Oak Lodge Care").await;
    assert!(page.contains("Oak Lodge Care") && page.contains("Tuesday 5 January 2027, 10:00 to 13:00"), "{page}");
    browser.screenshot("event").await;
    browser.type_into("#f-name", "Ann Lee").await;
    browser.type_into("#f-email", "ann@example.org").await;
    browser.click("#f-consent_marketing").await;
    browser.click("form[action$='/register'] button[type=submit]").await;
    let booked = browser.text_with("Your place is booked").await;
    assert!(booked.contains("Your place is booked"), "{booked}");
    browser.screenshot("registered").await;

    // Manage it, and cancel.
    browser.click("a[href^='/r/']").await;
    assert!(browser.text_with("Your booking").await.contains("Booked"));
    browser.screenshot("manage").await;
    browser.click("a[href$='/cancel']").await;
    assert!(browser.text_with("Cancel your place?").await.contains("Yes, cancel my place"));
    browser.screenshot("cancel").await;
    browser.click("button.govuk-button--warning").await;
    let cancelled = browser.text_with("Your place is cancelled").await;
    assert!(cancelled.contains("Your place is cancelled"), "{cancelled}");
    let listed = app.get(&format!("/api/v1/events/{fair}/registrations?status=cancelled"), Some(&organiser)).await;
    assert_eq!(listed.json["total"], 1);

    // Answer an invitation: its link opens a page that asks.
    let invite = json!({"recipients": [{"name": "Dee Ray", "email": "dee@example.org"}]});
    app.post(&format!("/api/v1/events/{fair}/invitations"), Some(&organiser), invite).await.assert_status(reqwest::StatusCode::ACCEPTED);
    let mail = app.wait_for_mail("Dee Ray").await;
    let link = mail.split_whitespace().find(|w| w.contains("/rsvp/") && w.ends_with("answer=accept")).unwrap_or_default();
    let path = link.split_once("/rsvp/").map(|(_, rest)| format!("/rsvp/{rest}")).unwrap_or_else(|| panic!("no RSVP link in {mail}"));
    browser.goto(&app.url(&path)).await;
    assert!(browser.text_with("Will you come").await.contains("Yes, book me a place"));
    browser.screenshot("rsvp").await;
    browser.click("form[action^='/rsvp/'] button[type=submit]").await;
    let answered = browser.text_with("Your place is booked").await;
    assert!(answered.contains("Your place is booked"), "{answered}");
    browser.screenshot("rsvp-done").await;

    // Sign up as an employer, with the postcode wrong first.
    browser.goto(&app.url("/employers/signup")).await;
    browser.type_into("#f-name", "Willow Care").await;
    browser.select("#f-provider_type", "home_care").await;
    browser.type_into("#f-address", "3 Mill Lane, Witham").await;
    browser.type_into("#f-postcode", "WRONG").await;
    browser.type_into("#f-contact_name", "Sam Patel").await;
    browser.type_into("#f-contact_email", "sam@willow.example").await;
    browser.type_into("[id='f-user.name']", "Sam Patel").await;
    browser.type_into("[id='f-user.email']", "sam.login@willow.example").await;
    browser.type_into("[id='f-user.password']", "a-long-password").await;
    browser.click("form[action='/employers/signup'] button[type=submit]").await;
    let wrong = browser.text_with("There is a problem").await;
    assert!(wrong.contains("There is a problem") && wrong.contains("valid UK postcode"), "{wrong}");
    assert!(browser.source().await.contains(r#"value="Willow Care""#), "what was typed is kept");
    browser.screenshot("signup-error").await;
    browser.type_into("#f-postcode", "CM8 2AA").await;
    browser.type_into("[id='f-user.password']", "a-long-password").await;
    browser.click("form[action='/employers/signup'] button[type=submit]").await;
    let done = browser.text_with("Thank you for signing up").await;
    assert!(done.contains("Thank you for signing up"), "{done}");
    browser.screenshot("signed-up").await;
    browser.goto(&app.url("/no-such-page")).await;
    assert!(browser.text_with("Page not found").await.contains("Page not found"));
    browser.screenshot("not-found").await;
    browser.close().await;
    app.login("sam.login@willow.example", "a-long-password").await;

    // The same pages read on a desktop.
    let Some(desktop) = Browser::start(false).await else { return };
    desktop.goto(&app.url(&format!("/events/{fair}"))).await;
    assert!(desktop.text_with("Who will be there").await.contains("Who will be there"));
    desktop.screenshot("desktop-event").await;
    desktop.goto(&app.url("/")).await;
    desktop.screenshot("desktop-home").await;
    desktop.goto(&app.url(&path)).await;
    assert!(desktop.text_with("You have already answered").await.contains("You have already answered"));
    desktop.screenshot("desktop-rsvp-answered").await;
    app.post(&format!("/api/v1/events/{fair}/cancel"), Some(&organiser), json!({"reason": "The hall is flooded."})).await;
    desktop.goto(&app.url(&format!("/events/{fair}"))).await;
    let cancelled = desktop.text_with("This event is cancelled").await;
    assert!(cancelled.contains("The hall is flooded.") && !cancelled.contains("Add to calendar"), "{cancelled}");
    desktop.screenshot("desktop-cancelled").await;
    desktop.close().await;
}
