//! Inserting many rows with one statement whose text does not depend on how many there are.
//! Every insert of many rows goes through `insert_rows`: the registration writer's batches, and
//! through `insert_all` invitations, reminders, the outbox, engagements and register imports.
//!
//! The registration writer inserts a batch of rows into four tables per transaction. As a
//! multi-row `VALUES` list, each batch size is a statement of its own text with up to a thousand
//! parameters: PostgreSQL parses and plans it afresh nearly every time (and the connection's
//! cache of prepared statements churns), which was half of the writer's time there. Sent as one
//! JSON parameter and read back into the table's own row type with `json_populate_recordset`,
//! the statement is the same for every batch, so it is prepared once per connection, and the
//! types (and NULLs) come from the table itself.
//!
//! SQLite prepares even a large statement in microseconds, and stores UUIDs and times in
//! representations of sqlx's choosing that JSON would have to reproduce, so there it stays a
//! multi-row `VALUES` list.

use chrono::SecondsFormat;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DbBackend, DbErr, EntityName, EntityTrait, IdenStatic, Iterable, QueryTrait, Statement, Value,
};

/// Rows per statement when inserting any number: well inside SQLite's limit on bound values.
const INSERT_CHUNK: usize = 500;

/// Inserts any number of rows, a few hundred per statement.
pub async fn insert_all<A>(conn: &impl ConnectionTrait, rows: Vec<A>) -> Result<(), DbErr>
where
    A: ActiveModelTrait + Send,
{
    let backend = conn.get_database_backend();
    let mut rows = rows;
    while !rows.is_empty() {
        let rest = rows.split_off(rows.len().min(INSERT_CHUNK));
        if let Some(statement) = insert_rows(backend, rows, "")? {
            conn.execute_raw(statement).await?;
        }
        rows = rest;
    }
    Ok(())
}

/// An `INSERT` of `rows` followed by `tail`, an `ON CONFLICT` or `RETURNING` clause written so
/// that both databases accept it. `None` when there are no rows. Every row must set the same
/// columns.
pub fn insert_rows<A>(backend: DbBackend, rows: Vec<A>, tail: &str) -> Result<Option<Statement>, DbErr>
where
    A: ActiveModelTrait,
{
    if rows.is_empty() {
        return Ok(None);
    }
    if backend != DbBackend::Postgres {
        let mut statement = <A::Entity as EntityTrait>::insert_many(rows).build(backend);
        if !tail.is_empty() {
            statement.sql.push(' ');
            statement.sql.push_str(tail);
        }
        return Ok(Some(statement));
    }

    let table = A::Entity::default().table_name();
    let columns: Vec<<A::Entity as EntityTrait>::Column> = <A::Entity as EntityTrait>::Column::iter().collect();
    let included: Vec<bool> = columns.iter().map(|column| !rows[0].get(*column).is_not_set()).collect();
    let keys: Vec<String> = columns.iter().map(|column| format!("{}:", json_text(column.as_str()))).collect();
    // Written straight out, key by key: the registration writer builds these for every batch
    // while the event's lock is held, and a map per row would allocate each key again.
    let mut records: Vec<u8> = Vec::with_capacity(rows.len() * 64 * columns.len().max(1));
    records.push(b'[');
    for (n, row) in rows.into_iter().enumerate() {
        if n > 0 {
            records.push(b',');
        }
        records.push(b'{');
        let mut first = true;
        for (i, column) in columns.iter().enumerate() {
            match (row.get(*column).into_value(), included[i]) {
                (Some(value), true) => {
                    if !first {
                        records.push(b',');
                    }
                    first = false;
                    records.extend_from_slice(keys[i].as_bytes());
                    serde_json::to_writer(&mut records, &json_of(value)?).map_err(|e| DbErr::Custom(e.to_string()))?;
                }
                (None, false) => {}
                _ => return Err(DbErr::Custom(format!("rows for {table} differ in whether they set {}", column.as_str()))),
            }
        }
        records.push(b'}');
    }
    records.push(b']');
    let records = String::from_utf8(records).map_err(|e| DbErr::Custom(e.to_string()))?;
    let names =
        columns.iter().zip(&included).filter(|(_, set)| **set).map(|(c, _)| format!(r#""{}""#, c.as_str())).collect::<Vec<_>>().join(", ");
    let sql = format!(r#"INSERT INTO "{table}" ({names}) SELECT {names} FROM json_populate_recordset(NULL::"{table}", $1::json) {tail}"#);
    Ok(Some(Statement::from_sql_and_values(DbBackend::Postgres, sql.trim_end(), [Value::String(Some(records))])))
}

/// `text` as a JSON string.
fn json_text(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

/// A column's value as PostgreSQL reads it from JSON into the column's type.
fn json_of(value: Value) -> Result<serde_json::Value, DbErr> {
    use serde_json::Value as Json;
    Ok(match value {
        Value::Bool(v) => v.map_or(Json::Null, Json::Bool),
        Value::Int(v) => v.map_or(Json::Null, Json::from),
        Value::BigInt(v) => v.map_or(Json::Null, Json::from),
        Value::Double(None) => Json::Null,
        Value::Double(Some(x)) => {
            serde_json::Number::from_f64(x).map(Json::Number).ok_or_else(|| DbErr::Custom(format!("{x} has no JSON form")))?
        }
        Value::String(v) => v.map_or(Json::Null, Json::String),
        Value::Uuid(v) => v.map_or(Json::Null, |id| Json::String(id.to_string())),
        // Microseconds, PostgreSQL's own precision, cut as a bound parameter would be (text
        // input would round instead).
        Value::ChronoDateTimeUtc(v) => v.map_or(Json::Null, |t| Json::String(t.to_rfc3339_opts(SecondsFormat::Micros, true))),
        other => return Err(DbErr::Custom(format!("no JSON form for {other:?} in a bulk insert"))),
    })
}

/// Runs several writes in one round trip to the database.
///
/// Each statement is a round trip (to SQLite's thread, or to PostgreSQL's server process), and
/// during a rush each of those waits for a busy CPU: it was the round trips, not the databases'
/// work, that bounded the writer. SQLite takes several statements as one command; PostgreSQL's
/// protocol takes one statement with parameters at a time, so there every write but the last
/// becomes a data-modifying `WITH` clause of the last (PostgreSQL runs each of them exactly
/// once, to completion; they see the same snapshot, which is fine for writes that do not read
/// one another's rows).
pub async fn execute_together<C: ConnectionTrait>(db: &C, writes: Vec<Statement>) -> Result<(), DbErr> {
    if let Some(statement) = together(db.get_database_backend(), writes) {
        db.execute_raw(statement).await?;
    }
    Ok(())
}

fn together(backend: DbBackend, writes: Vec<Statement>) -> Option<Statement> {
    if writes.len() <= 1 {
        return writes.into_iter().next();
    }
    let last = writes.len() - 1;
    let mut sql = String::new();
    let mut values = Vec::new();
    for (i, statement) in writes.into_iter().enumerate() {
        if backend == DbBackend::Postgres {
            // Each statement numbers its parameters from $1; in one statement they follow on.
            let own = shift_placeholders(&statement.sql, values.len());
            match i {
                0 => sql.push_str(&format!("WITH w0 AS ({own})")),
                _ if i < last => sql.push_str(&format!(", w{i} AS ({own})")),
                _ => sql.push_str(&format!(" {own}")),
            }
        } else {
            sql.push_str(&statement.sql);
            sql.push_str(";\n");
        }
        values.extend(statement.values.map(|v| v.0).unwrap_or_default());
    }
    Some(Statement::from_sql_and_values(backend, sql, values))
}

/// Renumbers PostgreSQL's `$n` parameters by `offset`, leaving quoted identifiers and strings
/// alone.
fn shift_placeholders(sql: &str, offset: usize) -> String {
    if offset == 0 {
        return sql.to_owned();
    }
    let mut out = String::with_capacity(sql.len() + 8);
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), _) if c == q => quote = None,
            (None, '\'' | '"') => quote = Some(c),
            (None, '$') if chars.peek().is_some_and(char::is_ascii_digit) => {
                let mut number = 0usize;
                while let Some(digit) = chars.peek().and_then(|d| d.to_digit(10)) {
                    number = number * 10 + digit as usize;
                    chars.next();
                }
                out.push('$');
                out.push_str(&(number + offset).to_string());
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use sea_orm::ActiveValue::{NotSet, Set};
    use uuid::Uuid;

    use super::*;
    use crate::domain::RegistrationStatus;
    use crate::store::Json;
    use crate::store::entity::{candidate, registration};

    fn statement(sql: &str, values: Vec<Value>) -> Statement {
        Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
    }

    fn registration(seq: Option<i64>) -> registration::ActiveModel {
        let at = chrono::DateTime::parse_from_rfc3339("2027-01-04T09:30:00.123456789Z").map(|t| t.to_utc()).unwrap_or_default();
        registration::ActiveModel {
            id: Set(Uuid::nil()),
            event_id: Set(Uuid::max()),
            candidate_id: Set(Uuid::nil()),
            status: Set(RegistrationStatus::Waitlisted),
            waitlist_seq: Set(seq),
            created_at: Set(at),
            updated_at: Set(at),
            ..Default::default()
        }
    }

    #[test]
    fn postgres_rows_travel_as_one_json_parameter_with_their_nulls() {
        let rows = vec![registration(Some(7)), registration(None)];
        let Ok(Some(insert)) = insert_rows(DbBackend::Postgres, rows, r#"RETURNING "id""#) else { panic!("no statement") };
        let names = r#""id", "event_id", "candidate_id", "status", "waitlist_seq", "created_at", "updated_at""#;
        assert_eq!(
            insert.sql,
            format!(
                r#"INSERT INTO "registrations" ({names}) SELECT {names} FROM json_populate_recordset(NULL::"registrations", $1::json) RETURNING "id""#
            )
        );
        let values = insert.values.map(|v| v.0).unwrap_or_default();
        let [Value::String(Some(json))] = values.as_slice() else { panic!("one JSON parameter: {values:?}") };
        let records: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
        assert_eq!(records[0]["waitlist_seq"], serde_json::json!(7));
        assert_eq!(records[1]["waitlist_seq"], serde_json::Value::Null);
        assert_eq!(records[1]["created_at"], serde_json::json!("2027-01-04T09:30:00.123456Z"));
        assert_eq!(records[1]["event_id"], serde_json::json!("ffffffff-ffff-ffff-ffff-ffffffffffff"));
        assert_eq!(records[1]["status"], serde_json::json!("waitlisted"));
        assert_eq!(records.as_array().map(Vec::len), Some(2));
        assert_eq!(records[0].as_object().map(|r| r.len()), Some(7), "every column set, and no other");
    }

    #[test]
    fn awkward_text_and_json_columns_travel_intact() {
        let awkward = "a \"quoted\" line\r\nand a tab\t, é ✓ \\";
        let at = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let row = candidate::ActiveModel {
            id: Set(Uuid::nil()),
            email: Set("a@example.org".into()),
            name: Set(awkward.into()),
            phone: Set(None),
            postcode: Set(None),
            interests: Set(Json(vec![awkward.to_owned()])),
            consent_marketing: Set(false),
            consent_at: Set(None),
            source: Set(None),
            erased_at: Set(None),
            created_at: Set(at),
            updated_at: Set(at),
        };
        let Ok(Some(insert)) = insert_rows(DbBackend::Postgres, vec![row], "") else { panic!("no statement") };
        let values = insert.values.map(|v| v.0).unwrap_or_default();
        let [Value::String(Some(json))] = values.as_slice() else { panic!("one JSON parameter: {values:?}") };
        let records: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
        assert_eq!(records[0]["name"], serde_json::json!(awkward), "{json}");
        let interests: Vec<String> = records[0]["interests"].as_str().and_then(|s| serde_json::from_str(s).ok()).unwrap_or_default();
        assert_eq!(interests, vec![awkward.to_owned()], "{json}");
    }

    #[test]
    fn coordinates_travel_as_json_numbers_and_only_finite_ones() {
        assert_eq!(json_of(Value::Double(Some(51.7356))).ok(), Some(serde_json::json!(51.7356)));
        assert_eq!(json_of(Value::Double(None)).ok(), Some(serde_json::Value::Null));
        assert!(json_of(Value::Double(Some(f64::NAN))).is_err());
    }

    #[test]
    fn rows_that_set_different_columns_are_refused() {
        let mut partial = registration(None);
        partial.waitlist_seq = NotSet;
        let refused = insert_rows(DbBackend::Postgres, vec![registration(None), partial], "");
        assert!(matches!(refused, Err(DbErr::Custom(ref m)) if m.contains("waitlist_seq")), "{refused:?}");
        assert!(matches!(insert_rows::<registration::ActiveModel>(DbBackend::Postgres, Vec::new(), ""), Ok(None)));
    }

    #[test]
    fn parameters_are_renumbered_outside_quotes() {
        assert_eq!(
            shift_placeholders(r#"UPDATE "t$1" SET "a" = $1, "b" = '$2' WHERE "id" = $12"#, 3),
            r#"UPDATE "t$1" SET "a" = $4, "b" = '$2' WHERE "id" = $15"#
        );
        assert_eq!(shift_placeholders("SELECT $1", 0), "SELECT $1");
    }

    #[test]
    fn postgres_writes_become_one_statement_with_their_parameters_in_order() {
        let writes = vec![
            statement(r#"INSERT INTO "a" SELECT * FROM json_populate_recordset(NULL::"a", $1::json)"#, vec![Value::from("[1]")]),
            statement(r#"INSERT INTO "b" ("x", "y") VALUES ($1, $2)"#, vec![Value::from(2), Value::from(3)]),
            statement(r#"UPDATE "c" SET "n" = $1 WHERE "id" = $2"#, vec![Value::from(4), Value::from(5)]),
        ];
        let Some(one) = together(DbBackend::Postgres, writes) else { panic!("no statement") };
        assert_eq!(
            one.sql,
            r#"WITH w0 AS (INSERT INTO "a" SELECT * FROM json_populate_recordset(NULL::"a", $1::json)), w1 AS (INSERT INTO "b" ("x", "y") VALUES ($2, $3)) UPDATE "c" SET "n" = $4 WHERE "id" = $5"#
        );
        let values = one.values.map(|v| v.0).unwrap_or_default();
        assert_eq!(values, vec![Value::from("[1]"), Value::from(2), Value::from(3), Value::from(4), Value::from(5)]);
    }

    #[test]
    fn sqlite_writes_become_one_command() {
        let writes = vec![
            Statement::from_sql_and_values(DbBackend::Sqlite, "INSERT INTO a VALUES (?)", [Value::from(1)]),
            Statement::from_sql_and_values(DbBackend::Sqlite, "UPDATE b SET n = ?", [Value::from(2)]),
        ];
        let Some(one) = together(DbBackend::Sqlite, writes) else { panic!("no statement") };
        assert_eq!(one.sql, "INSERT INTO a VALUES (?);\nUPDATE b SET n = ?;\n");
        assert_eq!(one.values.map(|v| v.0).unwrap_or_default(), vec![Value::from(1), Value::from(2)]);
    }

    #[test]
    fn one_write_is_sent_as_it_is() {
        let write = statement(r#"UPDATE "c" SET "n" = $1"#, vec![Value::from(1)]);
        assert_eq!(together(DbBackend::Postgres, vec![write.clone()]), Some(write));
        assert_eq!(together(DbBackend::Postgres, Vec::new()), None);
    }
}
