//! Employers' stands at recruitment fairs: an employer (or an organiser) books, an organiser
//! confirms with a stand label or declines, the employer withdraws.
//!
//! Confirming counts the fair's confirmed stands under a lock on the fair's row (PostgreSQL
//! `SELECT … FOR UPDATE`; on SQLite every write goes through the one writer connection, so the
//! transactions are serial anyway), so two organisers confirming the last stand at once cannot
//! both succeed, whichever process they are in.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait};
use serde_json::json;
use uuid::Uuid;

use super::calendar::with_venues;
use super::employers::{Employer, approved};
use super::outbox::{self, MessageKind};
use super::{ServiceError, ServiceResult, Services};
use crate::domain::{Actor, EmployerStatus, EventKind, EventStatus, ExhibitorStatus, Role, Text, describe_span, new_id};
use crate::store::entity::{employer, event, exhibitor};
use crate::store::{Json, is_unique_violation};

/// A stand at a fair, as the use cases hand it out.
#[derive(Debug, Clone, PartialEq)]
pub struct Exhibitor {
    pub id: Uuid,
    pub event_id: Uuid,
    pub employer_id: Uuid,
    pub status: ExhibitorStatus,
    pub stand_label: Option<String>,
    pub staff_count: i32,
    pub roles_offered: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<exhibitor::Model> for Exhibitor {
    fn from(m: exhibitor::Model) -> Self {
        Self {
            id: m.id,
            event_id: m.event_id,
            employer_id: m.employer_id,
            status: m.status,
            stand_label: m.stand_label,
            staff_count: m.staff_count,
            roles_offered: m.roles_offered.0,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

pub struct NewStand {
    pub employer_id: Uuid,
    pub staff_count: i32,
    pub roles_offered: Vec<Text>,
}

pub const STAFF_MAX: i64 = 50;
pub const ROLES_MAX: usize = 20;
pub const ROLE_MAX: usize = 100;

impl NewStand {
    /// Checks a booking as any face received it: 1 to [`STAFF_MAX`] staff, at most
    /// [`ROLES_MAX`] roles of one line each.
    pub fn parse(employer_id: Uuid, staff_count: i64, roles_offered: &[String]) -> Result<Self, crate::domain::ValidationErrors> {
        let mut v = crate::domain::Validation::new();
        let staff_count = v.check("staff_count", crate::domain::int_in(1, STAFF_MAX)(staff_count));
        let roles = v.check("roles_offered", {
            if roles_offered.len() > ROLES_MAX {
                Err(format!("at most {ROLES_MAX} roles"))
            } else {
                roles_offered.iter().map(|r| Text::one_line(r, 1, ROLE_MAX)).collect::<Result<Vec<_>, _>>()
            }
        });
        match (staff_count, roles) {
            (Some(staff_count), Some(roles_offered)) => Ok(NewStand { employer_id, staff_count, roles_offered }),
            _ => Err(v.into_errors()),
        }
    }
}

/// A stand with its employer, as the fair's list shows it.
pub struct StandDetail {
    pub exhibitor: Exhibitor,
    pub employer: Employer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StandDecision {
    Decline,
    Withdraw,
}

/// The longest stand label ("A12", "Hall 2 / 14").
pub const LABEL_MAX: usize = 20;

/// A stand's label as an organiser types it: one line, 1 to [`LABEL_MAX`] characters.
pub fn stand_label(s: &str) -> Result<Text, String> {
    Text::one_line(s, 1, LABEL_MAX)
}

pub fn roles_of(x: &Exhibitor) -> Vec<String> {
    x.roles_offered.clone()
}

/// The fair, if the caller may see it: organisers any, others published (or past) ones.
async fn fair(conn: &impl sea_orm::ConnectionTrait, organiser: bool, event_id: Uuid, lock: bool) -> ServiceResult<event::Model> {
    let mut query = event::Entity::find_by_id(event_id);
    if lock {
        query = query.lock_exclusive();
    }
    let event = query.one(conn).await?.ok_or(ServiceError::NotFound)?;
    let public = matches!(event.status, EventStatus::Published | EventStatus::Cancelled | EventStatus::Completed);
    if !public && !organiser {
        return Err(ServiceError::NotFound);
    }
    Ok(event)
}

/// Books a stand (`requested`). An employer that withdrew may book again; one that was declined
/// or already holds a booking may not.
#[tracing::instrument(skip_all, fields(event_id = %event_id, employer_id = %new.employer_id))]
pub async fn book(svc: &Services, actor: &Actor, event_id: Uuid, new: NewStand) -> ServiceResult<StandDetail> {
    match actor.role {
        Role::Admin | Role::Organiser => {}
        Role::Employer if actor.employer_id == Some(new.employer_id) => {}
        Role::Employer => return Err(ServiceError::NotFound),
        Role::School => return Err(ServiceError::Forbidden),
    }
    let txn = svc.db.write.begin().await?;
    let event = fair(&txn, actor.is_organiser(), event_id, false).await?;
    if event.kind != EventKind::RecruitmentFair {
        return Err(ServiceError::conflict("stands are booked at recruitment fairs only"));
    }
    if matches!(event.status, EventStatus::Cancelled | EventStatus::Completed) {
        return Err(ServiceError::conflict(format!("the fair is {}", event.status.as_str())));
    }
    let employer = approved(&txn, new.employer_id).await?;
    let roles = Json(new.roles_offered.iter().map(|r| r.as_str().to_owned()).collect::<Vec<_>>());
    let now = svc.clock.now();
    let existing = exhibitor::Entity::find()
        .filter(exhibitor::Column::EventId.eq(event_id))
        .filter(exhibitor::Column::EmployerId.eq(new.employer_id))
        .one(&txn)
        .await?;
    let saved = match existing {
        Some(x) if x.status == ExhibitorStatus::Withdrawn => {
            let mut model: exhibitor::ActiveModel = x.into();
            model.status = Set(ExhibitorStatus::Requested);
            model.staff_count = Set(new.staff_count);
            model.roles_offered = Set(roles.clone());
            model.updated_at = Set(now);
            model.update(&txn).await?
        }
        Some(x) => return Err(ServiceError::conflict(format!("this employer's stand at the fair is already {}", x.status.as_str()))),
        None => {
            let inserted = exhibitor::ActiveModel {
                id: Set(new_id()),
                event_id: Set(event_id),
                employer_id: Set(new.employer_id),
                status: Set(ExhibitorStatus::Requested),
                stand_label: Set(None),
                staff_count: Set(new.staff_count),
                roles_offered: Set(roles),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(&txn)
            .await;
            match inserted {
                Ok(x) => x,
                Err(err) if is_unique_violation(&err) => {
                    return Err(ServiceError::conflict("this employer already has a stand at the fair"));
                }
                Err(err) => return Err(err.into()),
            }
        }
    };
    // An employer's own request is news to the organisers; one an organiser made is not.
    if !actor.is_organiser()
        && let Some(to) = svc.organisers_to()
    {
        let tz = event.timezone.tz();
        let context = json!({
            "person": {"name": "workforce team"},
            "employer": {"name": employer.name},
            "event": {
                "title": event.title, "when": describe_span(event.starts_at, event.ends_at, tz), "location": null,
                "url": format!("{}/events/{}", svc.settings.public_url(), event.id),
            },
            "staff": saved.staff_count,
            "next_url": format!("{}/manage/events/{}#stands", svc.settings.public_url(), event.id),
        });
        outbox::queue(&txn, vec![outbox::notice(svc.settings.public_url(), now, to, MessageKind::OrganiserStandRequested, context)])
            .await?;
    }
    txn.commit().await?;
    svc.mail_wake.notify_one();
    Ok(StandDetail { exhibitor: saved.into(), employer })
}

/// Confirms a stand with its label, within the fair's `max_exhibitors`; tells the employer.
#[tracing::instrument(skip_all, fields(event_id = %event_id, exhibitor_id = %id))]
pub async fn confirm(svc: &Services, actor: &Actor, event_id: Uuid, id: Uuid, stand_label: Text) -> ServiceResult<StandDetail> {
    super::policy::organiser(actor)?;
    let txn = svc.db.write.begin().await?;
    let event = fair(&txn, true, event_id, true).await?;
    let x =
        exhibitor::Entity::find_by_id(id).filter(exhibitor::Column::EventId.eq(event_id)).one(&txn).await?.ok_or(ServiceError::NotFound)?;
    let employer = employer::Entity::find_by_id(x.employer_id).one(&txn).await?.ok_or(ServiceError::NotFound)?;
    match x.status {
        ExhibitorStatus::Requested => {}
        ExhibitorStatus::Confirmed if x.stand_label.as_deref() == Some(stand_label.as_str()) => {
            return Ok(StandDetail { exhibitor: x.into(), employer: employer.into() });
        }
        status => return Err(ServiceError::conflict(format!("the stand is {}", status.as_str()))),
    }
    if employer.status != EmployerStatus::Approved {
        return Err(ServiceError::conflict("the employer is not approved"));
    }
    if let Some(max) = event.max_exhibitors {
        let confirmed = exhibitor::Entity::find()
            .filter(exhibitor::Column::EventId.eq(event_id))
            .filter(exhibitor::Column::Status.eq(ExhibitorStatus::Confirmed.as_str()))
            .count(&txn)
            .await?;
        if confirmed >= max.max(0) as u64 {
            return Err(ServiceError::conflict(format!("the fair has all its {max} stands confirmed")));
        }
    }
    let now = svc.clock.now();
    let mut model: exhibitor::ActiveModel = x.into();
    model.status = Set(ExhibitorStatus::Confirmed);
    model.stand_label = Set(Some(stand_label.into_string()));
    model.updated_at = Set(now);
    let confirmed = match model.update(&txn).await {
        Ok(x) => x,
        Err(err) if is_unique_violation(&err) => return Err(ServiceError::conflict("another stand at the fair has this label")),
        Err(err) => return Err(err.into()),
    };
    if !employer.contact_email.is_empty() {
        let event = super::events::Event::from(event);
        let shown = with_venues(svc, std::slice::from_ref(&event)).await?.pop().ok_or(ServiceError::NotFound)?;
        let context = json!({
            "person": {"name": employer.contact_name},
            "employer": {"name": employer.name},
            "event": {
                "title": event.title,
                "when": describe_span(shown.starts_at, shown.ends_at, shown.timezone),
                "location": shown.location,
                "url": shown.url,
            },
            "stand_label": confirmed.stand_label,
            "next_url": format!("{}/employer/stands", svc.settings.public_url()),
        });
        outbox::queue(
            &txn,
            vec![outbox::notice(svc.settings.public_url(), now, &employer.contact_email, MessageKind::StandConfirmed, context)],
        )
        .await?;
    }
    txn.commit().await?;
    svc.mail_wake.notify_one();
    Ok(StandDetail { exhibitor: confirmed.into(), employer: employer.into() })
}

/// Declines a stand (organisers) or withdraws it (its employer); either frees its label.
#[tracing::instrument(skip_all, fields(event_id = %event_id, exhibitor_id = %id, decision = ?decision))]
pub async fn decide(svc: &Services, actor: &Actor, event_id: Uuid, id: Uuid, decision: StandDecision) -> ServiceResult<StandDetail> {
    let txn = svc.db.write.begin().await?;
    fair(&txn, actor.is_organiser(), event_id, false).await?;
    let x =
        exhibitor::Entity::find_by_id(id).filter(exhibitor::Column::EventId.eq(event_id)).one(&txn).await?.ok_or(ServiceError::NotFound)?;
    match (decision, actor.role) {
        (StandDecision::Decline, Role::Admin | Role::Organiser) => {}
        (StandDecision::Withdraw, Role::Employer) if actor.employer_id == Some(x.employer_id) => {}
        (_, Role::Employer) if actor.employer_id != Some(x.employer_id) => return Err(ServiceError::NotFound),
        _ => return Err(ServiceError::Forbidden),
    }
    let next = match decision {
        StandDecision::Decline => ExhibitorStatus::Declined,
        StandDecision::Withdraw => ExhibitorStatus::Withdrawn,
    };
    let current = x.status;
    let employer = employer::Entity::find_by_id(x.employer_id).one(&txn).await?.ok_or(ServiceError::NotFound)?;
    if current == next {
        return Ok(StandDetail { exhibitor: x.into(), employer: employer.into() });
    }
    if !matches!(current, ExhibitorStatus::Requested | ExhibitorStatus::Confirmed) {
        return Err(ServiceError::conflict(format!("the stand is {}", current.as_str())));
    }
    let mut model: exhibitor::ActiveModel = x.into();
    model.status = Set(next);
    model.stand_label = Set(None);
    model.updated_at = Set(svc.clock.now());
    let saved = model.update(&txn).await?;
    // A stand that no longer stands holds no interviews: each is freed and both sides told.
    super::slots::release_where(svc, &txn, crate::store::entity::slot_booking::Column::ExhibitorId.eq(saved.id)).await?;
    txn.commit().await?;
    Ok(StandDetail { exhibitor: saved.into(), employer: employer.into() })
}

/// Who will be at a fair: anyone sees the confirmed stands of approved employers; an employer's
/// users also see their own booking; organisers see every booking.
pub async fn list(svc: &Services, actor: Option<&Actor>, event_id: Uuid) -> ServiceResult<Vec<StandDetail>> {
    let db = &svc.db.read;
    fair(db, actor.is_some_and(Actor::is_organiser), event_id, false).await?;
    let mut rows = exhibitor::Entity::find()
        .filter(exhibitor::Column::EventId.eq(event_id))
        .order_by_asc(exhibitor::Column::CreatedAt)
        .all(db)
        .await?;
    // Stands in the order a floor plan numbers them: A1, A2, A10; unlabelled ones last.
    rows.sort_by_cached_key(|x| (x.stand_label.is_none(), x.stand_label.as_deref().map(crate::domain::natural_key)));
    let employers: std::collections::HashMap<Uuid, Employer> = employer::Entity::find()
        .filter(employer::Column::Id.is_in(rows.iter().map(|x| x.employer_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|e| (e.id, Employer::from(e)))
        .collect();
    let organiser = actor.is_some_and(Actor::is_organiser);
    let own = actor.and_then(|a| a.employer_id);
    Ok(rows
        .into_iter()
        .filter_map(|x| {
            let employer = employers.get(&x.employer_id)?.clone();
            let public = x.status == ExhibitorStatus::Confirmed && employer.status == EmployerStatus::Approved;
            (organiser || public || own == Some(x.employer_id)).then_some(StandDetail { exhibitor: x.into(), employer })
        })
        .collect())
}

/// An employer's stands at every fair, newest booking first: organisers, or the employer's users.
pub async fn of_employer(svc: &Services, actor: &Actor, employer_id: Uuid) -> ServiceResult<Vec<Exhibitor>> {
    super::policy::employer(actor, employer_id)?;
    let rows = exhibitor::Entity::find()
        .filter(exhibitor::Column::EmployerId.eq(employer_id))
        .order_by_desc(exhibitor::Column::CreatedAt)
        .all(&svc.db.read)
        .await?;
    Ok(rows.into_iter().map(Exhibitor::from).collect())
}

/// A stand request waiting for an organiser's decision, with its fair's title.
pub struct Waiting {
    pub event_id: Uuid,
    pub event_title: String,
    pub stand: StandDetail,
}

/// Every stand request still waiting for a decision, oldest first (organisers).
pub async fn waiting(svc: &Services, actor: &Actor) -> ServiceResult<Vec<Waiting>> {
    super::policy::organiser(actor)?;
    let db = &svc.db.read;
    let rows = exhibitor::Entity::find()
        .filter(exhibitor::Column::Status.eq(ExhibitorStatus::Requested.as_str()))
        .order_by_asc(exhibitor::Column::CreatedAt)
        .limit(100)
        .all(db)
        .await?;
    let events: std::collections::HashMap<Uuid, String> = event::Entity::find()
        .filter(event::Column::Id.is_in(rows.iter().map(|x| x.event_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|e| (e.id, e.title))
        .collect();
    let employers: std::collections::HashMap<Uuid, Employer> = employer::Entity::find()
        .filter(employer::Column::Id.is_in(rows.iter().map(|x| x.employer_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|e| (e.id, Employer::from(e)))
        .collect();
    Ok(rows
        .into_iter()
        .filter_map(|x| {
            let employer = employers.get(&x.employer_id)?.clone();
            let event_title = events.get(&x.event_id)?.clone();
            Some(Waiting { event_id: x.event_id, event_title, stand: StandDetail { exhibitor: x.into(), employer } })
        })
        .collect())
}
