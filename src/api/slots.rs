//! Interview slots: stands cut them (organisers, the stand's employer), anyone sees a fair's,
//! candidates book and free them by their manage token, employers read their schedule.

use chrono::{DateTime, Utc};
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

use super::common::ApiTags;
use super::json::JsonBody;
use super::problem::Refused;
use super::problem::can::*;
use super::security::BearerAuth;
use crate::service::Services;
use crate::service::slots::{self, Booking, CutInput, Slot};

pub struct SlotsApi {
    pub svc: Services,
}

/// An interview slot at a stand.
#[derive(Object)]
pub struct SlotView {
    pub id: Uuid,
    pub event_id: Uuid,
    pub exhibitor_id: Uuid,
    pub employer_name: String,
    pub stand_label: Option<String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// Candidates interviewed at once.
    pub interviewers: i32,
    /// Places left in the slot.
    pub free: i32,
}

impl From<Slot> for SlotView {
    fn from(s: Slot) -> Self {
        Self {
            free: s.free(),
            id: s.id,
            event_id: s.event_id,
            exhibitor_id: s.exhibitor_id,
            employer_name: s.employer_name,
            stand_label: s.stand_label,
            starts_at: s.starts_at,
            ends_at: s.ends_at,
            interviewers: s.interviewers,
        }
    }
}

/// A booked interview, with who booked it.
#[derive(Object)]
pub struct BookingView {
    pub id: Uuid,
    pub slot: SlotView,
    pub registration_id: Uuid,
    pub candidate_name: String,
    /// Empty for a walk-in who gave none.
    pub candidate_email: String,
}

impl From<Booking> for BookingView {
    fn from(b: Booking) -> Self {
        Self {
            id: b.id,
            slot: b.slot.into(),
            registration_id: b.registration_id,
            candidate_name: b.candidate_name,
            candidate_email: b.candidate_email,
        }
    }
}

/// How to cut a stand's interview time.
#[derive(Object, serde::Deserialize)]
pub struct CutRequest {
    /// Within the fair's times.
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    /// Each slot's length: 5 to 240.
    pub minutes: i64,
    /// Candidates interviewed at once: 1 to 20.
    #[serde(default = "one")]
    #[oai(default = "one")]
    pub interviewers: i64,
}

fn one() -> i64 {
    1
}

/// Which slot to book.
#[derive(Object, serde::Deserialize)]
pub struct BookRequest {
    pub slot_id: Uuid,
}

/// Slots made.
#[derive(Object)]
pub struct SlotList {
    pub items: Vec<SlotView>,
}

#[derive(ApiResponse)]
pub enum SlotsCreated {
    /// The slots made.
    #[oai(status = 201)]
    Created(Json<SlotList>),
}

#[derive(ApiResponse)]
pub enum SlotsAnswer {
    /// The fair's slots, earliest first.
    #[oai(status = 200)]
    Ok(Json<Vec<SlotView>>),
}

#[derive(ApiResponse)]
pub enum Booked {
    /// Booked; both sides are sent a calendar invitation.
    #[oai(status = 201)]
    Created(Json<BookingView>),
}

#[derive(ApiResponse)]
pub enum Freed {
    /// Freed; both sides are sent a cancellation.
    #[oai(status = 204)]
    NoContent,
}

#[derive(ApiResponse)]
pub enum ScheduleAnswer {
    /// Booked interviews, earliest first.
    #[oai(status = 200)]
    Ok(Json<Vec<BookingView>>),
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Exhibitors")]
impl SlotsApi {
    /// Cut a confirmed stand's interview time into slots (organisers, or the stand's employer).
    /// Times outside the fair, or overlapping the stand's slots, are refused.
    #[oai(path = "/events/:id/exhibitors/:xid/slots", method = "post", operation_id = "cut_slots")]
    async fn cut(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        xid: Path<Uuid>,
        body: JsonBody<CutRequest>,
    ) -> Result<SlotsCreated, Refused<{ SIGNED_IN | INPUT | NOT_FOUND | CONFLICT }>> {
        let b = body.0;
        let input = CutInput { starts_at: b.starts_at, ends_at: b.ends_at, minutes: b.minutes, interviewers: b.interviewers };
        let made = slots::cut(&self.svc, &auth.0.actor, id.0, xid.0, input).await?;
        Ok(SlotsCreated::Created(Json(SlotList { items: made.into_iter().map(SlotView::from).collect() })))
    }

    /// A published fair's interview slots, with the places free in each (anyone).
    #[oai(path = "/events/:id/slots", method = "get", operation_id = "list_slots")]
    async fn list(&self, id: Path<Uuid>) -> Result<SlotsAnswer, Refused<{ BAD_REQUEST | NOT_FOUND }>> {
        Ok(SlotsAnswer::Ok(Json(slots::of_fair(&self.svc, id.0).await?.into_iter().map(SlotView::from).collect())))
    }

    /// Every stand's booked interviews at a fair (organisers).
    #[oai(path = "/events/:id/schedule", method = "get", operation_id = "fair_schedule")]
    async fn fair_schedule(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<ScheduleAnswer, Refused<{ SIGNED_IN | BAD_REQUEST | NOT_FOUND }>> {
        let bookings = slots::fair_schedule(&self.svc, &auth.0.actor, id.0).await?;
        Ok(ScheduleAnswer::Ok(Json(bookings.into_iter().map(BookingView::from).collect())))
    }

    /// Book an interview slot (the holder of a confirmed place at that fair): one per stand;
    /// a full slot is a 409.
    #[oai(path = "/registrations/:token/slots", method = "post", operation_id = "book_slot")]
    async fn book(&self, token: Path<String>, body: JsonBody<BookRequest>) -> Result<Booked, Refused<{ INPUT | NOT_FOUND | CONFLICT }>> {
        Ok(Booked::Created(Json(slots::book(&self.svc, &token.0, body.0.slot_id).await?.into())))
    }

    /// Free one's interview slot.
    #[oai(path = "/registrations/:token/slots/:slot_id", method = "delete", operation_id = "free_slot")]
    async fn free(&self, token: Path<String>, slot_id: Path<Uuid>) -> Result<Freed, Refused<{ BAD_REQUEST | NOT_FOUND }>> {
        slots::free(&self.svc, &token.0, slot_id.0).await?;
        Ok(Freed::NoContent)
    }

    /// An employer's booked interviews with each candidate's name and email (organisers, that
    /// employer's users).
    #[oai(path = "/employers/:id/schedule", method = "get", operation_id = "employer_schedule")]
    async fn schedule(&self, auth: BearerAuth, id: Path<Uuid>) -> Result<ScheduleAnswer, Refused<{ SIGNED_IN | BAD_REQUEST | NOT_FOUND }>> {
        let bookings = slots::schedule(&self.svc, &auth.0.actor, id.0).await?;
        Ok(ScheduleAnswer::Ok(Json(bookings.into_iter().map(BookingView::from).collect())))
    }
}
