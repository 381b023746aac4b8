//! `carefair import schools|employers FILE.csv` over the register layouts in `tests/fixtures/`
//! (made up, Windows-1252 like the downloads), checked through the API of a server on the same
//! database.

use std::path::{Path, PathBuf};

use reqwest::StatusCode;

use crate::cli::carefair;
use crate::helpers::TestApp;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// Runs an import and answers its report's lines.
fn import(app: &TestApp, what: &str, file: &Path) -> Vec<String> {
    let out = carefair(&app.database_url).args(["import", what]).arg(file).output().unwrap_or_else(|e| panic!("{e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    stdout.lines().map(str::to_owned).collect()
}

#[tokio::test]
async fn schools_import_keeps_open_secondaries_reports_every_other_row_and_reruns_idempotently() {
    let app = TestApp::spawn().await;
    let report = import(&app, "schools", &fixture("gias_schools.csv"));
    assert_eq!(report[0], "added 4, updated 0, unchanged 0, skipped 2, rejected 4", "{report:#?}");
    let lines: Vec<&str> = report[1..].iter().map(String::as_str).collect();
    assert_eq!(
        lines,
        vec![
            "line 4: skipped: not secondary (Primary)",
            "line 5: skipped: not open (Closed)",
            "line 6: rejected: URN: must be a URN of six digits, like 137052",
            "line 7: rejected: Postcode: must be a valid UK postcode, like CM1 1QH",
            "line 8: rejected: URN 990101 is already on line 2",
            "line 9: rejected: Easting: \"abc\" is not a number",
        ]
    );

    let organiser = app.organiser_token().await;
    let mary = app.get("/api/v1/schools?q=990101", Some(&organiser)).await;
    mary.assert_status(StatusCode::OK);
    let school = &mary.json["items"][0];
    // Windows-1252's curly apostrophe, read as such; the grid reference as WGS84.
    assert_eq!(school["name"], "St Mary\u{2019}s Catholic School");
    assert_eq!(school["address"], "Lady Lane, Chelmsford");
    assert_eq!(school["district"], "Chelmsford");
    let (lat, lon) = (school["latitude"].as_f64().unwrap_or(0.0), school["longitude"].as_f64().unwrap_or(0.0));
    assert!((lat - 51.73296).abs() < 1e-4 && (lon - 0.47343).abs() < 1e-4, "{lat} {lon}");
    let cafe = app.get("/api/v1/schools?q=990102", Some(&organiser)).await;
    assert_eq!(cafe.json["items"][0]["name"], "Colne Caf\u{e9} Academy");
    let middle = app.get("/api/v1/schools?q=990107", Some(&organiser)).await;
    assert!(middle.json["items"][0]["latitude"].is_null());
    assert_eq!(app.get("/api/v1/schools", Some(&organiser)).await.json["total"], 4);

    // Again: nothing changes. Then with one school renamed: one update.
    assert_eq!(import(&app, "schools", &fixture("gias_schools.csv"))[0], "added 0, updated 0, unchanged 4, skipped 2, rejected 4");
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let bytes = std::fs::read(fixture("gias_schools.csv")).unwrap_or_default();
    // Edited as bytes: the file is not UTF-8.
    let at = bytes.windows(9).position(|w| w == b"Colne Caf").unwrap_or_else(|| panic!("fixture changed"));
    let renamed = [&bytes[..at], b"Colne Park Caf", &bytes[at + 9..]].concat();
    let changed = dir.path().join("changed.csv");
    std::fs::write(&changed, &renamed).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(import(&app, "schools", &changed)[0], "added 0, updated 1, unchanged 3, skipped 2, rejected 4");
    assert_eq!(app.get("/api/v1/schools", Some(&organiser)).await.json["total"], 4);
}

#[tokio::test]
async fn employers_import_keeps_adult_social_care_and_maps_service_types() {
    let app = TestApp::spawn().await;
    let report = import(&app, "employers", &fixture("cqc_locations.csv"));
    assert_eq!(report[0], "added 4, updated 0, unchanged 0, skipped 1, rejected 3", "{report:#?}");
    assert!(report.contains(&"line 5: skipped: not adult social care (Hospitals)".to_owned()), "{report:#?}");
    assert!(report.contains(&"line 8: rejected: Location ID 1-100000001 is already on line 2".to_owned()), "{report:#?}");
    assert!(report.iter().any(|l| l.starts_with("line 7: rejected: Location Latitude")), "{report:#?}");

    let organiser = app.organiser_token().await;
    let all = app.get("/api/v1/employers?status=pending", Some(&organiser)).await;
    assert_eq!(all.json["total"], 4);
    let by_name = |name: &str| all.json["items"].as_array().into_iter().flatten().find(|e| e["name"] == name).cloned().unwrap_or_default();
    assert_eq!(by_name("Oakwood Nursing Home")["provider_type"], "nursing");
    assert_eq!(by_name("Beech House")["provider_type"], "residential");
    assert_eq!(by_name("Helping Hands Chelmsford")["provider_type"], "home_care");
    let ashford = by_name("Ashford Supported Living \u{2013} Harlow");
    assert_eq!(ashford["provider_type"], "supported_living");
    assert_eq!(ashford["website"], "https://www.ashford.example");
    assert_eq!(ashford["cqc_location_id"], "1-100000006");

    assert_eq!(import(&app, "employers", &fixture("cqc_locations.csv"))[0], "added 0, updated 0, unchanged 4, skipped 1, rejected 3");
}

#[tokio::test]
async fn a_file_without_the_register_columns_is_refused_whole() {
    let app = TestApp::spawn().await;
    let out = carefair(&app.database_url)
        .args(["import", "schools"])
        .arg(fixture("cqc_locations.csv"))
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("URN"), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Runs `carefair import postcodes FILE` and answers its report's lines.
fn load_postcodes(app: &TestApp, file: &Path) -> Vec<String> {
    import(app, "postcodes", file)
}

#[tokio::test]
async fn the_postcode_directory_loads_both_layouts_idempotently_and_places_what_comes_without_coordinates() {
    let app = TestApp::spawn().await;
    let report = load_postcodes(&app, &fixture("onspd_postcodes.csv"));
    assert!(report[0].starts_with("loaded 4, rejected 3 in "), "{report:#?}");
    assert_eq!(
        report[1..].to_vec(),
        vec![
            "line 5: rejected: JE2 3XX has no position in the directory (lat 99.999999, long 0)",
            "line 7: rejected: pcds: must be a valid UK postcode, like CM1 1QH",
            "line 8: rejected: doterm: \"20x1\" is not a year and month (YYYYMM)",
        ]
    );
    // Loading it again changes nothing and says the same.
    let again = load_postcodes(&app, &fixture("onspd_postcodes.csv"));
    assert_eq!(again[0].split(" in ").next(), report[0].split(" in ").next());
    assert_eq!(again[1..], report[1..]);
    let codepoint = load_postcodes(&app, &fixture("codepoint_postcodes.csv"));
    assert!(codepoint[0].starts_with("loaded 2, rejected 1 in "), "{codepoint:#?}");
    assert_eq!(codepoint[1], "line 4: rejected: Eastings: \"abc\" is not a number");

    // A file of neither layout is refused whole.
    let out = carefair(&app.database_url).args(["import", "postcodes"]).arg(fixture("gias_schools.csv")).output();
    let out = out.unwrap_or_else(|e| panic!("{e}"));
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("neither the ONS Postcode Directory"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A venue, an employer and a school saved without coordinates take their postcode's.
    let token = app.organiser_token().await;
    let near = |value: &serde_json::Value, lat: f64, lon: f64| {
        let (a, b) = (value["latitude"].as_f64().unwrap_or(0.0), value["longitude"].as_f64().unwrap_or(0.0));
        (a - lat).abs() < 1e-6 && (b - lon).abs() < 1e-6
    };
    let venue = app
        .post("/api/v1/venues", Some(&token), serde_json::json!({"name": "Civic Centre", "address": "Duke Street", "postcode": "cm1 1qh"}))
        .await;
    venue.assert_status(StatusCode::CREATED);
    assert!(near(&venue.json, 51.7343, 0.4691), "{}", venue.text);
    let school = app
        .post(
            "/api/v1/schools",
            Some(&token),
            serde_json::json!({"urn": "246801", "name": "Baddow Hall", "address": "Baddow Road", "postcode": "CM2 9AX"}),
        )
        .await;
    school.assert_status(StatusCode::CREATED);
    assert!(near(&school.json, 51.714, 0.498), "{}", school.text);
    // Code-Point's eastings and northings come out as latitude and longitude near Southend.
    let seaside = app
        .post("/api/v1/venues", Some(&token), serde_json::json!({"name": "Pier Hall", "address": "Marine Parade", "postcode": "SS2 6AA"}))
        .await;
    let lat = seaside.json["latitude"].as_f64().unwrap_or(0.0);
    assert!((51.5..51.6).contains(&lat), "{}", seaside.text);
    let signup = serde_json::json!({
        "name": "Witham Care", "provider_type": "home_care", "address": "3 Mill Lane, Witham", "postcode": "CM8 2AA",
        "contact_name": "Sam Patel", "contact_email": "sam@witham.example",
        "user": {"email": "sam.login@witham.example", "name": "Sam Patel", "password": crate::helpers::PASSWORD},
    });
    let employer = app.post("/api/v1/employers/signup", None, signup).await;
    employer.assert_status(StatusCode::CREATED);
    let id = employer.json["id"].as_str().unwrap_or_default().to_owned();
    let stored = app.get(&format!("/api/v1/employers/{id}"), Some(&token)).await;
    assert!(near(&stored.json, 51.8003, 0.64), "{}", stored.text);
    // A new postcode moves it; one the directory does not know leaves it "not placed".
    let moved = app.patch(&format!("/api/v1/employers/{id}"), Some(&token), serde_json::json!({"postcode": "CM1 1QH"})).await;
    assert!(near(&moved.json, 51.7343, 0.4691), "{}", moved.text);
    let unknown = app.patch(&format!("/api/v1/employers/{id}"), Some(&token), serde_json::json!({"postcode": "CM9 9ZZ"})).await;
    unknown.assert_status(StatusCode::OK);
    assert!(unknown.json["latitude"].is_null(), "{}", unknown.text);
    // Coordinates given are kept.
    let given = app
        .post(
            "/api/v1/venues",
            Some(&token),
            serde_json::json!({"name": "Barn", "address": "Farm Lane", "postcode": "CM1 1QH", "latitude": 51.75, "longitude": 0.45}),
        )
        .await;
    assert!(near(&given.json, 51.75, 0.45), "{}", given.text);
}
