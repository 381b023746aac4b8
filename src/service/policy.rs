//! Who may do what: the one place a use case asks before it acts. The faces (API, pages, CLI)
//! make no role decisions; they pass the caller on as an [`Actor`].

use uuid::Uuid;

use super::{ServiceError, ServiceResult};
use crate::domain::{Actor, Role};

/// Organisers and admins: the council's staff, who run campaigns, events and the records.
pub fn organiser(actor: &Actor) -> ServiceResult<()> {
    if actor.is_organiser() { Ok(()) } else { Err(ServiceError::Forbidden) }
}

/// Admins only: users and the mail outbox.
pub fn admin(actor: &Actor) -> ServiceResult<()> {
    if actor.role == Role::Admin { Ok(()) } else { Err(ServiceError::Forbidden) }
}

/// Employer records: organisers reach every one, an employer's users their own (another's id is
/// not found, as if it did not exist), and other roles none.
pub fn employer(actor: &Actor, id: Uuid) -> ServiceResult<()> {
    match actor.role {
        Role::Admin | Role::Organiser => Ok(()),
        Role::Employer if actor.employer_id == Some(id) => Ok(()),
        Role::Employer => Err(ServiceError::NotFound),
        Role::School => Err(ServiceError::Forbidden),
    }
}

/// School records: organisers reach every one, a school's users their own, and other roles none.
pub fn school(actor: &Actor, id: Uuid) -> ServiceResult<()> {
    match actor.role {
        Role::Admin | Role::Organiser => Ok(()),
        Role::School if actor.school_id == Some(id) => Ok(()),
        Role::School => Err(ServiceError::NotFound),
        Role::Employer => Err(ServiceError::Forbidden),
    }
}

/// Who may invite a user of `role` (for `employer_id`, when an employer's): admins anyone;
/// organisers the employers' and schools' users; an employer's users their own colleagues.
pub fn invite(actor: &Actor, role: Role, employer_id: Option<Uuid>) -> ServiceResult<()> {
    match (actor.role, role) {
        (Role::Admin, _) | (Role::Organiser, Role::Employer | Role::School) => Ok(()),
        (Role::Employer, Role::Employer) if actor.employer_id.is_some() && actor.employer_id == employer_id => Ok(()),
        _ => Err(ServiceError::Forbidden),
    }
}

/// The role an admin can move a staff member to (admin and organiser swap); none for the users
/// of an employer or a school, who are invited again instead.
pub fn swapped_staff_role(role: Role) -> Option<Role> {
    match role {
        Role::Admin => Some(Role::Organiser),
        Role::Organiser => Some(Role::Admin),
        Role::Employer | Role::School => None,
    }
}

/// Whose records a list holds for its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listed {
    /// Every record (organisers).
    All,
    /// One employer's alone (its users).
    Employer(Uuid),
    /// One school's alone (its users).
    School(Uuid),
}

/// What `actor` may list of the employers and schools and the links between them: organisers
/// everything, an employer's or school's users their own organisation's. `of_employers` and
/// `of_schools` say which organisations' records the list is of; a role that may not list
/// them is refused.
pub fn listed(actor: &Actor, of_employers: bool, of_schools: bool) -> ServiceResult<Listed> {
    match actor.role {
        Role::Admin | Role::Organiser => Ok(Listed::All),
        Role::Employer if of_employers => actor.employer_id.map(Listed::Employer).ok_or(ServiceError::Forbidden),
        Role::School if of_schools => actor.school_id.map(Listed::School).ok_or(ServiceError::Forbidden),
        Role::Employer | Role::School => Err(ServiceError::Forbidden),
    }
}

/// The signed-in parts of the site, each for its own people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    /// The back office (`/manage`): organisers and admins.
    Manage,
    /// The employer portal (`/employer`): an employer's users.
    Employer,
    /// The school portal (`/school`): a school's users.
    School,
}

impl Area {
    /// Where the area starts.
    pub fn home(self) -> &'static str {
        match self {
            Area::Manage => "/manage",
            Area::Employer => "/employer",
            Area::School => "/school",
        }
    }

    /// The area a path belongs to, if it is in one.
    pub fn of_path(path: &str) -> Option<Area> {
        [Area::Manage, Area::Employer, Area::School]
            .into_iter()
            .find(|area| path == area.home() || path.strip_prefix(area.home()).is_some_and(|rest| rest.starts_with('/')))
    }
}

/// The area a signed-in user lands in.
pub fn home(actor: &Actor) -> Area {
    match actor.role {
        Role::Admin | Role::Organiser => Area::Manage,
        Role::Employer => Area::Employer,
        Role::School => Area::School,
    }
}

/// Whether `actor` may use `area`: another role's area does not exist for them (not found).
pub fn area(actor: &Actor, area: Area) -> ServiceResult<()> {
    if home(actor) == area { Ok(()) } else { Err(ServiceError::NotFound) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_has_one_area_and_no_other() {
        let organiser = actor(Role::Organiser, None, None);
        let employer = actor(Role::Employer, Some(Uuid::nil()), None);
        assert_eq!(home(&actor(Role::Admin, None, None)), Area::Manage);
        assert!(area(&organiser, Area::Manage).is_ok());
        assert!(matches!(area(&organiser, Area::Employer), Err(ServiceError::NotFound)));
        assert!(matches!(area(&employer, Area::Manage), Err(ServiceError::NotFound)));
        assert_eq!(Area::of_path("/manage/events"), Some(Area::Manage));
        assert_eq!(Area::of_path("/managed"), None);
        assert_eq!(Area::of_path("/school"), Some(Area::School));
    }

    fn actor(role: Role, employer_id: Option<Uuid>, school_id: Option<Uuid>) -> Actor {
        Actor { user_id: Uuid::nil(), role, employer_id, school_id }
    }

    #[test]
    fn each_role_gets_what_the_spec_gives() {
        let (e, s) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let an_admin = actor(Role::Admin, None, None);
        let an_organiser = actor(Role::Organiser, None, None);
        let employer_user = actor(Role::Employer, Some(e), None);
        let school_user = actor(Role::School, None, Some(s));
        assert!(organiser(&an_admin).is_ok() && organiser(&an_organiser).is_ok());
        assert!(matches!(organiser(&employer_user), Err(ServiceError::Forbidden)));
        assert!(admin(&an_admin).is_ok() && matches!(admin(&an_organiser), Err(ServiceError::Forbidden)));
        assert!(employer(&employer_user, e).is_ok() && matches!(employer(&employer_user, s), Err(ServiceError::NotFound)));
        assert!(matches!(employer(&school_user, e), Err(ServiceError::Forbidden)));
        assert!(school(&school_user, s).is_ok() && matches!(school(&school_user, e), Err(ServiceError::NotFound)));
        assert!(Actor::system().is_organiser());
        assert_eq!(listed(&an_organiser, true, false).ok(), Some(Listed::All));
        assert_eq!(listed(&employer_user, true, true).ok(), Some(Listed::Employer(e)));
        assert!(matches!(listed(&school_user, true, false), Err(ServiceError::Forbidden)));
        assert_eq!(listed(&school_user, true, true).ok(), Some(Listed::School(s)));
    }
}
