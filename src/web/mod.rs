//! Everything served outside the JSON API: calendar files now, the HTML pages later.

pub mod calendar;
