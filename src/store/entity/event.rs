use sea_orm::entity::prelude::*;

use crate::domain::{Activity, EventKind, EventStatus, TimeZone};
use crate::store::Json;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub kind: EventKind,
    pub title: String,
    pub description: String,
    pub campaign_id: Option<Uuid>,
    pub venue_id: Option<Uuid>,
    pub online_url: Option<String>,
    pub starts_at: DateTimeUtc,
    pub ends_at: DateTimeUtc,
    pub timezone: TimeZone,
    pub capacity: Option<i32>,
    pub registration_opens_at: Option<DateTimeUtc>,
    pub registration_closes_at: Option<DateTimeUtc>,
    pub status: EventStatus,
    pub sequence: i32,
    pub school_id: Option<Uuid>,
    pub max_exhibitors: Option<i32>,
    pub cancel_reason: Option<String>,
    /// Places taken (confirmed and attended), kept in step with the registrations so capacity
    /// is decided without counting rows.
    pub confirmed_count: i32,
    pub waitlisted_count: i32,
    /// The last arrival number handed to the waiting list; only ever grows.
    pub waitlist_seq: i64,
    /// When the 24-hour reminders were queued; they are queued once.
    pub reminder_queued_at: Option<DateTimeUtc>,
    /// When the feedback requests went to its attendees, after it ended; they go once.
    pub feedback_queued_at: Option<DateTimeUtc>,
    /// Waiting-list offers: a freed place is offered for this many hours (1 to 168) before it
    /// passes on; `None` gives it at once.
    pub offer_hours: Option<i32>,
    /// School engagements only: what happens, for whom, and (once held) what it achieved.
    /// A JSON array of the employers taking part, copied from `engagement_employers`.
    pub employer_ids: Option<Json<Vec<Uuid>>>,
    pub activity: Option<Activity>,
    /// A JSON array of year groups (7 to 13).
    pub year_groups: Option<Json<Vec<i32>>>,
    pub expected_pupils: Option<i32>,
    pub pupils_reached: Option<i32>,
    pub purpose_briefed: Option<bool>,
    pub learning_outcomes: Option<bool>,
    pub two_way_interaction: Option<bool>,
    pub reflection: Option<bool>,
    pub supervised: Option<bool>,
    pub risk_assessment_ref: Option<String>,
    pub outcome_recorded_at: Option<DateTimeUtc>,
    pub outcome_notes: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
