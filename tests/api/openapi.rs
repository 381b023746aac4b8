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
            assert!(responses.contains_key("422") && responses.contains_key("500"), "{method} {path}: {responses:?}");
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
