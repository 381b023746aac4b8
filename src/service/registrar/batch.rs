//! Deciding one batch of registrations in one transaction.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Set,
    Statement, TransactionTrait,
};
use uuid::Uuid;

use super::steps::Steps;
use super::{Job, RegisterRequest, Registered, Turn, Writer, candidates};
use crate::domain::{RegistrationStatus, TicketCode, ValidationErrors, new_id};
use crate::service::outbox::{self, MessageKind};
use crate::service::questions;
use crate::service::registrations::check_row_open;
use crate::service::{ServiceError, ServiceResult};
use crate::store::bulk::{execute_together, insert_rows};
use crate::store::entity::{event, idempotency_key, registration, registration_token};

/// A batch taking longer than this is logged with the time of each of its steps.
const SLOW_BATCH: std::time::Duration = std::time::Duration::from_millis(100);

type Results = Vec<Option<ServiceResult<Registered>>>;

impl Writer {
    /// Decides and writes a batch in one transaction; the results are in request order.
    #[tracing::instrument(skip_all, fields(size = jobs.len()))]
    pub(super) async fn decide(&self, jobs: &[&Job], turn: &mut Turn) -> ServiceResult<Vec<ServiceResult<Registered>>> {
        let now = self.clock.now();
        let requests: Vec<&RegisterRequest> = jobs.iter().map(|j| &j.request).collect();
        let mut results: Results = requests.iter().map(|_| None).collect();
        let mut steps = Steps::start();
        let txn = self.db.registrar.begin().await?;
        steps.mark("begin");

        // First stage, without the events' locks (see `Turn`): the candidates of the requests
        // whose event takes registrations now. On SQLite the one write connection makes this
        // read final; on PostgreSQL it is read again under the lock below.
        let mut event_ids: Vec<Uuid> = requests.iter().map(|r| r.event_id).collect();
        event_ids.sort_unstable();
        event_ids.dedup();
        let seen = events_by_id(&txn, &event_ids, false).await?;
        refuse_closed(&requests, &seen, now, &mut results);
        let answers = check_answers(&txn, &requests, &event_ids, &mut results).await?;
        let hopeful: Vec<usize> = (0..requests.len()).filter(|i| results[*i].is_none()).collect();
        let candidates = candidates::upsert(&txn, jobs, &hopeful).await?;
        steps.mark("candidates");

        // Second stage, under the lock: the decisions and the writes.
        let backend = txn.get_database_backend();
        turn.wait_for_lock().await;
        let mut events = match backend {
            DbBackend::Postgres => {
                let locked = events_by_id(&txn, &event_ids, true).await?;
                // It may have closed since it was seen.
                refuse_closed(&requests, &locked, now, &mut results);
                locked
            }
            _ => seen,
        };
        turn.locked();
        steps.mark("lock");

        let followers = self.replay_idempotent(&txn, &requests, &mut results).await?;
        let pending: Vec<usize> = (0..requests.len()).filter(|i| results[*i].is_none() && !followers.contains_key(i)).collect();

        // Only someone who was a candidate before this batch can hold a live registration
        // already; in a rush of new people there is nobody to look up.
        let existing = candidates.existing();
        let mut live: HashSet<(Uuid, Uuid)> = if existing.is_empty() {
            HashSet::new()
        } else {
            registration::Entity::find()
                .filter(registration::Column::EventId.is_in(event_ids))
                .filter(registration::Column::CandidateId.is_in(existing))
                .filter(registration::Column::Status.ne(RegistrationStatus::Cancelled.as_str()))
                .all(&txn)
                .await?
                .into_iter()
                .map(|r| (r.event_id, r.candidate_id))
                .collect()
        };

        let mut registrations = Vec::new();
        let mut tokens = Vec::new();
        let mut answer_rows = Vec::new();
        let mut messages = Vec::new();
        let mut subjects = outbox::Subjects::default();
        let mut replays = Vec::new();
        let mut accepted: Vec<(&str, bool)> = Vec::new();
        let mut touched: HashSet<Uuid> = HashSet::new();
        for i in pending {
            let (request, prepared) = (&jobs[i].request, &jobs[i].prepared);
            let Some(candidate) = candidates.get(request.person.email.as_str()) else {
                results[i] = Some(Err(anyhow::anyhow!("candidate {} was not stored", request.person.email).into()));
                continue;
            };
            if !live.insert((request.event_id, candidate.id)) {
                results[i] = Some(Err(ServiceError::AlreadyRegistered));
                continue;
            }
            let Some(event) = events.get_mut(&request.event_id) else { continue };
            touched.insert(event.id);
            accepted.push((request.person.email.as_str(), request.person.consent_marketing));
            let (status, seq, position) = take_place(event);
            let id = new_id();
            let ticket_code = TicketCode::generate();
            let registered = Registered {
                id,
                event_id: event.id,
                status: status.as_str().to_owned(),
                position,
                manage_url: prepared.manage_url.clone(),
                ticket_code: ticket_code.as_str().to_owned(),
            };
            registrations.push(registration::ActiveModel {
                id: Set(id),
                event_id: Set(event.id),
                candidate_id: Set(candidate.id),
                status: Set(status),
                waitlist_seq: Set(seq),
                checked_in_at: Set(None),
                checked_in_by: Set(None),
                ticket_code: Set(ticket_code.as_str().to_owned()),
                consent_share_with_employers: Set(request.consent_share_with_employers),
                offer_expires_at: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
            });
            answer_rows.extend(questions::answer_rows(id, &answers[i]));
            tokens.push(registration_token::ActiveModel {
                token_hash: Set(prepared.token_hash.clone()),
                registration_id: Set(id),
                created_at: Set(now),
            });
            let kind = match status {
                RegistrationStatus::Confirmed => MessageKind::RegistrationConfirmed,
                _ => MessageKind::RegistrationWaitlisted,
            };
            let payload =
                serde_json::json!({"registration_id": id, "event_id": event.id, "position": position, "manage_url": registered.manage_url});
            messages.push(subjects.message(&self.public_url, now, request.person.email.as_str(), kind, &event.title, payload));
            if let Some(key) = &request.idempotency {
                replays.push(idempotency_key::ActiveModel {
                    event_id: Set(event.id),
                    key: Set(key.key.clone()),
                    request_hash: Set(key.request_hash.clone()),
                    response: Set(serde_json::to_string(&registered).map_err(anyhow::Error::from)?),
                    created_at: Set(now),
                });
            }
            results[i] = Some(Ok(registered));
        }

        let mut writes: Vec<Statement> = [
            insert_rows(backend, registrations, "")?,
            insert_rows(backend, tokens, "")?,
            insert_rows(backend, answer_rows, "")?,
            insert_rows(backend, messages, "")?,
            insert_rows(backend, replays, "")?,
        ]
        .into_iter()
        .flatten()
        .collect();
        writes.extend(candidates.settle(backend, &accepted, now));
        for id in touched {
            if let Some(event) = events.get(&id) {
                writes.push(counters_update(event).build(backend));
            }
        }
        turn.decided();
        steps.mark("decide");
        execute_together(&txn, writes).await?;
        steps.mark("write");
        txn.commit().await?;
        steps.mark("commit");
        if steps.total() > SLOW_BATCH {
            // One slow batch holds up every request in it and every one queued behind it.
            tracing::warn!(size = jobs.len(), steps = %steps, "a registration batch was slow");
        } else {
            tracing::debug!(size = jobs.len(), ms = steps.total().as_secs_f64() * 1000.0, steps = %steps, "registration batch");
        }
        self.mail_wake.notify_one();

        for (follower, first) in followers {
            results[follower] = Some(follow(requests[follower], requests[first], &results[first]));
        }
        Ok(results.into_iter().map(|r| r.unwrap_or_else(|| Err(anyhow::anyhow!("a registration was left undecided").into()))).collect())
    }

    /// Answers requests whose idempotency key was seen in an earlier batch, and returns the
    /// requests in this batch that repeat an earlier request's key (follower → first).
    async fn replay_idempotent(
        &self,
        txn: &DatabaseTransaction,
        requests: &[&RegisterRequest],
        results: &mut [Option<ServiceResult<Registered>>],
    ) -> ServiceResult<HashMap<usize, usize>> {
        let mut followers = HashMap::new();
        let mut first_of: HashMap<(Uuid, &str), usize> = HashMap::new();
        for (i, request) in requests.iter().enumerate() {
            if let Some(key) = &request.idempotency
                && results[i].is_none()
            {
                match first_of.get(&(request.event_id, key.key.as_str())) {
                    Some(first) => {
                        followers.insert(i, *first);
                    }
                    None => {
                        first_of.insert((request.event_id, key.key.as_str()), i);
                    }
                }
            }
        }
        if first_of.is_empty() {
            return Ok(followers);
        }
        let keys: Vec<String> = first_of.keys().map(|(_, k)| (*k).to_owned()).collect();
        let events: Vec<Uuid> = first_of.keys().map(|(e, _)| *e).collect();
        let stored = idempotency_key::Entity::find()
            .filter(idempotency_key::Column::EventId.is_in(events))
            .filter(idempotency_key::Column::Key.is_in(keys))
            .all(txn)
            .await?;
        for row in stored {
            let Some(&i) = first_of.get(&(row.event_id, row.key.as_str())) else { continue };
            let same = requests[i].idempotency.as_ref().is_some_and(|k| k.request_hash == row.request_hash);
            results[i] = Some(if same {
                serde_json::from_str::<Registered>(&row.response)
                    .map_err(|e| anyhow::anyhow!("stored answer for an idempotency key: {e}").into())
            } else {
                Err(key_reused())
            });
        }
        Ok(followers)
    }
}

/// The events of a batch by id, their rows locked (`FOR UPDATE`, in id order) when `lock`.
async fn events_by_id(txn: &DatabaseTransaction, ids: &[Uuid], lock: bool) -> ServiceResult<HashMap<Uuid, event::Model>> {
    let mut query = event::Entity::find().filter(event::Column::Id.is_in(ids.iter().copied())).order_by_asc(event::Column::Id);
    if lock {
        query = query.lock_exclusive();
    }
    Ok(query.all(txn).await?.into_iter().map(|e| (e.id, e)).collect())
}

/// Checks each open request's answers against its event's questions still asked, read once for
/// the batch: a request whose answers break a rule is answered with the 422 naming each
/// `answers.{question_id}`. Returns the checked answers, by request.
async fn check_answers(
    txn: &DatabaseTransaction,
    requests: &[&RegisterRequest],
    event_ids: &[Uuid],
    results: &mut Results,
) -> ServiceResult<Vec<Vec<questions::Answer>>> {
    let asked = questions::of_events(txn, event_ids, false).await?;
    let mut answers = Vec::with_capacity(requests.len());
    for (request, result) in requests.iter().zip(results.iter_mut()) {
        let checked = match result {
            Some(_) => Vec::new(),
            None => match questions::check_answers(asked.get(&request.event_id).map_or(&[][..], Vec::as_slice), &request.given) {
                Ok(checked) => checked,
                Err(errors) => {
                    *result = Some(Err(errors.into()));
                    Vec::new()
                }
            },
        };
        answers.push(checked);
    }
    Ok(answers)
}

/// Answers the requests for events that are unknown or do not take registrations at `now`.
fn refuse_closed(requests: &[&RegisterRequest], events: &HashMap<Uuid, event::Model>, now: DateTime<Utc>, results: &mut Results) {
    for (request, result) in requests.iter().zip(results.iter_mut()) {
        if result.is_some() {
            continue;
        }
        match events.get(&request.event_id) {
            None => *result = Some(Err(ServiceError::NotFound)),
            Some(event) => {
                if let Err(err) = check_row_open(event, now) {
                    *result = Some(Err(err));
                }
            }
        }
    }
}

/// Takes a place at `event` for one more person, in memory: confirmed while there is room,
/// otherwise the next place on the waiting list. Returns the status, the waiting-list arrival
/// number and the position.
fn take_place(event: &mut event::Model) -> (RegistrationStatus, Option<i64>, Option<i64>) {
    let room = event.capacity.is_none_or(|capacity| event.confirmed_count < capacity);
    if room {
        event.confirmed_count += 1;
        (RegistrationStatus::Confirmed, None, None)
    } else {
        event.waitlist_seq += 1;
        event.waitlisted_count += 1;
        (RegistrationStatus::Waitlisted, Some(event.waitlist_seq), Some(i64::from(event.waitlisted_count)))
    }
}

fn counters_update(event: &event::Model) -> sea_orm::UpdateMany<event::Entity> {
    event::Entity::update_many()
        .col_expr(event::Column::ConfirmedCount, Expr::value(event.confirmed_count))
        .col_expr(event::Column::WaitlistedCount, Expr::value(event.waitlisted_count))
        .col_expr(event::Column::WaitlistSeq, Expr::value(event.waitlist_seq))
        .filter(event::Column::Id.eq(event.id))
}

/// Writes an event's counters back after its registrations changed.
pub async fn store_counters(txn: &DatabaseTransaction, event: &event::Model) -> ServiceResult<()> {
    counters_update(event).exec(txn).await?;
    Ok(())
}

fn key_reused() -> ServiceError {
    ServiceError::Invalid(ValidationErrors::single("Idempotency-Key", "was already used with a different request"))
}

/// The answer for a request that repeated the key of an earlier request in the same batch.
fn follow(
    follower: &RegisterRequest,
    first: &RegisterRequest,
    first_result: &Option<ServiceResult<Registered>>,
) -> ServiceResult<Registered> {
    let same = match (&follower.idempotency, &first.idempotency) {
        (Some(a), Some(b)) => a.request_hash == b.request_hash,
        _ => false,
    };
    match first_result {
        _ if !same => Err(key_reused()),
        Some(Ok(registered)) => Ok(registered.clone()),
        _ => Err(ServiceError::conflict("the first request with this Idempotency-Key failed; send it again")),
    }
}
