//! The JSON API under `/api/v1`: one file per tag, DTOs beside their handlers. Handlers extract,
//! convert to domain types, make one service call and map the outcome.

mod auth;
mod campaigns;
pub(crate) mod candidates;
mod common;
mod door;
pub(crate) mod employers;
mod engagements;
mod events;
mod exhibitors;
mod feedback;
mod invitations;
mod json;
mod outbox;
mod outcomes;
pub mod problem;
mod questions;
pub(crate) mod registrations;
mod reports;
mod school_links;
mod schools;
mod security;
mod slots;
mod users;
mod venues;

use poem_openapi::OpenApiService;

use crate::service::Services;

pub type Apis = (
    auth::AuthApi,
    users::UsersApi,
    campaigns::CampaignsApi,
    venues::VenuesApi,
    events::EventsApi,
    (registrations::RegistrationsApi, questions::QuestionsApi, feedback::FeedbackApi),
    // A tuple holds at most 16: the fair day's two share a place.
    (door::DoorApi, slots::SlotsApi),
    candidates::CandidatesApi,
    invitations::InvitationsApi,
    outbox::OutboxApi,
    employers::EmployersApi,
    schools::SchoolsApi,
    school_links::SchoolLinksApi,
    (exhibitors::ExhibitorsApi, outcomes::OutcomesApi),
    engagements::EngagementsApi,
    reports::ReportsApi,
);

/// The OpenAPI service with every operation; served at `/api/v1`, documented at
/// `/api/v1/openapi.json` and browsable at `/api/docs`.
pub fn service(svc: &Services) -> OpenApiService<Apis, ()> {
    let apis = (
        auth::AuthApi { svc: svc.clone() },
        users::UsersApi { svc: svc.clone() },
        campaigns::CampaignsApi { svc: svc.clone() },
        venues::VenuesApi { svc: svc.clone() },
        events::EventsApi { svc: svc.clone() },
        (
            registrations::RegistrationsApi { svc: svc.clone() },
            questions::QuestionsApi { svc: svc.clone() },
            feedback::FeedbackApi { svc: svc.clone() },
        ),
        (door::DoorApi { svc: svc.clone() }, slots::SlotsApi { svc: svc.clone() }),
        candidates::CandidatesApi { svc: svc.clone() },
        invitations::InvitationsApi { svc: svc.clone() },
        outbox::OutboxApi { svc: svc.clone() },
        employers::EmployersApi { svc: svc.clone() },
        schools::SchoolsApi { svc: svc.clone() },
        school_links::SchoolLinksApi { svc: svc.clone() },
        (exhibitors::ExhibitorsApi { svc: svc.clone() }, outcomes::OutcomesApi { svc: svc.clone() }),
        engagements::EngagementsApi { svc: svc.clone() },
        reports::ReportsApi { svc: svc.clone() },
    );
    OpenApiService::new(apis, "carefair", env!("CARGO_PKG_VERSION"))
        .description("Recruitment events for adult social care: the Gift of Care campaign, recruitment fairs and school engagements.")
}
