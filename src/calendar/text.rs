//! The RFC 5545 content-line rules every value passes through: TEXT escaping (§3.3.11),
//! parameter quoting (§3.2) and line folding (§3.1).

/// Escapes a TEXT value: backslash, semicolon and comma get a backslash; every line break (CRLF,
/// LF, or a lone CR) becomes `\n`; other control characters, which TEXT may not hold, are dropped.
pub fn escape_text(input: &str) -> String {
    let mut out = String::with_capacity(input.len() + 8);
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            '\n' => out.push_str("\\n"),
            c if c.is_control() && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// A parameter value (such as a `CN`): quoted when it holds `:`, `;` or `,`. A double quote
/// cannot appear in a parameter value at all, so it becomes a single quote; control
/// characters are dropped.
pub fn param_value(input: &str) -> String {
    let clean: String = input.chars().filter(|c| !c.is_control()).map(|c| if c == '"' { '\'' } else { c }).collect();
    if clean.contains([':', ';', ',']) { format!("\"{clean}\"") } else { clean }
}

/// Folds every content line of `text` to at most 75 octets, continuation lines (which start
/// with a space) included, never splitting a UTF-8 character, with CRLF line ends.
///
/// The `ics` crate folds too, but its continuation lines can reach 76 octets; so its output is
/// unfolded and folded again here.
pub fn refold(text: &str) -> String {
    let unfolded = text.replace("\r\n ", "").replace("\r\n\t", "");
    let mut out = String::with_capacity(unfolded.len() + unfolded.len() / 70 * 3);
    for line in unfolded.split("\r\n").filter(|l| !l.is_empty()) {
        fold_line(&mut out, line);
    }
    out
}

const LIMIT: usize = 75;

fn fold_line(out: &mut String, line: &str) {
    let mut rest = line;
    let mut limit = LIMIT;
    loop {
        if rest.len() <= limit {
            out.push_str(rest);
            out.push_str("\r\n");
            return;
        }
        let mut cut = limit;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        // RFC 5545 unfolding removes exactly one space after the line break, but some parsers
        // trim every physical line; so a fold never sits next to a space of the value (unless a
        // run of spaces leaves no other place).
        let original = cut;
        let at_space = |cut: usize| rest[cut..].starts_with([' ', '\t']) || rest[..cut].ends_with([' ', '\t']);
        while cut > limit / 2 && at_space(cut) {
            cut -= 1;
            while !rest.is_char_boundary(cut) {
                cut -= 1;
            }
        }
        if at_space(cut) {
            cut = original;
        }
        out.push_str(&rest[..cut]);
        out.push_str("\r\n ");
        rest = &rest[cut..];
        // A continuation line starts with the space just written.
        limit = LIMIT - 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_text() {
        assert_eq!(escape_text("a;b,c\\d"), "a\\;b\\,c\\\\d");
        assert_eq!(escape_text("one\r\ntwo\nthree\rfour"), "one\\ntwo\\nthree\\nfour");
        assert_eq!(escape_text("bell\u{7}"), "bell");
    }

    #[test]
    fn quotes_parameters() {
        assert_eq!(param_value("Acme HR, Recruiting"), "\"Acme HR, Recruiting\"");
        assert_eq!(param_value("Jane \"JD\" Doe"), "Jane 'JD' Doe");
        assert_eq!(param_value("Plain"), "Plain");
    }

    #[test]
    fn folds_at_75_octets_without_splitting_characters() {
        let long = format!("SUMMARY:{}", "é🎉a".repeat(60));
        let folded = refold(&format!("{long}\r\n"));
        for line in folded.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(line.len() <= 75, "{} octets: {line}", line.len());
        }
        assert_eq!(folded.replace("\r\n ", "").trim_end(), long);
    }

    #[test]
    fn never_starts_a_continuation_line_with_a_space_of_the_value() {
        let long = format!("DESCRIPTION:{}", "word ".repeat(40).trim_end());
        let folded = refold(&format!("{long}\r\n"));
        assert!(folded.split("\r\n").all(|l| !l.starts_with("  ") && !l.ends_with(' ')), "{folded}");
        assert_eq!(folded.replace("\r\n ", "").trim_end(), long);
    }
}
