//! Pieces every resource shares: paging and the tags that group operations.

use poem_openapi::Tags;

use super::problem::ApiError;
use crate::service::PageRequest;

pub const DEFAULT_LIMIT: u64 = 50;
pub const MAX_LIMIT: u64 = 200;

#[derive(Tags)]
pub enum ApiTags {
    /// Signing in and out.
    Auth,
    /// Accounts (admins only).
    Users,
    /// Campaigns such as Gift of Care.
    Campaigns,
    /// Where events are held.
    Venues,
    /// Fairs, campaign events, school engagements, training and information sessions.
    Events,
    /// Candidates registering for events, and managing their place.
    Registrations,
    /// What is held about candidates (UK GDPR).
    Candidates,
    /// Inviting people to events, and their answers.
    Invitations,
    /// Mail waiting, sent and failed (admins only).
    Outbox,
    /// Care employers: signing up, approval, and schools to link with.
    Employers,
    /// Secondary schools.
    Schools,
    /// Links between care employers and schools.
    SchoolLinks,
    /// Employers' stands at recruitment fairs.
    Exhibitors,
    /// Figures for the workforce team.
    Reports,
}

/// `limit` (default 50, at most 200: larger values are capped) and `offset` (default 0).
pub fn page(limit: Option<i64>, offset: Option<i64>) -> Result<PageRequest, ApiError> {
    let limit = match limit {
        None => DEFAULT_LIMIT,
        Some(l) if l < 1 => return Err(ApiError::invalid_field("limit", "must be at least 1")),
        Some(l) => u64::try_from(l).unwrap_or(MAX_LIMIT).min(MAX_LIMIT),
    };
    let offset = match offset {
        None => 0,
        Some(o) => u64::try_from(o).map_err(|_| ApiError::invalid_field("offset", "must not be negative"))?,
    };
    Ok(PageRequest { limit, offset })
}

/// Defines the `{items, total, limit, offset}` list type for one kind of item.
macro_rules! list_of {
    ($name:ident, $item:ty) => {
        /// One page of a list, with the number of items all pages hold.
        #[derive(poem_openapi::Object)]
        pub struct $name {
            pub items: Vec<$item>,
            pub total: u64,
            pub limit: u64,
            pub offset: u64,
        }

        impl<T> From<$crate::service::Page<T>> for $name
        where
            $item: From<T>,
        {
            fn from(page: $crate::service::Page<T>) -> Self {
                Self {
                    items: page.items.into_iter().map(<$item>::from).collect(),
                    total: page.total,
                    limit: page.limit,
                    offset: page.offset,
                }
            }
        }
    };
}
pub(crate) use list_of;

use poem_openapi::types::MaybeUndefined;

use crate::domain::Validation;

/// A PATCH field that may be left out or changed but not cleared.
pub fn patch_required<I, T>(
    v: &mut Validation,
    field: &str,
    input: MaybeUndefined<I>,
    parse: impl FnOnce(I) -> Result<T, String>,
) -> Option<T> {
    match input {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => {
            v.fail(field, "must not be null");
            None
        }
        MaybeUndefined::Value(value) => v.check(field, parse(value)),
    }
}

/// A PATCH field that may be left out (`None`), cleared with null (`Some(None)`) or changed.
pub fn patch_optional<I, T>(
    v: &mut Validation,
    field: &str,
    input: MaybeUndefined<I>,
    parse: impl FnOnce(I) -> Result<T, String>,
) -> Option<Option<T>> {
    match input {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(value) => v.check(field, parse(value)).map(Some),
    }
}
