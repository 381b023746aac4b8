//! `carefair demo`: a believable data set for trying the service, made through the same use
//! cases as the API so every rule holds. All names, addresses and people are made up; the towns
//! are Essex's. Loading twice changes nothing.

use chrono::{Datelike, Duration, NaiveTime, TimeZone as _};
use uuid::Uuid;

use super::auth::Password;
use super::engagements::EngagementPlan;
use super::events::NewEvent;
use super::exhibitors::NewStand;
use super::registrar::{Person, RegisterRequest};
use super::school_links::Decision;
use super::{ServiceError, ServiceResult, Services, campaigns, employers, events, exhibitors, school_links, schools, users, venues};
use crate::domain::{
    Activity, Actor, CqcLocationId, EmailAddress, EventKind, Objective, Postcode, ProviderType, Role, Schedule, Slug, Text, TimeZone, Urn,
};

/// Essex towns with a postcode and a position near their centre.
const TOWNS: [(&str, &str, f64, f64); 12] = [
    ("Chelmsford", "CM1 1JE", 51.7356, 0.4685),
    ("Colchester", "CO1 1FR", 51.8891, 0.9042),
    ("Basildon", "SS14 1DL", 51.5761, 0.4886),
    ("Southend-on-Sea", "SS1 1AA", 51.5459, 0.7077),
    ("Harlow", "CM20 1AB", 51.7727, 0.1023),
    ("Brentwood", "CM14 4AB", 51.6210, 0.3053),
    ("Braintree", "CM7 1AA", 51.8787, 0.5530),
    ("Clacton-on-Sea", "CO15 1AA", 51.7898, 1.1534),
    ("Witham", "CM8 2AA", 51.8007, 0.6396),
    ("Billericay", "CM12 9AA", 51.6280, 0.4190),
    ("Saffron Walden", "CB10 1AA", 52.0226, 0.2393),
    ("Maldon", "CM9 4AA", 51.7317, 0.6763),
];

const SCHOOL_NAMES: [&str; 12] = [
    "Chelmer Valley Academy",
    "Colne Park School",
    "Gloucester Park Academy",
    "Thames Estuary High School",
    "Stort Valley Academy",
    "Weald Hall School",
    "Blackwater Academy",
    "Tendring Coast High School",
    "Brain Valley School",
    "Mayflower Park Academy",
    "Audley End School",
    "Hythe Quay Academy",
];

/// Name patterns per provider type; `{}` is the town.
const EMPLOYER_NAMES: [(ProviderType, &str); 6] = [
    (ProviderType::Residential, "{} Lodge Residential Home"),
    (ProviderType::Nursing, "{} Park Nursing Home"),
    (ProviderType::HomeCare, "{} Home Care Services"),
    (ProviderType::SupportedLiving, "{} Supported Living"),
    (ProviderType::DayServices, "{} Day Opportunities"),
    (ProviderType::Other, "{} Shared Lives Scheme"),
];

const FIRST_NAMES: [&str; 10] = ["Amara", "Ben", "Chloe", "Dev", "Ellie", "Femi", "Grace", "Harry", "Isla", "Jas"];
const LAST_NAMES: [&str; 8] = ["Adeyemi", "Brown", "Clarke", "Davies", "Evans", "Khan", "Nowak", "Smith"];

fn text(s: &str) -> ServiceResult<Text> {
    Text::parse(s, 0, 2_000).map_err(|e| ServiceError::invalid("demo", e))
}

fn parsed<T>(r: Result<T, String>) -> ServiceResult<T> {
    r.map_err(|e| ServiceError::invalid("demo", e))
}

fn slug_of(name: &str) -> String {
    name.to_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect::<String>().replace("--", "-")
}

/// Loads the demo set and says what it made, with the organiser's sign-in.
pub async fn load(svc: &Services) -> ServiceResult<String> {
    if campaigns::get_by_slug(svc, "gift-of-care").await.is_ok() {
        return Ok("the demo data is already loaded".into());
    }
    let organiser = Actor { user_id: Uuid::nil(), role: Role::Organiser, employer_id: None, school_id: None };
    let today = svc.clock.now().date_naive();
    let campaign = campaigns::create(
        svc,
        &Actor::system(),
        campaigns::NewCampaign {
            slug: parsed(Slug::parse("gift-of-care"))?,
            name: text("Gift of Care")?,
            description: text(
                "Essex County Council's campaign to bring people into adult social care: fairs, talks in schools and training.",
            )?,
            starts_on: today,
            ends_on: today.with_year(today.year() + 1).unwrap_or(today + Duration::days(365)),
            objectives: Objective::ALL.to_vec(),
        },
    )
    .await?;

    let mut venue_ids = Vec::new();
    for (name, street, (town, postcode, lat, lon)) in [
        ("Civic Centre Hall", "Duke Street", TOWNS[0]),
        ("Community Stadium Suite", "United Way", TOWNS[1]),
        ("Sporting Village Arena", "Cranes Farm Road", TOWNS[2]),
        ("Cliffs Pavilion Rooms", "Station Road", TOWNS[3]),
    ] {
        let venue = venues::create(
            svc,
            &Actor::system(),
            venues::NewVenue {
                name: text(&format!("{town} {name}"))?,
                address: text(&format!("{street}, {town}"))?,
                postcode: parsed(Postcode::parse(postcode))?,
                latitude: Some(lat),
                longitude: Some(lon),
                capacity: Some(400),
                accessibility: Some(text("Step-free entrance, hearing loop, accessible toilets and parking.")?),
            },
        )
        .await?;
        venue_ids.push((venue.id, town));
    }

    let london = TimeZone::LONDON.tz();
    let at = |days: i64, hour: u32| {
        let day = today + Duration::days(days);
        london.from_local_datetime(&day.and_time(NaiveTime::from_hms_opt(hour, 0, 0).unwrap_or_default())).single().map(|t| t.to_utc())
    };
    let mut fairs = Vec::new();
    for (i, (venue_id, town)) in venue_ids.iter().enumerate() {
        let days = 30 + 15 * i as i64;
        let (Some(starts), Some(ends)) = (at(days, 10), at(days, 15)) else { continue };
        let event = events::create(
            svc,
            &Actor::system(),
            NewEvent {
                kind: EventKind::RecruitmentFair,
                title: text(&format!("{town} care jobs fair"))?,
                description: text(
                    "Meet care employers from across Essex, hear about training and find a job that matters. No experience needed.",
                )?,
                campaign_id: Some(campaign.id),
                venue_id: Some(*venue_id),
                online_url: None,
                schedule: parsed(Schedule::new(starts, ends, None, None).map_err(|(_, e)| e))?,
                timezone: TimeZone::LONDON,
                capacity: Some(300),
                school_id: None,
                max_exhibitors: Some(30),
                offer_hours: Some(48),
                engagement: EngagementPlan::default(),
            },
        )
        .await?;
        fairs.push(events::publish(svc, &Actor::system(), event.id).await?);
    }

    let mut school_ids = Vec::new();
    for (i, ((town, postcode, lat, lon), name)) in TOWNS.iter().zip(SCHOOL_NAMES).enumerate() {
        let school = schools::create(
            svc,
            &Actor::system(),
            schools::NewSchool {
                urn: parsed(Urn::parse(&format!("99{:04}", i + 1)))?,
                name: text(name)?,
                address: text(&format!("School Lane, {town}"))?,
                postcode: parsed(Postcode::parse(postcode))?,
                latitude: Some(lat + 0.01),
                longitude: Some(lon - 0.01),
                district: Some(text(town)?),
                careers_leader_name: Some(text(&format!("{} {}", FIRST_NAMES[i % 10], LAST_NAMES[i % 8]))?),
                careers_leader_email: Some(parsed(EmailAddress::parse(&format!("careers@{}.example", slug_of(name))))?),
            },
        )
        .await?;
        school_ids.push(school.id);
    }

    let mut employer_ids = Vec::new();
    for (t, (provider_type, pattern)) in EMPLOYER_NAMES.iter().enumerate() {
        for (i, (town, postcode, lat, lon)) in TOWNS.iter().enumerate() {
            let name = pattern.replace("{}", town);
            let employer = employers::create(
                svc,
                &Actor::system(),
                employers::NewEmployer {
                    name: text(&name)?,
                    provider_type: *provider_type,
                    cqc_location_id: Some(parsed(CqcLocationId::parse(&format!("1-9{:02}{:07}", t, i)))?),
                    address: text(&format!("{} High Street, {town}", 10 + i))?,
                    postcode: parsed(Postcode::parse(postcode))?,
                    latitude: Some(lat - 0.005 * t as f64),
                    longitude: Some(lon + 0.005 * t as f64),
                    website: None,
                    contact_name: text(&format!("{} {}", FIRST_NAMES[(i + t) % 10], LAST_NAMES[(i + 2 * t) % 8]))?,
                    contact_email: parsed(EmailAddress::parse(&format!("recruitment@{}.example", slug_of(&name))))?,
                },
            )
            .await?;
            employer_ids.push(employer.id);
        }
    }

    // The first two employers of each kind are linked with their nearest school.
    let mut linked = Vec::new();
    for t in 0..EMPLOYER_NAMES.len() {
        for i in 0..2 {
            let employer_id = employer_ids[t * TOWNS.len() + i];
            let school_id = school_ids[i];
            let link =
                school_links::request(svc, &organiser, employer_id, school_id, Some(text("Careers talks and workplace visits")?)).await?;
            school_links::decide(svc, &organiser, link.link.id, Decision::Accept).await?;
            linked.push((employer_id, school_id));
        }
    }

    // Stands at the first fair, confirmed A1, A2, ….
    if let Some(fair) = fairs.first() {
        for (n, employer_id) in employer_ids.iter().step_by(7).take(10).enumerate() {
            let stand = NewStand {
                employer_id: *employer_id,
                staff_count: 2,
                roles_offered: vec![text("Care assistant")?, text("Senior carer")?, text("Night carer")?],
            };
            let booked = exhibitors::book(svc, &organiser, fair.id, stand).await?;
            exhibitors::confirm(
                svc,
                &Actor::system(),
                fair.id,
                booked.exhibitor.id,
                parsed(Text::one_line(&format!("A{}", n + 1), 1, 20))?,
            )
            .await?;
        }
        for n in 0..40 {
            let first = FIRST_NAMES[n % 10];
            let last = LAST_NAMES[(n / 10 + n) % 8];
            let person = Person {
                name: text(&format!("{first} {last}"))?,
                email: parsed(EmailAddress::parse(&format!("{}.{}{n}@example.org", first.to_lowercase(), last.to_lowercase())))?,
                phone: None,
                postcode: None,
                interests: vec!["care_assistant".into()],
                consent_marketing: n % 3 == 0,
                source: Some(text("demo")?),
            };
            svc.registrar
                .register(RegisterRequest {
                    event_id: fair.id,
                    person,
                    idempotency: None,
                    given: Default::default(),
                    consent_share_with_employers: false,
                })
                .await?;
        }
    }

    // A careers talk at the first school with the employers linked to it.
    let school_id = school_ids[0];
    let with: Vec<Uuid> = linked.iter().filter(|(_, s)| *s == school_id).map(|(e, _)| *e).take(2).collect();
    if let (Some(starts), Some(ends)) = (at(21, 9), at(21, 11)) {
        let talk = events::create(
            svc,
            &Actor::system(),
            NewEvent {
                kind: EventKind::SchoolEngagement,
                title: text("Careers in care: talk for Year 10")?,
                description: text("Two local care employers talk about their work and answer pupils' questions.")?,
                campaign_id: Some(campaign.id),
                venue_id: None,
                online_url: None,
                schedule: parsed(Schedule::new(starts, ends, None, None).map_err(|(_, e)| e))?,
                timezone: TimeZone::LONDON,
                capacity: None,
                school_id: Some(school_id),
                max_exhibitors: None,
                offer_hours: None,
                engagement: EngagementPlan {
                    employer_ids: Some(with),
                    activity: Some(Activity::CareersTalk),
                    year_groups: Some(vec![10]),
                    expected_pupils: Some(60),
                    supervised: Some(true),
                    risk_assessment_ref: Some(Some(text("RA-2027-014")?)),
                },
            },
        )
        .await?;
        events::publish(svc, &Actor::system(), talk.id).await?;
    }

    let password: String = hex::encode(rand::random::<[u8; 9]>());
    let email = "organiser@gift-of-care.example";
    let sign_in = match users::create(
        svc,
        &Actor::system(),
        users::NewUser {
            email: parsed(EmailAddress::parse(email))?,
            name: "Demo organiser".into(),
            role: Role::Organiser,
            employer_id: None,
            school_id: None,
            password: parsed(Password::parse(&password))?,
        },
    )
    .await
    {
        Ok(_) => format!("sign in as {email} with password {password}"),
        Err(ServiceError::Conflict(_)) => format!("{email} already exists; its password is unchanged"),
        Err(err) => return Err(err),
    };
    Ok(format!(
        "loaded the Gift of Care campaign: {} fairs, {} schools, {} employers, {} school links, 10 stands, 40 registrations, 1 school engagement; {sign_in}",
        fairs.len(),
        school_ids.len(),
        employer_ids.len(),
        linked.len()
    ))
}
