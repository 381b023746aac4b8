//! School engagements: events of kind `school_engagement` with the employers taking part (from
//! active links with the school only), what they do and for whom, and, once held, what they
//! achieved: pupils reached and the four criteria of a meaningful encounter (Gatsby Benchmark 5).
//! No DBS certificate or other safeguarding document is held, only whether visitors are
//! supervised and the school's risk-assessment reference.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait,
};
use uuid::Uuid;

use super::events::Event;
use super::school_links::first_unlinked;
use super::{ServiceError, ServiceResult, Services};
use crate::domain::{Activity, Actor, EventKind, EventStatus, Meaningful, Role, Text};
use crate::store::Json;
use crate::store::entity::{employer, engagement_employer, event, school};

/// The input rules of an engagement's fields, the same for the API and the pages.
pub mod rules {
    use uuid::Uuid;

    use crate::domain::{Activity, Text, int_in, year_group};

    pub const PUPILS_MAX: i64 = 10_000;
    pub const REFERENCE_MAX: usize = 100;
    pub const EMPLOYERS_MAX: usize = 50;
    pub const NOTES_MAX: usize = 2_000;

    /// The notes recorded with an outcome.
    pub fn notes(s: &str) -> Result<Text, String> {
        Text::parse(s, 0, NOTES_MAX)
    }

    pub fn employer_ids(ids: Vec<Uuid>) -> Result<Vec<Uuid>, String> {
        if ids.len() > EMPLOYERS_MAX { Err(format!("at most {EMPLOYERS_MAX} employers")) } else { Ok(ids) }
    }
    pub fn activity(s: &str) -> Result<Activity, String> {
        Activity::parse(s)
    }
    /// Year groups 7 to 13, sorted, each once.
    pub fn year_groups(groups: Vec<i64>) -> Result<Vec<i32>, String> {
        let mut groups = groups.into_iter().map(year_group).collect::<Result<Vec<_>, _>>()?;
        groups.sort_unstable();
        groups.dedup();
        Ok(groups)
    }
    pub fn expected_pupils(n: i64) -> Result<i32, String> {
        int_in(1, PUPILS_MAX)(n)
    }
    pub fn pupils_reached(n: i64) -> Result<i32, String> {
        int_in(0, PUPILS_MAX)(n)
    }
    /// The school's risk-assessment reference: one line.
    pub fn reference(s: &str) -> Result<Text, String> {
        Text::one_line(s, 1, REFERENCE_MAX)
    }
}

/// What people read for an activity.
pub fn activity_label(activity: Activity) -> &'static str {
    match activity {
        Activity::CareersTalk => "Careers talk",
        Activity::WorkplaceVisit => "Workplace visit",
        Activity::MockInterviews => "Mock interviews",
        Activity::CareersFairStand => "Stand at a careers fair",
        Activity::WorkExperience => "Work experience",
    }
}

/// What a school engagement plans. On create every field but the reference is required.
#[derive(Default)]
pub struct EngagementPlan {
    pub employer_ids: Option<Vec<Uuid>>,
    pub activity: Option<Activity>,
    pub year_groups: Option<Vec<i32>>,
    pub expected_pupils: Option<i32>,
    pub supervised: Option<bool>,
    pub risk_assessment_ref: Option<Option<Text>>,
}

impl EngagementPlan {
    fn is_empty(&self) -> bool {
        self.employer_ids.is_none()
            && self.activity.is_none()
            && self.year_groups.is_none()
            && self.expected_pupils.is_none()
            && self.supervised.is_none()
            && self.risk_assessment_ref.is_none()
    }
}

/// What was achieved, recorded after the engagement is held.
pub struct Outcome {
    pub pupils_reached: i32,
    pub meaningful: Meaningful,
    /// What went well, what to change: up to [`rules::NOTES_MAX`] characters.
    pub notes: Option<Text>,
}

/// The event a plan is applied to.
pub(crate) struct Target {
    pub event_id: Uuid,
    pub kind: EventKind,
    pub school_id: Option<Uuid>,
    pub school_changed: bool,
    /// The employers taking part before this change.
    pub employer_ids: Vec<Uuid>,
    /// On create every field but the reference is required.
    pub creating: bool,
}

/// Checks a plan against the event's kind and school, and writes it into `model` and the
/// `engagement_employers` rows, in the caller's transaction.
pub(crate) async fn apply(
    txn: &DatabaseTransaction,
    model: &mut event::ActiveModel,
    target: Target,
    plan: EngagementPlan,
) -> ServiceResult<()> {
    let Target { event_id, kind, school_id, school_changed, employer_ids: before, creating } = target;
    if kind != EventKind::SchoolEngagement {
        if !plan.is_empty() {
            let field = if plan.activity.is_some() { "activity" } else { "employer_ids" };
            return Err(ServiceError::invalid(field, "is only for a school_engagement"));
        }
        if !before.is_empty() || !creating {
            // A draft that stops being a school engagement keeps none of its details.
            engagement_employer::Entity::delete_many().filter(engagement_employer::Column::EventId.eq(event_id)).exec(txn).await?;
            model.activity = Set(None);
            model.employer_ids = Set(None);
            model.year_groups = Set(None);
            model.risk_assessment_ref = Set(None);
            model.expected_pupils = Set(None);
            model.supervised = Set(None);
        }
        return Ok(());
    }
    let Some(school_id) = school_id else { return Err(ServiceError::invalid("school_id", "is required for a school_engagement")) };
    if school_changed && school::Entity::find_by_id(school_id).one(txn).await?.is_none() {
        return Err(ServiceError::invalid("school_id", "no school has this id"));
    }
    if creating {
        for (field, missing) in [
            ("employer_ids", plan.employer_ids.is_none()),
            ("activity", plan.activity.is_none()),
            ("year_groups", plan.year_groups.is_none()),
            ("expected_pupils", plan.expected_pupils.is_none()),
            ("supervised", plan.supervised.is_none()),
        ] {
            if missing {
                return Err(ServiceError::invalid(field, "is required for a school_engagement"));
            }
        }
    }
    let employer_ids = match plan.employer_ids {
        Some(ids) => Some(ids),
        // A new school needs the same employers to be linked with it.
        None if school_changed => Some(before),
        None => None,
    };
    if let Some(mut ids) = employer_ids {
        ids.sort_unstable();
        ids.dedup();
        if let Some(unlinked) = first_unlinked(txn, school_id, &ids).await? {
            return Err(ServiceError::invalid("employer_ids", format!("employer {unlinked} has no active link with this school")));
        }
        engagement_employer::Entity::delete_many().filter(engagement_employer::Column::EventId.eq(event_id)).exec(txn).await?;
        let rows: Vec<engagement_employer::ActiveModel> = ids
            .iter()
            .map(|&employer_id| engagement_employer::ActiveModel { event_id: Set(event_id), employer_id: Set(employer_id) })
            .collect();
        crate::store::insert_all(txn, rows).await?;
        model.employer_ids = Set(Some(Json(ids)));
    }
    if let Some(activity) = plan.activity {
        model.activity = Set(Some(activity));
    }
    if let Some(year_groups) = plan.year_groups {
        model.year_groups = Set(Some(Json(year_groups)));
    }
    if let Some(expected) = plan.expected_pupils {
        model.expected_pupils = Set(Some(expected));
    }
    if let Some(supervised) = plan.supervised {
        model.supervised = Set(Some(supervised));
    }
    if let Some(reference) = plan.risk_assessment_ref {
        model.risk_assessment_ref = Set(reference.map(Text::into_string));
    }
    Ok(())
}

/// Records what a held engagement achieved: organisers, or the school's own users. Recording
/// again replaces the figures.
#[tracing::instrument(skip_all, fields(event_id = %id))]
pub async fn record_outcome(svc: &Services, actor: &Actor, id: Uuid, outcome: Outcome) -> ServiceResult<Event> {
    let txn = svc.db.write.begin().await?;
    let current = event::Entity::find_by_id(id).lock_exclusive().one(&txn).await?.ok_or(ServiceError::NotFound)?;
    match actor.role {
        Role::Admin | Role::Organiser => {}
        Role::School if current.school_id.is_some() && actor.school_id == current.school_id => {}
        Role::School => return Err(ServiceError::NotFound),
        Role::Employer => return Err(ServiceError::Forbidden),
    }
    if current.kind != EventKind::SchoolEngagement {
        return Err(ServiceError::conflict("outcomes are recorded for school engagements only"));
    }
    match current.status {
        EventStatus::Published | EventStatus::Completed => {}
        status => return Err(ServiceError::conflict(format!("the engagement is {}", status.as_str()))),
    }
    let now = svc.clock.now();
    if current.starts_at > now {
        return Err(ServiceError::conflict("the engagement has not been held yet"));
    }
    let m = outcome.meaningful;
    let mut model: event::ActiveModel = current.into();
    model.pupils_reached = Set(Some(outcome.pupils_reached));
    model.purpose_briefed = Set(Some(m.purpose_briefed));
    model.learning_outcomes = Set(Some(m.learning_outcomes));
    model.two_way_interaction = Set(Some(m.two_way_interaction));
    model.reflection = Set(Some(m.reflection));
    model.outcome_recorded_at = Set(Some(now));
    model.outcome_notes = Set(outcome.notes.map(Text::into_string));
    model.updated_at = Set(now);
    let updated = model.update(&txn).await?;
    super::events::commit_event_change(svc, txn).await?;
    Ok(updated.into())
}

/// The names of the employers taking part in an engagement `actor` may see.
pub async fn taking_part(svc: &Services, actor: &Actor, id: Uuid) -> ServiceResult<Vec<String>> {
    let event = super::events::get(svc, Some(actor), id).await?;
    let rows = employer::Entity::find().filter(employer::Column::Id.is_in(event.employer_ids().to_vec())).all(&svc.db.read).await?;
    let mut names: Vec<String> = rows.into_iter().map(|e| e.name).collect();
    names.sort();
    Ok(names)
}

/// One held engagement with its outcome, as a school's record of encounters lists it.
pub struct Encounter {
    pub event_id: Uuid,
    pub title: String,
    pub starts_at: chrono::DateTime<chrono::Utc>,
    pub activity: Activity,
    pub employers: Vec<String>,
    pub year_groups: Vec<i32>,
    pub pupils_reached: i32,
    pub meaningful: Meaningful,
    pub notes: Option<String>,
}

/// A school's encounters with employers: its engagements whose outcome is recorded, oldest
/// first. Organisers, or the school's own users.
pub async fn encounters(svc: &Services, actor: &Actor, school_id: Uuid) -> ServiceResult<Vec<Encounter>> {
    super::policy::school(actor, school_id)?;
    let rows = event::Entity::find()
        .filter(event::Column::Kind.eq(EventKind::SchoolEngagement.as_str()))
        .filter(event::Column::SchoolId.eq(school_id))
        .filter(event::Column::OutcomeRecordedAt.is_not_null())
        .order_by_asc(event::Column::StartsAt)
        .all(&svc.db.read)
        .await?;
    let ids: Vec<Uuid> = rows.iter().flat_map(|e| e.employer_ids.as_ref().map(|j| j.0.clone()).unwrap_or_default()).collect();
    let names: std::collections::HashMap<Uuid, String> = employer::Entity::find()
        .filter(employer::Column::Id.is_in(ids))
        .all(&svc.db.read)
        .await?
        .into_iter()
        .map(|e| (e.id, e.name))
        .collect();
    Ok(rows
        .into_iter()
        .filter_map(|e| {
            let event: Event = e.into();
            let part = event.engagement?;
            let outcome = part.outcome?;
            let mut employers: Vec<String> = part.employer_ids.iter().filter_map(|id| names.get(id).cloned()).collect();
            employers.sort();
            Some(Encounter {
                event_id: event.id,
                title: event.title,
                starts_at: event.starts_at,
                activity: part.activity,
                employers,
                year_groups: part.year_groups,
                pupils_reached: outcome.pupils_reached,
                meaningful: outcome.meaningful,
                notes: outcome.notes,
            })
        })
        .collect())
}
