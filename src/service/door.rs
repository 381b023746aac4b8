//! The door of an event: checking tickets in by their code (or a registration from the list),
//! undoing a mistake, registering walk-ins, and the door links that let volunteers without
//! accounts do exactly these things at one event and nothing else.
//!
//! A check-in is one conditional UPDATE of the registration: two doors scanning the same
//! ticket at once are one check-in and one "already checked in", on either database and from
//! any number of processes. A walk-in takes a place, so it locks the event's row first, as
//! capacity does.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    TransactionTrait,
};
use uuid::Uuid;

use super::auth::{self, hash_token, new_token};
use super::outbox::{self, MessageKind};
use super::registrar::store_counters;
use super::registrations::{CHECK_IN_MARGIN_HOURS, Registration, check_in_window, manage_url};
use super::{ServiceError, ServiceResult, Services};
use crate::domain::{Actor, EmailAddress, EventStatus, Phone, RegistrationStatus, Text, TicketCode, Validation, ValidationErrors, new_id};
use crate::store::entity::{candidate, door_link, event, registration, registration_token};

/// Who is at the door: a signed-in organiser, or the holder of one event's door link.
#[derive(Debug, Clone)]
pub enum Doorkeeper {
    Staff { actor: Actor, name: String },
    Link(DoorLink),
}

impl Doorkeeper {
    pub fn staff(actor: &Actor, name: &str) -> Self {
        Doorkeeper::Staff { actor: actor.clone(), name: name.to_owned() }
    }

    /// What each check-in records as its door: the link's label, or the organiser's name.
    fn door(&self) -> &str {
        match self {
            Doorkeeper::Staff { name, .. } => name,
            Doorkeeper::Link(link) => &link.label,
        }
    }

    /// The organiser behind this keeper, if it is one.
    pub fn actor(&self) -> Option<&Actor> {
        match self {
            Doorkeeper::Staff { actor, .. } => Some(actor),
            Doorkeeper::Link(_) => None,
        }
    }
}

/// A door link as the use cases hand it out; its token is shown once, when it is made.
#[derive(Debug, Clone, PartialEq)]
pub struct DoorLink {
    pub id: Uuid,
    pub event_id: Uuid,
    pub label: String,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

impl From<door_link::Model> for DoorLink {
    fn from(m: door_link::Model) -> Self {
        Self { id: m.id, event_id: m.event_id, label: m.label, expires_at: m.expires_at, created_at: m.created_at }
    }
}

/// A new door link with its secret, which is stored only as a hash.
#[derive(Debug, Clone)]
pub struct NewDoorLink {
    pub link: DoorLink,
    pub token: String,
    pub url: String,
}

/// The longest label of a door.
pub const LABEL_MAX: usize = 60;

/// Whether `keeper` may work the door of `event_id`: organisers at any event; a door link at
/// its own only (another event's is refused, not hidden: the volunteer has the wrong link).
fn may_keep(keeper: &Doorkeeper, event_id: Uuid) -> ServiceResult<()> {
    match keeper {
        Doorkeeper::Staff { actor, .. } => super::policy::organiser(actor),
        Doorkeeper::Link(link) if link.event_id == event_id => Ok(()),
        Doorkeeper::Link(_) => Err(ServiceError::Forbidden),
    }
}

/// The keeper a bearer token stands for: a user's session or API token (an organiser), or a
/// live door link. Anything else is not signed in.
pub async fn keeper_of_token(svc: &Services, token: &str) -> ServiceResult<Doorkeeper> {
    match auth::authenticate(svc, token).await {
        Ok((actor, user)) => return Ok(Doorkeeper::staff(&actor, &user.name)),
        Err(ServiceError::Unauthorized) => {}
        Err(err) => return Err(err),
    }
    link_of_token(svc, token).await.map(Doorkeeper::Link)
}

/// The live door link whose secret is `token`.
pub async fn link_of_token(svc: &Services, token: &str) -> ServiceResult<DoorLink> {
    let found = door_link::Entity::find()
        .filter(door_link::Column::TokenHash.eq(hash_token(token)))
        .filter(door_link::Column::ExpiresAt.gt(svc.clock.now()))
        .one(&svc.db.read)
        .await?;
    found.map(DoorLink::from).ok_or(ServiceError::Unauthorized)
}

/// How many have arrived of those holding a place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    pub arrived: u64,
    pub expected: u64,
}

/// The answer at the door.
#[derive(Debug, Clone)]
pub struct CheckedIn {
    pub registration: Registration,
    pub name: String,
    /// Checked in before this scan: `registration.checked_in_at` and `checked_in_by` say when
    /// and where.
    pub already: bool,
    pub counts: Counts,
}

/// Which registration: a ticket's code, as scanned or typed, or its id from a list.
#[derive(Debug, Clone)]
pub enum Ticket {
    Code(String),
    Id(Uuid),
}

async fn counts_in<C: sea_orm::ConnectionTrait>(db: &C, event: &event::Model) -> ServiceResult<Counts> {
    let arrived = registration::Entity::find()
        .filter(registration::Column::EventId.eq(event.id))
        .filter(registration::Column::Status.eq(RegistrationStatus::Attended.as_str()))
        .count(db)
        .await?;
    // Attended people still hold their place in the counters.
    Ok(Counts { arrived, expected: u64::try_from(event.confirmed_count).unwrap_or(0) })
}

/// Arrived and expected at `event_id`, for the door page's figures.
pub async fn counts(svc: &Services, keeper: &Doorkeeper, event_id: Uuid) -> ServiceResult<Counts> {
    may_keep(keeper, event_id)?;
    let event = event::Entity::find_by_id(event_id).one(&svc.db.read).await?.ok_or(ServiceError::NotFound)?;
    counts_in(&svc.db.read, &event).await
}

/// Opens a walk-in's transaction (the caller has asked [`may_keep`]): the event's row is locked
/// and its check-in window is open. A walk-in takes a place, so it holds the event's row as
/// capacity does.
async fn open_door(svc: &Services, event_id: Uuid) -> ServiceResult<(DatabaseTransaction, event::Model)> {
    let txn = svc.db.write.begin().await?;
    let event = event::Entity::find_by_id(event_id).lock_exclusive().one(&txn).await?.ok_or(ServiceError::NotFound)?;
    door_open(&event, svc)?;
    Ok((txn, event))
}

fn door_open(event: &event::Model, svc: &Services) -> ServiceResult<()> {
    if event.status == EventStatus::Cancelled {
        return Err(ServiceError::conflict("the event was cancelled"));
    }
    check_in_window(event, svc.clock.now())
}

/// The event, if the keeper may work its door and the door is open now (nothing locked).
async fn at_the_door(svc: &Services, keeper: &Doorkeeper, event_id: Uuid) -> ServiceResult<event::Model> {
    may_keep(keeper, event_id)?;
    let event = event::Entity::find_by_id(event_id).one(&svc.db.read).await?.ok_or(ServiceError::NotFound)?;
    door_open(&event, svc)?;
    Ok(event)
}

async fn find_ticket<C: sea_orm::ConnectionTrait>(db: &C, event_id: Uuid, ticket: &Ticket) -> ServiceResult<registration::Model> {
    let query = registration::Entity::find().filter(registration::Column::EventId.eq(event_id));
    let query = match ticket {
        Ticket::Id(id) => query.filter(registration::Column::Id.eq(*id)),
        Ticket::Code(typed) => {
            let code = TicketCode::parse(typed)
                .ok_or_else(|| ServiceError::invalid("code", "must be the 10 letters and digits printed under the ticket's QR code"))?;
            query.filter(registration::Column::TicketCode.eq(code.as_str()))
        }
    };
    query.one(db).await?.ok_or(ServiceError::NotFound)
}

async fn name_of<C: sea_orm::ConnectionTrait>(db: &C, r: &registration::Model) -> ServiceResult<String> {
    Ok(candidate::Entity::find_by_id(r.candidate_id).one(db).await?.map(|c| c.name).unwrap_or_default())
}

/// Moves `id` from one of the statuses `from` to `to` in one conditional UPDATE: whichever of
/// several doors gets there first changes it, the others change nothing. Whether it changed.
async fn change_status(
    svc: &Services,
    id: Uuid,
    from: &[RegistrationStatus],
    to: RegistrationStatus,
    checked_in: Option<(DateTime<Utc>, &str)>,
) -> ServiceResult<bool> {
    use sea_orm::sea_query::Expr;
    let changed = registration::Entity::update_many()
        .col_expr(registration::Column::Status, Expr::value(to.as_str()))
        .col_expr(registration::Column::CheckedInAt, Expr::value(checked_in.map(|(at, _)| at)))
        .col_expr(registration::Column::CheckedInBy, Expr::value(checked_in.map(|(_, by)| by.to_owned())))
        .col_expr(registration::Column::UpdatedAt, Expr::value(svc.clock.now()))
        .filter(registration::Column::Id.eq(id))
        .filter(registration::Column::Status.is_in(from.iter().map(|s| s.as_str())))
        .exec(&svc.db.write)
        .await?
        .rows_affected;
    Ok(changed == 1)
}

/// Checks a ticket in. Already checked in is an answer, not an error; a cancelled or
/// waitlisted registration is a 409 naming its status; a code of no ticket of this event, 404.
///
/// No lock is held: the change is one conditional UPDATE (confirmed or no-show → attended), so
/// two doors scanning one ticket at once are one check-in and one "already checked in", on
/// either database and from any number of processes, and doors never wait for each other.
#[tracing::instrument(skip_all, fields(event_id = %event_id))]
pub async fn check_in(svc: &Services, keeper: &Doorkeeper, event_id: Uuid, ticket: Ticket) -> ServiceResult<CheckedIn> {
    // A door link checks tickets in; someone found by name in the list is an organiser's.
    if matches!((keeper, &ticket), (Doorkeeper::Link(_), Ticket::Id(_))) {
        return Err(ServiceError::Forbidden);
    }
    let event = at_the_door(svc, keeper, event_id).await?;
    let mut current = find_ticket(&svc.db.read, event_id, &ticket).await?;
    let name = name_of(&svc.db.read, &current).await?;
    let mut already = true;
    if matches!(current.status, RegistrationStatus::Confirmed | RegistrationStatus::NoShow) {
        let now = svc.clock.now();
        let from = [RegistrationStatus::Confirmed, RegistrationStatus::NoShow];
        already = !change_status(svc, current.id, &from, RegistrationStatus::Attended, Some((now, keeper.door()))).await?;
        // Changed here, or by another door (or a cancellation) a moment before: read it as it is.
        current = find_ticket(&svc.db.read, event_id, &Ticket::Id(current.id)).await?;
    }
    match current.status {
        RegistrationStatus::Attended => {}
        RegistrationStatus::Cancelled => return Err(ServiceError::conflict("this registration is cancelled")),
        RegistrationStatus::Waitlisted => return Err(ServiceError::conflict("this person is on the waiting list, not confirmed")),
        RegistrationStatus::Offered => {
            return Err(ServiceError::conflict(
                "this person was offered a place and has not claimed it yet: the link in their mail claims it",
            ));
        }
        RegistrationStatus::Confirmed | RegistrationStatus::NoShow => {
            return Err(ServiceError::conflict("this registration changed; scan it again"));
        }
    }
    let counts = counts_in(&svc.db.read, &event).await?;
    Ok(CheckedIn { registration: current.into(), name, already, counts })
}

/// Undoes a check-in made by mistake: the person holds a confirmed place again. A registration
/// that is not checked in is left as it is.
#[tracing::instrument(skip_all, fields(event_id = %event_id, registration_id = %registration_id))]
pub async fn undo(svc: &Services, keeper: &Doorkeeper, event_id: Uuid, registration_id: Uuid) -> ServiceResult<CheckedIn> {
    let event = at_the_door(svc, keeper, event_id).await?;
    let current = find_ticket(&svc.db.read, event_id, &Ticket::Id(registration_id)).await?;
    let name = name_of(&svc.db.read, &current).await?;
    change_status(svc, current.id, &[RegistrationStatus::Attended], RegistrationStatus::Confirmed, None).await?;
    let registration = find_ticket(&svc.db.read, event_id, &Ticket::Id(current.id)).await?;
    let counts = counts_in(&svc.db.read, &event).await?;
    Ok(CheckedIn { registration: registration.into(), name, already: false, counts })
}

/// Someone who turns up without a place, as typed at the door.
#[derive(Debug, Clone, Default)]
pub struct WalkInInput {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub consent_marketing: bool,
}

struct WalkIn {
    name: Text,
    email: Option<EmailAddress>,
    phone: Option<Phone>,
    consent_marketing: bool,
}

impl WalkIn {
    fn parse(input: WalkInInput) -> Result<Self, ValidationErrors> {
        let mut v = Validation::new();
        let name = v.check("name", Text::person_name(&input.name));
        let email = v.check_opt("email", input.email.filter(|e| !e.trim().is_empty()), |e| EmailAddress::parse(&e));
        let phone = v.check_opt("phone", input.phone.filter(|p| !p.trim().is_empty()), |p| Phone::parse(&p));
        let (Some(name), Some(email), Some(phone)) = (name, email, phone) else { return Err(v.into_errors()) };
        v.finish()?;
        Ok(Self { name, email, phone, consent_marketing: input.consent_marketing })
    }
}

/// Where a walk-in who gives no email is kept: an address of the reserved `.invalid` domain
/// (RFC 2606), unique to them, to which no mail is ever sent.
const NO_EMAIL_DOMAIN: &str = "walk-in.invalid";

/// Whether `email` is a walk-in's stand-in for an address they did not give.
pub fn is_stand_in(email: &str) -> bool {
    email.strip_suffix(NO_EMAIL_DOMAIN).is_some_and(|rest| rest.ends_with('@'))
}

/// A candidate's email as lists and exports show it: none for a walk-in who gave none.
pub fn shown_email(email: &str) -> &str {
    if is_stand_in(email) { "" } else { email }
}

/// Registers someone at the door into a free place and checks them in at once; 409 when the
/// event is full. With an email they get the same confirmation (and ticket) as anyone.
#[tracing::instrument(skip_all, fields(event_id = %event_id))]
pub async fn walk_in(svc: &Services, keeper: &Doorkeeper, event_id: Uuid, input: WalkInInput) -> ServiceResult<CheckedIn> {
    may_keep(keeper, event_id)?;
    let person = WalkIn::parse(input)?;
    let (txn, mut event) = open_door(svc, event_id).await?;
    if event.status != EventStatus::Published && event.status != EventStatus::Completed {
        return Err(ServiceError::conflict("the event is not published"));
    }
    if event.capacity.is_some_and(|capacity| event.confirmed_count >= capacity) {
        return Err(ServiceError::conflict("the event is full: there is no free place for a walk-in"));
    }
    let now = svc.clock.now();
    let id = new_id();
    let email = match &person.email {
        Some(email) => email.as_str().to_owned(),
        None => format!("walk-in-{id}@{NO_EMAIL_DOMAIN}"),
    };
    let candidate_id = match candidate::Entity::find().filter(candidate::Column::Email.eq(&email)).one(&txn).await? {
        Some(existing) => {
            let live = registration::Entity::find()
                .filter(registration::Column::EventId.eq(event_id))
                .filter(registration::Column::CandidateId.eq(existing.id))
                .filter(registration::Column::Status.ne(RegistrationStatus::Cancelled.as_str()))
                .one(&txn)
                .await?;
            if live.is_some() {
                return Err(ServiceError::AlreadyRegistered);
            }
            existing.id
        }
        None => {
            candidate::ActiveModel {
                id: Set(new_id()),
                email: Set(email.clone()),
                name: Set(person.name.as_str().to_owned()),
                phone: Set(person.phone.as_ref().map(|p| p.as_str().to_owned())),
                postcode: Set(None),
                interests: Set(crate::store::Json(Vec::new())),
                consent_marketing: Set(person.consent_marketing),
                consent_at: Set(person.consent_marketing.then_some(now)),
                source: Set(Some("walk-in".to_owned())),
                erased_at: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(&txn)
            .await?
            .id
        }
    };
    let registration = registration::ActiveModel {
        id: Set(id),
        event_id: Set(event_id),
        candidate_id: Set(candidate_id),
        status: Set(RegistrationStatus::Attended),
        waitlist_seq: Set(None),
        checked_in_at: Set(Some(now)),
        checked_in_by: Set(Some(keeper.door().to_owned())),
        ticket_code: Set(TicketCode::generate().as_str().to_owned()),
        consent_share_with_employers: Set(false),
        offer_expires_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    if person.email.is_some() {
        let (token, token_hash) = new_token();
        registration_token::ActiveModel { token_hash: Set(token_hash), registration_id: Set(id), created_at: Set(now) }
            .insert(&txn)
            .await?;
        let payload =
            serde_json::json!({"registration_id": id, "event_id": event_id, "manage_url": manage_url(svc.settings.public_url(), &token)});
        outbox::Subjects::default()
            .message(svc.settings.public_url(), now, &email, MessageKind::RegistrationConfirmed, &event.title, payload)
            .insert(&txn)
            .await?;
    }
    event.confirmed_count += 1;
    store_counters(&txn, &event).await?;
    let counts = counts_in(&txn, &event).await?;
    txn.commit().await?;
    svc.mail_wake.notify_one();
    Ok(CheckedIn { registration: registration.into(), name: person.name.as_str().to_owned(), already: false, counts })
}

/// Makes a door link for `event_id`, labelled with its door; it works until the event's
/// check-in window closes.
#[tracing::instrument(skip_all, fields(event_id = %event_id))]
pub async fn create_link(svc: &Services, actor: &Actor, event_id: Uuid, label: &str) -> ServiceResult<NewDoorLink> {
    super::policy::organiser(actor)?;
    let label = Text::one_line(label, 1, LABEL_MAX).map_err(|m| ServiceError::invalid("label", m))?;
    let event = event::Entity::find_by_id(event_id).one(&svc.db.read).await?.ok_or(ServiceError::NotFound)?;
    if event.status == EventStatus::Cancelled {
        return Err(ServiceError::conflict("the event was cancelled"));
    }
    let now = svc.clock.now();
    let expires_at = event.ends_at + chrono::Duration::hours(CHECK_IN_MARGIN_HOURS);
    if expires_at <= now {
        return Err(ServiceError::conflict("the event's check-in has closed"));
    }
    let (token, token_hash) = new_token();
    let model = door_link::ActiveModel {
        id: Set(new_id()),
        event_id: Set(event_id),
        label: Set(label.as_str().to_owned()),
        token_hash: Set(token_hash),
        expires_at: Set(expires_at),
        created_at: Set(now),
    }
    .insert(&svc.db.write)
    .await?;
    let url = format!("{}/door/{token}", svc.settings.public_url());
    Ok(NewDoorLink { link: model.into(), token, url })
}

/// The door links of `event_id`, newest first, expired ones too (marked by their time).
pub async fn links(svc: &Services, actor: &Actor, event_id: Uuid) -> ServiceResult<Vec<DoorLink>> {
    super::policy::organiser(actor)?;
    event::Entity::find_by_id(event_id).one(&svc.db.read).await?.ok_or(ServiceError::NotFound)?;
    Ok(door_link::Entity::find()
        .filter(door_link::Column::EventId.eq(event_id))
        .order_by_desc(door_link::Column::CreatedAt)
        .all(&svc.db.read)
        .await?
        .into_iter()
        .map(DoorLink::from)
        .collect())
}

/// Ends a door link at once. Deleting one already gone is not found.
#[tracing::instrument(skip_all, fields(event_id = %event_id, link_id = %link_id))]
pub async fn delete_link(svc: &Services, actor: &Actor, event_id: Uuid, link_id: Uuid) -> ServiceResult<()> {
    super::policy::organiser(actor)?;
    let deleted = door_link::Entity::delete_many()
        .filter(door_link::Column::Id.eq(link_id))
        .filter(door_link::Column::EventId.eq(event_id))
        .exec(&svc.db.write)
        .await?
        .rows_affected;
    if deleted == 0 { Err(ServiceError::NotFound) } else { Ok(()) }
}

/// The event a door link's page is for.
pub async fn event_of(svc: &Services, keeper: &Doorkeeper, event_id: Uuid) -> ServiceResult<super::events::Event> {
    may_keep(keeper, event_id)?;
    event::Entity::find_by_id(event_id).one(&svc.db.read).await?.map(Into::into).ok_or(ServiceError::NotFound)
}
