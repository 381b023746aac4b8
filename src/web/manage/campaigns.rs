//! `/manage/campaigns` and `/manage/venues`: the lists, and the forms to create and change them,
//! checked by the same rules as the API (`NewCampaign::parse`, `NewVenue::parse`).

use chrono::NaiveDate;
use poem::http::StatusCode;
use poem::web::{Data, Form, Path, Query};
use poem::{Request, Response, handler};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::events::summary;
use super::{check_csrf, viewer};
use crate::domain::{Objective, Validation, ValidationErrors};
use crate::service::campaigns::{self, Campaign, CampaignChanges, CampaignInput, NewCampaign};
use crate::service::venues::{self, NewVenue, Venue, VenueChanges, VenueInput};
use crate::service::{PageRequest, ServiceError, Services};
use crate::web::pages::{errors_by_field, failed, not_found};
use crate::web::session::{Viewer, see_other};

#[derive(Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

fn flash(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "created" => Some("Saved."),
        "saved" => Some("Your changes are saved."),
        _ => None,
    }
}

fn blank(s: &str) -> Option<&str> {
    Some(s.trim()).filter(|s| !s.is_empty())
}

// ---- campaigns ----

const CAMPAIGN_LABELS: &[(&str, &str)] = &[
    ("name", "Name"),
    ("slug", "Web address"),
    ("description", "Description"),
    ("starts_on", "Starts"),
    ("ends_on", "Ends"),
    ("objectives", "Objectives"),
];

#[derive(Deserialize, Serialize, Default)]
pub struct CampaignForm {
    #[serde(default, skip_serializing)]
    csrf: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    starts_on_day: String,
    #[serde(default)]
    starts_on_month: String,
    #[serde(default)]
    starts_on_year: String,
    #[serde(default)]
    ends_on_day: String,
    #[serde(default)]
    ends_on_month: String,
    #[serde(default)]
    ends_on_year: String,
    #[serde(default)]
    objective_recruitment_retention: Option<String>,
    #[serde(default)]
    objective_training_development: Option<String>,
    #[serde(default)]
    objective_market_capacity: Option<String>,
}

fn date(v: &mut Validation, field: &str, [day, month, year]: [&str; 3]) -> Option<NaiveDate> {
    let parts = [day, month, year].map(blank);
    let [Some(day), Some(month), Some(year)] = parts else {
        v.fail(field, "needs a day, a month and a year");
        return None;
    };
    let parsed = NaiveDate::parse_from_str(&format!("{year}-{month}-{day}"), "%Y-%m-%d").map_err(|_| String::from("must be a real date"));
    let parsed = parsed.and_then(|d| crate::domain::check_year(chrono::Datelike::year(&d)).map(|()| d));
    v.check(field, parsed)
}

impl CampaignForm {
    fn of(c: &Campaign) -> Self {
        let has = |o: Objective| c.objectives.contains(&o).then(|| "yes".to_owned());
        CampaignForm {
            csrf: String::new(),
            slug: c.slug.clone(),
            name: c.name.clone(),
            description: c.description.clone(),
            starts_on_day: c.starts_on.format("%-d").to_string(),
            starts_on_month: c.starts_on.format("%-m").to_string(),
            starts_on_year: c.starts_on.format("%Y").to_string(),
            ends_on_day: c.ends_on.format("%-d").to_string(),
            ends_on_month: c.ends_on.format("%-m").to_string(),
            ends_on_year: c.ends_on.format("%Y").to_string(),
            objective_recruitment_retention: has(Objective::RecruitmentRetention),
            objective_training_development: has(Objective::TrainingDevelopment),
            objective_market_capacity: has(Objective::MarketCapacity),
        }
    }

    fn parse(&self) -> Result<NewCampaign, ValidationErrors> {
        let mut v = Validation::new();
        let starts_on = date(&mut v, "starts_on", [&self.starts_on_day, &self.starts_on_month, &self.starts_on_year]);
        let ends_on = date(&mut v, "ends_on", [&self.ends_on_day, &self.ends_on_month, &self.ends_on_year]);
        let objectives = [
            (&self.objective_recruitment_retention, Objective::RecruitmentRetention),
            (&self.objective_training_development, Objective::TrainingDevelopment),
            (&self.objective_market_capacity, Objective::MarketCapacity),
        ]
        .into_iter()
        .filter(|(ticked, _)| ticked.is_some())
        .map(|(_, o)| o.as_str().to_owned())
        .collect();
        // Dates that could not be read are already reported in `v`; the placeholder only lets
        // the other fields be checked in the same pass.
        let placeholder = NaiveDate::MIN;
        let input = CampaignInput {
            slug: self.slug.trim().to_owned(),
            name: self.name.clone(),
            description: self.description.clone(),
            starts_on: starts_on.unwrap_or(placeholder),
            ends_on: ends_on.unwrap_or(placeholder),
            objectives,
        };
        NewCampaign::parse(input, v)
    }
}

/// `GET /manage/campaigns`
#[handler]
pub async fn list(req: &Request, svc: Data<&Services>, Query(q): Query<DoneQuery>) -> Response {
    let viewer = viewer!(req, &svc);
    let found = match campaigns::list(&svc, PageRequest { limit: 200, offset: 0 }).await {
        Ok(found) => found,
        Err(err) => return failed(&err),
    };
    let context = json!({
        "campaigns": found.items.iter().map(|c| json!({
            "id": c.id, "name": c.name, "slug": c.slug,
            "dates": format!("{} to {}", c.starts_on.format("%-d %B %Y"), c.ends_on.format("%-d %B %Y")),
        })).collect::<Vec<_>>(),
        "total": found.total, "flash": flash(q.done.as_deref()),
    });
    viewer.render(StatusCode::OK, "manage/campaigns.html", context, "campaigns")
}

fn objectives() -> Vec<serde_json::Value> {
    Objective::ALL.iter().map(|o| json!({"name": format!("objective_{}", o.as_str()), "label": o.label()})).collect()
}

fn campaign_page(
    viewer: &Viewer,
    code: StatusCode,
    campaign: Option<&Campaign>,
    form: &CampaignForm,
    errors: Option<&ValidationErrors>,
) -> Response {
    let errors = errors.map(errors_by_field).unwrap_or_default();
    let context = json!({
        "campaign": campaign.map(|c| json!({"id": c.id, "name": c.name})),
        "values": form, "errors": errors, "summary": summary(&errors, CAMPAIGN_LABELS), "objectives": objectives(),
    });
    viewer.render(code, "manage/campaign_form.html", context, "campaigns")
}

/// `GET /manage/campaigns/new`
#[handler]
pub async fn new_campaign(req: &Request, svc: Data<&Services>) -> Response {
    let viewer = viewer!(req, &svc);
    campaign_page(&viewer, StatusCode::OK, None, &CampaignForm::default(), None)
}

fn campaign_outcome(
    viewer: &Viewer,
    campaign: Option<&Campaign>,
    form: &CampaignForm,
    outcome: Result<Campaign, ServiceError>,
    done: &str,
) -> Response {
    match outcome {
        Ok(_) => see_other(&format!("/manage/campaigns?done={done}"), None),
        Err(ServiceError::Invalid(errors)) => campaign_page(viewer, StatusCode::UNPROCESSABLE_ENTITY, campaign, form, Some(&errors)),
        Err(ServiceError::AlreadyExists(_)) => {
            let errors = ValidationErrors::single("slug", "is already the address of another campaign");
            campaign_page(viewer, StatusCode::CONFLICT, campaign, form, Some(&errors))
        }
        Err(err) => failed(&err),
    }
}

/// `POST /manage/campaigns/new`
#[handler]
pub async fn create_campaign(req: &Request, svc: Data<&Services>, Form(form): Form<CampaignForm>) -> Response {
    let viewer = viewer!(req, &svc);
    check_csrf!(req, &svc, &form.csrf);
    let outcome = match form.parse() {
        Ok(new) => campaigns::create(&svc, &viewer.actor, new).await,
        Err(errors) => Err(ServiceError::Invalid(errors)),
    };
    campaign_outcome(&viewer, None, &form, outcome, "created")
}

async fn campaign_of(svc: &Services, id: &str) -> Result<Campaign, Response> {
    let Ok(id) = Uuid::parse_str(id) else { return Err(not_found()) };
    campaigns::get(svc, id).await.map_err(|err| failed(&err))
}

/// `GET /manage/campaigns/{id}`
#[handler]
pub async fn edit_campaign(req: &Request, svc: Data<&Services>, Path(id): Path<String>) -> Response {
    let viewer = viewer!(req, &svc);
    match campaign_of(&svc, &id).await {
        Ok(campaign) => campaign_page(&viewer, StatusCode::OK, Some(&campaign), &CampaignForm::of(&campaign), None),
        Err(response) => response,
    }
}

/// `POST /manage/campaigns/{id}`
#[handler]
pub async fn update_campaign(req: &Request, svc: Data<&Services>, Path(id): Path<String>, Form(form): Form<CampaignForm>) -> Response {
    let viewer = viewer!(req, &svc);
    check_csrf!(req, &svc, &form.csrf);
    let campaign = match campaign_of(&svc, &id).await {
        Ok(campaign) => campaign,
        Err(response) => return response,
    };
    let outcome = match form.parse() {
        Ok(new) => campaigns::update(&svc, &viewer.actor, campaign.id, CampaignChanges::from(new)).await,
        Err(errors) => Err(ServiceError::Invalid(errors)),
    };
    campaign_outcome(&viewer, Some(&campaign), &form, outcome, "saved")
}

// ---- venues ----

const VENUE_LABELS: &[(&str, &str)] = &[
    ("name", "Name"),
    ("address", "Address"),
    ("postcode", "Postcode"),
    ("capacity", "Most people"),
    ("accessibility", "Access"),
    ("latitude", "Latitude"),
    ("longitude", "Longitude"),
];

#[derive(Deserialize, Serialize, Default)]
pub struct VenueForm {
    #[serde(default, skip_serializing)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    postcode: String,
    #[serde(default)]
    capacity: String,
    #[serde(default)]
    accessibility: String,
    #[serde(default)]
    latitude: String,
    #[serde(default)]
    longitude: String,
}

impl VenueForm {
    fn of(v: &Venue) -> Self {
        VenueForm {
            csrf: String::new(),
            name: v.name.clone(),
            address: v.address.clone(),
            postcode: v.postcode.clone(),
            capacity: v.capacity.map(|c| c.to_string()).unwrap_or_default(),
            accessibility: v.accessibility.clone().unwrap_or_default(),
            latitude: v.latitude.map(|c| c.to_string()).unwrap_or_default(),
            longitude: v.longitude.map(|c| c.to_string()).unwrap_or_default(),
        }
    }

    fn parse(&self) -> Result<NewVenue, ValidationErrors> {
        let mut v = Validation::new();
        let number = |v: &mut Validation, field: &str, s: &str| {
            blank(s).and_then(|s| v.check(field, s.parse::<f64>().map_err(|_| String::from("must be a number, like 51.7356"))))
        };
        let latitude = number(&mut v, "latitude", &self.latitude);
        let longitude = number(&mut v, "longitude", &self.longitude);
        let capacity =
            blank(&self.capacity).and_then(|s| v.check("capacity", s.parse::<i64>().map_err(|_| String::from("must be a whole number"))));
        let input = VenueInput {
            name: self.name.clone(),
            address: self.address.clone(),
            postcode: self.postcode.clone(),
            latitude,
            longitude,
            capacity,
            accessibility: blank(&self.accessibility).map(str::to_owned),
        };
        NewVenue::parse(input, v)
    }
}

/// `GET /manage/venues`
#[handler]
pub async fn venues_list(req: &Request, svc: Data<&Services>, Query(q): Query<DoneQuery>) -> Response {
    let viewer = viewer!(req, &svc);
    let found = match venues::list(&svc, PageRequest { limit: 200, offset: 0 }).await {
        Ok(found) => found,
        Err(err) => return failed(&err),
    };
    let context = json!({
        "venues": found.items.iter().map(|v| json!({
            "id": v.id, "name": v.name, "postcode": v.postcode, "capacity": v.capacity,
            "placed": v.latitude.is_some() && v.longitude.is_some(),
        })).collect::<Vec<_>>(),
        "total": found.total, "flash": flash(q.done.as_deref()),
    });
    viewer.render(StatusCode::OK, "manage/venues.html", context, "venues")
}

fn venue_page(viewer: &Viewer, code: StatusCode, venue: Option<&Venue>, form: &VenueForm, errors: Option<&ValidationErrors>) -> Response {
    let errors = errors.map(errors_by_field).unwrap_or_default();
    let context = json!({
        "venue": venue.map(|v| json!({"id": v.id, "name": v.name})),
        "values": form, "errors": errors, "summary": summary(&errors, VENUE_LABELS),
    });
    viewer.render(code, "manage/venue_form.html", context, "venues")
}

/// `GET /manage/venues/new`
#[handler]
pub async fn new_venue(req: &Request, svc: Data<&Services>) -> Response {
    let viewer = viewer!(req, &svc);
    venue_page(&viewer, StatusCode::OK, None, &VenueForm::default(), None)
}

fn venue_outcome(viewer: &Viewer, venue: Option<&Venue>, form: &VenueForm, outcome: Result<Venue, ServiceError>, done: &str) -> Response {
    match outcome {
        Ok(_) => see_other(&format!("/manage/venues?done={done}"), None),
        Err(ServiceError::Invalid(errors)) => venue_page(viewer, StatusCode::UNPROCESSABLE_ENTITY, venue, form, Some(&errors)),
        Err(err) => failed(&err),
    }
}

/// `POST /manage/venues/new`
#[handler]
pub async fn create_venue(req: &Request, svc: Data<&Services>, Form(form): Form<VenueForm>) -> Response {
    let viewer = viewer!(req, &svc);
    check_csrf!(req, &svc, &form.csrf);
    let outcome = match form.parse() {
        Ok(new) => venues::create(&svc, &viewer.actor, new).await,
        Err(errors) => Err(ServiceError::Invalid(errors)),
    };
    venue_outcome(&viewer, None, &form, outcome, "created")
}

async fn venue_of(svc: &Services, id: &str) -> Result<Venue, Response> {
    let Ok(id) = Uuid::parse_str(id) else { return Err(not_found()) };
    venues::get(svc, id).await.map_err(|err| failed(&err))
}

/// `GET /manage/venues/{id}`
#[handler]
pub async fn edit_venue(req: &Request, svc: Data<&Services>, Path(id): Path<String>) -> Response {
    let viewer = viewer!(req, &svc);
    match venue_of(&svc, &id).await {
        Ok(venue) => venue_page(&viewer, StatusCode::OK, Some(&venue), &VenueForm::of(&venue), None),
        Err(response) => response,
    }
}

/// `POST /manage/venues/{id}`
#[handler]
pub async fn update_venue(req: &Request, svc: Data<&Services>, Path(id): Path<String>, Form(form): Form<VenueForm>) -> Response {
    let viewer = viewer!(req, &svc);
    check_csrf!(req, &svc, &form.csrf);
    let venue = match venue_of(&svc, &id).await {
        Ok(venue) => venue,
        Err(response) => return response,
    };
    let outcome = match form.parse() {
        Ok(new) => venues::update(&svc, &viewer.actor, venue.id, VenueChanges::from(new)).await,
        Err(errors) => Err(ServiceError::Invalid(errors)),
    };
    venue_outcome(&viewer, Some(&venue), &form, outcome, "saved")
}
