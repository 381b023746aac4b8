//! Everything served outside the JSON API: calendar files and the HTML pages.

pub mod account;
pub mod calendar;
mod csrf;
pub mod door;
pub mod feedback;
pub mod interviews;
pub mod manage;
pub mod pages;
pub mod portal;
mod session;
mod templates;
