//! School engagements: the fields an event of kind `school_engagement` carries beside the
//! common ones, and recording what one achieved.

use chrono::{DateTime, Utc};
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{Object, OpenApi};
use uuid::Uuid;

use super::common::ApiTags;
use super::events::{EventAnswer, EventView};
use super::json::JsonBody;
use super::problem::Refused;
use super::problem::can::*;
use super::security::BearerAuth;
use crate::domain::{Meaningful, Validation};
use crate::service::Services;
use crate::service::engagements::{self, EngagementPlan, Outcome, rules};
use crate::service::events::Event;

pub struct EngagementsApi {
    pub svc: Services,
}

/// The four criteria of a meaningful encounter with an employer (Gatsby Benchmark 5).
#[derive(Object, serde::Deserialize, Clone, Copy)]
pub struct MeaningfulView {
    /// The pupils were told beforehand what the encounter is for.
    pub purpose_briefed: bool,
    /// It had learning outcomes agreed with the school.
    pub learning_outcomes: bool,
    /// Pupils talked with the employer, not only listened.
    pub two_way_interaction: bool,
    /// Pupils reflected on it afterwards.
    pub reflection: bool,
}

impl From<Meaningful> for MeaningfulView {
    fn from(m: Meaningful) -> Self {
        Self {
            purpose_briefed: m.purpose_briefed,
            learning_outcomes: m.learning_outcomes,
            two_way_interaction: m.two_way_interaction,
            reflection: m.reflection,
        }
    }
}

/// A school engagement's own fields; null for other kinds of event.
#[derive(Object)]
pub struct EngagementView {
    /// The employers taking part; each has an active link with the school.
    pub employer_ids: Option<Vec<Uuid>>,
    /// `careers_talk`, `workplace_visit`, `mock_interviews`, `careers_fair_stand` or `work_experience`.
    pub activity: Option<String>,
    pub year_groups: Option<Vec<i32>>,
    pub expected_pupils: Option<i32>,
    /// Whether visitors are supervised by school staff throughout.
    pub supervised: Option<bool>,
    /// The school's risk-assessment reference. No safeguarding document is held here.
    pub risk_assessment_ref: Option<String>,
    /// Recorded after the engagement.
    pub pupils_reached: Option<i32>,
    pub meaningful: Option<MeaningfulView>,
    pub outcome_recorded_at: Option<DateTime<Utc>>,
    /// Notes recorded with the outcome.
    pub outcome_notes: Option<String>,
}

impl From<&Event> for EngagementView {
    fn from(e: &Event) -> Self {
        let part = e.engagement.as_ref();
        let outcome = part.and_then(|p| p.outcome.as_ref());
        Self {
            employer_ids: part.map(|p| p.employer_ids.clone()),
            activity: part.map(|p| p.activity.as_str().to_owned()),
            year_groups: part.map(|p| p.year_groups.clone()),
            expected_pupils: part.and_then(|p| p.expected_pupils),
            supervised: part.and_then(|p| p.supervised),
            risk_assessment_ref: part.and_then(|p| p.risk_assessment_ref.clone()),
            pupils_reached: outcome.map(|o| o.pupils_reached),
            meaningful: outcome.map(|o| o.meaningful.into()),
            outcome_recorded_at: outcome.map(|o| o.recorded_at),
            outcome_notes: outcome.and_then(|o| o.notes.clone()),
        }
    }
}

/// The fields a `school_engagement` needs (on create all but `risk_assessment_ref`); other kinds
/// take none of them.
#[derive(Object, serde::Deserialize, Default)]
pub struct EngagementInput {
    #[serde(default)]
    pub employer_ids: Option<Vec<Uuid>>,
    #[serde(default)]
    pub activity: Option<String>,
    /// Year groups 7 to 13.
    #[serde(default)]
    pub year_groups: Option<Vec<i64>>,
    #[serde(default)]
    pub expected_pupils: Option<i64>,
    #[serde(default)]
    pub supervised: Option<bool>,
    #[serde(default)]
    pub risk_assessment_ref: MaybeUndefined<String>,
}

impl EngagementInput {
    /// The plan, with any bad field recorded in `v`.
    pub fn parse(self, v: &mut Validation) -> EngagementPlan {
        let employer_ids = v.check_opt("employer_ids", self.employer_ids, rules::employer_ids);
        let activity = v.check_opt("activity", self.activity, |s| rules::activity(&s));
        let year_groups = v.check_opt("year_groups", self.year_groups, rules::year_groups);
        let expected_pupils = v.check_opt("expected_pupils", self.expected_pupils, rules::expected_pupils);
        let risk_assessment_ref = match self.risk_assessment_ref {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(s) => v.check("risk_assessment_ref", rules::reference(&s)).map(Some),
        };
        EngagementPlan {
            employer_ids: employer_ids.flatten(),
            activity: activity.flatten(),
            year_groups: year_groups.flatten(),
            expected_pupils: expected_pupils.flatten(),
            supervised: self.supervised,
            risk_assessment_ref,
        }
    }
}

/// What a held engagement achieved.
#[derive(Object, serde::Deserialize)]
pub struct OutcomeInput {
    pub pupils_reached: i64,
    pub meaningful: MeaningfulView,
    /// What went well, what to change next time (up to 2,000 characters).
    #[serde(default)]
    pub notes: Option<String>,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Events")]
impl EngagementsApi {
    /// Record what a held school engagement achieved (organisers, or the school's users): pupils
    /// reached and the four criteria of a meaningful encounter. 409 before it starts.
    #[oai(path = "/events/:id/outcome", method = "post", operation_id = "record_engagement_outcome")]
    async fn outcome(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: JsonBody<OutcomeInput>,
    ) -> Result<EventAnswer, Refused<{ SIGNED_IN | INPUT | NOT_FOUND | CONFLICT }>> {
        let mut v = Validation::new();
        let pupils_reached = v.check("pupils_reached", rules::pupils_reached(body.0.pupils_reached));
        let notes = v.check_opt("notes", body.0.notes.clone().filter(|n| !n.trim().is_empty()), |s| rules::notes(&s));
        v.finish()?;
        let m = body.0.meaningful;
        let outcome = Outcome {
            pupils_reached: pupils_reached.unwrap_or_default(),
            meaningful: Meaningful {
                purpose_briefed: m.purpose_briefed,
                learning_outcomes: m.learning_outcomes,
                two_way_interaction: m.two_way_interaction,
                reflection: m.reflection,
            },
            notes: notes.flatten(),
        };
        let event = engagements::record_outcome(&self.svc, &auth.0.actor, id.0, outcome).await?;
        Ok(EventAnswer::Ok(Json(EventView::from(event))))
    }
}
