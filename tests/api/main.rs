//! The API, spoken to over HTTP as a client would: every test starts the real server on
//! 127.0.0.1:0 with a database of its own (a SQLite file in a temp dir, or a fresh PostgreSQL
//! database when DATABASE_URL is set).

mod auth;
mod backoffice;
mod browser;
mod calendar;
mod campaigns;
mod chromium;
mod cli;
mod door;
mod engagements;
mod events;
mod feedback;
mod helpers;
mod imports;
mod layering;
mod mail;
mod matrix;
mod offers;
mod openapi;
mod ops;
mod organisations;
mod outcomes;
mod portals;
mod privacy;
mod process;
mod questions;
mod registrations;
mod rush;
mod safety;
mod school_links;
mod slots;
mod smtp;
mod stands;
mod venues;
mod visitor;
mod web;
