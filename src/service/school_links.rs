//! Links between care employers and schools: an employer (or an organiser) asks, the school (or an
//! organiser) accepts or declines, and either side ends it. At most one link per pair has not
//! ended; a unique partial index holds that rule, so two requests at once cannot both get in.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

use super::employers::{Employer, approved};
use super::outbox::{self, MessageKind};
use super::schools::School;
use super::{Page, PageRequest, ServiceError, ServiceResult, Services};
use crate::domain::{Actor, LinkStatus, Role, Text, new_id};
use crate::store::entity::{employer, school, school_link};
use crate::store::is_unique_violation;

/// A link between an employer and a school, as the use cases hand it out.
#[derive(Debug, Clone, PartialEq)]
pub struct SchoolLink {
    pub id: Uuid,
    pub employer_id: Uuid,
    pub school_id: Uuid,
    pub status: LinkStatus,
    pub notes: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<school_link::Model> for SchoolLink {
    fn from(m: school_link::Model) -> Self {
        Self {
            id: m.id,
            employer_id: m.employer_id,
            school_id: m.school_id,
            status: m.status,
            notes: m.notes,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// The longest note an employer sends with its request.
pub const NOTES_MAX: usize = 2_000;

/// A request's note, as any face received it.
pub fn notes(s: &str) -> Result<Text, String> {
    Text::parse(s, 0, NOTES_MAX)
}

/// A link as the portals show it: both sides, how far apart they are, and the other side's
/// contact, which each side sees only while the link is active.
pub struct LinkView {
    pub link: SchoolLink,
    pub employer: Employer,
    pub school: School,
    pub distance_km: Option<f64>,
    /// The school's careers leader for an employer's user, the employer's contact for a
    /// school's: a name and an address. None for organisers, who see both records anyway.
    pub contact: Option<(String, String)>,
}

/// The links `actor` may see that match `filter` (at most 200, newest first), as [`LinkView`]s.
pub async fn views(svc: &Services, actor: &Actor, filter: LinkFilter) -> ServiceResult<Vec<LinkView>> {
    let found = list(svc, actor, filter, PageRequest { limit: 200, offset: 0 }).await?;
    let employers: std::collections::HashMap<Uuid, Employer> = employer::Entity::find()
        .filter(employer::Column::Id.is_in(found.items.iter().map(|d| d.link.employer_id)))
        .all(&svc.db.read)
        .await?
        .into_iter()
        .map(|e| (e.id, Employer::from(e)))
        .collect();
    let schools: std::collections::HashMap<Uuid, School> = school::Entity::find()
        .filter(school::Column::Id.is_in(found.items.iter().map(|d| d.link.school_id)))
        .all(&svc.db.read)
        .await?
        .into_iter()
        .map(|s| (s.id, School::from(s)))
        .collect();
    Ok(found
        .items
        .into_iter()
        .filter_map(|d| {
            let employer = employers.get(&d.link.employer_id)?.clone();
            let school = schools.get(&d.link.school_id)?.clone();
            let distance_km = match (employer.latitude, employer.longitude, school.latitude, school.longitude) {
                (Some(a), Some(b), Some(c), Some(e)) => Some(crate::domain::geo::distance_km(
                    crate::domain::geo::LatLon { lat: a, lon: b },
                    crate::domain::geo::LatLon { lat: c, lon: e },
                )),
                _ => None,
            };
            let contact = match (d.link.status, actor.role) {
                (LinkStatus::Active, Role::Employer) => {
                    school.careers_leader_email.clone().map(|email| (school.careers_leader_name.clone().unwrap_or_default(), email))
                }
                (LinkStatus::Active, Role::School) => Some((employer.contact_name.clone(), employer.contact_email.clone())),
                _ => None,
            };
            Some(LinkView { link: d.link, employer, school, distance_km, contact })
        })
        .collect())
}

/// A link with the names of both sides, as lists show it.
pub struct LinkDetail {
    pub link: SchoolLink,
    pub employer_name: String,
    pub school_name: String,
}

#[derive(Default)]
pub struct LinkFilter {
    pub employer_id: Option<Uuid>,
    pub school_id: Option<Uuid>,
    pub status: Option<LinkStatus>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Accept,
    Decline,
    End,
}

/// Asks for a link. Organisers ask for any approved employer, an employer's users for their own
/// (another employer's id is not found).
#[tracing::instrument(skip_all, fields(employer_id = %employer_id, school_id = %school_id))]
pub async fn request(svc: &Services, actor: &Actor, employer_id: Uuid, school_id: Uuid, notes: Option<Text>) -> ServiceResult<LinkDetail> {
    match actor.role {
        Role::Admin | Role::Organiser => {}
        Role::Employer if actor.employer_id == Some(employer_id) => {}
        Role::Employer => return Err(ServiceError::NotFound),
        Role::School => return Err(ServiceError::Forbidden),
    }
    let txn = svc.db.write.begin().await?;
    let employer = approved(&txn, employer_id).await?;
    let school = school::Entity::find_by_id(school_id)
        .one(&txn)
        .await?
        .ok_or_else(|| ServiceError::invalid("school_id", "no school has this id"))?;
    let now = svc.clock.now();
    let inserted = school_link::ActiveModel {
        id: Set(new_id()),
        employer_id: Set(employer_id),
        school_id: Set(school_id),
        status: Set(LinkStatus::Requested),
        notes: Set(notes.map(Text::into_string)),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await;
    let link = match inserted {
        Ok(link) => link,
        Err(err) if is_unique_violation(&err) => {
            return Err(ServiceError::conflict("this employer and school already have a link that has not ended"));
        }
        Err(err) => return Err(err.into()),
    };
    if let Some(to) = school.careers_leader_email.as_deref() {
        let context = json!({
            "person": {"name": school.careers_leader_name.as_deref().unwrap_or("careers leader")},
            "employer": {"name": employer.name, "town": town(&employer.address)},
            "school": {"name": school.name},
            "notes": link.notes,
            "next_url": format!("{}/school", svc.settings.public_url()),
        });
        outbox::queue(&txn, vec![outbox::notice(svc.settings.public_url(), now, to, MessageKind::LinkRequested, context)]).await?;
    }
    txn.commit().await?;
    svc.mail_wake.notify_one();
    Ok(LinkDetail { link: link.into(), employer_name: employer.name, school_name: school.name })
}

/// The last part of an address, which is its town in the addresses people type here.
pub fn town(address: &str) -> Option<&str> {
    address.rsplit([',', '\n']).map(str::trim).find(|s| !s.is_empty())
}

/// Who may decide: organisers anything; the school's users accept, decline or end their own
/// school's links; the employer's users end their own employer's. Another organisation's link
/// is not found.
fn may_decide(actor: &Actor, link: &SchoolLink, decision: Decision) -> ServiceResult<()> {
    match actor.role {
        Role::Admin | Role::Organiser => Ok(()),
        Role::School if actor.school_id == Some(link.school_id) => Ok(()),
        Role::Employer if actor.employer_id == Some(link.employer_id) => {
            if decision == Decision::End {
                Ok(())
            } else {
                Err(ServiceError::Forbidden)
            }
        }
        Role::School | Role::Employer => Err(ServiceError::NotFound),
    }
}

/// Accepts, declines or ends a link. Asking for the state it is already in changes nothing.
#[tracing::instrument(skip_all, fields(link_id = %id, decision = ?decision))]
pub async fn decide(svc: &Services, actor: &Actor, id: Uuid, decision: Decision) -> ServiceResult<LinkDetail> {
    let txn = svc.db.write.begin().await?;
    let row = school_link::Entity::find_by_id(id).one(&txn).await?.ok_or(ServiceError::NotFound)?;
    let link = SchoolLink::from(row.clone());
    may_decide(actor, &link, decision)?;
    let (employer, school) = sides(&txn, &link).await?;
    let current = link.status;
    let next = match (decision, current) {
        (Decision::Accept, LinkStatus::Requested | LinkStatus::Active) => LinkStatus::Active,
        (Decision::Decline, LinkStatus::Requested | LinkStatus::Declined) => LinkStatus::Declined,
        (Decision::End, _) => LinkStatus::Ended,
        (_, status) => return Err(ServiceError::conflict(format!("the link is {}", status.as_str()))),
    };
    if next == current {
        return Ok(LinkDetail { link, employer_name: employer.name, school_name: school.name });
    }
    let now = svc.clock.now();
    let mut model: school_link::ActiveModel = row.into();
    model.status = Set(next);
    model.updated_at = Set(now);
    let link = model.update(&txn).await?;
    let kind = match next {
        LinkStatus::Active => Some(MessageKind::LinkAccepted),
        LinkStatus::Declined => Some(MessageKind::LinkDeclined),
        _ => None,
    };
    if let Some(kind) = kind
        && !employer.contact_email.is_empty()
    {
        let context = json!({
            "person": {"name": employer.contact_name},
            "employer": {"name": employer.name},
            "school": {"name": school.name},
            "next_url": format!("{}/employer/schools", svc.settings.public_url()),
        });
        outbox::queue(&txn, vec![outbox::notice(svc.settings.public_url(), now, &employer.contact_email, kind, context)]).await?;
    }
    txn.commit().await?;
    svc.mail_wake.notify_one();
    Ok(LinkDetail { link: link.into(), employer_name: employer.name, school_name: school.name })
}

async fn sides(conn: &impl ConnectionTrait, link: &SchoolLink) -> ServiceResult<(Employer, School)> {
    let employer = employer::Entity::find_by_id(link.employer_id).one(conn).await?.ok_or(ServiceError::NotFound)?;
    let school = school::Entity::find_by_id(link.school_id).one(conn).await?.ok_or(ServiceError::NotFound)?;
    Ok((employer.into(), school.into()))
}

/// Organisers see every link; an employer's or a school's users see their own organisation's.
pub async fn list(svc: &Services, actor: &Actor, filter: LinkFilter, page: PageRequest) -> ServiceResult<Page<LinkDetail>> {
    let mut query = school_link::Entity::find();
    match super::policy::listed(actor, true, true)? {
        super::policy::Listed::All => {}
        super::policy::Listed::Employer(own) => query = query.filter(school_link::Column::EmployerId.eq(own)),
        super::policy::Listed::School(own) => query = query.filter(school_link::Column::SchoolId.eq(own)),
    }
    if let Some(id) = filter.employer_id {
        query = query.filter(school_link::Column::EmployerId.eq(id));
    }
    if let Some(id) = filter.school_id {
        query = query.filter(school_link::Column::SchoolId.eq(id));
    }
    if let Some(status) = filter.status {
        query = query.filter(school_link::Column::Status.eq(status.as_str()));
    }
    let total = query.clone().count(&svc.db.read).await?;
    let links = query
        .order_by_desc(school_link::Column::CreatedAt)
        .order_by_asc(school_link::Column::Id)
        .limit(page.limit)
        .offset(page.offset)
        .all(&svc.db.read)
        .await?;
    let employers: std::collections::HashMap<Uuid, String> = employer::Entity::find()
        .select_only()
        .columns([employer::Column::Id, employer::Column::Name])
        .filter(employer::Column::Id.is_in(links.iter().map(|l| l.employer_id)))
        .into_tuple::<(Uuid, String)>()
        .all(&svc.db.read)
        .await?
        .into_iter()
        .collect();
    let schools: std::collections::HashMap<Uuid, String> = school::Entity::find()
        .select_only()
        .columns([school::Column::Id, school::Column::Name])
        .filter(school::Column::Id.is_in(links.iter().map(|l| l.school_id)))
        .into_tuple::<(Uuid, String)>()
        .all(&svc.db.read)
        .await?
        .into_iter()
        .collect();
    let items = links
        .into_iter()
        .map(|link| LinkDetail {
            employer_name: employers.get(&link.employer_id).cloned().unwrap_or_default(),
            school_name: schools.get(&link.school_id).cloned().unwrap_or_default(),
            link: link.into(),
        })
        .collect();
    Ok(Page { items, total, limit: page.limit, offset: page.offset })
}

/// Whether every one of `employer_ids` has an active link with `school_id`; answers the first
/// that has not.
pub(crate) async fn first_unlinked(conn: &impl ConnectionTrait, school_id: Uuid, employer_ids: &[Uuid]) -> ServiceResult<Option<Uuid>> {
    let linked: Vec<Uuid> = school_link::Entity::find()
        .select_only()
        .column(school_link::Column::EmployerId)
        .filter(school_link::Column::SchoolId.eq(school_id))
        .filter(school_link::Column::Status.eq(LinkStatus::Active.as_str()))
        .filter(school_link::Column::EmployerId.is_in(employer_ids.iter().copied()))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(employer_ids.iter().copied().find(|id| !linked.contains(id)))
}
