//! The layering, checked on every build's tests: data flows one way, faces → service → store,
//! calendar, mail → domain, and no face reaches into another face or into the store.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Each module of `src/`, with the modules of the crate it may name, and the outside crates it
/// must not use. `startup`, `main` and `lib` put everything together and may name anything.
const RULES: &[(&str, &[&str], &[&str])] = &[
    ("domain", &[], &["poem", "poem_openapi", "sea_orm", "lettre", "minijinja"]),
    ("clock", &[], &["poem", "sea_orm"]),
    ("config", &[], &["poem", "sea_orm"]),
    ("problem", &[], &["sea_orm"]),
    ("timed_io", &[], &["sea_orm"]),
    ("telemetry", &[], &["poem", "sea_orm"]),
    ("calendar", &["domain"], &["poem", "poem_openapi", "sea_orm", "lettre"]),
    ("mail", &["domain", "calendar", "config"], &["poem", "poem_openapi", "sea_orm"]),
    ("store", &["domain", "config"], &["poem", "poem_openapi", "lettre"]),
    ("service", &["domain", "store", "calendar", "mail", "clock", "config"], &["poem", "poem_openapi"]),
    // The faces.
    ("api", &["service", "domain", "config", "middleware", "problem"], &["sea_orm"]),
    ("web", &["service", "domain", "config", "middleware", "problem"], &["sea_orm", "poem_openapi"]),
    ("ops", &["service", "config", "problem"], &["sea_orm"]),
    // What wraps the faces.
    ("middleware", &["config", "ops", "problem", "web", "api"], &["sea_orm"]),
];

/// The modules that answer people and programs over HTTP.
const FACES: &[&str] = &["api", "web", "ops", "middleware"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())).filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The names after `crate::` in `text`, comments left out.
fn crate_modules(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for line in text.lines().map(|l| l.split("//").next().unwrap_or_default()) {
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + 7..];
            let name: String = after.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if !name.is_empty() {
                found.insert(name);
            }
            rest = after;
        }
        // A braced import names several: `use crate::{a, b::c}`.
        if let Some(braced) = line.trim().strip_prefix("use crate::{") {
            for part in braced.split([',', '}']) {
                let name: String = part.trim().chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                if !name.is_empty() {
                    found.insert(name);
                }
            }
        }
    }
    found
}

fn uses_crate(text: &str, krate: &str) -> bool {
    text.lines()
        .map(|l| l.split("//").next().unwrap_or_default())
        .any(|l| l.contains(&format!("{krate}::")) && !l.contains(&format!("_{krate}::")) && !l.contains(&format!("crate::{krate}")))
}

#[test]
fn every_layer_names_only_the_layers_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut broken = Vec::new();
    let mut checked = 0;
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap_or(file);
        let module =
            relative.components().next().and_then(|c| c.as_os_str().to_str()).unwrap_or_default().trim_end_matches(".rs").to_owned();
        let Some((_, allowed, forbidden)) = RULES.iter().find(|(m, _, _)| *m == module) else {
            assert!(matches!(module.as_str(), "startup" | "main" | "lib"), "{} is in no layer: add it to RULES", relative.display());
            continue;
        };
        checked += 1;
        let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{e}"));
        for named in crate_modules(&text) {
            if named != module && !allowed.contains(&named.as_str()) {
                broken.push(format!("{} names crate::{named}", relative.display()));
            }
        }
        for krate in *forbidden {
            if uses_crate(&text, krate) {
                broken.push(format!("{} uses {krate}", relative.display()));
            }
        }
        // The faces make no role decisions: the services ask `service::policy`.
        let decides = |l: &str| {
            l.contains("is_organiser(")
                || ["Role::Admin", "Role::Organiser", "Role::Employer", "Role::School"].iter().any(|r| l.contains(r))
        };
        if FACES.contains(&module.as_str()) && text.lines().any(|l| decides(l.split("//").next().unwrap_or_default())) {
            broken.push(format!("{} decides on a role itself", relative.display()));
        }
        // The faces reach the database only through the services.
        if FACES.contains(&module.as_str()) && text.lines().any(|l| l.split("//").next().unwrap_or_default().contains(".db.")) {
            broken.push(format!("{} reaches the database itself", relative.display()));
        }
    }
    assert!(checked > 50, "only {checked} files were checked");
    assert!(broken.is_empty(), "layering broken:\n{}", broken.join("\n"));
}

/// A side effect with one home: the public feed hears of a change to an event from
/// `events::commit_event_change` alone, and of a change to a venue from `venues::update`.
#[test]
fn the_feed_cache_is_told_in_one_place() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut told = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{e}"));
        for (n, line) in text.lines().enumerate() {
            if line.split("//").next().unwrap_or_default().contains("feed_cache.invalidate") {
                told.push(format!("{}:{}", file.strip_prefix(&src).unwrap_or(file).display(), n + 1));
            }
        }
    }
    assert_eq!(told.len(), 2, "the feed cache is told from {told:?}");
    assert!(told.iter().any(|t| t.starts_with("service/events.rs")) && told.iter().any(|t| t.starts_with("service/venues.rs")), "{told:?}");
}

#[test]
fn the_checker_sees_what_it_must() {
    let text = "use crate::store::entity::event;\nuse crate::{domain::Text, web};\n// crate::api in a comment\n";
    assert_eq!(crate_modules(text).into_iter().collect::<Vec<_>>(), ["domain", "store", "web"]);
    assert!(uses_crate("let x = sea_orm::Set(1);", "sea_orm"));
    assert!(!uses_crate("use crate::sea_orm_like::x;", "sea_orm"));
}
