//! `/reports`: figures for the workforce team (organisers).

use std::collections::BTreeMap;

use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

use super::common::{ApiTags, list_of, page};
use super::problem::Refused;
use super::problem::can::*;
use super::security::BearerAuth;
use crate::service::Services;
use crate::service::reports::{self, CampaignReport, SchoolReport};

pub struct ReportsApi {
    pub svc: Services,
}

/// How a campaign went.
#[derive(Object)]
pub struct CampaignReportView {
    pub campaign_id: Uuid,
    pub name: String,
    /// Events by status, drafts included.
    pub events: BTreeMap<String, u64>,
    /// Registrations at its events by status.
    pub registrations: BTreeMap<String, u64>,
    /// Attended ÷ (attended + no-show); null until attendance is recorded.
    pub attendance_rate: Option<f64>,
    /// Employers with a confirmed stand at one of its fairs or in one of its school engagements.
    pub employers_engaged: u64,
    /// Schools where one of its school engagements has been held.
    pub schools_reached: u64,
    /// From a booking to a hire: people at each step, each counted once.
    pub funnel: FunnelView,
    /// People who answered yes to a yes/no question about being new to care; absent when no
    /// event of the campaign asked one.
    pub new_to_care: Option<u64>,
}

/// People at each step from registering to starting a job, each counted once (a person who
/// started was also met, interviewed and offered).
#[derive(Object)]
pub struct FunnelView {
    pub registered: u64,
    pub attended: u64,
    pub met: u64,
    pub interviewed: u64,
    pub offered: u64,
    pub started: u64,
}

impl From<CampaignReport> for CampaignReportView {
    fn from(r: CampaignReport) -> Self {
        Self {
            campaign_id: r.campaign_id,
            name: r.name,
            events: r.events.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            registrations: r.registrations.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            attendance_rate: r.attendance_rate,
            employers_engaged: r.employers_engaged,
            schools_reached: r.schools_reached,
            funnel: FunnelView {
                registered: r.funnel.registered,
                attended: r.funnel.attended,
                met: r.funnel.met,
                interviewed: r.funnel.interviewed,
                offered: r.funnel.offered,
                started: r.funnel.started,
            },
            new_to_care: r.new_to_care,
        }
    }
}

/// What one school has had.
#[derive(Object)]
pub struct SchoolReportView {
    pub school_id: Uuid,
    pub urn: String,
    pub name: String,
    pub active_links: u64,
    /// School engagements held there.
    pub engagements_held: u64,
    pub pupils_reached: u64,
    /// Held engagements that met all four criteria of a meaningful encounter (Gatsby Benchmark 5).
    pub meaningful_encounters: u64,
}

impl From<SchoolReport> for SchoolReportView {
    fn from(r: SchoolReport) -> Self {
        Self {
            school_id: r.school.id,
            urn: r.school.urn,
            name: r.school.name,
            active_links: r.active_links,
            engagements_held: r.engagements_held,
            pupils_reached: r.pupils_reached,
            meaningful_encounters: r.meaningful_encounters,
        }
    }
}

list_of!(SchoolReportList, SchoolReportView);

#[derive(ApiResponse)]
pub enum CampaignReportAnswer {
    /// The campaign's figures.
    #[oai(status = 200)]
    Ok(Json<CampaignReportView>),
}

#[derive(ApiResponse)]
pub enum SchoolReportAnswer {
    /// One page of schools, by name.
    #[oai(status = 200)]
    Ok(Json<SchoolReportList>),
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Reports")]
impl ReportsApi {
    /// A campaign's events, registrations by status, attendance rate, employers engaged and
    /// schools reached (organisers).
    #[oai(path = "/reports/campaigns/:id", method = "get", operation_id = "campaign_report")]
    async fn campaign(
        &self,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<CampaignReportAnswer, Refused<{ SIGNED_IN | BAD_REQUEST | NOT_FOUND }>> {
        Ok(CampaignReportAnswer::Ok(Json(reports::campaign(&self.svc, &auth.0.actor, id.0).await?.into())))
    }

    /// Per school: active links, engagements held, pupils reached and meaningful encounters
    /// (organisers).
    #[oai(path = "/reports/schools", method = "get", operation_id = "schools_report")]
    async fn schools(
        &self,
        auth: BearerAuth,
        limit: Query<Option<i64>>,
        offset: Query<Option<i64>>,
    ) -> Result<SchoolReportAnswer, Refused<{ SIGNED_IN | INPUT }>> {
        Ok(SchoolReportAnswer::Ok(Json(reports::schools(&self.svc, &auth.0.actor, page(limit.0, offset.0)?).await?.into())))
    }
}
