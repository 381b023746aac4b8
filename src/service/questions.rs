//! Registration questions: organisers ask what they must know per event (text, a choice, yes or
//! no; required or not), each with why it is asked; people answer on the public form or through
//! the API. A question someone answered is hidden, never deleted, so no answer loses its question.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

use super::{ServiceError, ServiceResult, Services, policy};
use crate::domain::Actor;
use crate::domain::{Text, Validation, ValidationErrors, new_id};
use crate::store::Json;
use crate::store::entity::{event, registration_answer, registration_question};

/// The most questions one event asks, and the most options one choice offers.
pub const QUESTIONS_MAX: u64 = 20;
pub const OPTIONS_MAX: usize = 20;
/// The longest label, purpose, option and text answer.
pub const LABEL_MAX: usize = 200;
pub const PURPOSE_MAX: usize = 300;
pub const OPTION_MAX: usize = 100;
pub const ANSWER_MAX: usize = 1_000;

/// What kind of answer a question takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuestionKind {
    Text,
    Choice,
    YesNo,
}

impl QuestionKind {
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "text" => Ok(Self::Text),
            "choice" => Ok(Self::Choice),
            "yes_no" => Ok(Self::YesNo),
            _ => Err("must be one of text, choice, yes_no".into()),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Choice => "choice",
            Self::YesNo => "yes_no",
        }
    }
}

/// A registration question as organisers and the form see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    pub id: Uuid,
    pub event_id: Uuid,
    pub label: String,
    pub kind: QuestionKind,
    pub options: Vec<String>,
    pub required: bool,
    pub purpose: String,
    pub hidden: bool,
    pub position: i32,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<registration_question::Model> for Question {
    type Error = ServiceError;

    fn try_from(m: registration_question::Model) -> ServiceResult<Self> {
        let kind = QuestionKind::parse(&m.kind).map_err(|why| anyhow::anyhow!("stored question kind {:?}: {why}", m.kind))?;
        Ok(Self {
            id: m.id,
            event_id: m.event_id,
            label: m.label,
            kind,
            options: m.options.0,
            required: m.required,
            purpose: m.purpose,
            hidden: m.hidden,
            position: m.position,
            created_at: m.created_at,
        })
    }
}

/// A new question, as typed.
#[derive(Debug, Clone, Default)]
pub struct QuestionInput {
    pub label: String,
    pub kind: String,
    pub options: Vec<String>,
    pub required: bool,
    pub purpose: String,
}

/// A change to a question; what is `None` stays. The kind cannot change: answers given to one
/// kind would not fit another.
#[derive(Debug, Clone, Default)]
pub struct QuestionPatch {
    pub label: Option<String>,
    pub options: Option<Vec<String>>,
    pub required: Option<bool>,
    pub purpose: Option<String>,
    pub hidden: Option<bool>,
}

/// One answer, checked, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub question_id: Uuid,
    pub value: String,
}

/// An answer given, with its question's label, for lists, exports and the GDPR export.
#[derive(Debug, Clone, PartialEq)]
pub struct Answered {
    pub question_id: Uuid,
    pub label: String,
    pub value: String,
}

/// Adds a question to an event's form, after its others (organisers).
#[tracing::instrument(skip_all, fields(event_id = %event_id))]
pub async fn create(svc: &Services, actor: &Actor, event_id: Uuid, input: QuestionInput) -> ServiceResult<Question> {
    policy::organiser(actor)?;
    event::Entity::find_by_id(event_id).one(&svc.db.read).await?.ok_or(ServiceError::NotFound)?;
    let mut v = Validation::new();
    let label = v.check("label", Text::one_line(&input.label, 1, LABEL_MAX));
    let kind = v.check("kind", QuestionKind::parse(&input.kind));
    let purpose = v.check("purpose", Text::one_line(&input.purpose, 1, PURPOSE_MAX));
    let options = kind.map(|kind| check_options(&mut v, kind, &input.options)).unwrap_or_default();
    let (Some(label), Some(kind), Some(purpose)) = (label, kind, purpose) else {
        return Err(v.into_errors().into());
    };
    v.finish()?;
    let txn = sea_orm::TransactionTrait::begin(&svc.db.write).await?;
    let asked = registration_question::Entity::find().filter(registration_question::Column::EventId.eq(event_id)).count(&txn).await?;
    if asked >= QUESTIONS_MAX {
        return Err(ServiceError::conflict(format!("an event asks at most {QUESTIONS_MAX} questions; hide or delete one first")));
    }
    let now = svc.clock.now();
    let model = registration_question::ActiveModel {
        id: Set(new_id()),
        event_id: Set(event_id),
        label: Set(label.into_string()),
        kind: Set(kind.as_str().to_owned()),
        options: Set(Json(options)),
        required: Set(input.required),
        purpose: Set(purpose.into_string()),
        hidden: Set(false),
        position: Set(i32::try_from(asked).unwrap_or(i32::MAX)),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    model.try_into()
}

/// A choice's options: 2 to [`OPTIONS_MAX`], each one line, no two alike; none for other kinds.
fn check_options(v: &mut Validation, kind: QuestionKind, given: &[String]) -> Vec<String> {
    if kind != QuestionKind::Choice {
        if !given.is_empty() {
            v.fail("options", "are only for a question of kind choice");
        }
        return Vec::new();
    }
    if given.len() < 2 || given.len() > OPTIONS_MAX {
        v.fail("options", format!("a choice needs from 2 to {OPTIONS_MAX} options"));
        return Vec::new();
    }
    let mut options: Vec<String> = Vec::new();
    for (i, option) in given.iter().enumerate() {
        if let Some(text) = v.check(&format!("options[{i}]"), Text::one_line(option, 1, OPTION_MAX)) {
            if options.iter().any(|o| o.eq_ignore_ascii_case(text.as_str())) {
                v.fail(&format!("options[{i}]"), "is given twice");
            } else {
                options.push(text.into_string());
            }
        }
    }
    options
}

/// An event's questions in form order: the ones still asked, or with `hidden` the hidden ones too
/// (organisers only).
pub async fn list(svc: &Services, viewer: Option<&Actor>, event_id: Uuid, hidden: bool) -> ServiceResult<Vec<Question>> {
    if hidden {
        policy::organiser(viewer.ok_or(ServiceError::Unauthorized)?)?;
    } else {
        // The public see a published event's questions only (its page is the form).
        super::events::get(svc, viewer, event_id).await?;
    }
    of_event(&svc.db.read, event_id, hidden).await
}

/// An event's questions in form order, the hidden ones only when `hidden`.
pub(crate) async fn of_event<C: ConnectionTrait>(db: &C, event_id: Uuid, hidden: bool) -> ServiceResult<Vec<Question>> {
    Ok(of_events(db, &[event_id], hidden).await?.remove(&event_id).unwrap_or_default())
}

/// The questions of each of `event_ids` in form order (one read), the hidden ones only when
/// `hidden`.
pub(crate) async fn of_events<C: ConnectionTrait>(db: &C, event_ids: &[Uuid], hidden: bool) -> ServiceResult<HashMap<Uuid, Vec<Question>>> {
    let mut query = registration_question::Entity::find().filter(registration_question::Column::EventId.is_in(event_ids.iter().copied()));
    if !hidden {
        query = query.filter(registration_question::Column::Hidden.eq(false));
    }
    let mut by_event: HashMap<Uuid, Vec<Question>> = HashMap::new();
    for row in query.order_by_asc(registration_question::Column::Position).all(db).await? {
        let question = Question::try_from(row)?;
        by_event.entry(question.event_id).or_default().push(question);
    }
    Ok(by_event)
}

/// Changes a question (organisers). A choice's options may change, but not lose one someone chose.
#[tracing::instrument(skip_all, fields(event_id = %event_id, question_id = %question_id))]
pub async fn update(svc: &Services, actor: &Actor, event_id: Uuid, question_id: Uuid, patch: QuestionPatch) -> ServiceResult<Question> {
    policy::organiser(actor)?;
    let txn = sea_orm::TransactionTrait::begin(&svc.db.write).await?;
    let found = one(&txn, event_id, question_id).await?;
    let kind = QuestionKind::parse(&found.kind).map_err(|why| anyhow::anyhow!("stored question kind: {why}"))?;
    let mut v = Validation::new();
    let label = patch.label.as_deref().and_then(|l| v.check("label", Text::one_line(l, 1, LABEL_MAX)));
    let purpose = patch.purpose.as_deref().and_then(|p| v.check("purpose", Text::one_line(p, 1, PURPOSE_MAX)));
    let options = patch.options.as_deref().map(|o| check_options(&mut v, kind, o));
    v.finish()?;
    if let Some(options) = &options {
        let chosen = registration_answer::Entity::find()
            .filter(registration_answer::Column::QuestionId.eq(question_id))
            .filter(registration_answer::Column::Value.is_not_in(options.iter().cloned()))
            .count(&txn)
            .await?;
        if chosen > 0 {
            return Err(ServiceError::invalid("options", "must keep every option someone has chosen"));
        }
    }
    let mut model: registration_question::ActiveModel = found.into();
    if let Some(label) = label {
        model.label = Set(label.into_string());
    }
    if let Some(purpose) = purpose {
        model.purpose = Set(purpose.into_string());
    }
    if let Some(options) = options {
        model.options = Set(Json(options));
    }
    if let Some(required) = patch.required {
        model.required = Set(required);
    }
    if let Some(hidden) = patch.hidden {
        model.hidden = Set(hidden);
    }
    model.updated_at = Set(svc.clock.now());
    let model = model.update(&txn).await?;
    txn.commit().await?;
    model.try_into()
}

/// Deletes a question nobody has answered (organisers); one that was answered is a 409, to be
/// hidden instead.
#[tracing::instrument(skip_all, fields(event_id = %event_id, question_id = %question_id))]
pub async fn delete(svc: &Services, actor: &Actor, event_id: Uuid, question_id: Uuid) -> ServiceResult<()> {
    policy::organiser(actor)?;
    let txn = sea_orm::TransactionTrait::begin(&svc.db.write).await?;
    one(&txn, event_id, question_id).await?;
    let answered = registration_answer::Entity::find().filter(registration_answer::Column::QuestionId.eq(question_id)).count(&txn).await?;
    if answered > 0 {
        return Err(ServiceError::conflict("someone has answered this question: hide it instead, so their answer keeps its question"));
    }
    registration_question::Entity::delete_by_id(question_id).exec(&txn).await?;
    txn.commit().await?;
    Ok(())
}

async fn one<C: ConnectionTrait>(db: &C, event_id: Uuid, question_id: Uuid) -> ServiceResult<registration_question::Model> {
    registration_question::Entity::find_by_id(question_id)
        .filter(registration_question::Column::EventId.eq(event_id))
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// What someone typed or sent for a question, before it is checked.
#[derive(Debug, Clone, PartialEq)]
pub enum Given {
    Text(String),
    Bool(bool),
    /// Anything else a JSON body held (a number, a list): never a valid answer.
    Other,
}

/// Checks a registration's answers against the event's questions still asked: each named
/// `answers.{question_id}` when it is for an unknown question, is not a choice offered, is not
/// yes or no, or is missing where required. A blank optional answer is left out.
pub fn check_answers(questions: &[Question], given: &BTreeMap<String, Given>) -> Result<Vec<Answer>, ValidationErrors> {
    let mut v = Validation::new();
    let by_id: HashMap<String, &Question> = questions.iter().map(|q| (q.id.to_string(), q)).collect();
    for key in given.keys() {
        let known = Uuid::parse_str(key).ok().and_then(|id| by_id.get(&id.to_string()));
        if known.is_none() {
            v.fail(&format!("answers.{}", shown_key(key)), "is not a question of this event");
        }
    }
    let mut answers = Vec::new();
    for question in questions {
        let field = format!("answers.{}", question.id);
        let given = given.iter().find(|(k, _)| Uuid::parse_str(k).ok() == Some(question.id)).map(|(_, g)| g);
        let value = match given {
            None => None,
            Some(Given::Text(t)) if t.trim().is_empty() => None,
            Some(given) => v.check(&field, answer_value(question, given)),
        };
        match value {
            Some(value) => answers.push(Answer { question_id: question.id, value }),
            None if question.required && !v.has(&field) => v.fail(&field, "needs an answer"),
            None => {}
        }
    }
    v.finish()?;
    Ok(answers)
}

/// A key that is not a question's id, cut short and stripped to what can be shown in a message.
fn shown_key(key: &str) -> String {
    key.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').take(40).collect()
}

fn answer_value(question: &Question, given: &Given) -> Result<String, String> {
    match (question.kind, given) {
        (QuestionKind::Text, Given::Text(t)) => Text::parse(t, 1, ANSWER_MAX).map(Text::into_string),
        (QuestionKind::Choice, Given::Text(t)) => question
            .options
            .iter()
            .find(|o| o.as_str() == t.trim())
            .cloned()
            .ok_or_else(|| format!("must be one of: {}", question.options.join(", "))),
        (QuestionKind::YesNo, Given::Bool(b)) => Ok(yes_no(*b).to_owned()),
        (QuestionKind::YesNo, Given::Text(t)) => match t.trim().to_ascii_lowercase().as_str() {
            "yes" | "true" => Ok("yes".to_owned()),
            "no" | "false" => Ok("no".to_owned()),
            _ => Err("must be yes or no".into()),
        },
        (QuestionKind::Text | QuestionKind::Choice, _) => Err("must be text".into()),
        (QuestionKind::YesNo, Given::Other) => Err("must be yes or no".into()),
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// The answers of `registration_ids`, each with its question's label, in form order.
pub(crate) async fn answers_of<C: ConnectionTrait>(db: &C, registration_ids: &[Uuid]) -> ServiceResult<HashMap<Uuid, Vec<Answered>>> {
    let mut by_registration: HashMap<Uuid, Vec<Answered>> = HashMap::new();
    if registration_ids.is_empty() {
        return Ok(by_registration);
    }
    let mut found = Vec::new();
    // Bound the size of one IN list.
    for chunk in registration_ids.chunks(500) {
        found.extend(
            registration_answer::Entity::find()
                .filter(registration_answer::Column::RegistrationId.is_in(chunk.iter().copied()))
                .all(db)
                .await?,
        );
    }
    let mut question_ids: Vec<Uuid> = found.iter().map(|a| a.question_id).collect();
    question_ids.sort_unstable();
    question_ids.dedup();
    let questions: HashMap<Uuid, registration_question::Model> = registration_question::Entity::find()
        .filter(registration_question::Column::Id.is_in(question_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|q| (q.id, q))
        .collect();
    found.sort_by_key(|a| questions.get(&a.question_id).map_or(i32::MAX, |q| q.position));
    for answer in found {
        let Some(question) = questions.get(&answer.question_id) else { continue };
        by_registration.entry(answer.registration_id).or_default().push(Answered {
            question_id: question.id,
            label: question.label.clone(),
            value: answer.value,
        });
    }
    Ok(by_registration)
}

/// Stores a new registration's answers, in the caller's transaction.
pub(crate) fn answer_rows(registration_id: Uuid, answers: &[Answer]) -> Vec<registration_answer::ActiveModel> {
    answers
        .iter()
        .map(|a| registration_answer::ActiveModel {
            registration_id: Set(registration_id),
            question_id: Set(a.question_id),
            value: Set(a.value.clone()),
        })
        .collect()
}
