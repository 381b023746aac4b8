//! RFC 9457 problem documents: the one shape every error answer takes.

use poem::Response;
use poem::http::StatusCode;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OperationId};

use crate::domain::ValidationErrors;
use crate::service::ServiceError;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// An error answer (RFC 9457).
#[derive(Object, Debug, Clone, serde::Serialize)]
pub struct Problem {
    /// A URI naming the kind of problem; `about:blank` when the status says it all.
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request.
    pub detail: String,
    /// For invalid input: each field that broke a rule, and how.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<ProblemField>>,
}

/// One invalid field.
#[derive(Object, Debug, Clone, serde::Serialize)]
pub struct ProblemField {
    /// The field, as a JSON path (`user.email`, `recipients[2].email`) or a parameter name.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl Problem {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            kind: "about:blank".into(),
            title: status.canonical_reason().unwrap_or("Error").into(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: None,
        }
    }

    pub fn with_errors(mut self, errors: Vec<ProblemField>) -> Self {
        self.errors = Some(errors);
        self
    }

    pub fn invalid(errors: &ValidationErrors) -> Self {
        let fields: Vec<ProblemField> =
            errors.0.iter().map(|e| ProblemField { field: e.field.clone(), message: e.message.clone() }).collect();
        let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
        let mut problem =
            Self::new(StatusCode::UNPROCESSABLE_ENTITY, format!("invalid value for {}", names.join(", "))).with_errors(fields);
        problem.kind = "urn:carefair:problem:validation".into();
        problem.title = "Invalid input".into();
        problem
    }

    /// As a response outside poem-openapi's typed answers (the catch-all and the JSON extractor).
    pub fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        Response::builder().status(status).content_type(PROBLEM_JSON).body(body)
    }
}

/// Every error an operation can answer with. Each handler returns `Result<Its own response,
/// ApiError>`, so every error is documented and has the same shape.
#[derive(ApiResponse, Debug)]
pub enum ApiError {
    /// The request is malformed (not JSON, a parameter of the wrong type).
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    /// No valid credentials were given.
    #[oai(status = 401, content_type = "application/problem+json")]
    Unauthorized(Json<Problem>, #[oai(header = "WWW-Authenticate")] String),
    /// The caller's role may not do this.
    #[oai(status = 403, content_type = "application/problem+json")]
    Forbidden(Json<Problem>),
    /// No such resource, or none the caller may see.
    #[oai(status = 404, content_type = "application/problem+json")]
    NotFound(Json<Problem>),
    /// The request conflicts with the current state (a duplicate, a change not allowed now).
    #[oai(status = 409, content_type = "application/problem+json")]
    Conflict(Json<Problem>),
    /// One or more values break a rule; `errors` names each field.
    #[oai(status = 422, content_type = "application/problem+json")]
    Unprocessable(Json<Problem>),
    /// Too many attempts; try again after `Retry-After` seconds.
    #[oai(status = 429, content_type = "application/problem+json")]
    TooManyRequests(Json<Problem>, #[oai(header = "Retry-After")] u64),
    /// Something failed on our side; the details are in the server log.
    #[oai(status = 500, content_type = "application/problem+json")]
    Internal(Json<Problem>),
}

/// The statuses an operation may refuse with, as bits of [`Refused`]'s mask. 500 is always
/// possible and always documented.
pub mod can {
    pub const BAD_REQUEST: u16 = 1 << 0;
    pub const UNAUTHORIZED: u16 = 1 << 1;
    pub const FORBIDDEN: u16 = 1 << 2;
    pub const NOT_FOUND: u16 = 1 << 3;
    pub const CONFLICT: u16 = 1 << 4;
    pub const INVALID: u16 = 1 << 5;
    pub const TOO_MANY: u16 = 1 << 6;
    /// Needs credentials, and a role or scope that may.
    pub const SIGNED_IN: u16 = UNAUTHORIZED | FORBIDDEN;
    /// Takes parameters or a body that can be malformed or break a rule.
    pub const INPUT: u16 = BAD_REQUEST | INVALID;

    pub(super) const fn bit(status: u16) -> u16 {
        match status {
            400 => BAD_REQUEST,
            401 => UNAUTHORIZED,
            403 => FORBIDDEN,
            404 => NOT_FOUND,
            409 => CONFLICT,
            422 => INVALID,
            429 => TOO_MANY,
            _ => 0,
        }
    }
}

/// An operation's refusals: the shared [`ApiError`], documented with only the statuses in
/// `CAN` (a mask of [`can`] bits) and 500. Answering with a status outside the mask is a
/// defect of the operation's declaration: logged as an error, and a panic in debug builds.
#[derive(Debug)]
pub struct Refused<const CAN: u16>(pub ApiError);

impl<const CAN: u16> Refused<CAN> {
    fn documents(status: u16) -> bool {
        status == 500 || CAN & can::bit(status) != 0
    }
}

impl<const CAN: u16> ApiResponse for Refused<CAN> {
    fn meta() -> poem_openapi::registry::MetaResponses {
        let mut meta = ApiError::meta();
        meta.responses.retain(|r| r.status.is_some_and(Self::documents));
        meta
    }

    fn register(registry: &mut poem_openapi::registry::Registry) {
        ApiError::register(registry);
    }
}

impl<const CAN: u16> From<Refused<CAN>> for poem::Error {
    fn from(refused: Refused<CAN>) -> Self {
        let error = poem::Error::from(refused.0);
        let status = error.status().as_u16();
        if !Refused::<CAN>::documents(status) {
            tracing::error!(status, "an operation answered with a status it does not document");
            // In debug builds (every test) the declaration is checked by every answer the tests see.
            debug_assert!(false, "an operation answered {status}, which it does not document");
        }
        error
    }
}

impl<const CAN: u16> From<ApiError> for Refused<CAN> {
    fn from(err: ApiError) -> Self {
        Refused(err)
    }
}

impl<const CAN: u16> From<ServiceError> for Refused<CAN> {
    fn from(err: ServiceError) -> Self {
        Refused(err.into())
    }
}

impl<const CAN: u16> From<ValidationErrors> for Refused<CAN> {
    fn from(errors: ValidationErrors) -> Self {
        Refused(errors.into())
    }
}

impl ApiError {
    pub fn not_found() -> Self {
        ApiError::NotFound(Json(Problem::new(StatusCode::NOT_FOUND, "no such resource")))
    }

    pub fn forbidden() -> Self {
        ApiError::Forbidden(Json(Problem::new(StatusCode::FORBIDDEN, "your role may not do this")))
    }

    pub fn unauthorized(detail: &str) -> Self {
        ApiError::Unauthorized(Json(Problem::new(StatusCode::UNAUTHORIZED, detail)), "Bearer".into())
    }

    pub fn invalid(errors: &ValidationErrors) -> Self {
        ApiError::Unprocessable(Json(Problem::invalid(errors)))
    }

    pub fn invalid_field(field: &str, message: &str) -> Self {
        Self::invalid(&ValidationErrors::single(field, message))
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(errors: ValidationErrors) -> Self {
        ApiError::invalid(&errors)
    }
}

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::NotFound => ApiError::not_found(),
            ServiceError::Conflict(detail) => ApiError::Conflict(Json(Problem::new(StatusCode::CONFLICT, detail))),
            err @ (ServiceError::AlreadyRegistered | ServiceError::Closed(_) | ServiceError::AlreadyExists(_)) => {
                ApiError::Conflict(Json(Problem::new(StatusCode::CONFLICT, err.to_string())))
            }
            ServiceError::Invalid(errors) => ApiError::invalid(&errors),
            ServiceError::Forbidden => ApiError::forbidden(),
            ServiceError::Unauthorized => ApiError::unauthorized("wrong email or password, or an expired token"),
            ServiceError::TooManyRequests { retry_after_secs } => ApiError::TooManyRequests(
                Json(Problem::new(StatusCode::TOO_MANY_REQUESTS, "too many attempts; try again later")),
                retry_after_secs,
            ),
            ServiceError::Internal(err) => {
                // Logged once, here, with its cause chain; the client learns nothing internal.
                tracing::error!(error = format!("{err:#}"), "request failed");
                ApiError::Internal(Json(Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "something went wrong on our side")))
            }
        }
    }
}

/// Turns every error poem or poem-openapi raises by itself (unknown route, unparsable
/// parameter, missing credentials, unsupported media type) into a problem document, and
/// passes ours through unchanged.
pub async fn catch_all(err: poem::Error) -> Response {
    let operation = err.data::<OperationId>().copied();
    let mut resp = if err.is_from_response() {
        err.into_response()
    } else {
        let status = err.status();
        let detail = if status.is_server_error() {
            tracing::error!(error = %err, "unhandled error");
            "something went wrong on our side".to_owned()
        } else if status == StatusCode::UNAUTHORIZED {
            "sign in and send the token as Authorization: Bearer TOKEN".to_owned()
        } else {
            err.to_string()
        };
        let mut problem = Problem::new(status, detail);
        if let Some(param) = err.downcast_ref::<poem_openapi::error::ParseParamError>() {
            problem = problem.with_errors(vec![ProblemField { field: param.name.to_owned(), message: param.reason.clone() }]);
        }
        let mut resp = problem.into_response();
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(poem::http::header::WWW_AUTHENTICATE, poem::http::HeaderValue::from_static("Bearer"));
        }
        resp
    };
    if let Some(operation) = operation {
        resp.set_data(operation);
    }
    resp
}
