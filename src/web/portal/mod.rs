//! The portals (SPEC §5a): `/employer` for a care employer's users and `/school` for a school's.
//! Like the back office, every page asks `session::require` for its viewer and calls the same
//! use cases as the API; the services decide what the viewer's organisation may see and do.

pub mod employer;
pub mod interviews;
pub mod people;
pub mod school;

/// The viewer of a portal page, or the answer for someone who may not see it.
macro_rules! portal_viewer {
    ($req:expr, $svc:expr, $area:expr) => {
        match crate::web::session::require($req, $svc, $area).await {
            Ok(viewer) => viewer,
            Err(response) => return response,
        }
    };
}
pub(crate) use portal_viewer;

/// The `done` query parameter a redirect after a change carries (back office and portals).
pub(crate) fn flash_of(req: &poem::Request) -> Option<String> {
    req.uri().query().and_then(|q| q.split('&').find_map(|p| p.strip_prefix("done=")).map(str::to_owned))
}
