//! The candidates of a batch, found or created in one statement before the batch takes its
//! events' locks.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryTrait, Statement};
use uuid::Uuid;

use super::Job;
use crate::service::ServiceResult;
use crate::store::bulk::insert_rows;
use crate::store::entity::candidate;

/// One candidate of a batch as stored.
#[derive(Debug, Clone, Copy)]
pub(super) struct Stored {
    pub id: Uuid,
    /// Created by this batch (the id offered came back), not there before it.
    pub new: bool,
    /// Marketing consent already recorded.
    pub consent: bool,
}

/// The candidates of a batch, by email.
#[derive(Default)]
pub(super) struct StoredCandidates {
    by_email: HashMap<String, Stored>,
}

impl StoredCandidates {
    pub fn get(&self, email: &str) -> Option<Stored> {
        self.by_email.get(email).copied()
    }

    /// Those who were candidates before the batch: only they can hold a registration already.
    pub fn existing(&self) -> Vec<Uuid> {
        self.by_email.values().filter(|c| !c.new).map(|c| c.id).collect()
    }

    /// What the batch's writes must add for the candidates once it is decided: consent recorded
    /// for those who gave it with an accepted registration and had not before, and the removal
    /// of candidates this batch created for requests it then refused (an idempotency key used
    /// with another request, or an event that closed in the meantime), so that a refused request
    /// leaves nothing behind.
    pub fn settle(&self, backend: sea_orm::DbBackend, accepted: &[(&str, bool)], now: DateTime<Utc>) -> Vec<Statement> {
        let mut used: HashSet<&str> = HashSet::with_capacity(accepted.len());
        // One email may be accepted for several events in a batch; any of them may carry consent.
        let mut consenting: std::collections::BTreeSet<Uuid> = std::collections::BTreeSet::new();
        for &(email, consent) in accepted {
            let Some(stored) = self.by_email.get(email) else { continue };
            used.insert(email);
            if consent && !stored.consent {
                consenting.insert(stored.id);
            }
        }
        let unused: Vec<Uuid> =
            self.by_email.iter().filter(|(email, c)| c.new && !used.contains(email.as_str())).map(|(_, c)| c.id).collect();
        let mut writes = Vec::new();
        if !consenting.is_empty() {
            let update = candidate::Entity::update_many()
                .col_expr(candidate::Column::ConsentMarketing, Expr::value(true))
                .col_expr(candidate::Column::ConsentAt, Expr::value(now))
                .filter(candidate::Column::Id.is_in(consenting));
            writes.push(update.build(backend));
        }
        if !unused.is_empty() {
            writes.push(candidate::Entity::delete_many().filter(candidate::Column::Id.is_in(unused)).build(backend));
        }
        writes
    }
}

/// Finds or creates the candidates of the requests `hopeful` in one statement.
///
/// The rows go in email order. On PostgreSQL this statement runs while the batch before holds
/// the event's lock, and it waits on any candidate row another open transaction has just
/// inserted or touched; two batches taking the same emails in the same order queue behind each
/// other instead of deadlocking.
pub(super) async fn upsert(txn: &DatabaseTransaction, jobs: &[&Job], hopeful: &[usize]) -> ServiceResult<StoredCandidates> {
    let mut rows: Vec<(&str, &candidate::ActiveModel)> =
        hopeful.iter().map(|&i| (jobs[i].request.person.email.as_str(), &jobs[i].prepared.candidate)).collect();
    rows.sort_by_key(|(email, _)| *email);
    rows.dedup_by_key(|(email, _)| *email);
    let offered: HashSet<Uuid> = rows.iter().filter_map(|(_, row)| row.id.try_as_ref().copied()).collect();
    // An existing candidate keeps the details they first gave: anyone can register with any
    // email, so a registration must not overwrite someone's name or phone number. The no-op
    // update makes RETURNING hand back existing rows as well as new ones; a returned id that is
    // not the one offered is someone who was there before.
    let upsert =
        r#"ON CONFLICT ("email") DO UPDATE SET "updated_at" = "excluded"."updated_at" RETURNING "id", "email", "consent_marketing""#;
    let rows = rows.into_iter().map(|(_, row)| row.clone()).collect();
    let mut stored = StoredCandidates::default();
    let Some(insert) = insert_rows(txn.get_database_backend(), rows, upsert)? else { return Ok(stored) };
    for row in txn.query_all_raw(insert).await? {
        let id: Uuid = row.try_get("", "id")?;
        let email: String = row.try_get("", "email")?;
        let consent: bool = row.try_get("", "consent_marketing")?;
        stored.by_email.insert(email, Stored { id, new: offered.contains(&id), consent });
    }
    Ok(stored)
}

#[cfg(test)]
mod tests {
    use sea_orm::DbBackend;

    use super::*;

    fn stored(entries: &[(&str, Stored)]) -> StoredCandidates {
        StoredCandidates { by_email: entries.iter().map(|(email, c)| ((*email).to_owned(), *c)).collect() }
    }

    #[test]
    fn consent_with_any_accepted_registration_is_recorded_once_and_unused_new_candidates_go() {
        let (ada, eve) = (Uuid::now_v7(), Uuid::now_v7());
        let candidates = stored(&[
            ("ada@example.org", Stored { id: ada, new: false, consent: false }),
            ("eve@example.org", Stored { id: eve, new: true, consent: false }),
        ]);
        // Ada accepted for two events in one batch, with consent only the second time; Eve refused.
        let writes = candidates.settle(DbBackend::Sqlite, &[("ada@example.org", false), ("ada@example.org", true)], Utc::now());
        assert_eq!(writes.len(), 2, "{writes:?}");
        assert!(writes[0].sql.starts_with("UPDATE") && writes[0].sql.contains("consent_marketing"), "{}", writes[0].sql);
        let update_values = writes[0].values.clone().map(|v| v.0).unwrap_or_default();
        assert_eq!(update_values.iter().filter(|v| **v == sea_orm::Value::from(ada)).count(), 1, "{update_values:?}");
        assert!(writes[1].sql.starts_with("DELETE"), "{}", writes[1].sql);
        assert_eq!(writes[1].values.clone().map(|v| v.0).unwrap_or_default(), vec![sea_orm::Value::from(eve)]);

        let nothing = candidates.settle(DbBackend::Sqlite, &[("ada@example.org", false), ("eve@example.org", false)], Utc::now());
        assert!(nothing.is_empty(), "no consent given and every new candidate used: {nothing:?}");
    }
}
