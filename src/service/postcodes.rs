//! The postcode directory: where each UK postcode is. It is loaded from the ONS Postcode
//! Directory (`pcds`, `lat`, `long`, `doterm`) or OS Code-Point Open (`Postcode`, `Eastings`,
//! `Northings`, British National Grid; with or without its header row), both published under
//! the Open Government Licence, and gives a venue, employer or school saved without coordinates
//! the position of its postcode.
//!
//! A load streams the file: a reading thread parses rows into batches while the database takes
//! the previous one, so memory stays flat whatever the file's size. A file whose header is
//! neither layout is refused before anything is written; a row that cannot be read is reported
//! with its line number and left out; the rest is upserted in one transaction, so a load that
//! fails part way leaves the directory as it was, and loading the same file again changes
//! nothing.

use std::collections::HashMap;
use std::io::Read;

use chrono::NaiveDate;
use sea_orm::sea_query::{OnConflict, Query};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, TransactionTrait};

use super::{ServiceError, ServiceResult, Services};
use crate::domain::Postcode;
use crate::domain::geo::{LatLon, from_national_grid};
use crate::store::entity::postcode;

/// Rows a statement writes: four values each, well inside SQLite's and PostgreSQL's limits.
const BATCH: usize = 5_000;

/// What a load did.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// Rows written (added or replaced).
    pub loaded: u64,
    /// Rows left out, with their line number (the header is line 1) and why.
    pub rejected: Vec<(u64, String)>,
}

/// How far a load has gone, for a progress bar.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub rows: u64,
    pub bytes: u64,
}

/// Which published file this is, and where its columns are.
#[derive(Debug, Clone, Copy)]
enum Layout {
    Ons { postcode: usize, lat: usize, long: usize, doterm: usize },
    CodePoint { postcode: usize, eastings: usize, northings: usize },
}

impl Layout {
    /// The layout a header names; a Code-Point Open file as published has no header, and its
    /// first row is already data (postcode, quality, eastings, northings, …).
    fn of(first: &csv::StringRecord) -> Result<(Self, bool), String> {
        let find = |name: &str| first.iter().position(|h| h.trim().eq_ignore_ascii_case(name));
        if let (Some(postcode), Some(lat), Some(long), Some(doterm)) = (find("pcds"), find("lat"), find("long"), find("doterm")) {
            return Ok((Layout::Ons { postcode, lat, long, doterm }, true));
        }
        if let (Some(postcode), Some(eastings), Some(northings)) = (find("postcode"), find("eastings"), find("northings")) {
            return Ok((Layout::CodePoint { postcode, eastings, northings }, true));
        }
        let looks_like_data = first.len() >= 4
            && Postcode::parse(first.get(0).unwrap_or("")).is_ok()
            && first.get(2).is_some_and(|e| e.trim().parse::<f64>().is_ok())
            && first.get(3).is_some_and(|n| n.trim().parse::<f64>().is_ok());
        if looks_like_data {
            return Ok((Layout::CodePoint { postcode: 0, eastings: 2, northings: 3 }, false));
        }
        Err("is neither the ONS Postcode Directory (pcds, lat, long, doterm) nor OS Code-Point Open (Postcode, Eastings, Northings)".into())
    }

    fn read(self, record: &csv::StringRecord) -> Result<Entry, String> {
        let get = |i: usize| record.get(i).map(str::trim).unwrap_or("");
        let number = |i: usize, name: &str| get(i).parse::<f64>().map_err(|_| format!("{name}: {:?} is not a number", get(i)));
        match self {
            Layout::Ons { postcode, lat, long, doterm } => {
                let code = Postcode::parse(get(postcode)).map_err(|e| format!("pcds: {e}"))?;
                let (latitude, longitude) = (number(lat, "lat")?, number(long, "long")?);
                // ONS gives 99.999999, 0 to a postcode it has no grid reference for.
                if !(49.0..=61.0).contains(&latitude) || !(-9.0..=2.5).contains(&longitude) {
                    return Err(format!("{code} has no position in the directory (lat {latitude}, long {longitude})"));
                }
                let terminated_on = match get(doterm) {
                    "" => None,
                    s => Some(year_month(s).ok_or_else(|| format!("doterm: {s:?} is not a year and month (YYYYMM)"))?),
                };
                Ok(Entry { postcode: code.as_str().to_owned(), position: LatLon { lat: latitude, lon: longitude }, terminated_on })
            }
            Layout::CodePoint { postcode, eastings, northings } => {
                let code = Postcode::parse(get(postcode)).map_err(|e| format!("Postcode: {e}"))?;
                let position = from_national_grid(number(eastings, "Eastings")?, number(northings, "Northings")?)
                    .map_err(|e| format!("Eastings/Northings: {e}"))?;
                Ok(Entry { postcode: code.as_str().to_owned(), position, terminated_on: None })
            }
        }
    }
}

/// `202403` as the first of March 2024.
fn year_month(s: &str) -> Option<NaiveDate> {
    if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    NaiveDate::from_ymd_opt(s[..4].parse().ok()?, s[4..].parse().ok()?, 1)
}

struct Entry {
    postcode: String,
    position: LatLon,
    terminated_on: Option<NaiveDate>,
}

/// What the reading thread hands the writer.
enum Batch {
    Rows { entries: Vec<Entry>, rejected: Vec<(u64, String)>, progress: Progress },
    Failed(String),
}

/// Counts the bytes read, for the progress bar.
struct Counting<R> {
    inner: R,
    bytes: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

/// Reads the file on a thread of its own and sends batches; the first answer is the layout's.
fn read_batches(
    reader: impl Read + Send + 'static,
) -> Result<(tokio::sync::mpsc::Receiver<Batch>, std::thread::JoinHandle<()>), ServiceError> {
    let bytes = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counting = Counting { inner: reader, bytes: bytes.clone() };
    let mut csv =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(std::io::BufReader::with_capacity(1 << 20, counting));
    let mut first = csv::StringRecord::new();
    match csv.read_record(&mut first) {
        Ok(true) => {}
        Ok(false) => return Err(ServiceError::invalid("file", "is empty")),
        Err(e) => return Err(ServiceError::invalid("file", format!("cannot be read as CSV: {e}"))),
    }
    // A byte-order mark would hide the first column's name.
    if let Some(name) = first.get(0).map(|f| f.trim_start_matches('\u{feff}').to_owned()) {
        let mut fields: Vec<String> = first.iter().map(str::to_owned).collect();
        fields[0] = name;
        first = csv::StringRecord::from(fields);
    }
    let (layout, header) = Layout::of(&first).map_err(|e| ServiceError::invalid("file", e))?;
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let thread = std::thread::spawn(move || {
        let mut entries = Vec::with_capacity(BATCH);
        let mut rejected = Vec::new();
        let mut rows = 0u64;
        let take = |line: u64, record: &csv::StringRecord, entries: &mut Vec<Entry>, rejected: &mut Vec<(u64, String)>| match layout
            .read(record)
        {
            Ok(entry) => entries.push(entry),
            Err(reason) => rejected.push((line, reason)),
        };
        if !header {
            take(1, &first, &mut entries, &mut rejected);
            rows += 1;
        }
        let mut record = csv::StringRecord::new();
        loop {
            match csv.read_record(&mut record) {
                Ok(true) => {
                    rows += 1;
                    let line = record.position().map_or(0, csv::Position::line);
                    take(line, &record, &mut entries, &mut rejected);
                }
                Ok(false) => break,
                Err(e) => {
                    let _ = tx.blocking_send(Batch::Failed(format!("cannot be read as CSV: {e}")));
                    return;
                }
            }
            if entries.len() == BATCH {
                let progress = Progress { rows, bytes: bytes.load(std::sync::atomic::Ordering::Relaxed) };
                let full = Batch::Rows { entries: std::mem::take(&mut entries), rejected: std::mem::take(&mut rejected), progress };
                if tx.blocking_send(full).is_err() {
                    return;
                }
                entries.reserve(BATCH);
            }
        }
        let progress = Progress { rows, bytes: bytes.load(std::sync::atomic::Ordering::Relaxed) };
        let _ = tx.blocking_send(Batch::Rows { entries, rejected, progress });
    });
    Ok((rx, thread))
}

/// Loads a postcode file into the directory (see the module's notes); `progress` is told after
/// every batch.
#[tracing::instrument(skip_all)]
pub async fn load(svc: &Services, reader: impl Read + Send + 'static, mut progress: impl FnMut(Progress)) -> ServiceResult<LoadReport> {
    let (mut batches, thread) = read_batches(reader)?;
    let txn = svc.db.write.begin().await?;
    let mut report = LoadReport::default();
    while let Some(batch) = batches.recv().await {
        match batch {
            Batch::Rows { entries, rejected, progress: done } => {
                report.rejected.extend(rejected);
                report.loaded += write(&txn, entries).await?;
                progress(done);
            }
            Batch::Failed(reason) => return Err(ServiceError::invalid("file", reason)),
        }
    }
    let _ = thread.join();
    txn.commit().await?;
    Ok(report)
}

/// Upserts one batch; a postcode twice in it keeps its last row, as a later batch would.
async fn write(txn: &impl ConnectionTrait, entries: Vec<Entry>) -> Result<u64, DbErr> {
    let mut last: HashMap<&str, usize> = HashMap::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        last.insert(&e.postcode, i);
    }
    if last.is_empty() {
        return Ok(0);
    }
    let mut insert = Query::insert();
    insert.into_table(postcode::Entity).columns([
        postcode::Column::Postcode,
        postcode::Column::Latitude,
        postcode::Column::Longitude,
        postcode::Column::TerminatedOn,
    ]);
    let mut written = 0u64;
    for (i, e) in entries.iter().enumerate() {
        if last.get(e.postcode.as_str()) != Some(&i) {
            continue;
        }
        insert.values_panic([e.postcode.clone().into(), e.position.lat.into(), e.position.lon.into(), e.terminated_on.into()]);
        written += 1;
    }
    insert.on_conflict(
        OnConflict::column(postcode::Column::Postcode)
            .update_columns([postcode::Column::Latitude, postcode::Column::Longitude, postcode::Column::TerminatedOn])
            .to_owned(),
    );
    let statement = txn.get_database_backend().build(&insert);
    txn.execute_raw(statement).await?;
    Ok(written)
}

/// Where `postcode` is, when the directory knows it.
pub async fn locate(db: &impl ConnectionTrait, postcode: &str) -> Result<Option<LatLon>, DbErr> {
    Ok(postcode::Entity::find_by_id(postcode.to_owned()).one(db).await?.map(|p| LatLon { lat: p.latitude, lon: p.longitude }))
}

/// The coordinates a venue, employer or school saved with `postcode` keeps: `held` (given, or
/// kept from before), unless they are `stale` (the postcode changed and no new ones came with
/// it); with none, the directory's, when it knows the postcode, or none ("not placed").
pub(crate) async fn settle(
    db: &impl ConnectionTrait,
    postcode: &str,
    held: (Option<f64>, Option<f64>),
    stale: bool,
) -> Result<(Option<f64>, Option<f64>), DbErr> {
    match held {
        (Some(lat), Some(lon)) if !stale => Ok((Some(lat), Some(lon))),
        _ => Ok(locate(db, postcode).await?.map_or((None, None), |p| (Some(p.lat), Some(p.lon)))),
    }
}

/// [`settle`] after a change: `postcode` and `held` are what the record had, `new_postcode` and
/// `given` what the change brings (`None` leaves a field as it was). Coordinates are stale when
/// the postcode changed and none came with it.
pub(crate) async fn resettle(
    db: &impl ConnectionTrait,
    postcode: &str,
    held: (Option<f64>, Option<f64>),
    new_postcode: Option<&Postcode>,
    given: (Option<Option<f64>>, Option<Option<f64>>),
) -> Result<(Option<f64>, Option<f64>), DbErr> {
    let new_postcode = new_postcode.map(Postcode::as_str);
    let stale = new_postcode.is_some_and(|p| p != postcode) && given.0.is_none() && given.1.is_none();
    let merged = (given.0.unwrap_or(held.0), given.1.unwrap_or(held.1));
    settle(db, new_postcode.unwrap_or(postcode), merged, stale).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ons_months_are_read_and_bad_ones_refused() {
        assert_eq!(year_month("202403"), NaiveDate::from_ymd_opt(2024, 3, 1));
        assert_eq!(year_month("202413"), None);
        assert_eq!(year_month("2024-3"), None);
    }

    #[test]
    fn layouts_are_told_apart_by_their_header_or_a_code_point_first_row() {
        let header = |fields: &[&str]| csv::StringRecord::from(fields.to_vec());
        assert!(matches!(Layout::of(&header(&["pcd", "pcd2", "pcds", "dointr", "doterm", "lat", "long"])), Ok((Layout::Ons { .. }, true))));
        assert!(matches!(Layout::of(&header(&["Postcode", "Eastings", "Northings"])), Ok((Layout::CodePoint { .. }, true))));
        assert!(matches!(
            Layout::of(&header(&["CM1 1QH", "10", "570500", "206800", "E92000001"])),
            Ok((Layout::CodePoint { postcode: 0, eastings: 2, northings: 3 }, false))
        ));
        assert!(Layout::of(&header(&["postcode", "latitude", "longitude"])).is_err());
    }
}
