//! CSV exports (RFC 4180), safe to open in a spreadsheet: every face that exports a list
//! writes it here, so every cell is neutralised the same way.

use super::registrations::RegistrationDetail;

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

pub fn registrations(items: &[RegistrationDetail]) -> String {
    let mut out = String::new();
    row(
        &mut out,
        &[
            "id",
            "candidate_id",
            "name",
            "email",
            "phone",
            "postcode",
            "status",
            "position",
            "created_at",
            "checked_in_at",
            "consent_marketing",
        ],
    );
    for d in items {
        let position = d.position.map(|p| p.to_string()).unwrap_or_default();
        let checked_in_at = d.registration.checked_in_at.map(|t| t.to_rfc3339()).unwrap_or_default();
        let consent = if d.candidate.consent_marketing { "yes" } else { "no" };
        row(
            &mut out,
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
