use reqwest::StatusCode;

use crate::helpers::TestApp;

#[tokio::test]
async fn every_operation_has_an_id_and_documented_answers() {
    let app = TestApp::spawn().await;
    let doc = app.get("/api/v1/openapi.json", None).await;
    doc.assert_status(StatusCode::OK);
    let paths = doc.json["paths"].as_object().cloned().unwrap_or_default();
    assert!(paths.contains_key("/api/v1/events/{id}/publish"), "{:?}", paths.keys());
    let mut operations = 0;
    for (path, item) in &paths {
        for (method, op) in item.as_object().into_iter().flatten() {
            operations += 1;
            assert!(op["operationId"].is_string(), "{method} {path} has no operationId");
            let responses = op["responses"].as_object().cloned().unwrap_or_default();
            let has = |status: &str| responses.contains_key(status);
            assert!(has("500"), "{method} {path} does not document 500: {responses:?}");
            // Credentials required: schemes listed, none of them the empty one of optional auth.
            let schemes = op["security"].as_array().cloned().unwrap_or_default();
            let optional = schemes.iter().any(|s| s.as_object().is_some_and(|s| s.is_empty()));
            let secured = !schemes.is_empty() && !optional;
            let body = op.get("requestBody").is_some();
            let query = op["parameters"].as_array().into_iter().flatten().any(|p| p["in"] == "query");
            if secured {
                assert!(has("401"), "{method} {path} needs credentials but does not document 401");
            } else if !optional && op["operationId"] != "login" {
                assert!(!has("401") && !has("403"), "{method} {path} is public but documents 401 or 403");
            }
            if body {
                assert!(has("400") && has("422"), "{method} {path} takes a body but does not document 400 and 422");
            } else if !query {
                assert!(!has("422"), "{method} {path} takes no body and no query but documents 422");
            }
            for (status, response) in responses {
                assert!(response["description"].as_str().is_some_and(|d| !d.is_empty()), "{method} {path} {status} has no description");
            }
        }
    }
    assert!(operations >= 20, "{operations} operations");
}

#[tokio::test]
async fn the_openapi_document_is_stable() {
    let app = TestApp::spawn().await;
    let doc = app.get("/api/v1/openapi.json", None).await;
    insta::assert_json_snapshot!("openapi", doc.json);
}

#[tokio::test]
async fn the_documents_server_and_paths_make_working_addresses() {
    let app = TestApp::spawn_with(|s| s.server.public_url = "http://127.0.0.1:9".into()).await;
    let doc = app.get("/api/v1/openapi.json", None).await;
    assert_eq!(doc.json["servers"][0]["url"], "http://127.0.0.1:9", "{}", doc.json["servers"]);
    assert!(doc.json["paths"]["/api/v1/events"].is_object());
    // What Swagger's "Try it out" calls is the server's URL (no path of its own) and then the
    // path as documented.
    app.get("/api/v1/events", None).await.assert_status(StatusCode::OK);
    let docs = app.get("/api/docs", None).await;
    assert_eq!(docs.headers.get("x-frame-options").and_then(|v| v.to_str().ok()), Some("DENY"));
    assert!(
        docs.headers.get("content-security-policy").and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("frame-ancestors 'none'"))
    );
}

#[tokio::test]
async fn no_operation_documents_both_a_read_and_a_creation() {
    let app = TestApp::spawn().await;
    let doc = app.get("/api/v1/openapi.json", None).await;
    let mut wrong = Vec::new();
    for (path, operations) in doc.json["paths"].as_object().cloned().unwrap_or_default() {
        for (method, operation) in operations.as_object().cloned().unwrap_or_default() {
            let responses = &operation["responses"];
            let (ok, created) = (responses.get("200").is_some(), responses.get("201").is_some());
            if created && (ok || method == "get") {
                wrong.push(format!("{method} {path}"));
            }
        }
    }
    assert!(wrong.is_empty(), "documents 201 beside 200, or on a GET: {wrong:?}");
}
