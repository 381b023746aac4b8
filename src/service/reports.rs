//! Figures for the workforce team: how a campaign went, and what each school has had.

use std::collections::{HashMap, HashSet};

use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::events::{Event, RecordedOutcome};
use super::schools::School;
use super::{Page, PageRequest, ServiceError, ServiceResult, Services};
use crate::domain::{Actor, EventKind, EventStatus, ExhibitorStatus, LinkStatus, RegistrationStatus};
use crate::store::entity::{
    campaign, event, exhibitor, outcome, registration, registration_answer, registration_question, school, school_link,
};

pub struct CampaignReport {
    pub campaign_id: Uuid,
    pub name: String,
    /// Events by status (drafts included).
    pub events: HashMap<&'static str, u64>,
    /// Registrations by status.
    pub registrations: HashMap<&'static str, u64>,
    /// Attended ÷ (attended + no-show): of the places whose outcome is known, how many came.
    pub attendance_rate: Option<f64>,
    /// Employers with a confirmed stand at one of its fairs or taking part in one of its school
    /// engagements.
    pub employers_engaged: u64,
    /// Schools where one of its school engagements has been held.
    pub schools_reached: u64,
    /// From a booking to a hire, each person counted once at the furthest stage they reached
    /// (and at every stage before it).
    pub funnel: Funnel,
    /// People who answered yes to a yes/no question about being new to care (one whose wording
    /// holds "new to care"), when one of its events asked it.
    pub new_to_care: Option<u64>,
}

/// People at each step from registering to starting a job.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Funnel {
    pub registered: u64,
    pub attended: u64,
    pub met: u64,
    pub interviewed: u64,
    pub offered: u64,
    pub started: u64,
}

/// The funnel and the "new to care" count of the events `ids`.
async fn funnel_of(db: &sea_orm::DatabaseConnection, ids: &[Uuid]) -> ServiceResult<(Funnel, Option<u64>)> {
    use sea_orm::sea_query::ExprTrait;

    use super::outcomes::Stage;
    let mut registered: HashSet<Uuid> = HashSet::new();
    let mut attended: HashSet<Uuid> = HashSet::new();
    let mut person_of: HashMap<Uuid, Uuid> = HashMap::new();
    let mut furthest: HashMap<Uuid, Stage> = HashMap::new();
    let mut new_to_care: Option<HashSet<Uuid>> = None;
    for chunk in ids.chunks(500) {
        let rows: Vec<(Uuid, Uuid, String)> = registration::Entity::find()
            .select_only()
            .column(registration::Column::Id)
            .column(registration::Column::CandidateId)
            .column(registration::Column::Status)
            .filter(registration::Column::EventId.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        for (id, candidate, status) in rows {
            registered.insert(candidate);
            if status == RegistrationStatus::Attended.as_str() {
                attended.insert(candidate);
            }
            person_of.insert(id, candidate);
        }
        let stages: Vec<(Uuid, String)> = outcome::Entity::find()
            .select_only()
            .column(outcome::Column::RegistrationId)
            .column(outcome::Column::Stage)
            .filter(outcome::Column::EventId.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        for (registration_id, stage) in stages {
            let (Some(person), Ok(stage)) = (person_of.get(&registration_id), Stage::parse(&stage)) else { continue };
            let reached = furthest.entry(*person).or_insert(stage);
            *reached = (*reached).max(stage);
        }
        let asked: Vec<Uuid> = registration_question::Entity::find()
            .select_only()
            .column(registration_question::Column::Id)
            .filter(registration_question::Column::EventId.is_in(chunk.iter().copied()))
            .filter(registration_question::Column::Kind.eq(super::questions::QuestionKind::YesNo.as_str()))
            .filter(
                sea_orm::sea_query::Expr::expr(sea_orm::sea_query::Func::lower(sea_orm::sea_query::Expr::col(
                    registration_question::Column::Label,
                )))
                .like("%new to care%"),
            )
            .into_tuple()
            .all(db)
            .await?;
        if !asked.is_empty() {
            let yes: Vec<Uuid> = registration_answer::Entity::find()
                .select_only()
                .column(registration_answer::Column::RegistrationId)
                .filter(registration_answer::Column::QuestionId.is_in(asked))
                .filter(registration_answer::Column::Value.eq("yes"))
                .into_tuple()
                .all(db)
                .await?;
            let people = new_to_care.get_or_insert_with(HashSet::new);
            people.extend(yes.iter().filter_map(|r| person_of.get(r)));
        }
    }
    let at_least = |stage: Stage| furthest.values().filter(|s| **s >= stage).count() as u64;
    let funnel = Funnel {
        registered: registered.len() as u64,
        attended: attended.len() as u64,
        met: at_least(Stage::Met),
        interviewed: at_least(Stage::Interviewed),
        offered: at_least(Stage::Offered),
        started: at_least(Stage::Started),
    };
    Ok((funnel, new_to_care.map(|p| p.len() as u64)))
}

pub async fn campaign(svc: &Services, actor: &Actor, id: Uuid) -> ServiceResult<CampaignReport> {
    super::policy::organiser(actor)?;
    let db = &svc.db.read;
    let campaign = campaign::Entity::find_by_id(id).one(db).await?.ok_or(ServiceError::NotFound)?;
    let events: Vec<Event> =
        event::Entity::find().filter(event::Column::CampaignId.eq(id)).all(db).await?.into_iter().map(Event::from).collect();
    let now = svc.clock.now();

    let mut by_status: HashMap<&'static str, u64> = EventStatus::ALL.iter().map(|s| (s.as_str(), 0)).collect();
    let mut employers: HashSet<Uuid> = HashSet::new();
    let mut schools: HashSet<Uuid> = HashSet::new();
    for e in &events {
        let status = e.status;
        *by_status.entry(status.as_str()).or_default() += 1;
        let held = matches!(status, EventStatus::Published | EventStatus::Completed) && e.starts_at <= now;
        if e.kind == EventKind::SchoolEngagement && status != EventStatus::Cancelled {
            employers.extend(e.employer_ids());
            if held {
                schools.extend(e.school_id);
            }
        }
    }
    let ids: Vec<Uuid> = events.iter().map(|e| e.id).collect();
    let mut registrations: HashMap<&'static str, u64> = RegistrationStatus::ALL.iter().map(|s| (s.as_str(), 0)).collect();
    for chunk in ids.chunks(500) {
        let counts: Vec<(String, i64)> = registration::Entity::find()
            .select_only()
            .column(registration::Column::Status)
            .column_as(registration::Column::Id.count(), "n")
            .filter(registration::Column::EventId.is_in(chunk.iter().copied()))
            .group_by(registration::Column::Status)
            .into_tuple()
            .all(db)
            .await?;
        for (status, n) in counts {
            if let Ok(status) = RegistrationStatus::parse(&status) {
                *registrations.entry(status.as_str()).or_default() += n.max(0) as u64;
            }
        }
        let stands: Vec<Uuid> = exhibitor::Entity::find()
            .select_only()
            .column(exhibitor::Column::EmployerId)
            .filter(exhibitor::Column::EventId.is_in(chunk.iter().copied()))
            .filter(exhibitor::Column::Status.eq(ExhibitorStatus::Confirmed.as_str()))
            .into_tuple()
            .all(db)
            .await?;
        employers.extend(stands);
    }
    let attended = registrations.get(RegistrationStatus::Attended.as_str()).copied().unwrap_or(0);
    let no_show = registrations.get(RegistrationStatus::NoShow.as_str()).copied().unwrap_or(0);
    let attendance_rate = (attended + no_show > 0).then(|| attended as f64 / (attended + no_show) as f64);
    let (funnel, new_to_care) = funnel_of(db, &ids).await?;
    Ok(CampaignReport {
        campaign_id: campaign.id,
        name: campaign.name,
        events: by_status,
        registrations,
        attendance_rate,
        employers_engaged: employers.len() as u64,
        schools_reached: schools.len() as u64,
        funnel,
        new_to_care,
    })
}

pub struct SchoolReport {
    pub school: School,
    pub active_links: u64,
    /// School engagements held there (published or completed, and started).
    pub engagements_held: u64,
    pub pupils_reached: u64,
    /// Held engagements that met all four criteria of a meaningful encounter.
    pub meaningful_encounters: u64,
}

/// Every school by name, with what it has had.
pub async fn schools(svc: &Services, actor: &Actor, page: PageRequest) -> ServiceResult<Page<SchoolReport>> {
    super::policy::organiser(actor)?;
    let db = &svc.db.read;
    let total = school::Entity::find().count(db).await?;
    let schools = school::Entity::find()
        .order_by_asc(school::Column::Name)
        .order_by_asc(school::Column::Id)
        .limit(page.limit)
        .offset(page.offset)
        .all(db)
        .await?;
    let ids: Vec<Uuid> = schools.iter().map(|s| s.id).collect();
    let links: HashMap<Uuid, i64> = school_link::Entity::find()
        .select_only()
        .column(school_link::Column::SchoolId)
        .column_as(school_link::Column::Id.count(), "n")
        .filter(school_link::Column::SchoolId.is_in(ids.iter().copied()))
        .filter(school_link::Column::Status.eq(LinkStatus::Active.as_str()))
        .group_by(school_link::Column::SchoolId)
        .into_tuple::<(Uuid, i64)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let now = svc.clock.now();
    let engagements = event::Entity::find()
        .filter(event::Column::SchoolId.is_in(ids.iter().copied()))
        .filter(event::Column::Kind.eq(EventKind::SchoolEngagement.as_str()))
        .filter(event::Column::Status.is_in([EventStatus::Published.as_str(), EventStatus::Completed.as_str()]))
        .filter(event::Column::StartsAt.lte(now))
        .all(db)
        .await?
        .into_iter()
        .map(Event::from)
        .collect::<Vec<_>>();
    let items = schools
        .into_iter()
        .map(|school| {
            let outcomes: Vec<Option<RecordedOutcome>> = engagements
                .iter()
                .filter(|e| e.school_id == Some(school.id))
                .map(|e| e.engagement.as_ref().and_then(|part| part.outcome.clone()))
                .collect();
            let recorded = outcomes.iter().flatten();
            let meaningful = recorded.clone().filter(|o| o.meaningful.is_met()).count();
            SchoolReport {
                active_links: links.get(&school.id).copied().unwrap_or(0).max(0) as u64,
                engagements_held: outcomes.len() as u64,
                pupils_reached: recorded.map(|o| o.pupils_reached.max(0) as u64).sum(),
                meaningful_encounters: meaningful as u64,
                school: school.into(),
            }
        })
        .collect();
    Ok(Page { items, total, limit: page.limit, offset: page.offset })
}
