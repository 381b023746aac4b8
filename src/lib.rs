//! carefair: recruitment events for adult social care.
//!
//! Data flows one way: `api` (HTTP) and the CLI → `service` (use cases) → `store` (database) →
//! `domain` (values and rules). See the README for the map.

pub mod api;
pub mod calendar;
pub mod clock;
pub mod config;
pub mod domain;
pub mod mail;
pub mod middleware;
pub mod ops;
pub mod problem;
pub mod service;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod timed_io;
pub mod web;
