//! Which schools an employer might link with: the nearest first, each active link a school
//! already has counting as `LINK_PENALTY_KM` further away (so schools with few employers come
//! forward), and schools the employer already has a link with (that has not ended) left out.
//!
//! It must stay fast with thousands of schools, so it never reads them all: it asks the
//! `(latitude, longitude)` index for the schools inside a box around the employer, measures
//! those, and widens the box until the answer cannot change. A school outside a radius `r` is
//! more than `r` away, so its score is above `r` too; once `limit` schools inside the radius
//! score at most `r`, no school further out can displace them.

use std::collections::HashMap;

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect, QueryTrait};
use uuid::Uuid;

use super::schools::School;
use super::{ServiceError, ServiceResult, Services, scope_employer};
use crate::domain::geo::{LatLon, bounding_box, distance_km};
use crate::domain::{Actor, EmployerStatus, LinkStatus};
use crate::store::entity::{employer, school, school_link};

/// How much further away each of a school's active links makes it look, in kilometres.
pub const LINK_PENALTY_KM: f64 = 2.0;
/// The first search radius, doubled until enough schools are found. Secondary schools in England
/// are about one per 40 km², so a 16 km circle usually holds a score of them and one round
/// settles it;
/// each further round costs two more queries.
const FIRST_RADIUS_KM: f64 = 16.0;
/// Past this the box covers all of Great Britain and the rest is read without one.
const LAST_RADIUS_KM: f64 = 1_200.0;

pub struct Suggestion {
    pub school: School,
    pub distance_km: f64,
    pub active_links: u64,
}

#[tracing::instrument(skip_all, fields(employer_id = %employer_id, limit))]
pub async fn suggest(svc: &Services, actor: &Actor, employer_id: Uuid, limit: usize) -> ServiceResult<Vec<Suggestion>> {
    scope_employer(actor, employer_id)?;
    let db = &svc.db.read;
    let employer = employer::Entity::find_by_id(employer_id).one(db).await?.ok_or(ServiceError::NotFound)?;
    if employer.status != EmployerStatus::Approved {
        return Err(ServiceError::conflict("suggestions are for approved employers; this one is not approved"));
    }
    let (Some(lat), Some(lon)) = (employer.latitude, employer.longitude) else {
        return Err(ServiceError::conflict("the employer has no latitude and longitude to measure from"));
    };
    let here = LatLon { lat, lon };
    // Schools the employer already has a link with (that has not ended) are left out in the query.
    let linked = school_link::Entity::find()
        .select_only()
        .column(school_link::Column::SchoolId)
        .filter(school_link::Column::EmployerId.eq(employer_id))
        .filter(school_link::Column::Status.ne(LinkStatus::Ended.as_str()))
        .into_query();

    let mut radius = FIRST_RADIUS_KM;
    loop {
        let last = radius >= LAST_RADIUS_KM;
        // One query per round: the position and active-link count (a correlated count the
        // `(school_id, status)` index answers) of every school in the box; whole rows are read
        // for the answer only.
        let mut query = school::Entity::find()
            .select_only()
            .columns([school::Column::Id, school::Column::Latitude, school::Column::Longitude])
            .column_as(Expr::cust(ACTIVE_LINKS), "active_links")
            .filter(school::Column::Latitude.is_not_null())
            .filter(school::Column::Longitude.is_not_null())
            .filter(school::Column::Id.not_in_subquery(linked.clone()));
        if !last {
            let (lo, hi) = bounding_box(here, radius);
            query =
                query.filter(school::Column::Latitude.between(lo.lat, hi.lat)).filter(school::Column::Longitude.between(lo.lon, hi.lon));
        }
        let rows: Vec<(Uuid, Option<f64>, Option<f64>, i64)> = query.into_tuple().all(db).await?;
        let mut found: Vec<Scored> = rows
            .into_iter()
            .filter_map(|(id, lat, lon, links)| {
                let d = distance_km(here, LatLon { lat: lat?, lon: lon? });
                (last || d <= radius).then_some(Scored { id, distance_km: d, active_links: links.max(0) as u64 })
            })
            .collect();
        found.sort_by(|a, b| a.score().total_cmp(&b.score()).then(a.distance_km.total_cmp(&b.distance_km)).then(a.id.cmp(&b.id)));
        let settled = found.len() >= limit && found.get(limit.saturating_sub(1)).is_none_or(|s| s.score() <= radius);
        if last || settled {
            found.truncate(limit);
            let mut schools: HashMap<Uuid, School> = school::Entity::find()
                .filter(school::Column::Id.is_in(found.iter().map(|s| s.id)))
                .all(db)
                .await?
                .into_iter()
                .map(|s| (s.id, School::from(s)))
                .collect();
            return Ok(found
                .into_iter()
                .filter_map(|s| {
                    Some(Suggestion { school: schools.remove(&s.id)?, distance_km: s.distance_km, active_links: s.active_links })
                })
                .collect());
        }
        radius *= 2.0;
    }
}

/// A school's active links, counted beside its row.
const ACTIVE_LINKS: &str =
    r#"(SELECT COUNT(*) FROM "school_links" WHERE "school_links"."school_id" = "schools"."id" AND "school_links"."status" = 'active')"#;

/// A school measured from the employer, before its row is read.
struct Scored {
    id: Uuid,
    distance_km: f64,
    active_links: u64,
}

impl Scored {
    fn score(&self) -> f64 {
        self.distance_km + LINK_PENALTY_KM * self.active_links as f64
    }
}
