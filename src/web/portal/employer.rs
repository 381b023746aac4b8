//! The employer portal (`/employer`, SPEC §5a): a care employer's users see what needs doing,
//! keep their profile, invite colleagues, book stands at fairs, ask schools for links (nearest
//! first), see the engagements they take part in, and subscribe to their calendar. What needs
//! approval the services refuse to a pending or suspended employer; the pages say why.

use std::collections::HashMap;

use poem::http::StatusCode;
use poem::web::{Data, Form, Path};
use poem::{Request, Response, handler};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{flash_of, portal_viewer};
use crate::domain::{EmployerStatus, EventKind, ExhibitorStatus, LinkStatus, ValidationErrors};
use crate::service::accounts;
use crate::service::employers::{self, Employer, EmployerChanges, EmployerInput, NewEmployer};
use crate::service::events::{self, EventFilter};
use crate::service::exhibitors::{self, NewStand, StandDecision};
use crate::service::policy::Area;
use crate::service::school_links::{self, LinkFilter};
use crate::service::{PageRequest, ServiceError, Services, suggestions, users};
use crate::web::manage::check_csrf;
use crate::web::manage::events::{capitalise, summary};
use crate::web::manage::schools::InviteForm;
use crate::web::pages::{CsrfOnly, errors_by_field, failed, not_found, provider_types, when};
use crate::web::session::{Viewer, see_other};

const SUGGESTIONS: usize = 10;

/// The signed-in employer user's own employer.
async fn own(svc: &Services, viewer: &Viewer) -> Result<Employer, Response> {
    let Some(id) = viewer.actor.employer_id else { return Err(not_found()) };
    employers::get(svc, &viewer.actor, id).await.map_err(|err| failed(&err))
}

macro_rules! employer_of {
    ($svc:expr, $viewer:expr) => {
        match own($svc, $viewer).await {
            Ok(employer) => employer,
            Err(response) => return response,
        }
    };
}

fn status_of(employer: &Employer) -> Value {
    json!({"name": employer.name, "status": employer.status.as_str(), "approved": employer.status == EmployerStatus::Approved})
}

fn flash(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "saved" => "Your changes are saved.",
        "invited" => "The invitation is on its way: they get a mail to choose their password.",
        "booked" => "Your stand is requested. The workforce team will confirm it and give you a stand label.",
        "withdrawn" => "Your stand is withdrawn.",
        "asked" => "Your request is sent to the school.",
        _ => return None,
    })
}

/// What a page shows of each of the employer's stands: its fair and where it stands.
async fn stands(svc: &Services, viewer: &Viewer, employer: &Employer) -> Result<Vec<Value>, ServiceError> {
    let mut rows = Vec::new();
    for x in exhibitors::of_employer(svc, &viewer.actor, employer.id).await? {
        let Ok(fair) = events::get(svc, Some(&viewer.actor), x.event_id).await else { continue };
        rows.push(json!({
            "id": x.id, "event_id": fair.id, "fair": fair.title, "when": when(&fair), "status": x.status.as_str(),
            "label": x.stand_label, "staff": x.staff_count, "roles": x.roles_offered,
            "live": matches!(x.status, ExhibitorStatus::Requested | ExhibitorStatus::Confirmed) && fair.ends_at > svc.clock.now(),
        }));
    }
    Ok(rows)
}

async fn links(svc: &Services, viewer: &Viewer, employer: &Employer) -> Result<Vec<Value>, ServiceError> {
    let filter = LinkFilter { employer_id: Some(employer.id), ..LinkFilter::default() };
    let found = school_links::views(svc, &viewer.actor, filter).await?;
    Ok(found
        .iter()
        .map(|v| {
            json!({
                "school": v.school.name, "status": v.link.status.as_str(), "notes": v.link.notes,
                "distance": v.distance_km.map(|d| format!("{d:.1}")),
                "contact": v.contact.as_ref().map(|(name, email)| json!({"name": name, "email": email})),
                "active": v.link.status == LinkStatus::Active,
            })
        })
        .collect())
}

async fn engagements(svc: &Services, viewer: &Viewer) -> Result<Vec<Value>, ServiceError> {
    let filter = EventFilter { kind: Some(EventKind::SchoolEngagement), ..EventFilter::default() };
    let found = events::list(svc, Some(&viewer.actor), filter, PageRequest { limit: 100, offset: 0 }).await?;
    Ok(found
        .items
        .iter()
        .map(|e| {
            let part = e.engagement.as_ref();
            json!({
                "title": e.title, "when": when(e), "past": e.ends_at <= svc.clock.now(),
                "activity": part.map(|p| crate::service::engagements::activity_label(p.activity)),
                "year_groups": part.map(|p| p.year_groups.iter().map(|n| format!("Year {n}")).collect::<Vec<_>>().join(", ")),
            })
        })
        .collect())
}

/// `GET /employer`: the employer's status and what needs doing.
#[handler]
pub async fn home(req: &Request, svc: Data<&Services>) -> Response {
    let viewer = portal_viewer!(req, &svc, Area::Employer);
    let employer = employer_of!(&svc, &viewer);
    let (stands, links, engagements) =
        match (stands(&svc, &viewer, &employer).await, links(&svc, &viewer, &employer).await, engagements(&svc, &viewer).await) {
            (Ok(s), Ok(l), Ok(e)) => (s, l, e),
            (Err(err), _, _) | (_, Err(err), _) | (_, _, Err(err)) => return failed(&err),
        };
    let context = json!({
        "organisation": status_of(&employer), "name": viewer.user.name, "placed": employer.latitude.is_some(),
        "stands": stands, "links": links, "engagements": engagements,
    });
    viewer.render(StatusCode::OK, "employer/home.html", context, "home")
}

/// The profile form as typed.
#[derive(Deserialize, Serialize, Default)]
pub struct ProfileForm {
    #[serde(default, skip_serializing)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    provider_type: String,
    #[serde(default)]
    cqc_location_id: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    postcode: String,
    #[serde(default)]
    website: String,
    #[serde(default)]
    contact_name: String,
    #[serde(default)]
    contact_email: String,
}

impl ProfileForm {
    fn of(e: &Employer) -> Self {
        ProfileForm {
            csrf: String::new(),
            name: e.name.clone(),
            provider_type: e.provider_type.as_str().to_owned(),
            cqc_location_id: e.cqc_location_id.clone().unwrap_or_default(),
            address: e.address.clone(),
            postcode: e.postcode.clone(),
            website: e.website.clone().unwrap_or_default(),
            contact_name: e.contact_name.clone(),
            contact_email: e.contact_email.clone(),
        }
    }

    /// The whole profile, checked by the API's rules; the position is the postcode's (organisers
    /// alone may set one by hand).
    fn parse(&self) -> Result<EmployerChanges, ValidationErrors> {
        let optional = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        let new = NewEmployer::parse(EmployerInput {
            name: self.name.clone(),
            provider_type: self.provider_type.clone(),
            cqc_location_id: optional(&self.cqc_location_id),
            address: self.address.clone(),
            postcode: self.postcode.clone(),
            latitude: None,
            longitude: None,
            website: optional(&self.website),
            contact_name: self.contact_name.clone(),
            contact_email: self.contact_email.clone(),
        })?;
        Ok(EmployerChanges {
            name: Some(new.name),
            provider_type: Some(new.provider_type),
            cqc_location_id: Some(new.cqc_location_id),
            address: Some(new.address),
            postcode: Some(new.postcode),
            latitude: None,
            longitude: None,
            website: Some(new.website),
            contact_name: Some(new.contact_name),
            contact_email: Some(new.contact_email),
        })
    }
}

const PROFILE_LABELS: &[(&str, &str)] = &[
    ("name", "Organisation name"),
    ("provider_type", "Kind of care"),
    ("cqc_location_id", "CQC location id"),
    ("address", "Address"),
    ("postcode", "Postcode"),
    ("website", "Website"),
    ("contact_name", "Contact name"),
    ("contact_email", "Contact email"),
];

fn profile_page(
    viewer: &Viewer,
    employer: &Employer,
    code: StatusCode,
    form: &ProfileForm,
    errors: Option<&ValidationErrors>,
    done: Option<&str>,
) -> Response {
    let errors = errors.map(errors_by_field).unwrap_or_default();
    let context = json!({
        "organisation": status_of(employer), "placed": employer.latitude.is_some(),
        "values": form, "errors": errors, "summary": summary(&errors, PROFILE_LABELS),
        "provider_types": provider_types(&form.provider_type), "flash": flash(done),
    });
    viewer.render(code, "employer/profile.html", context, "profile")
}

/// `GET /employer/profile`
#[handler]
pub async fn profile(req: &Request, svc: Data<&Services>) -> Response {
    let viewer = portal_viewer!(req, &svc, Area::Employer);
    let employer = employer_of!(&svc, &viewer);
    profile_page(&viewer, &employer, StatusCode::OK, &ProfileForm::of(&employer), None, flash_of(req).as_deref())
}

/// `POST /employer/profile`
#[handler]
pub async fn save_profile(req: &Request, svc: Data<&Services>, Form(form): Form<ProfileForm>) -> Response {
    let viewer = portal_viewer!(req, &svc, Area::Employer);
    check_csrf!(req, &svc, &form.csrf);
    let employer = employer_of!(&svc, &viewer);
    let outcome = match form.parse() {
        Ok(changes) => employers::update(&svc, &viewer.actor, employer.id, changes).await,
        Err(errors) => Err(ServiceError::Invalid(errors)),
    };
    match outcome {
        Ok(_) => see_other("/employer/profile?done=saved", None),
        Err(ServiceError::Invalid(errors)) => {
            profile_page(&viewer, &employer, StatusCode::UNPROCESSABLE_ENTITY, &form, Some(&errors), None)
        }
        Err(err) => failed(&err),
    }
}

async fn users_page(
    svc: &Services,
    viewer: &Viewer,
    employer: &Employer,
    code: StatusCode,
    form: &InviteForm,
    errors: Option<&ValidationErrors>,
    done: Option<&str>,
) -> Response {
    let colleagues = match users::colleagues(svc, &viewer.actor).await {
        Ok(found) => found,
        Err(err) => return failed(&err),
    };
    let errors = errors.map(errors_by_field).unwrap_or_default();
    let context = json!({
        "organisation": status_of(employer),
        "users": colleagues.iter().map(|u| json!({"name": u.name, "email": u.email, "active": u.active, "you": u.id == viewer.user.id})).collect::<Vec<_>>(),
        "values": form, "errors": errors, "summary": summary(&errors, &[("name", "Name"), ("email", "Email address")]),
        "flash": flash(done),
    });
    viewer.render(code, "employer/users.html", context, "users")
}

/// `GET /employer/users`
#[handler]
pub async fn users_list(req: &Request, svc: Data<&Services>) -> Response {
    let viewer = portal_viewer!(req, &svc, Area::Employer);
    let employer = employer_of!(&svc, &viewer);
    users_page(&svc, &viewer, &employer, StatusCode::OK, &InviteForm::default(), None, flash_of(req).as_deref()).await
}

/// `POST /employer/users`: invites a colleague of the same employer.
#[handler]
pub async fn invite(req: &Request, svc: Data<&Services>, Form(form): Form<InviteForm>) -> Response {
    let viewer = portal_viewer!(req, &svc, Area::Employer);
    check_csrf!(req, &svc, &form.csrf);
    let employer = employer_of!(&svc, &viewer);
    let outcome = accounts::invite_colleague(&svc, &viewer.actor, &form.email, &form.name).await.map(|_| ());
    match outcome {
        Ok(()) => see_other("/employer/users?done=invited", None),
        Err(ServiceError::Invalid(errors)) => {
            users_page(&svc, &viewer, &employer, StatusCode::UNPROCESSABLE_ENTITY, &form, Some(&errors), None).await
        }
        Err(err @ ServiceError::AlreadyExists(_)) => {
            let errors = ValidationErrors(vec![crate::domain::FieldError { field: "email".into(), message: err.to_string() }]);
            users_page(&svc, &viewer, &employer, StatusCode::CONFLICT, &form, Some(&errors), None).await
        }
        Err(err) => failed(&err),
    }
}

/// A stand booking as typed.
#[derive(Deserialize, Serialize, Default, Clone)]
pub struct StandForm {
    #[serde(default, skip_serializing)]
    csrf: String,
    #[serde(default)]
    staff_count: String,
    #[serde(default)]
    roles_offered: String,
}

impl StandForm {
    /// Roles are typed one a line or separated by commas.
    fn parse(&self, employer_id: Uuid) -> Result<NewStand, ValidationErrors> {
        let staff = match self.staff_count.trim().parse::<i64>() {
            Ok(n) => n,
            Err(_) => {
                let message = if self.staff_count.trim().is_empty() { "say how many staff will come" } else { "must be a whole number" };
                return Err(ValidationErrors(vec![crate::domain::FieldError { field: "staff_count".into(), message: message.into() }]));
            }
        };
        let roles: Vec<String> =
            self.roles_offered.split([',', '\n']).map(str::trim).filter(|r| !r.is_empty()).map(str::to_owned).collect();
        NewStand::parse(employer_id, staff, &roles)
    }
}

async fn stands_page(
    svc: &Services,
    viewer: &Viewer,
    employer: &Employer,
    code: StatusCode,
    typed: Option<(Uuid, &StandForm, &ValidationErrors)>,
    problem: Option<String>,
    done: Option<&str>,
) -> Response {
    let filter = EventFilter { kind: Some(EventKind::RecruitmentFair), from: Some(svc.clock.now()), ..EventFilter::default() };
    let (fairs, held) = match (
        events::list(svc, Some(&viewer.actor), filter, PageRequest { limit: 100, offset: 0 }).await,
        stands(svc, viewer, employer).await,
    ) {
        (Ok(f), Ok(h)) => (f.items, h),
        (Err(err), _) | (_, Err(err)) => return failed(&err),
    };
    let by_fair: HashMap<String, &Value> = held.iter().filter_map(|s| Some((s["event_id"].as_str()?.to_owned(), s))).collect();
    let rows: Vec<Value> = fairs
        .iter()
        .map(|fair| {
            let stand = by_fair.get(&fair.id.to_string()).copied();
            let bookable = stand.is_none_or(|s| s["status"] == "withdrawn");
            let (values, errors) = match typed {
                Some((id, form, errors)) if id == fair.id => (json!(form), json!(errors_by_field(errors))),
                _ => (json!({}), json!({})),
            };
            json!({"id": fair.id, "title": fair.title, "when": when(fair), "stand": stand, "bookable": bookable, "values": values, "errors": errors})
        })
        .collect();
    let summary = typed.map(|(id, _, errors)| {
        let by_field = errors_by_field(errors);
        summary(&by_field, &[("staff_count", "Staff coming"), ("roles_offered", "Roles you are recruiting for")])
            .into_iter()
            .map(|mut item| {
                item["field"] = json!(format!("{}-{id}", item["field"].as_str().unwrap_or("")));
                item
            })
            .collect::<Vec<_>>()
    });
    let context = json!({
        "organisation": status_of(employer), "fairs": rows, "stands": held,
        "summary": summary.unwrap_or_default(), "problem": problem, "flash": flash(done),
    });
    viewer.render(code, "employer/stands.html", context, "stands")
}

/// `GET /employer/stands`: upcoming fairs, each with this employer's stand or a booking form.
#[handler]
pub async fn stands_list(req: &Request, svc: Data<&Services>) -> Response {
    let viewer = portal_viewer!(req, &svc, Area::Employer);
    let employer = employer_of!(&svc, &viewer);
    stands_page(&svc, &viewer, &employer, StatusCode::OK, None, None, flash_of(req).as_deref()).await
}

/// `POST /employer/stands/{event_id}`: books a stand.
#[handler]
pub async fn book(req: &Request, svc: Data<&Services>, Path(id): Path<String>, Form(form): Form<StandForm>) -> Response {
    let viewer = portal_viewer!(req, &svc, Area::Employer);
    check_csrf!(req, &svc, &form.csrf);
    let employer = employer_of!(&svc, &viewer);
    let Ok(event_id) = Uuid::parse_str(&id) else { return not_found() };
    let outcome = match form.parse(employer.id) {
        Ok(stand) => exhibitors::book(&svc, &viewer.actor, event_id, stand).await.map(|_| ()),
        Err(errors) => Err(ServiceError::Invalid(errors)),
    };
    match outcome {
        Ok(()) => see_other("/employer/stands?done=booked", None),
        Err(ServiceError::Invalid(errors)) => {
            stands_page(&svc, &viewer, &employer, StatusCode::UNPROCESSABLE_ENTITY, Some((event_id, &form, &errors)), None, None).await
        }
        Err(err @ (ServiceError::Conflict(_) | ServiceError::Closed(_))) => {
            stands_page(&svc, &viewer, &employer, StatusCode::CONFLICT, None, Some(capitalise(&err.to_string())), None).await
        }
        Err(err) => failed(&err),
    }
}

/// `POST /employer/stands/{event_id}/{xid}/withdraw`
#[handler]
pub async fn withdraw(
    req: &Request,
    svc: Data<&Services>,
    Path((id, xid)): Path<(String, String)>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    let viewer = portal_viewer!(req, &svc, Area::Employer);
    check_csrf!(req, &svc, &form.csrf);
    let employer = employer_of!(&svc, &viewer);
    let (Ok(event_id), Ok(xid)) = (Uuid::parse_str(&id), Uuid::parse_str(&xid)) else { return not_found() };
    match exhibitors::decide(&svc, &viewer.actor, event_id, xid, StandDecision::Withdraw).await {
        Ok(_) => see_other("/employer/stands?done=withdrawn", None),
        Err(err @ ServiceError::Conflict(_)) => {
            stands_page(&svc, &viewer, &employer, StatusCode::CONFLICT, None, Some(capitalise(&err.to_string())), None).await
        }
        Err(err) => failed(&err),
    }
}

async fn schools_page(
    svc: &Services,
    viewer: &Viewer,
    employer: &Employer,
    code: StatusCode,
    problem: Option<String>,
    done: Option<&str>,
) -> Response {
    let held = match links(svc, viewer, employer).await {
        Ok(held) => held,
        Err(err) => return failed(&err),
    };
    // Suggestions are for approved employers with a position; the page says which is missing.
    let (suggested, why_none) = match suggestions::suggest(svc, &viewer.actor, employer.id, SUGGESTIONS).await {
        Ok(found) => (found, None),
        Err(ServiceError::Conflict(reason)) => (Vec::new(), Some(capitalise(&reason))),
        Err(err) => return failed(&err),
    };
    let context = json!({
        "organisation": status_of(employer), "links": held, "problem": problem, "flash": flash(done), "why_none": why_none,
        "suggestions": suggested.iter().map(|s| json!({
            "id": s.school.id, "name": s.school.name, "postcode": s.school.postcode, "district": s.school.district,
            "distance": format!("{:.1}", s.distance_km), "active_links": s.active_links,
        })).collect::<Vec<_>>(),
    });
    viewer.render(code, "employer/schools.html", context, "schools")
}

/// `GET /employer/schools`: suggestions nearest first and the employer's link requests.
#[handler]
pub async fn schools(req: &Request, svc: Data<&Services>) -> Response {
    let viewer = portal_viewer!(req, &svc, Area::Employer);
    let employer = employer_of!(&svc, &viewer);
    schools_page(&svc, &viewer, &employer, StatusCode::OK, None, flash_of(req).as_deref()).await
}

#[derive(Deserialize)]
pub struct AskForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    notes: String,
}

/// `POST /employer/schools/{school_id}/ask`: asks the school for a link.
#[handler]
pub async fn ask(req: &Request, svc: Data<&Services>, Path(id): Path<String>, Form(form): Form<AskForm>) -> Response {
    let viewer = portal_viewer!(req, &svc, Area::Employer);
    check_csrf!(req, &svc, &form.csrf);
    let employer = employer_of!(&svc, &viewer);
    let Ok(school_id) = Uuid::parse_str(&id) else { return not_found() };
    let outcome = match Some(form.notes.trim()).filter(|n| !n.is_empty()).map(school_links::notes).transpose() {
        Ok(notes) => school_links::request(&svc, &viewer.actor, employer.id, school_id, notes).await.map(|_| ()),
        Err(message) => Err(ServiceError::invalid("notes", message)),
    };
    match outcome {
        Ok(()) => see_other("/employer/schools?done=asked", None),
        Err(err @ (ServiceError::Conflict(_) | ServiceError::Invalid(_) | ServiceError::AlreadyExists(_))) => {
            let problem = match &err {
                ServiceError::Invalid(errors) => {
                    errors.0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ")
                }
                other => other.to_string(),
            };
            schools_page(&svc, &viewer, &employer, StatusCode::CONFLICT, Some(capitalise(&problem)), None).await
        }
        Err(err) => failed(&err),
    }
}

/// `GET /employer/engagements`
#[handler]
pub async fn engagements_list(req: &Request, svc: Data<&Services>) -> Response {
    let viewer = portal_viewer!(req, &svc, Area::Employer);
    let employer = employer_of!(&svc, &viewer);
    match engagements(&svc, &viewer).await {
        Ok(rows) => viewer.render(
            StatusCode::OK,
            "employer/engagements.html",
            json!({"organisation": status_of(&employer), "engagements": rows}),
            "engagements",
        ),
        Err(err) => failed(&err),
    }
}

fn calendar_page(viewer: &Viewer, employer: &Employer, address: Option<String>) -> Response {
    let webcal = address.as_deref().map(|a| a.replacen("https://", "webcal://", 1).replacen("http://", "webcal://", 1));
    let context = json!({"organisation": status_of(employer), "has_feed": employer.has_feed || address.is_some(), "address": address, "webcal": webcal});
    viewer.render(StatusCode::OK, "employer/calendar.html", context, "calendar")
}

/// `GET /employer/calendar`: the feed's address is shown once, when it is made.
#[handler]
pub async fn calendar(req: &Request, svc: Data<&Services>) -> Response {
    let viewer = portal_viewer!(req, &svc, Area::Employer);
    let employer = employer_of!(&svc, &viewer);
    calendar_page(&viewer, &employer, None)
}

/// `POST /employer/calendar`: a new address, which stops the old one working.
#[handler]
pub async fn new_calendar(req: &Request, svc: Data<&Services>, Form(form): Form<CsrfOnly>) -> Response {
    let viewer = portal_viewer!(req, &svc, Area::Employer);
    check_csrf!(req, &svc, &form.csrf);
    let employer = employer_of!(&svc, &viewer);
    match employers::new_feed(&svc, &viewer.actor, employer.id).await {
        Ok(address) => calendar_page(&viewer, &employer, Some(address)),
        Err(err) => failed(&err),
    }
}
