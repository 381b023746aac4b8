//! Bearer tokens: who is calling, and what their role lets them do.

use poem::Request;
use poem_openapi::SecurityScheme;
use poem_openapi::auth::Bearer;

use super::problem::ApiError;
use crate::domain::Actor;
use crate::service::Services;
use crate::service::auth::{self, User};
use crate::service::door::{self, Doorkeeper};

/// The signed-in caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub actor: Actor,
    pub user: User,
    pub token: String,
}

/// `Authorization: Bearer TOKEN`, with a token from `POST /api/v1/auth/login`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", checker = "check_bearer")]
pub struct BearerAuth(pub Principal);

async fn check_bearer(req: &Request, bearer: Bearer) -> poem::Result<Principal> {
    let svc = req
        .data::<Services>()
        .ok_or_else(|| poem::Error::from_string("services missing", poem::http::StatusCode::INTERNAL_SERVER_ERROR))?;
    match auth::authenticate(svc, &bearer.token).await {
        Ok((actor, user)) => Ok(Principal { actor, user, token: bearer.token }),
        Err(err) => Err(ApiError::from(err).into()),
    }
}

/// For operations anyone may call, where a signed-in caller may see more.
#[derive(SecurityScheme)]
#[allow(clippy::large_enum_variant)] // one per request; not worth a box
pub enum OptionalAuth {
    Bearer(BearerAuth),
    #[oai(fallback)]
    Anonymous,
}

impl OptionalAuth {
    pub fn actor(&self) -> Option<&Actor> {
        match self {
            OptionalAuth::Bearer(auth) => Some(&auth.0.actor),
            OptionalAuth::Anonymous => None,
        }
    }
}

/// `Authorization: Bearer TOKEN` at an event's door: an organiser's token, or the token of a
/// door link for that event (which works there and nowhere else).
#[derive(SecurityScheme)]
#[oai(ty = "bearer", checker = "check_door")]
pub struct DoorAuth(pub Doorkeeper);

async fn check_door(req: &Request, bearer: Bearer) -> poem::Result<Doorkeeper> {
    let svc = req
        .data::<Services>()
        .ok_or_else(|| poem::Error::from_string("services missing", poem::http::StatusCode::INTERNAL_SERVER_ERROR))?;
    door::keeper_of_token(svc, &bearer.token).await.map_err(|err| ApiError::from(err).into())
}
