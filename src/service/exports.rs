//! CSV exports (RFC 4180), safe to open in a spreadsheet: every face that exports a list
//! writes it here, so every cell is neutralised the same way.

use uuid::Uuid;

use super::questions::{self, Answered, Question};
use super::registrations::{ExportLine, ExportReader, RegistrationDetail, TypedLine};
use super::{ServiceResult, Services};
use crate::domain::{Actor, RegistrationStatus};

/// A cell quoted when needed, and neutralised when a spreadsheet would run it as a formula:
/// a leading `=`, `+`, `-`, `@`, tab or carriage return gets a `'` in front (OWASP's advice).
pub fn cell(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    push_cell(&mut out, value);
    out
}

/// [`cell`], written onto the end of `out`.
fn push_cell(out: &mut String, value: &str) {
    let formula = value.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quoted = value.contains([',', '"', '\n', '\r']);
    if quoted {
        out.push('"');
    }
    if formula {
        out.push('\'');
    }
    if quoted {
        for (i, part) in value.split('"').enumerate() {
            if i > 0 {
                out.push_str("\"\"");
            }
            out.push_str(part);
        }
        out.push('"');
    } else {
        out.push_str(value);
    }
}

fn row(out: &mut String, cells: &[&str]) {
    for (i, c) in cells.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_cell(out, c);
    }
    out.push_str("\r\n");
}

const REGISTRATION_COLUMNS: &[&str] =
    &["id", "candidate_id", "name", "email", "phone", "postcode", "status", "position", "created_at", "checked_in_at", "consent_marketing"];

/// The header: the fixed columns, then each of the event's questions (hidden ones too: someone
/// may have answered them), by its label.
fn registration_header(out: &mut String, asked: &[Question]) {
    let mut columns: Vec<&str> = REGISTRATION_COLUMNS.to_vec();
    columns.extend(asked.iter().map(|q| q.label.as_str()));
    row(out, &columns);
}

/// Ends the line begun in `out` with its answers, one cell a question of `asked`.
fn answer_cells(out: &mut String, asked: &[Question], answers: &[Answered]) {
    for question in asked {
        out.push(',');
        let value = answers.iter().find(|a| a.question_id == question.id).map_or("", |a| a.value.as_str());
        push_cell(out, value);
    }
    out.push_str("\r\n");
}

fn registration_rows(out: &mut String, items: &[RegistrationDetail], asked: &[Question]) {
    for d in items {
        let (r, c) = (&d.registration, &d.candidate);
        let typed = TypedLine {
            id: r.id,
            candidate_id: c.id,
            name: &c.name,
            email: &c.email,
            phone: c.phone.as_deref(),
            postcode: c.postcode.as_deref(),
            status: r.status.as_str(),
            created_at: r.created_at,
            checked_in_at: r.checked_in_at,
            consent_marketing: c.consent_marketing,
        };
        typed.as_text(|line| export_line(out, line, d.position));
        if !asked.is_empty() {
            out.truncate(out.len() - 2);
            answer_cells(out, asked, &d.answers);
        }
    }
}

/// One line of the registrations CSV, in [`REGISTRATION_COLUMNS`]' order.
fn export_line(out: &mut String, l: &ExportLine<'_>, position: Option<i64>) {
    let position = position.map(|p| p.to_string()).unwrap_or_default();
    row(
        out,
        &[
            l.id,
            l.candidate_id,
            l.name,
            super::door::shown_email(l.email),
            l.phone,
            l.postcode,
            l.status,
            &position,
            l.created_at,
            l.checked_in_at,
            if l.consent_marketing { "yes" } else { "no" },
        ],
    );
}

/// An event's registrations, of one `status` if given, as CSV built in memory (organisers).
pub async fn registrations(svc: &Services, actor: &Actor, event_id: Uuid, status: Option<RegistrationStatus>) -> ServiceResult<String> {
    let list = super::registrations::list(svc, actor, event_id, status, None, None).await?;
    let asked = questions::of_event(&svc.db.read, event_id, true).await?;
    let mut out = String::new();
    registration_header(&mut out, &asked);
    registration_rows(&mut out, &list.items, &asked);
    Ok(out)
}

/// How many registrations one read of a streamed CSV takes.
const STREAM_PAGE: u64 = 2_000;

/// Pages written ahead of the client: the next page is read while the one before is sent.
const PAGES_AHEAD: usize = 2;

/// An event's registrations as CSV, written as they are read, a page at a time: the first
/// bytes leave before the last rows are read, and the server holds a few pages, not the list.
/// A task of its own reads and formats the pages while the answer's task sends the ones
/// before, so the database, the formatting and the socket work at once. Who may read it, and
/// whether the event exists, is decided before the first byte (an error after it could only
/// cut the file short).
pub async fn registrations_csv(
    svc: &Services,
    actor: &Actor,
    event_id: Uuid,
) -> ServiceResult<impl futures::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send + 'static> {
    super::registrations::may_export(svc, actor, event_id).await?;
    let (pages, received) = tokio::sync::mpsc::channel(PAGES_AHEAD);
    let svc = svc.clone();
    tokio::spawn(async move {
        if let Err(err) = write_registrations(&svc, event_id, &pages).await {
            tracing::error!(error = %err, "a streamed CSV stopped");
            let _ = pages.send(Err(std::io::Error::other("the export stopped"))).await;
        }
    });
    Ok(futures::stream::unfold(received, |mut received| async move { received.recv().await.map(|page| (page, received)) }))
}

type Pages = tokio::sync::mpsc::Sender<Result<bytes::Bytes, std::io::Error>>;

/// Sends the header, then a page at a time until the rows or the client run out.
async fn write_registrations(svc: &Services, event_id: Uuid, pages: &Pages) -> ServiceResult<()> {
    let asked = questions::of_event(&svc.db.read, event_id, true).await?;
    let mut header = String::new();
    registration_header(&mut header, &asked);
    if pages.send(Ok(bytes::Bytes::from(header))).await.is_err() {
        return Ok(());
    }
    // The queue's positions are read once, after the header has gone.
    let positions = super::registrations::waiting_positions(svc, event_id).await?;
    let mut reader = ExportReader::open(svc, event_id).await?;
    let waitlisted = RegistrationStatus::Waitlisted.as_str();
    loop {
        let mut out = String::with_capacity(STREAM_PAGE as usize * 170);
        // Where each line ends, and whose it is, when the answers are to be added after it.
        let mut ends: Vec<(usize, Uuid)> = Vec::new();
        let read = reader
            .next_page(STREAM_PAGE, |line| {
                // Only a waiting place has a position; the others need no lookup.
                let position =
                    (line.status == waitlisted).then(|| Uuid::try_parse(line.id).ok().and_then(|id| positions.get(&id).copied())).flatten();
                export_line(&mut out, line, position);
                if !asked.is_empty() {
                    ends.push((out.len() - 2, Uuid::try_parse(line.id).unwrap_or_default()));
                }
            })
            .await?;
        if read == 0 {
            return Ok(());
        }
        if !asked.is_empty() {
            out = with_answers(svc, &out, &ends, &asked).await?;
        }
        // A client that went away ends the export.
        if pages.send(Ok(bytes::Bytes::from(out))).await.is_err() {
            return Ok(());
        }
    }
}

/// A page of lines with each line's answers added at its end (`ends`: where each line's
/// `\r\n` begins, and whose line it is).
async fn with_answers(svc: &Services, page: &str, ends: &[(usize, Uuid)], asked: &[Question]) -> ServiceResult<String> {
    let ids: Vec<Uuid> = ends.iter().map(|(_, id)| *id).collect();
    let answers = questions::answers_of(&svc.db.read, &ids).await?;
    let mut out = String::with_capacity(page.len() + ends.len() * asked.len() * 8);
    let mut start = 0;
    for (end, id) in ends {
        out.push_str(&page[start..*end]);
        answer_cells(&mut out, asked, answers.get(id).map_or(&[][..], Vec::as_slice));
        start = end + 2;
    }
    Ok(out)
}

/// A school's record of encounters: one line per engagement, employer and year group, with
/// what it achieved, for the school's careers evidence (Gatsby Benchmark 5).
pub fn encounters(items: &[super::engagements::Encounter]) -> String {
    let mut out = String::new();
    row(
        &mut out,
        &[
            "date",
            "engagement",
            "activity",
            "employer",
            "year_group",
            "pupils_reached",
            "purpose_briefed",
            "learning_outcomes",
            "two_way_interaction",
            "reflection",
            "meaningful",
            "notes",
        ],
    );
    let yes = |b: bool| if b { "yes" } else { "no" };
    for e in items {
        let m = e.meaningful;
        for employer in &e.employers {
            for year in &e.year_groups {
                row(
                    &mut out,
                    &[
                        &e.starts_at.date_naive().to_string(),
                        &e.title,
                        e.activity.as_str(),
                        employer,
                        &year.to_string(),
                        &e.pupils_reached.to_string(),
                        yes(m.purpose_briefed),
                        yes(m.learning_outcomes),
                        yes(m.two_way_interaction),
                        yes(m.reflection),
                        yes(m.is_met()),
                        e.notes.as_deref().unwrap_or(""),
                    ],
                );
            }
        }
    }
    out
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
