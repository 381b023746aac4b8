//! A JSON request body parsed with serde, so that a type error names the field it is in
//! (`user.email: invalid type…`) and a well-formed body with wrong values is a 422, while a body
//! that is not JSON at all is a 400. poem-openapi's own `Json` reports neither the field nor the
//! difference.

use poem::http::StatusCode;
use poem::{Request, RequestBody};
use poem_openapi::registry::{MetaMediaType, MetaRequest, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};
use serde::de::DeserializeOwned;

use super::problem::{Problem, ProblemField};

/// No request we accept comes near this; a larger body is refused unread.
pub const MAX_BODY_BYTES: usize = crate::middleware::JSON_MAX_BYTES;

pub struct JsonBody<T>(pub T);

impl<'a, T: DeserializeOwned + Type> ApiExtractor<'a> for JsonBody<T> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];

    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: None,
            content: vec![MetaMediaType { content_type: "application/json", schema: T::schema_ref() }],
            required: true,
        })
    }

    async fn from_request(request: &'a Request, body: &mut RequestBody, _opts: ExtractParamOptions<()>) -> poem::Result<Self> {
        if let Some(content_type) = request.content_type()
            && !is_json(content_type)
        {
            let problem = Problem::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, format!("expected application/json, not {content_type}"));
            return Err(poem::Error::from_response(problem.into_response()));
        }
        let bytes = body.take()?.into_bytes_limit(MAX_BODY_BYTES).await.map_err(|_| {
            poem::Error::from_response(
                Problem::new(StatusCode::PAYLOAD_TOO_LARGE, format!("the body must be at most {MAX_BODY_BYTES} bytes")).into_response(),
            )
        })?;
        parse(&bytes).map(JsonBody).map_err(|problem| poem::Error::from_response(problem.into_response()))
    }
}

fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Parses a body, or says what is wrong with it as a problem document.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Problem::new(StatusCode::BAD_REQUEST, "a JSON body is required"));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let inner = err.inner();
        if !inner.is_data() {
            return Problem::new(StatusCode::BAD_REQUEST, format!("malformed JSON: {inner}"));
        }
        let path = err.path().to_string();
        let message = inner.to_string();
        let message = message.split(" at line ").next().unwrap_or(&message).to_owned();
        // serde reports a missing field at its parent's path; name the field itself.
        let (field, message) = match message.strip_prefix("missing field `").and_then(|m| m.strip_suffix('`')) {
            Some(name) if path == "." => (name.to_owned(), "is required".to_owned()),
            Some(name) => (format!("{path}.{name}"), "is required".to_owned()),
            None => (path, message),
        };
        let mut problem = Problem::new(StatusCode::UNPROCESSABLE_ENTITY, format!("invalid value for {field}"))
            .with_errors(vec![ProblemField { field, message }]);
        problem.kind = "urn:carefair:problem:validation".into();
        problem.title = "Invalid input".into();
        problem
    })?;
    de.end().map_err(|e| Problem::new(StatusCode::BAD_REQUEST, format!("malformed JSON: {e}")))?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Inner {
        email: String,
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Outer {
        name: String,
        count: u32,
        user: Inner,
    }

    #[test]
    fn syntax_errors_are_400() {
        let problem = parse::<Outer>(b"{\"name\": ").err();
        assert_eq!(problem.map(|p| p.status), Some(400));
        assert_eq!(parse::<Outer>(b"").err().map(|p| p.status), Some(400));
    }

    #[test]
    fn type_errors_name_the_field() {
        let problem = parse::<Outer>(br#"{"name":"a","count":"x","user":{"email":"e"}}"#).err();
        let fields: Vec<String> = problem.into_iter().flat_map(|p| p.errors.unwrap_or_default()).map(|e| e.field).collect();
        assert_eq!(fields, ["count"]);
        let problem = parse::<Outer>(br#"{"name":"a","count":1,"user":{}}"#).err();
        let fields: Vec<String> = problem.into_iter().flat_map(|p| p.errors.unwrap_or_default()).map(|e| e.field).collect();
        assert_eq!(fields, ["user.email"]);
        let problem = parse::<Outer>(br#"{"count":1,"user":{"email":"e"}}"#).err();
        assert_eq!(problem.as_ref().map(|p| p.status), Some(422));
        let fields: Vec<String> = problem.into_iter().flat_map(|p| p.errors.unwrap_or_default()).map(|e| e.field).collect();
        assert_eq!(fields, ["name"]);
    }
}
