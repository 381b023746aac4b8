//! Writing interview bookings: one writer a process commits the bookings that passed their
//! reads, in batches.
//!
//! In a race for slots nearly every request is refused by its reads; the few winners each
//! need a write, and on SQLite every write goes through the one write connection. Written one
//! at a time (begin, raise the slot, insert, queue the messages, commit), sixty winners arriving
//! together queue for three hundred round trips one after another, and that queue is the
//! race's slowest answers. The writer takes whatever has queued (up to `MAX_BATCH`) and writes
//! it with the same few statements whatever its size:
//! 1. on PostgreSQL, lock the batch's slots in id order, so that batches of several processes
//!    take turns on a slot and cannot deadlock;
//! 2. raise `booked` of every slot asked for that has room, in one conditional UPDATE
//!    (`booked < interviewers`), returning the slots raised: this is what keeps a slot from being
//!    overbooked, from any number of processes;
//! 3. insert the bookings of the slots raised, skipping any that would give someone a second
//!    slot at one stand (the unique index decides), returning those inserted;
//! 4. give back the place of each booking skipped;
//! 5. queue the messages of the bookings inserted, and commit.
//!
//! A batch holds one booking a slot, so step 2 raises each slot by one; a second booking of a
//! slot already in the batch waits for the next one.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait};
use tokio::sync::{Notify, mpsc, oneshot};
use uuid::Uuid;

use super::ALREADY_AT_STAND;
use crate::service::{ServiceError, ServiceResult, outbox};
use crate::store::Db;
use crate::store::entity::{interview_slot, outbox as outbox_row, slot_booking};

/// The most bookings written in one transaction.
const MAX_BATCH: usize = 128;
/// Bookings waiting for the writer; beyond this, requests wait to hand theirs over.
const QUEUE: usize = 1024;

/// A booking that passed its reads, with the messages that tell both sides of it.
struct Claim {
    booking: slot_booking::Model,
    messages: Vec<outbox_row::ActiveModel>,
    reply: oneshot::Sender<ServiceResult<interview_slot::Model>>,
}

/// The handle of this process's booking writer.
#[derive(Clone)]
pub struct SlotWriter {
    tx: mpsc::Sender<Claim>,
}

impl SlotWriter {
    /// Starts the writer on a thread of its own (as the registration writer is, for the same
    /// reason: in a rush it runs the moment the database answers, not behind the request
    /// tasks); it ends when the last handle is dropped.
    pub fn spawn(db: Db, mail_wake: Arc<Notify>) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        crate::service::on_own_thread("slot-writer", run(db, mail_wake, rx));
        Self { tx }
    }

    /// Writes `booking` and queues `messages` with it, answering once committed with the slot
    /// as it then stands; a full slot or a second slot at one stand is a conflict.
    pub(super) async fn write(
        &self,
        booking: slot_booking::Model,
        messages: Vec<outbox_row::ActiveModel>,
    ) -> ServiceResult<interview_slot::Model> {
        let (reply, answer) = oneshot::channel();
        self.tx.send(Claim { booking, messages, reply }).await.map_err(|_| anyhow::anyhow!("the booking writer has stopped"))?;
        answer.await.map_err(|_| anyhow::anyhow!("the booking writer dropped a booking"))?
    }
}

async fn run(db: Db, mail_wake: Arc<Notify>, mut rx: mpsc::Receiver<Claim>) {
    let mut waiting: Vec<Claim> = Vec::new();
    loop {
        if waiting.is_empty() {
            if rx.recv_many(&mut waiting, MAX_BATCH).await == 0 {
                break;
            }
        } else {
            while waiting.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(claim) => waiting.push(claim),
                    Err(_) => break,
                }
            }
        }
        let (batch, later) = one_a_slot(std::mem::take(&mut waiting));
        waiting = later;
        if write_answering(&db, batch).await {
            mail_wake.notify_one();
        }
    }
}

/// Splits `claims` into a batch holding the first claim of each slot, and the rest in order.
fn one_a_slot(claims: Vec<Claim>) -> (Vec<Claim>, Vec<Claim>) {
    let mut seen = HashSet::new();
    claims.into_iter().partition(|c| seen.insert(c.booking.slot_id))
}

/// Writes a batch and answers each claim; true when any booking was written. A batch that
/// fails as a whole is retried one claim at a time, so one bad claim cannot take others down.
async fn write_answering(db: &Db, batch: Vec<Claim>) -> bool {
    let (answers, batch) = match write(db, &batch).await {
        Ok(answers) => (answers, batch),
        Err(err) if batch.len() > 1 => {
            tracing::warn!(error = %err, size = batch.len(), "booking batch failed; retrying one by one");
            let mut any = false;
            for claim in batch {
                any |= Box::pin(write_answering(db, vec![claim])).await;
            }
            return any;
        }
        Err(err) => (vec![Err(err)], batch),
    };
    let any = answers.iter().any(Result::is_ok);
    for (claim, answer) in batch.into_iter().zip(answers) {
        let _ = claim.reply.send(answer);
    }
    any
}

/// Writes one batch (one claim a slot) in one transaction: each claim's answer, in order.
async fn write(db: &Db, batch: &[Claim]) -> ServiceResult<Vec<ServiceResult<interview_slot::Model>>> {
    let slots: Vec<Uuid> = batch.iter().map(|c| c.booking.slot_id).collect();
    let txn = db.write.begin().await?;
    if db.backend() == DbBackend::Postgres {
        interview_slot::Entity::find()
            .select_only()
            .column(interview_slot::Column::Id)
            .filter(interview_slot::Column::Id.is_in(slots.clone()))
            .order_by_asc(interview_slot::Column::Id)
            .lock_exclusive()
            .into_tuple::<Uuid>()
            .all(&txn)
            .await?;
    }
    let raised: HashMap<Uuid, interview_slot::Model> = interview_slot::Entity::update_many()
        .col_expr(interview_slot::Column::Booked, Expr::col(interview_slot::Column::Booked).add(1))
        .filter(interview_slot::Column::Id.is_in(slots))
        .filter(Expr::col(interview_slot::Column::Booked).lt(Expr::col(interview_slot::Column::Interviewers)))
        .exec_with_returning(&txn)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let with_room: Vec<&Claim> = batch.iter().filter(|c| raised.contains_key(&c.booking.slot_id)).collect();
    let inserted: HashSet<Uuid> = if with_room.is_empty() {
        HashSet::new()
    } else {
        slot_booking::Entity::insert_many(with_room.iter().map(|c| slot_booking::ActiveModel::from(c.booking.clone())))
            .on_conflict(
                OnConflict::columns([slot_booking::Column::RegistrationId, slot_booking::Column::ExhibitorId]).do_nothing().to_owned(),
            )
            .exec_with_returning_keys(&txn)
            .await?
            .into_iter()
            .collect()
    };
    let given_back: Vec<Uuid> = with_room.iter().filter(|c| !inserted.contains(&c.booking.id)).map(|c| c.booking.slot_id).collect();
    if !given_back.is_empty() {
        interview_slot::Entity::update_many()
            .col_expr(interview_slot::Column::Booked, Expr::col(interview_slot::Column::Booked).sub(1))
            .filter(interview_slot::Column::Id.is_in(given_back))
            .exec(&txn)
            .await?;
    }
    let messages = batch.iter().filter(|c| inserted.contains(&c.booking.id)).flat_map(|c| c.messages.iter().cloned()).collect();
    outbox::queue(&txn, messages).await?;
    txn.commit().await?;
    Ok(batch
        .iter()
        .map(|c| match raised.get(&c.booking.slot_id) {
            None => Err(ServiceError::conflict("this slot is full")),
            Some(_) if !inserted.contains(&c.booking.id) => Err(ServiceError::conflict(ALREADY_AT_STAND)),
            Some(slot) => Ok(slot.clone()),
        })
        .collect())
}
