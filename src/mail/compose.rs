//! Putting a rendered message into MIME with lettre's builders. Every header value goes through a
//! typed header, so nothing a user typed can add a header.

use lettre::Message;
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};

use crate::calendar::Method;

/// A calendar carried by a message (iMIP, RFC 6047).
#[derive(Debug, Clone)]
pub struct CalendarPart {
    pub method: Method,
    pub text: String,
}

/// An image the HTML shows from inside the message (`<img src="cid:…">`, RFC 2392).
#[derive(Debug, Clone)]
pub struct InlineImage {
    pub content_id: String,
    pub png: Vec<u8>,
}

/// A message, rendered and ready to be put into MIME.
#[derive(Debug, Clone)]
pub struct Draft<'a> {
    /// `<…@host>`, fixed when the message was queued.
    pub message_id: &'a str,
    /// The sender as configured, e.g. `Gift of Care <events@example.org>`.
    pub from: &'a str,
    pub to_name: &'a str,
    pub to_email: &'a str,
    pub subject: &'a str,
    pub text: String,
    pub html: String,
    pub calendar: Option<CalendarPart>,
    /// Where to unsubscribe, for campaign mail (RFC 2369).
    pub list_unsubscribe: Option<String>,
    /// Shown by the HTML: a ticket's QR code.
    pub inline_image: Option<InlineImage>,
}

/// `List-Unsubscribe: <uri>`.
#[derive(Debug, Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.trim().trim_start_matches('<').trim_end_matches('>').to_owned()))
    }

    fn display(&self) -> HeaderValue {
        // A URI has no spaces or angle brackets of its own; anything else is dropped, so the
        // value stays one well-formed header line.
        let uri: String = self.0.chars().filter(|c| c.is_ascii_graphic() && !matches!(c, '<' | '>')).collect();
        HeaderValue::new(Self::name(), format!("<{uri}>"))
    }
}

fn mailbox(name: &str, email: &str) -> Result<Mailbox, String> {
    let address = email.trim().parse().map_err(|e| format!("address {email:?}: {e}"))?;
    let name: String = name.chars().filter(|c| !c.is_control()).collect();
    let name = name.trim();
    Ok(Mailbox::new((!name.is_empty()).then(|| name.to_owned()), address))
}

/// The message: `multipart/alternative` (text and HTML), and where a calendar is carried,
/// `multipart/mixed{ multipart/alternative{ text/plain, text/html, text/calendar; method=M },
/// invite.ics }` with the MIME method equal to the calendar's METHOD. An inline image goes with
/// the HTML as `multipart/related{ text/html, image/png }`.
pub fn compose(draft: Draft<'_>) -> Result<Message, String> {
    let from: Mailbox = draft.from.parse().map_err(|e| format!("mail.from {:?}: {e}", draft.from))?;
    let mut builder = Message::builder()
        .message_id(Some(draft.message_id.to_owned()))
        .from(from)
        .to(mailbox(draft.to_name, draft.to_email)?)
        .subject(draft.subject.split(|c: char| c.is_control()).filter(|p| !p.is_empty()).collect::<Vec<_>>().join(" "));
    if let Some(uri) = draft.list_unsubscribe {
        builder = builder.header(ListUnsubscribe(uri));
    }
    let alternative = MultiPart::alternative().singlepart(SinglePart::plain(draft.text));
    let alternative = match draft.inline_image {
        None => alternative.singlepart(SinglePart::html(draft.html)),
        Some(image) => {
            let png = ContentType::parse("image/png").map_err(|e| e.to_string())?;
            let related = MultiPart::related()
                .singlepart(SinglePart::html(draft.html))
                .singlepart(Attachment::new_inline(image.content_id).body(image.png, png));
            alternative.multipart(related)
        }
    };
    let message = match draft.calendar {
        None => builder.multipart(alternative),
        Some(calendar) => {
            let method = calendar.method.as_str();
            let inline = ContentType::parse(&format!("text/calendar; method={method}; charset=UTF-8")).map_err(|e| e.to_string())?;
            let file = ContentType::parse(&format!("application/ics; name=\"invite.ics\"; method={method}")).map_err(|e| e.to_string())?;
            let mixed = MultiPart::mixed()
                .multipart(alternative.singlepart(SinglePart::builder().header(inline).body(calendar.text.clone())))
                .singlepart(Attachment::new("invite.ics".to_owned()).body(calendar.text, file));
            builder.multipart(mixed)
        }
    };
    message.map_err(|e| format!("building the message: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(calendar: Option<CalendarPart>) -> Draft<'static> {
        Draft {
            message_id: "<0192abc@events.example.org>",
            from: "Gift of Care <events@example.org>",
            to_name: "Doe, Jane\r\nBcc: evil@example.org",
            to_email: "jane@example.org",
            subject: "Your place\r\nBcc: evil@example.org",
            text: "Hello".into(),
            html: "<p>Hello</p>".into(),
            calendar,
            list_unsubscribe: Some("https://events.example.org/u/1>\r\nX: y".into()),
            inline_image: None,
        }
    }

    #[test]
    fn user_text_cannot_add_headers() {
        let message = compose(draft(None)).unwrap_or_else(|e| panic!("{e}"));
        let raw = String::from_utf8_lossy(&message.formatted()).into_owned();
        let headers = raw.split("\r\n\r\n").next().unwrap_or_default();
        assert!(!headers.lines().any(|l| l.starts_with("Bcc:") || l.starts_with("X:")), "{headers}");
        assert!(headers.contains("Message-ID: <0192abc@events.example.org>"), "{headers}");
        assert!(headers.contains("List-Unsubscribe: <https://events.example.org/u/1X:y>"), "{headers}");
        assert!(headers.contains("multipart/alternative"), "{headers}");
        assert!(headers.contains("Subject: Your place Bcc: evil@example.org"), "{headers}");
    }

    #[test]
    fn calendar_makes_a_mixed_message_with_the_method() {
        let part = CalendarPart { method: Method::Cancel, text: "BEGIN:VCALENDAR\r\nMETHOD:CANCEL\r\nEND:VCALENDAR\r\n".into() };
        let message = compose(draft(Some(part))).unwrap_or_else(|e| panic!("{e}"));
        let raw = String::from_utf8_lossy(&message.formatted()).into_owned();
        assert!(raw.contains("multipart/mixed"), "{raw}");
        assert!(raw.to_lowercase().contains("text/calendar; method=cancel; charset=utf-8"), "{raw}");
        assert!(raw.contains("invite.ics"), "{raw}");
    }
}
