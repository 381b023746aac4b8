//! CSV exports (RFC 4180), safe to open in a spreadsheet: every face that exports a list
//! writes it here, so every cell is neutralised the same way.

use uuid::Uuid;

use super::registrations::RegistrationDetail;
use super::{PageRequest, ServiceResult, Services};
use crate::domain::Actor;

/// A cell quoted when needed, and neutralised when a spreadsheet would run it as a formula:
/// a leading `=`, `+`, `-`, `@`, tab or carriage return gets a `'` in front (OWASP's advice).
pub fn cell(value: &str) -> String {
    let neutral = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{value}") } else { value.to_owned() };
    if neutral.contains([',', '"', '\n', '\r']) { format!("\"{}\"", neutral.replace('"', "\"\"")) } else { neutral }
}

fn row(out: &mut String, cells: &[&str]) {
    let line: Vec<String> = cells.iter().map(|c| cell(c)).collect();
    out.push_str(&line.join(","));
    out.push_str("\r\n");
}

const REGISTRATION_COLUMNS: &[&str] =
    &["id", "candidate_id", "name", "email", "phone", "postcode", "status", "position", "created_at", "checked_in_at", "consent_marketing"];

fn registration_rows(out: &mut String, items: &[RegistrationDetail]) {
    for d in items {
        let position = d.position.map(|p| p.to_string()).unwrap_or_default();
        let checked_in_at = d.registration.checked_in_at.map(|t| t.to_rfc3339()).unwrap_or_default();
        let consent = if d.candidate.consent_marketing { "yes" } else { "no" };
        row(
            out,
            &[
                &d.registration.id.to_string(),
                &d.candidate.id.to_string(),
                &d.candidate.name,
                &d.candidate.email,
                d.candidate.phone.as_deref().unwrap_or(""),
                d.candidate.postcode.as_deref().unwrap_or(""),
                d.registration.status.as_str(),
                &position,
                &d.registration.created_at.to_rfc3339(),
                &checked_in_at,
                consent,
            ],
        );
    }
}

pub fn registrations(items: &[RegistrationDetail]) -> String {
    let mut out = String::new();
    row(&mut out, REGISTRATION_COLUMNS);
    registration_rows(&mut out, items);
    out
}

/// How many registrations one read of a streamed CSV takes.
const STREAM_PAGE: u64 = 2_000;

/// An event's registrations as CSV, written as they are read, a page at a time: the first
/// bytes leave before the last rows are read, and the server holds one page, not the list.
/// Who may read it, and whether the event exists, is decided before the first byte (an error
/// after it could only cut the file short).
pub async fn registrations_csv(
    svc: &Services,
    actor: &Actor,
    event_id: Uuid,
) -> ServiceResult<impl futures::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send + 'static> {
    super::registrations::list(svc, actor, event_id, None, None, Some(PageRequest { limit: 1, offset: 0 })).await?;
    let (svc, actor) = (svc.clone(), actor.clone());
    let mut header = String::new();
    row(&mut header, REGISTRATION_COLUMNS);
    let first = futures::stream::once(async move { Ok(bytes::Bytes::from(header)) });
    let pages = futures::stream::unfold(Some(0u64), move |offset| {
        let (svc, actor) = (svc.clone(), actor.clone());
        async move {
            let offset = offset?;
            let page = PageRequest { limit: STREAM_PAGE, offset };
            match super::registrations::list(&svc, &actor, event_id, None, None, Some(page)).await {
                Ok(found) if found.items.is_empty() => None,
                Ok(found) => {
                    let mut out = String::with_capacity(found.items.len() * 160);
                    registration_rows(&mut out, &found.items);
                    let next = (found.items.len() as u64 == STREAM_PAGE).then_some(offset + STREAM_PAGE);
                    Some((Ok(bytes::Bytes::from(out)), next))
                }
                Err(err) => {
                    tracing::error!(error = %err, "a streamed CSV stopped");
                    Some((Err(std::io::Error::other("the export stopped")), None))
                }
            }
        }
    });
    Ok(futures::StreamExt::chain(first, pages))
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn formulas_are_neutralised_and_quotes_escaped() {
        assert_eq!(cell(r#"=HYPERLINK("x")"#), r#""'=HYPERLINK(""x"")""#);
        assert_eq!(cell("+44 1245"), "'+44 1245");
        assert_eq!(cell("-1"), "'-1");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("\tx"), "'\tx");
        assert_eq!(cell("Doe, Jane"), "\"Doe, Jane\"");
        assert_eq!(cell("plain"), "plain");
    }
}
