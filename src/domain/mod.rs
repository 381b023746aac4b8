//! Domain values and rules. Outside data becomes one of these types at the edge; an invalid value
//! cannot exist past its constructor. Nothing here knows about HTTP or the database.

mod email;
mod event;
pub mod geo;
mod message;
mod organisation;
mod postcode;
mod registration;
mod text;
mod ticket;
mod validation;
mod when;

pub use email::EmailAddress;
pub use event::{EventKind, EventStatus, Schedule, check_year};
pub use message::{Answer, MessageKind, MessageStatus};
pub use organisation::{Activity, CqcLocationId, EmployerStatus, ExhibitorStatus, LinkStatus, Meaningful, ProviderType, Urn, year_group};
pub use postcode::Postcode;
pub use registration::{Phone, RegistrationStatus};
pub use text::{ADDRESS_MAX, DESCRIPTION_MAX, NAME_MAX, Slug, Text, TimeZone, Url, natural_key, parse_enum};
pub use ticket::TicketCode;
pub use validation::{CAPACITY_MAX, FieldError, Validation, ValidationErrors, int_in};
pub use when::{describe_span, local_instant};

use uuid::Uuid;

/// What a signed-in user may act as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    Organiser,
    Employer,
    School,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Organiser, Role::Employer, Role::School];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Organiser => "organiser",
            Role::Employer => "employer",
            Role::School => "school",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        parse_enum(s, &Self::ALL, |r| r.as_str())
    }
}

/// The signed-in user on whose behalf a use case runs.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Uuid,
    pub role: Role,
    pub employer_id: Option<Uuid>,
    pub school_id: Option<Uuid>,
}

impl Actor {
    /// The council's own tools acting on its behalf (the CLI's imports, the demo set): an
    /// admin who is no user.
    pub fn system() -> Self {
        Self { user_id: Uuid::nil(), role: Role::Admin, employer_id: None, school_id: None }
    }

    /// Admins can do everything an organiser can.
    pub fn is_organiser(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Organiser)
    }
}

/// A campaign objective: the workforce strategy's three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    RecruitmentRetention,
    TrainingDevelopment,
    MarketCapacity,
}

impl Objective {
    pub const ALL: [Objective; 3] = [Objective::RecruitmentRetention, Objective::TrainingDevelopment, Objective::MarketCapacity];

    pub fn as_str(self) -> &'static str {
        match self {
            Objective::RecruitmentRetention => "recruitment_retention",
            Objective::TrainingDevelopment => "training_development",
            Objective::MarketCapacity => "market_capacity",
        }
    }

    /// As the workforce strategy words it.
    pub fn label(self) -> &'static str {
        match self {
            Objective::RecruitmentRetention => "Recruitment and retention",
            Objective::TrainingDevelopment => "Training and development",
            Objective::MarketCapacity => "Market capacity",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        parse_enum(s, &Self::ALL, |o| o.as_str())
    }
}

/// A new identifier: UUID v7, so ids sort by creation time.
pub fn new_id() -> Uuid {
    Uuid::now_v7()
}
