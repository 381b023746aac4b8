//! What came of a fair: employers with a confirmed stand (and organisers) record, for attendees
//! who agreed at registration to share their details with the employers there, the stages
//! reached: met, interviewed, offered a job, started. Nothing is recorded about anyone else.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

use super::{ServiceError, ServiceResult, Services, policy};
use crate::domain::{Actor, EventKind, ExhibitorStatus, RegistrationStatus, Role, Text, Validation, new_id};
use crate::store::entity::{candidate, employer, event, exhibitor, outcome, registration};

/// The longest note.
pub const NOTE_MAX: usize = 1_000;

/// How far a meeting went, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    Met,
    Interviewed,
    Offered,
    Started,
}

impl Stage {
    pub const ALL: [Stage; 4] = [Stage::Met, Stage::Interviewed, Stage::Offered, Stage::Started];

    pub fn parse(s: &str) -> Result<Self, String> {
        crate::domain::parse_enum(s, &Self::ALL, |k| k.as_str())
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Met => "met",
            Stage::Interviewed => "interviewed",
            Stage::Offered => "offered",
            Stage::Started => "started",
        }
    }
}

/// A stage recorded.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub id: Uuid,
    pub event_id: Uuid,
    pub registration_id: Uuid,
    pub employer_id: Uuid,
    pub stage: Stage,
    pub note: Option<String>,
    pub recorded_by: String,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<outcome::Model> for Outcome {
    type Error = ServiceError;

    fn try_from(m: outcome::Model) -> ServiceResult<Self> {
        let stage = Stage::parse(&m.stage).map_err(|why| anyhow::anyhow!("stored stage {:?}: {why}", m.stage))?;
        Ok(Self {
            id: m.id,
            event_id: m.event_id,
            registration_id: m.registration_id,
            employer_id: m.employer_id,
            stage,
            note: m.note,
            recorded_by: m.recorded_by,
            created_at: m.created_at,
        })
    }
}

/// A stage to record, as sent.
#[derive(Debug, Clone)]
pub struct OutcomeInput {
    pub registration_id: Uuid,
    pub employer_id: Uuid,
    pub stage: String,
    pub note: Option<String>,
}

/// An attendee who agreed to share their details, as an employer at the fair sees them, with
/// the stages that employer recorded.
#[derive(Debug, Clone)]
pub struct SharedAttendee {
    pub registration_id: Uuid,
    pub name: String,
    pub email: String,
    pub stages: Vec<Outcome>,
}

/// The recruitment fair `event_id`; any other event is not found.
async fn fair(svc: &Services, event_id: Uuid) -> ServiceResult<event::Model> {
    let fair = event::Entity::find_by_id(event_id).one(&svc.db.read).await?.ok_or(ServiceError::NotFound)?;
    if fair.kind != EventKind::RecruitmentFair {
        return Err(ServiceError::NotFound);
    }
    Ok(fair)
}

/// Who may act for `employer_id` at `event_id`: organisers, and that employer's users while it
/// has a confirmed stand there. Another organisation's id is not found; an employer without a
/// confirmed stand is refused.
async fn may_act_for(svc: &Services, actor: &Actor, event_id: Uuid, employer_id: Uuid) -> ServiceResult<event::Model> {
    policy::employer(actor, employer_id)?;
    let fair = fair(svc, event_id).await?;
    let stand = exhibitor::Entity::find()
        .filter(exhibitor::Column::EventId.eq(event_id))
        .filter(exhibitor::Column::EmployerId.eq(employer_id))
        .filter(exhibitor::Column::Status.eq(ExhibitorStatus::Confirmed.as_str()))
        .one(&svc.db.read)
        .await?;
    if stand.is_none() {
        return Err(if actor.role == Role::Employer {
            ServiceError::Forbidden
        } else {
            ServiceError::conflict("this employer has no confirmed stand at this fair")
        });
    }
    Ok(fair)
}

/// Records a stage reached with an attendee who agreed to share their details; each stage once
/// per person and employer.
#[tracing::instrument(skip_all, fields(event_id = %event_id))]
pub async fn record(svc: &Services, actor: &Actor, event_id: Uuid, input: OutcomeInput, recorded_by: &str) -> ServiceResult<Outcome> {
    let mut v = Validation::new();
    let stage = v.check("stage", Stage::parse(&input.stage));
    let note = input.note.filter(|n| !n.trim().is_empty());
    let note = v.check_opt("note", note, |n| Text::parse(&n, 1, NOTE_MAX)).flatten();
    let Some(stage) = stage else { return Err(v.into_errors().into()) };
    v.finish()?;
    may_act_for(svc, actor, event_id, input.employer_id).await?;
    let held = registration::Entity::find_by_id(input.registration_id)
        .filter(registration::Column::EventId.eq(event_id))
        .one(&svc.db.read)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if !held.consent_share_with_employers {
        return Err(ServiceError::conflict(
            "this person did not agree to share their details with employers, so nothing is recorded about them",
        ));
    }
    if held.status != RegistrationStatus::Attended {
        return Err(ServiceError::conflict("only people who came to the fair can have an outcome"));
    }
    let row = outcome::ActiveModel {
        id: Set(new_id()),
        event_id: Set(event_id),
        registration_id: Set(held.id),
        employer_id: Set(input.employer_id),
        stage: Set(stage.as_str().to_owned()),
        note: Set(note.map(Text::into_string)),
        recorded_by: Set(recorded_by.to_owned()),
        created_at: Set(svc.clock.now()),
    };
    match row.insert(&svc.db.write).await {
        Ok(saved) => saved.try_into(),
        Err(err) if crate::store::is_unique_violation(&err) => {
            Err(ServiceError::conflict("this stage is already recorded for this person"))
        }
        Err(err) => Err(err.into()),
    }
}

/// The attendees of `event_id` who agreed to share their details, with the stages `employer_id`
/// recorded (organisers, and that employer's users while it has a confirmed stand).
pub async fn shared_with(svc: &Services, actor: &Actor, event_id: Uuid, employer_id: Uuid) -> ServiceResult<Vec<SharedAttendee>> {
    may_act_for(svc, actor, event_id, employer_id).await?;
    let came = registration::Entity::find()
        .filter(registration::Column::EventId.eq(event_id))
        .filter(registration::Column::Status.eq(RegistrationStatus::Attended.as_str()))
        .filter(registration::Column::ConsentShareWithEmployers.eq(true))
        .all(&svc.db.read)
        .await?;
    let people: HashMap<Uuid, candidate::Model> = candidate::Entity::find()
        .filter(candidate::Column::Id.is_in(came.iter().map(|r| r.candidate_id)))
        .filter(candidate::Column::ErasedAt.is_null())
        .all(&svc.db.read)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let mut stages: HashMap<Uuid, Vec<Outcome>> = HashMap::new();
    let recorded = outcome::Entity::find()
        .filter(outcome::Column::EventId.eq(event_id))
        .filter(outcome::Column::EmployerId.eq(employer_id))
        .order_by_asc(outcome::Column::CreatedAt)
        .all(&svc.db.read)
        .await?;
    for row in recorded {
        let row = Outcome::try_from(row)?;
        stages.entry(row.registration_id).or_default().push(row);
    }
    let mut shared: Vec<SharedAttendee> = came
        .into_iter()
        .filter_map(|r| {
            let person = people.get(&r.candidate_id)?;
            let mut stages = stages.remove(&r.id).unwrap_or_default();
            stages.sort_by_key(|o| o.stage);
            Some(SharedAttendee { registration_id: r.id, name: person.name.clone(), email: person.email.clone(), stages })
        })
        .collect();
    shared.sort_by_key(|a| a.name.to_lowercase());
    Ok(shared)
}

/// One stand's outcomes at a fair: how many people reached each stage with it.
#[derive(Debug, Clone)]
pub struct StandOutcomes {
    pub employer_id: Uuid,
    pub employer: String,
    pub stand_label: Option<String>,
    /// People counted once per stage, in the order of [`Stage::ALL`].
    pub reached: [u64; 4],
}

/// A stage recorded, with who it is about and which employer recorded it.
#[derive(Debug, Clone)]
pub struct RecordedOutcome {
    pub outcome: Outcome,
    /// Empty once the person's details are erased.
    pub person: String,
    pub employer: String,
}

/// Everything that came of a fair, for organisers: each confirmed stand's counts (and any
/// stand that recorded outcomes before it stopped being confirmed), and every stage recorded.
#[derive(Debug, Clone)]
pub struct FairOutcomes {
    pub attended: u64,
    /// Attendees who agreed to share their details with the employers.
    pub shared: u64,
    pub stands: Vec<StandOutcomes>,
    pub records: Vec<RecordedOutcome>,
}

/// Every employer's outcomes at fair `event_id` (organisers only).
pub async fn at_fair(svc: &Services, actor: &Actor, event_id: Uuid) -> ServiceResult<FairOutcomes> {
    policy::organiser(actor)?;
    fair(svc, event_id).await?;
    let came = || {
        registration::Entity::find()
            .filter(registration::Column::EventId.eq(event_id))
            .filter(registration::Column::Status.eq(RegistrationStatus::Attended.as_str()))
    };
    let attended = came().count(&svc.db.read).await?;
    let shared = came().filter(registration::Column::ConsentShareWithEmployers.eq(true)).count(&svc.db.read).await?;
    let recorded: Vec<Outcome> = outcome::Entity::find()
        .filter(outcome::Column::EventId.eq(event_id))
        .order_by_asc(outcome::Column::CreatedAt)
        .all(&svc.db.read)
        .await?
        .into_iter()
        .map(Outcome::try_from)
        .collect::<ServiceResult<_>>()?;
    let stands = exhibitor::Entity::find().filter(exhibitor::Column::EventId.eq(event_id)).all(&svc.db.read).await?;
    let employer_ids: Vec<Uuid> = stands.iter().map(|s| s.employer_id).chain(recorded.iter().map(|o| o.employer_id)).collect();
    let employers: HashMap<Uuid, String> = employer::Entity::find()
        .filter(employer::Column::Id.is_in(employer_ids))
        .all(&svc.db.read)
        .await?
        .into_iter()
        .map(|e| (e.id, e.name))
        .collect();
    // The people recorded about (one may have had their check-in undone since).
    let candidate_of: HashMap<Uuid, Uuid> = registration::Entity::find()
        .filter(registration::Column::Id.is_in(recorded.iter().map(|o| o.registration_id)))
        .all(&svc.db.read)
        .await?
        .into_iter()
        .map(|r| (r.id, r.candidate_id))
        .collect();
    let names: HashMap<Uuid, String> = candidate::Entity::find()
        .filter(candidate::Column::Id.is_in(candidate_of.values().copied()))
        .all(&svc.db.read)
        .await?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();

    let mut by_stand: Vec<StandOutcomes> = stands
        .iter()
        .filter(|s| s.status == ExhibitorStatus::Confirmed || recorded.iter().any(|o| o.employer_id == s.employer_id))
        .map(|s| StandOutcomes {
            employer_id: s.employer_id,
            employer: employers.get(&s.employer_id).cloned().unwrap_or_default(),
            stand_label: s.stand_label.clone(),
            reached: [0; 4],
        })
        .collect();
    for o in &recorded {
        if let Some(stand) = by_stand.iter_mut().find(|s| s.employer_id == o.employer_id) {
            stand.reached[o.stage as usize] += 1;
        }
    }
    by_stand.sort_by_key(|s| s.employer.to_lowercase());
    let records = recorded
        .into_iter()
        .map(|outcome| RecordedOutcome {
            person: candidate_of.get(&outcome.registration_id).and_then(|c| names.get(c)).cloned().unwrap_or_default(),
            employer: employers.get(&outcome.employer_id).cloned().unwrap_or_default(),
            outcome,
        })
        .collect();
    Ok(FairOutcomes { attended, shared, stands: by_stand, records })
}
