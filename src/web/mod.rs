//! Everything served outside the JSON API: calendar files and the HTML pages.

pub mod calendar;
mod csrf;
pub mod pages;
mod templates;
