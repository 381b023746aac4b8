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
