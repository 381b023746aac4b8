//! `/manage/engagements`: school engagements, planned from a school's page with the employers
//! linked with it, changed, and, once held, what each achieved (pupils reached and the four
//! criteria of a meaningful encounter). The school's own users record outcomes through the same
//! form in their portal.

use poem::http::StatusCode;
use poem::web::{Data, Form, Path, Query};
use poem::{Request, Response, handler};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::events::{EventForm, summary};
use super::{check_csrf, event_of, event_row, viewer};
use crate::domain::{Activity, EventKind, LinkStatus, Meaningful, Validation, ValidationErrors};
use crate::service::engagements::{self, EngagementPlan, Outcome, activity_label, rules};
use crate::service::events::{self, Event, EventChanges, EventFilter};
use crate::service::school_links::{self, LinkFilter};
use crate::service::schools::{self, School};
use crate::service::{PageRequest, ServiceError, Services, venues};
use crate::web::pages::{errors_by_field, failed, not_found};
use crate::web::session::{Viewer, see_other};

const PER_PAGE: u64 = 50;
/// The year groups a form offers: secondary school and sixth form.
const YEAR_GROUPS: std::ops::RangeInclusive<i32> = 7..=13;

#[derive(Deserialize)]
pub struct ListQuery {
    page: Option<u64>,
}

/// `GET /manage/engagements`: every school engagement, soonest first.
#[handler]
pub async fn list(req: &Request, svc: Data<&Services>, Query(q): Query<ListQuery>) -> Response {
    let viewer = viewer!(req, &svc);
    let page_no = q.page.unwrap_or(1).clamp(1, 10_000);
    let filter = EventFilter { kind: Some(EventKind::SchoolEngagement), ..EventFilter::default() };
    let found =
        match events::list(&svc, Some(&viewer.actor), filter, PageRequest { limit: PER_PAGE, offset: (page_no - 1) * PER_PAGE }).await {
            Ok(found) => found,
            Err(err) => return failed(&err),
        };
    let mut rows = Vec::with_capacity(found.items.len());
    let mut names: std::collections::HashMap<Uuid, String> = std::collections::HashMap::new();
    for event in &found.items {
        let school = match event.school_id {
            Some(id) if !names.contains_key(&id) => {
                let name = schools::get(&svc, &viewer.actor, id).await.map(|s| s.name).unwrap_or_default();
                names.insert(id, name.clone());
                name
            }
            Some(id) => names.get(&id).cloned().unwrap_or_default(),
            None => String::new(),
        };
        let mut row = event_row(event);
        if let Value::Object(map) = &mut row {
            map.insert("school".into(), json!(school));
            map.insert("activity".into(), json!(event.engagement.as_ref().map(|e| activity_label(e.activity))));
            map.insert("recorded".into(), json!(event.engagement.as_ref().is_some_and(|e| e.outcome.is_some())));
        }
        rows.push(row);
    }
    let pages = found.total.div_ceil(PER_PAGE).max(1);
    let link = |n: u64| format!("/manage/engagements?page={n}");
    let context = json!({
        "engagements": rows, "total": found.total, "page": page_no, "pages": pages,
        "previous": (page_no > 1).then(|| link(page_no - 1)), "next": (page_no < pages).then(|| link(page_no + 1)),
    });
    viewer.render(StatusCode::OK, "manage/engagements.html", context, "schools")
}

/// The plan form as typed: the event's own fields and the engagement's. Repeated fields
/// (employers, year groups) are lists, so the form is read from its pairs.
#[derive(Deserialize, Serialize, Default)]
pub struct EngagementForm {
    #[serde(flatten)]
    event: EventForm,
    #[serde(default)]
    activity: String,
    #[serde(default)]
    year_groups: Vec<String>,
    #[serde(default)]
    employer_ids: Vec<String>,
    #[serde(default)]
    expected_pupils: String,
    #[serde(default)]
    supervised: String,
    #[serde(default)]
    risk_assessment_ref: String,
}

impl EngagementForm {
    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut map = Map::new();
        for (key, value) in pairs {
            if key == "year_groups" || key == "employer_ids" {
                if let Value::Array(values) = map.entry(key).or_insert_with(|| Value::Array(Vec::new())) {
                    values.push(Value::String(value));
                }
            } else {
                map.insert(key, Value::String(value));
            }
        }
        serde_json::from_value(Value::Object(map)).unwrap_or_default()
    }

    fn of(event: &Event) -> Self {
        let part = event.engagement.as_ref();
        EngagementForm {
            event: EventForm::of(event),
            activity: part.map(|p| p.activity.as_str().to_owned()).unwrap_or_default(),
            year_groups: part.map(|p| p.year_groups.iter().map(i32::to_string).collect()).unwrap_or_default(),
            employer_ids: event.employer_ids().iter().map(Uuid::to_string).collect(),
            expected_pupils: part.and_then(|p| p.expected_pupils).map(|n| n.to_string()).unwrap_or_default(),
            supervised: match part.and_then(|p| p.supervised) {
                Some(true) => "yes".into(),
                Some(false) => "no".into(),
                None => String::new(),
            },
            risk_assessment_ref: part.and_then(|p| p.risk_assessment_ref.clone()).unwrap_or_default(),
        }
    }

    /// The engagement the form plans with `school_id`, by the API's rules.
    fn parse(&mut self, school_id: Uuid) -> Result<events::NewEvent, ValidationErrors> {
        self.event.kind = EventKind::SchoolEngagement.as_str().to_owned();
        let mut v = Validation::new();
        let blank = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        let employer_ids = listed(&mut v, "employer_ids", &self.employer_ids, "choose at least one employer", |s| {
            Uuid::parse_str(s).map_err(|_| String::from("is not one of the choices"))
        })
        .and_then(|ids| v.check("employer_ids", rules::employer_ids(ids)));
        let activity = match blank(&self.activity) {
            Some(s) => v.check("activity", rules::activity(&s)),
            None => {
                v.fail("activity", "choose what the employers will do");
                None
            }
        };
        let year_groups = listed(&mut v, "year_groups", &self.year_groups, "choose at least one year group", |s| {
            s.parse::<i64>().map_err(|_| String::from("year groups are 7 to 13"))
        })
        .and_then(|groups| v.check("year_groups", rules::year_groups(groups)));
        let expected_pupils = match blank(&self.expected_pupils) {
            Some(s) => match s.parse::<i64>() {
                Ok(n) => v.check("expected_pupils", rules::expected_pupils(n)),
                Err(_) => {
                    v.fail("expected_pupils", "must be a whole number");
                    None
                }
            },
            None => {
                v.fail("expected_pupils", "say how many pupils are expected");
                None
            }
        };
        let supervised = match self.supervised.as_str() {
            "yes" => Some(true),
            "no" => Some(false),
            _ => {
                v.fail("supervised", "say whether school staff supervise the visitors throughout");
                None
            }
        };
        let risk_assessment_ref = match blank(&self.risk_assessment_ref) {
            Some(s) => v.check("risk_assessment_ref", rules::reference(&s)).map(Some),
            None => Some(None),
        };
        let plan = EngagementPlan { employer_ids, activity, year_groups, expected_pupils, supervised, risk_assessment_ref };
        self.event.parse_with(Some(school_id), plan, v)
    }
}

/// The values of a repeated field, each read by `read`; none is `empty`'s problem.
fn listed<T>(v: &mut Validation, field: &str, values: &[String], empty: &str, read: impl Fn(&str) -> Result<T, String>) -> Option<Vec<T>> {
    if values.is_empty() {
        v.fail(field, empty);
        return None;
    }
    v.check(field, values.iter().map(|s| read(s.trim())).collect::<Result<Vec<_>, _>>())
}

const LABELS: &[(&str, &str)] = &[
    ("title", "Title"),
    ("activity", "What the employers will do"),
    ("employer_ids", "Employers taking part"),
    ("year_groups", "Year groups"),
    ("expected_pupils", "Pupils expected"),
    ("description", "Description"),
    ("venue_id", "Venue"),
    ("online_url", "Online address"),
    ("timezone", "Time zone"),
    ("starts_at", "Starts"),
    ("ends_at", "Ends"),
    ("supervised", "Supervision"),
    ("risk_assessment_ref", "Risk-assessment reference"),
    ("school_id", "School"),
];

fn activities() -> Vec<Value> {
    Activity::ALL.iter().map(|a| json!({"value": a.as_str(), "label": activity_label(*a)})).collect()
}

async fn form_page(
    svc: &Services,
    viewer: &Viewer,
    status: StatusCode,
    school: &School,
    event: Option<&Event>,
    form: &EngagementForm,
    errors: Option<&ValidationErrors>,
) -> Response {
    let filter = LinkFilter { school_id: Some(school.id), status: Some(LinkStatus::Active), ..LinkFilter::default() };
    let all = PageRequest { limit: 200, offset: 0 };
    let (links, venues) = match (school_links::list(svc, &viewer.actor, filter, all).await, venues::list(svc, all).await) {
        (Ok(l), Ok(v)) => (l.items, v.items),
        (Err(err), _) | (_, Err(err)) => return failed(&err),
    };
    let errors = errors.map(errors_by_field).unwrap_or_default();
    let chosen = |among: &[String], value: &str| among.iter().any(|s| s == value);
    let context = json!({
        "school": {"id": school.id, "name": school.name},
        "event": event.map(|e| json!({"id": e.id, "title": e.title})),
        "values": form, "errors": errors, "summary": summary(&errors, LABELS),
        "activities": activities(),
        "employers": links.iter().map(|l| {
            let id = l.link.employer_id.to_string();
            json!({"value": id, "label": l.employer_name, "checked": chosen(&form.employer_ids, &id)})
        }).collect::<Vec<_>>(),
        "year_groups": YEAR_GROUPS.map(|n| {
            let value = n.to_string();
            json!({"value": value, "label": format!("Year {n}"), "checked": chosen(&form.year_groups, &value)})
        }).collect::<Vec<_>>(),
        "venues": venues.iter().map(|v| json!({"value": v.id, "label": format!("{}, {}", v.name, v.postcode)})).collect::<Vec<_>>(),
    });
    viewer.render(status, "manage/engagement_form.html", context, "schools")
}

async fn school_of(svc: &Services, viewer: &Viewer, id: Uuid) -> Result<School, Response> {
    schools::get(svc, &viewer.actor, id).await.map_err(|err| failed(&err))
}

/// `GET /manage/schools/{id}/engagements/new`
#[handler]
pub async fn new_form(req: &Request, svc: Data<&Services>, Path(id): Path<String>) -> Response {
    let viewer = viewer!(req, &svc);
    let Ok(id) = Uuid::parse_str(&id) else { return not_found() };
    let school = match school_of(&svc, &viewer, id).await {
        Ok(school) => school,
        Err(response) => return response,
    };
    let mut form = EngagementForm::default();
    form.event.timezone = "Europe/London".into();
    form_page(&svc, &viewer, StatusCode::OK, &school, None, &form, None).await
}

/// `POST /manage/schools/{id}/engagements/new`
#[handler]
pub async fn create(req: &Request, svc: Data<&Services>, Path(id): Path<String>, Form(pairs): Form<Vec<(String, String)>>) -> Response {
    let viewer = viewer!(req, &svc);
    let mut form = EngagementForm::from_pairs(pairs);
    check_csrf!(req, &svc, &form.event.csrf);
    let Ok(id) = Uuid::parse_str(&id) else { return not_found() };
    let school = match school_of(&svc, &viewer, id).await {
        Ok(school) => school,
        Err(response) => return response,
    };
    let outcome = match form.parse(school.id) {
        Ok(new) => events::create(&svc, &viewer.actor, new).await,
        Err(errors) => Err(ServiceError::Invalid(errors)),
    };
    match outcome {
        Ok(event) => see_other(&format!("/manage/events/{}?done=planned", event.id), None),
        Err(ServiceError::Invalid(errors)) => {
            form_page(&svc, &viewer, StatusCode::UNPROCESSABLE_ENTITY, &school, None, &form, Some(&errors)).await
        }
        Err(err) => failed(&err),
    }
}

/// The engagement `id` names with its school; any other event is not found here.
async fn engagement_of(svc: &Services, viewer: &Viewer, id: &str) -> Result<(Event, School), Response> {
    let event = event_of(svc, viewer, id).await?;
    let Some(school_id) = event.school_id.filter(|_| event.kind == EventKind::SchoolEngagement) else { return Err(not_found()) };
    let school = school_of(svc, viewer, school_id).await?;
    Ok((event, school))
}

/// `GET /manage/engagements/{id}/edit`
#[handler]
pub async fn edit_form(req: &Request, svc: Data<&Services>, Path(id): Path<String>) -> Response {
    let viewer = viewer!(req, &svc);
    let (event, school) = match engagement_of(&svc, &viewer, &id).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    form_page(&svc, &viewer, StatusCode::OK, &school, Some(&event), &EngagementForm::of(&event), None).await
}

/// `POST /manage/engagements/{id}/edit`
#[handler]
pub async fn update(req: &Request, svc: Data<&Services>, Path(id): Path<String>, Form(pairs): Form<Vec<(String, String)>>) -> Response {
    let viewer = viewer!(req, &svc);
    let mut form = EngagementForm::from_pairs(pairs);
    check_csrf!(req, &svc, &form.event.csrf);
    let (event, school) = match engagement_of(&svc, &viewer, &id).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let outcome = match form.parse(school.id) {
        Ok(new) => events::update(&svc, &viewer.actor, event.id, EventChanges::from(new)).await,
        Err(errors) => Err(ServiceError::Invalid(errors)),
    };
    match outcome {
        Ok(event) => see_other(&format!("/manage/events/{}?done=saved", event.id), None),
        Err(ServiceError::Invalid(errors)) => {
            form_page(&svc, &viewer, StatusCode::UNPROCESSABLE_ENTITY, &school, Some(&event), &form, Some(&errors)).await
        }
        Err(err) => super::events::after(&svc, &viewer, event.id, Err(err)).await,
    }
}

/// What a held engagement achieved, as typed.
#[derive(Deserialize, Serialize, Default, Clone)]
pub struct OutcomeForm {
    #[serde(default, skip_serializing)]
    csrf: String,
    #[serde(default)]
    pupils_reached: String,
    #[serde(default)]
    purpose_briefed: Option<String>,
    #[serde(default)]
    learning_outcomes: Option<String>,
    #[serde(default)]
    two_way_interaction: Option<String>,
    #[serde(default)]
    reflection: Option<String>,
    #[serde(default)]
    notes: String,
}

impl OutcomeForm {
    pub(crate) fn csrf(&self) -> &str {
        &self.csrf
    }

    /// The form as the engagement's recorded outcome fills it.
    pub(crate) fn of(event: &Event) -> Self {
        let Some(outcome) = event.engagement.as_ref().and_then(|e| e.outcome.clone()) else { return Self::default() };
        let ticked = |b: bool| b.then(|| "yes".to_owned());
        let m = outcome.meaningful;
        OutcomeForm {
            csrf: String::new(),
            pupils_reached: outcome.pupils_reached.to_string(),
            purpose_briefed: ticked(m.purpose_briefed),
            learning_outcomes: ticked(m.learning_outcomes),
            two_way_interaction: ticked(m.two_way_interaction),
            reflection: ticked(m.reflection),
            notes: outcome.notes.clone().unwrap_or_default(),
        }
    }

    pub(crate) fn parse(&self) -> Result<Outcome, ValidationErrors> {
        let mut v = Validation::new();
        let pupils = match self.pupils_reached.trim().parse::<i64>() {
            Ok(n) => v.check("pupils_reached", rules::pupils_reached(n)),
            Err(_) if self.pupils_reached.trim().is_empty() => {
                v.fail("pupils_reached", "say how many pupils took part");
                None
            }
            Err(_) => {
                v.fail("pupils_reached", "must be a whole number");
                None
            }
        };
        let notes = match self.notes.trim() {
            "" => None,
            s => v.check("notes", rules::notes(s)),
        };
        v.finish()?;
        let ticked = |b: &Option<String>| b.is_some();
        Ok(Outcome {
            pupils_reached: pupils.unwrap_or_default(),
            meaningful: Meaningful {
                purpose_briefed: ticked(&self.purpose_briefed),
                learning_outcomes: ticked(&self.learning_outcomes),
                two_way_interaction: ticked(&self.two_way_interaction),
                reflection: ticked(&self.reflection),
            },
            notes,
        })
    }
}

/// What a page shows of an engagement: its school, plan and outcome, and the outcome form.
pub(crate) async fn engagement_context(
    svc: &Services,
    viewer: &Viewer,
    event: &Event,
    form: Option<&OutcomeForm>,
    errors: Option<&ValidationErrors>,
) -> Option<Value> {
    let part = event.engagement.as_ref()?;
    let school = match event.school_id {
        Some(id) => schools::get(svc, &viewer.actor, id).await.ok(),
        None => None,
    };
    let employers = engagements::taking_part(svc, &viewer.actor, event.id).await.unwrap_or_default();
    let held = event.starts_at <= svc.clock.now()
        && matches!(event.status, crate::domain::EventStatus::Published | crate::domain::EventStatus::Completed);
    let errors = errors.map(errors_by_field).unwrap_or_default();
    let values = form.map_or_else(|| OutcomeForm::of(event), OutcomeForm::clone);
    Some(json!({
        "school": school.as_ref().map(|s| json!({"id": s.id, "name": s.name})),
        "activity": activity_label(part.activity),
        "year_groups": part.year_groups.iter().map(|n| format!("Year {n}")).collect::<Vec<_>>().join(", "),
        "expected": part.expected_pupils, "supervised": part.supervised, "reference": part.risk_assessment_ref,
        "employers": employers,
        "outcome": part.outcome.as_ref().map(|o| json!({
            "pupils": o.pupils_reached, "purpose_briefed": o.meaningful.purpose_briefed,
            "learning_outcomes": o.meaningful.learning_outcomes, "two_way_interaction": o.meaningful.two_way_interaction,
            "reflection": o.meaningful.reflection, "meaningful": o.meaningful.is_met(), "notes": o.notes,
        })),
        "held": held, "values": values, "errors": errors,
        "summary": summary(&errors, &[("pupils_reached", "Pupils who took part"), ("notes", "Notes")]),
    }))
}

/// `POST /manage/engagements/{id}/outcome`
#[handler]
pub async fn record_outcome(req: &Request, svc: Data<&Services>, Path(id): Path<String>, Form(form): Form<OutcomeForm>) -> Response {
    let viewer = viewer!(req, &svc);
    check_csrf!(req, &svc, &form.csrf);
    let (event, _) = match engagement_of(&svc, &viewer, &id).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let outcome = match form.parse() {
        Ok(outcome) => engagements::record_outcome(&svc, &viewer.actor, event.id, outcome).await,
        Err(errors) => Err(ServiceError::Invalid(errors)),
    };
    match outcome {
        Ok(event) => see_other(&format!("/manage/events/{}?done=recorded#outcome", event.id), None),
        Err(ServiceError::Invalid(errors)) => super::events::show_with_outcome(&svc, &viewer, &event, &form, &errors).await,
        Err(err) => super::events::after(&svc, &viewer, event.id, Err(err)).await,
    }
}
