//! Which schools an employer might link with: the nearest first, each active link a school
//! already has counting as `LINK_PENALTY_KM` further away (so schools with few employers come
//! forward), and schools the employer already has a link with (that has not ended) left out.
//!
//! It must stay fast with thousands of schools, so it never reads them all: it asks the
//! `(latitude, longitude)` index for the schools inside a box around the employer, measures
//! those, and widens the box until the answer cannot change. A school outside a radius `r` is
//! more than `r` away, so its score is above `r` too; once `limit` schools inside the radius
//! score at most `r`, no school further out can displace them.

use std::collections::{HashMap, HashSet};

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use super::schools::School;
use super::{ServiceError, ServiceResult, Services, scope_employer};
use crate::domain::geo::{LatLon, bounding_box, distance_km};
use crate::domain::{Actor, LinkStatus};
use crate::store::entity::{employer, school, school_link};

/// How much further away each of a school's active links makes it look, in kilometres.
pub const LINK_PENALTY_KM: f64 = 2.0;
/// The first search radius; doubled until enough schools are found.
const FIRST_RADIUS_KM: f64 = 8.0;
/// Past this the box covers all of Great Britain and the rest is read without one.
const LAST_RADIUS_KM: f64 = 1_200.0;

pub struct Suggestion {
    pub school: School,
    pub distance_km: f64,
    pub active_links: u64,
}

impl Suggestion {
    fn score(&self) -> f64 {
        self.distance_km + LINK_PENALTY_KM * self.active_links as f64
    }
}

#[tracing::instrument(skip_all, fields(employer_id = %employer_id, limit))]
pub async fn suggest(svc: &Services, actor: &Actor, employer_id: Uuid, limit: usize) -> ServiceResult<Vec<Suggestion>> {
    scope_employer(actor, employer_id)?;
    let db = &svc.db.read;
    let employer = employer::Entity::find_by_id(employer_id).one(db).await?.ok_or(ServiceError::NotFound)?;
    let (Some(lat), Some(lon)) = (employer.latitude, employer.longitude) else {
        return Err(ServiceError::conflict("the employer has no latitude and longitude to measure from"));
    };
    let here = LatLon { lat, lon };
    let linked: HashSet<Uuid> = school_link::Entity::find()
        .select_only()
        .column(school_link::Column::SchoolId)
        .filter(school_link::Column::EmployerId.eq(employer_id))
        .filter(school_link::Column::Status.ne(LinkStatus::Ended.as_str()))
        .into_tuple::<Uuid>()
        .all(db)
        .await?
        .into_iter()
        .collect();

    let mut radius = FIRST_RADIUS_KM;
    loop {
        let last = radius >= LAST_RADIUS_KM;
        let mut query =
            school::Entity::find().filter(school::Column::Latitude.is_not_null()).filter(school::Column::Longitude.is_not_null());
        if !last {
            let (lo, hi) = bounding_box(here, radius);
            query =
                query.filter(school::Column::Latitude.between(lo.lat, hi.lat)).filter(school::Column::Longitude.between(lo.lon, hi.lon));
        }
        let schools = query.all(db).await?;
        let mut found: Vec<Suggestion> = schools
            .into_iter()
            .filter(|s| !linked.contains(&s.id))
            .filter_map(|s| {
                let d = distance_km(here, LatLon { lat: s.latitude?, lon: s.longitude? });
                (last || d <= radius).then_some(Suggestion { school: s, distance_km: d, active_links: 0 })
            })
            .collect();
        let counts = active_links(svc, found.iter().map(|s| s.school.id)).await?;
        for s in &mut found {
            s.active_links = counts.get(&s.school.id).copied().unwrap_or(0);
        }
        found.sort_by(|a, b| {
            a.score().total_cmp(&b.score()).then(a.distance_km.total_cmp(&b.distance_km)).then(a.school.urn.cmp(&b.school.urn))
        });
        let settled = found.len() >= limit && found.get(limit.saturating_sub(1)).is_none_or(|s| s.score() <= radius);
        if last || settled {
            found.truncate(limit);
            return Ok(found);
        }
        radius *= 2.0;
    }
}

/// How many active links each of these schools has (the `(school_id, status)` index answers it).
async fn active_links(svc: &Services, school_ids: impl Iterator<Item = Uuid>) -> ServiceResult<HashMap<Uuid, u64>> {
    let ids: Vec<Uuid> = school_ids.collect();
    let mut counts = HashMap::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<(Uuid, i64)> = school_link::Entity::find()
            .select_only()
            .column(school_link::Column::SchoolId)
            .column_as(school_link::Column::Id.count(), "n")
            .filter(school_link::Column::SchoolId.is_in(chunk.iter().copied()))
            .filter(school_link::Column::Status.eq(LinkStatus::Active.as_str()))
            .group_by(school_link::Column::SchoolId)
            .into_tuple()
            .all(&svc.db.read)
            .await?;
        counts.extend(rows.into_iter().map(|(id, n)| (id, n.max(0) as u64)));
    }
    Ok(counts)
}
