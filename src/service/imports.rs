//! Imports from the public registers: schools from the DfE's "Get Information About Schools"
//! establishment CSV, care providers from CQC's active-locations CSV. Both arrive as they are
//! downloaded (Windows-1252, many columns); rows are read by column name.
//!
//! Every row is checked whole before anything is written, so a malformed row is reported and
//! left out, never half-imported; the rows that pass are upserted (by URN, by CQC location id)
//! in one transaction, and a row that matches what is held changes nothing, so a re-run is
//! idempotent.

use std::collections::HashMap;

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set, TransactionTrait};

use super::{ServiceError, ServiceResult, Services};
use crate::domain::geo::{LatLon, from_national_grid};
use crate::domain::{CqcLocationId, EmployerStatus, Postcode, ProviderType, Text, Url, Urn, new_id};
use crate::store::entity::{employer, school};

/// What an import did, with the line number (the header is line 1) and reason of every row
/// skipped or rejected.
#[derive(Debug, Default)]
pub struct ImportReport {
    pub added: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Rows of a kind not imported (closed, not secondary, not adult social care).
    pub skipped: Vec<(u64, String)>,
    /// Rows that could not be read.
    pub rejected: Vec<(u64, String)>,
}

/// The file as text: UTF-8 when it is (a byte-order mark dropped), otherwise Windows-1252, the
/// registers' own encoding.
fn decode(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes).0.into_owned(),
    }
}

/// One data row, read by column name.
struct Row<'a> {
    columns: &'a HashMap<String, usize>,
    record: &'a csv::StringRecord,
}

impl Row<'_> {
    fn get(&self, column: &str) -> &str {
        self.columns.get(column).and_then(|&i| self.record.get(i)).map(str::trim).unwrap_or("")
    }

    fn optional_number(&self, column: &str) -> Result<Option<f64>, String> {
        match self.get(column) {
            "" => Ok(None),
            s => s.parse::<f64>().map(Some).map_err(|_| format!("{column}: {s:?} is not a number")),
        }
    }
}

/// Reads the CSV, checks the columns it needs are there, and hands each row with its line number
/// to `read`.
fn rows<T>(bytes: &[u8], required: &[&str], mut read: impl FnMut(u64, &Row<'_>) -> T) -> ServiceResult<Vec<T>> {
    let text = decode(bytes);
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|e| ServiceError::invalid("file", format!("the header row cannot be read: {e}")))?;
    let columns: HashMap<String, usize> = headers.iter().enumerate().map(|(i, h)| (h.trim().to_owned(), i)).collect();
    if let Some(missing) = required.iter().find(|c| !columns.contains_key(**c)) {
        return Err(ServiceError::invalid("file", format!("has no {missing:?} column")));
    }
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| ServiceError::invalid("file", format!("cannot be read as CSV: {e}")))?;
        // The reader counts the line after the header as 1; people count the header as line 1.
        let line = record.position().map_or(0, csv::Position::line) + 1;
        out.push(read(line, &Row { columns: &columns, record: &record }));
    }
    Ok(out)
}

/// What to do with one row.
enum Verdict<T> {
    Take(T),
    Skip(String),
    Reject(String),
}

fn address(parts: &[&str]) -> Result<Text, String> {
    let joined = parts.iter().filter(|p| !p.is_empty()).copied().collect::<Vec<_>>().join(", ");
    Text::parse(&joined, 1, 500).map_err(|e| format!("address: {e}"))
}

fn position(lat: Option<f64>, lon: Option<f64>) -> Result<Option<LatLon>, String> {
    match (lat, lon) {
        (None, None) => Ok(None),
        (Some(lat), Some(lon)) if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon) => Ok(Some(LatLon { lat, lon })),
        (Some(_), Some(_)) => Err("latitude or longitude out of range".into()),
        _ => Err("latitude and longitude go together".into()),
    }
}

struct SchoolRow {
    urn: Urn,
    name: Text,
    address: Text,
    postcode: Postcode,
    position: Option<LatLon>,
    district: Option<String>,
}

const SECONDARY_PHASES: [&str; 3] = ["Secondary", "All-through", "Middle deemed secondary"];

fn school_row(row: &Row<'_>) -> Verdict<SchoolRow> {
    let urn = match Urn::parse(row.get("URN")) {
        Ok(urn) => urn,
        Err(e) => return Verdict::Reject(format!("URN: {e}")),
    };
    let status = row.get("EstablishmentStatus (name)");
    if !status.starts_with("Open") {
        return Verdict::Skip(format!("not open ({status})"));
    }
    let phase = row.get("PhaseOfEducation (name)");
    if !SECONDARY_PHASES.contains(&phase) {
        return Verdict::Skip(format!("not secondary ({phase})"));
    }
    let read = || -> Result<SchoolRow, String> {
        let name = Text::one_line(row.get("EstablishmentName"), 1, 200).map_err(|e| format!("EstablishmentName: {e}"))?;
        let address = address(&[row.get("Street"), row.get("Locality"), row.get("Address3"), row.get("Town")])?;
        let postcode = Postcode::parse(row.get("Postcode")).map_err(|e| format!("Postcode: {e}"))?;
        let position = match (row.optional_number("Easting")?, row.optional_number("Northing")?) {
            (Some(e), Some(n)) => Some(from_national_grid(e, n).map_err(|e| format!("Easting/Northing: {e}"))?),
            (None, None) => position(row.optional_number("Latitude")?, row.optional_number("Longitude")?)?,
            _ => return Err("Easting and Northing go together".into()),
        };
        let district = Some(row.get("DistrictAdministrative (name)")).filter(|d| !d.is_empty()).map(|d| d.chars().take(200).collect());
        Ok(SchoolRow { urn, name, address, postcode, position, district })
    };
    match read() {
        Ok(row) => Verdict::Take(row),
        Err(e) => Verdict::Reject(e),
    }
}

/// Sorts verdicts into the report and the rows to write, rejecting a key seen on an earlier line.
fn sort_out<T>(verdicts: Vec<(u64, Verdict<T>)>, key: impl Fn(&T) -> String, report: &mut ImportReport) -> Vec<T> {
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut take = Vec::new();
    for (line, verdict) in verdicts {
        match verdict {
            Verdict::Take(row) => {
                let k = key(&row);
                if let Some(first) = seen.get(&k) {
                    report.rejected.push((line, format!("{k} is already on line {first}")));
                } else {
                    seen.insert(k, line);
                    take.push(row);
                }
            }
            Verdict::Skip(reason) => report.skipped.push((line, reason)),
            Verdict::Reject(reason) => report.rejected.push((line, reason)),
        }
    }
    take
}

/// Imports schools, upserting by URN; careers leaders' details already held are kept.
#[tracing::instrument(skip_all)]
pub async fn schools(svc: &Services, bytes: &[u8]) -> ServiceResult<ImportReport> {
    let required = ["URN", "EstablishmentName", "EstablishmentStatus (name)", "PhaseOfEducation (name)", "Postcode"];
    let verdicts = rows(bytes, &required, |line, row| (line, school_row(row)))?;
    let mut report = ImportReport::default();
    let take = sort_out(verdicts, |r| format!("URN {}", r.urn.as_str()), &mut report);

    let txn = svc.db.write.begin().await?;
    let mut held: HashMap<String, school::Model> = HashMap::new();
    for chunk in take.chunks(500) {
        let found =
            school::Entity::find().filter(school::Column::Urn.is_in(chunk.iter().map(|r| r.urn.as_str().to_owned()))).all(&txn).await?;
        held.extend(found.into_iter().map(|s| (s.urn.clone(), s)));
    }
    let now = svc.clock.now();
    let mut new_rows = Vec::new();
    for row in take {
        let (lat, lon) = (row.position.map(|p| p.lat), row.position.map(|p| p.lon));
        match held.remove(row.urn.as_str()) {
            Some(current) => {
                let same = current.name == row.name.as_str()
                    && current.address == row.address.as_str()
                    && current.postcode == row.postcode.as_str()
                    && current.latitude == lat
                    && current.longitude == lon
                    && current.district == row.district;
                if same {
                    report.unchanged += 1;
                    continue;
                }
                let mut model: school::ActiveModel = current.into();
                model.name = Set(row.name.into_string());
                model.address = Set(row.address.into_string());
                model.postcode = Set(row.postcode.as_str().to_owned());
                model.latitude = Set(lat);
                model.longitude = Set(lon);
                model.district = Set(row.district);
                model.updated_at = Set(now);
                model.update(&txn).await?;
                report.updated += 1;
            }
            None => {
                new_rows.push(school::ActiveModel {
                    id: Set(new_id()),
                    urn: Set(row.urn.as_str().to_owned()),
                    name: Set(row.name.into_string()),
                    address: Set(row.address.into_string()),
                    postcode: Set(row.postcode.as_str().to_owned()),
                    latitude: Set(lat),
                    longitude: Set(lon),
                    district: Set(row.district),
                    careers_leader_name: Set(None),
                    careers_leader_email: Set(None),
                    created_at: Set(now),
                    updated_at: Set(now),
                });
                report.added += 1;
            }
        }
    }
    crate::store::insert_all(&txn, new_rows).await?;
    txn.commit().await?;
    Ok(report)
}

struct EmployerRow {
    location_id: CqcLocationId,
    name: Text,
    provider_type: ProviderType,
    address: Text,
    postcode: Postcode,
    position: Option<LatLon>,
    website: Option<String>,
}

/// CQC's service types, most specific first, and the provider type each means here.
const SERVICE_TYPES: [(&str, ProviderType); 4] = [
    ("Service type - Care home service with nursing", ProviderType::Nursing),
    ("Service type - Care home service without nursing", ProviderType::Residential),
    ("Service type - Domiciliary care service", ProviderType::HomeCare),
    ("Service type - Supported living service", ProviderType::SupportedLiving),
];

fn employer_row(row: &Row<'_>) -> Verdict<EmployerRow> {
    let location_id = match CqcLocationId::parse(row.get("Location ID")) {
        Ok(id) => id,
        Err(e) => return Verdict::Reject(format!("Location ID: {e}")),
    };
    let directorate = row.get("Location Inspection Directorate");
    if !directorate.eq_ignore_ascii_case("Adult social care") {
        return Verdict::Skip(format!("not adult social care ({directorate})"));
    }
    let read = || -> Result<EmployerRow, String> {
        let name = Text::one_line(row.get("Location Name"), 1, 200).map_err(|e| format!("Location Name: {e}"))?;
        let address = address(&[row.get("Location Street Address"), row.get("Location Address Line 2"), row.get("Location City")])?;
        let postcode = Postcode::parse(row.get("Location Postal Code")).map_err(|e| format!("Location Postal Code: {e}"))?;
        let position = position(row.optional_number("Location Latitude")?, row.optional_number("Location Longitude")?)?;
        let provider_type = SERVICE_TYPES
            .iter()
            .find(|(column, _)| row.get(column).eq_ignore_ascii_case("Y"))
            .map_or(ProviderType::Other, |(_, provider_type)| *provider_type);
        // The register often gives a bare host name; a web address that still does not read is
        // left out rather than refusing the row.
        let website = match row.get("Location Web Address") {
            "" => None,
            s if s.starts_with("http://") || s.starts_with("https://") => Url::parse(s).ok(),
            s => Url::parse(&format!("https://{s}")).ok(),
        };
        Ok(EmployerRow { location_id, name, provider_type, address, postcode, position, website: website.map(|u| u.as_str().to_owned()) })
    };
    match read() {
        Ok(row) => Verdict::Take(row),
        Err(e) => Verdict::Reject(e),
    }
}

/// Imports care providers, upserting by CQC location id. New ones are `pending` with no contact
/// yet (the register names none); status and contact already held are kept.
#[tracing::instrument(skip_all)]
pub async fn employers(svc: &Services, bytes: &[u8]) -> ServiceResult<ImportReport> {
    let required = ["Location ID", "Location Name", "Location Inspection Directorate", "Location Postal Code"];
    let verdicts = rows(bytes, &required, |line, row| (line, employer_row(row)))?;
    let mut report = ImportReport::default();
    let take = sort_out(verdicts, |r| format!("Location ID {}", r.location_id.as_str()), &mut report);

    let txn = svc.db.write.begin().await?;
    let mut held: HashMap<String, employer::Model> = HashMap::new();
    for chunk in take.chunks(500) {
        let ids = chunk.iter().map(|r| r.location_id.as_str().to_owned());
        let found = employer::Entity::find().filter(employer::Column::CqcLocationId.is_in(ids)).all(&txn).await?;
        held.extend(found.into_iter().filter_map(|e| Some((e.cqc_location_id.clone()?, e))));
    }
    let now = svc.clock.now();
    let mut new_rows = Vec::new();
    for row in take {
        let (lat, lon) = (row.position.map(|p| p.lat), row.position.map(|p| p.lon));
        match held.remove(row.location_id.as_str()) {
            Some(current) => {
                let same = current.name == row.name.as_str()
                    && current.provider_type == row.provider_type
                    && current.address == row.address.as_str()
                    && current.postcode == row.postcode.as_str()
                    && current.latitude == lat
                    && current.longitude == lon
                    && current.website == row.website;
                if same {
                    report.unchanged += 1;
                    continue;
                }
                let mut model: employer::ActiveModel = current.into();
                model.name = Set(row.name.into_string());
                model.provider_type = Set(row.provider_type);
                model.address = Set(row.address.into_string());
                model.postcode = Set(row.postcode.as_str().to_owned());
                model.latitude = Set(lat);
                model.longitude = Set(lon);
                model.website = Set(row.website);
                model.updated_at = Set(now);
                model.update(&txn).await?;
                report.updated += 1;
            }
            None => {
                new_rows.push(employer::ActiveModel {
                    id: Set(new_id()),
                    name: Set(row.name.into_string()),
                    provider_type: Set(row.provider_type),
                    cqc_location_id: Set(Some(row.location_id.as_str().to_owned())),
                    address: Set(row.address.into_string()),
                    postcode: Set(row.postcode.as_str().to_owned()),
                    latitude: Set(lat),
                    longitude: Set(lon),
                    website: Set(row.website),
                    contact_name: Set(String::new()),
                    contact_email: Set(String::new()),
                    status: Set(EmployerStatus::Pending),
                    feed_token_hash: Set(None),
                    created_at: Set(now),
                    updated_at: Set(now),
                });
                report.added += 1;
            }
        }
    }
    crate::store::insert_all(&txn, new_rows).await?;
    txn.commit().await?;
    Ok(report)
}
