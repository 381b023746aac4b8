//! Capacity under concurrency: many registrations and cancellations at once never confirm more
//! people than the event holds, on either database, with one server or two sharing PostgreSQL.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{TestApp, count_in_file_alone, person, sqlite_file};

async fn statuses(app: &TestApp, token: &str, event: &str) -> (Vec<Value>, Vec<Value>) {
    let confirmed = app.get(&format!("/api/v1/events/{event}/registrations?status=confirmed&limit=200"), Some(token)).await;
    let waitlisted = app.get(&format!("/api/v1/events/{event}/registrations?status=waitlisted&limit=200"), Some(token)).await;
    (confirmed.json["items"].as_array().cloned().unwrap_or_default(), waitlisted.json["items"].as_array().cloned().unwrap_or_default())
}

/// Sends one registration per email to the servers in turn, all at once.
async fn rush(apps: &[&TestApp], event: &str, emails: impl Iterator<Item = String>) -> Vec<Value> {
    let mut handles = Vec::new();
    for (i, email) in emails.enumerate() {
        let app = apps[i % apps.len()];
        let req = app.client.post(app.url(&format!("/api/v1/events/{event}/registrations"))).json(&person("Rush", &email));
        handles.push(tokio::spawn(async move {
            let resp = req.send().await.ok()?;
            assert_eq!(resp.status(), StatusCode::CREATED);
            resp.json::<Value>().await.ok()
        }));
    }
    let mut answers = Vec::new();
    for h in handles {
        if let Ok(Some(answer)) = h.await {
            answers.push(answer);
        }
    }
    answers
}

fn assert_exact(answers: &[Value], capacity: usize, total: usize) {
    assert_eq!(answers.len(), total, "every request answered 201");
    let confirmed = answers.iter().filter(|a| a["status"] == "confirmed").count();
    assert_eq!(confirmed, capacity);
    let mut positions: Vec<i64> = answers.iter().filter(|a| a["status"] == "waitlisted").filter_map(|a| a["position"].as_i64()).collect();
    positions.sort_unstable();
    assert_eq!(positions, (1..=i64::try_from(total - capacity).unwrap_or(0)).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_at_once_for_fifty_places() {
    let app = TestApp::spawn().await;
    let (event, organiser) = app.published_fair(50).await;
    let answers = rush(&[&app], &event, (0..200).map(|i| format!("rush{i}@example.org"))).await;
    assert_exact(&answers, 50, 200);

    let (confirmed, waitlisted) = statuses(&app, &organiser, &event).await;
    assert_eq!(confirmed.len(), 50);
    assert_eq!(waitlisted.len(), 150);
    let ids: HashSet<&str> = answers.iter().filter_map(|a| a["id"].as_str()).collect();
    assert_eq!(ids.len(), 200, "no duplicates");
    let listed: Vec<i64> = waitlisted.iter().filter_map(|r| r["position"].as_i64()).collect();
    assert_eq!(listed, (1..=150).collect::<Vec<_>>(), "the organiser's list agrees, in arrival order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_cancellations_promote_exactly_the_places_freed() {
    let app = TestApp::spawn().await;
    let (event, organiser) = app.published_fair(50).await;
    let answers = rush(&[&app], &event, (0..120).map(|i| format!("c{i}@example.org"))).await;
    assert_exact(&answers, 50, 120);

    // 30 confirmed and 10 waitlisted people cancel at once, while 20 newcomers register.
    let leaving: Vec<String> = answers
        .iter()
        .filter(|a| a["status"] == "confirmed")
        .take(30)
        .chain(answers.iter().filter(|a| a["status"] == "waitlisted").take(10))
        .filter_map(|a| a["manage_url"].as_str().and_then(|u| u.rsplit('/').next()).map(str::to_owned))
        .collect();
    let mut handles = Vec::new();
    for token in leaving {
        let req = app.client.delete(app.url(&format!("/api/v1/registrations/{token}")));
        handles.push(tokio::spawn(async move { req.send().await.map(|r| r.status()).ok() }));
    }
    let newcomers = rush(&[&app], &event, (0..20).map(|i| format!("new{i}@example.org"))).await;
    for h in handles {
        assert_eq!(h.await.ok().flatten(), Some(StatusCode::OK));
    }
    assert_eq!(newcomers.len(), 20);

    let (confirmed, waitlisted) = statuses(&app, &organiser, &event).await;
    assert_eq!(confirmed.len(), 50, "every freed place was filled, and no more");
    assert_eq!(waitlisted.len(), 120 + 20 - 40 - 50);
    let positions: Vec<i64> = waitlisted.iter().filter_map(|r| r["position"].as_i64()).collect();
    assert_eq!(positions, (1..=i64::try_from(waitlisted.len()).unwrap_or(0)).collect::<Vec<_>>());
}

/// Each email sent twice in one rush, the second copy some fifty requests after the first: the
/// second of each pair is refused, whichever batch either lands in, and the places are still
/// counted exactly. On PostgreSQL the writer stores the next batch's candidates while the batch
/// before still holds the event, so the same new email is often in both at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_email_sent_twice_in_a_rush_gets_one_place() {
    let app = TestApp::spawn().await;
    let (event, organiser) = app.published_fair(50).await;
    let (people, lag): (usize, usize) = (300, 50);
    let mut order = Vec::new();
    for j in 0..people + lag {
        order.extend((j < people).then_some(j));
        order.extend(j.checked_sub(lag));
    }
    let order: std::sync::Arc<Vec<String>> = std::sync::Arc::new(order.into_iter().map(|p| format!("twice{p}@example.org")).collect());
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut clients = Vec::new();
    for _ in 0..40 {
        let (client, url, order, next) =
            (app.client.clone(), app.url(&format!("/api/v1/events/{event}/registrations")), order.clone(), next.clone());
        clients.push(tokio::spawn(async move {
            let mut answers = Vec::new();
            while let Some(email) = order.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed)) {
                let resp = client.post(&url).json(&person("Twice", email)).send().await.ok()?;
                let status = resp.status();
                answers.push((status, resp.json::<Value>().await.ok()?));
            }
            Some(answers)
        }));
    }
    let mut created = Vec::new();
    let mut refused = 0;
    for client in clients {
        for (status, answer) in client.await.ok().flatten().unwrap_or_else(|| panic!("a client failed")) {
            match status {
                StatusCode::CREATED => created.push(answer),
                StatusCode::CONFLICT => refused += 1,
                other => panic!("unexpected {other}: {answer}"),
            }
        }
    }
    assert_eq!(refused, people);
    assert_exact(&created, 50, people);
    let listed = app.get(&format!("/api/v1/events/{event}/registrations?limit=200"), Some(&organiser)).await;
    assert_eq!(listed.json["total"], people);
    let confirmed = app.get(&format!("/api/v1/events/{event}/registrations?status=confirmed&limit=200"), Some(&organiser)).await;
    let emails: HashSet<&str> = confirmed.json["items"].as_array().into_iter().flatten().filter_map(|r| r["email"].as_str()).collect();
    assert_eq!(emails.len(), 50, "one place per email");
}

/// Scale-out: two carefair servers sharing one PostgreSQL database, each taking half of the rush.
/// An in-process lock alone would confirm up to twice the capacity here. SQLite is one process
/// per database file by design (README), so this runs when DATABASE_URL is PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_sharing_postgres_confirm_exactly_the_capacity() {
    let first = TestApp::spawn().await;
    if !first.is_postgres() {
        eprintln!("two_servers_sharing_postgres_confirm_exactly_the_capacity: runs on PostgreSQL only");
        return;
    }
    let second = first.spawn_sharing().await;
    let (event, organiser) = first.published_fair(50).await;
    let answers = rush(&[&first, &second], &event, (0..200).map(|i| format!("two{i}@example.org"))).await;
    assert_exact(&answers, 50, 200);
    let (confirmed, waitlisted) = statuses(&second, &organiser, &event).await;
    assert_eq!((confirmed.len(), waitlisted.len()), (50, 150));
}

/// On SQLite the write connection never checkpoints (a checkpoint inside a batch's commit
/// stalled the rush); a task beside it copies the log back into the database file. Read the
/// file alone, without its log, to see that the registrations reached it.
#[tokio::test]
async fn on_sqlite_registrations_reach_the_database_file_while_the_server_runs() {
    let app = TestApp::spawn().await;
    let Some(file) = sqlite_file(&app.database_url) else {
        eprintln!("not SQLite: nothing to check");
        return;
    };
    let (event, _) = app.published_fair(5).await;
    let answers = rush(&[&app], &event, (0..8).map(|i| format!("file{i}@example.org"))).await;
    assert_eq!(answers.len(), 8);

    let in_file = count_in_file_alone(&file, "SELECT COUNT(*) AS n FROM registrations", 8).await;
    assert_eq!(in_file, 8, "the database file itself holds every registration");
}
