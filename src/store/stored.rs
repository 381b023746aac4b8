//! How the domain's values are stored: the words of an enum as text, lists as JSON text.
//!
//! The entities' columns have the domain's types, so a row is parsed once, where it is read. A
//! stored value that does not parse fails that read with an error naming the column's type (the
//! request answers 500 and the error is logged once); nothing falls back to a default.

use sea_orm::sea_query::{ArrayType, ColumnType, Nullable, StringLen, ValueType, ValueTypeErr};
use sea_orm::{ColIdx, DbErr, QueryResult, TryGetError, TryGetable, Value};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::domain::{
    Activity, Answer, EmployerStatus, EventKind, EventStatus, ExhibitorStatus, LinkStatus, MessageKind, MessageStatus, ProviderType,
    RegistrationStatus, Role, TimeZone,
};

/// A stored value that is not one the domain knows.
#[derive(Debug)]
pub struct NotStored {
    type_name: &'static str,
    found: String,
    why: String,
}

impl std::fmt::Display for NotStored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "stored {:?} is not a {}: {}", self.found, self.type_name, self.why)
    }
}

impl std::error::Error for NotStored {}

fn not_stored(type_name: &'static str, found: String, why: String) -> TryGetError {
    TryGetError::DbErr(DbErr::TryIntoErr {
        from: "String",
        into: type_name,
        source: std::sync::Arc::new(NotStored { type_name, found, why }),
    })
}

/// Stores a type as text: `Type => to_text / from_text`.
macro_rules! stored_as_text {
    ($($ty:ty => $to_text:ident / $from_text:ident),+ $(,)?) => {$(
        impl From<$ty> for Value {
            fn from(value: $ty) -> Self {
                value.$to_text().to_owned().into()
            }
        }

        impl TryGetable for $ty {
            fn try_get_by<I: ColIdx>(res: &QueryResult, idx: I) -> Result<Self, TryGetError> {
                let text = String::try_get_by(res, idx)?;
                <$ty>::$from_text(&text).map_err(|why| not_stored(stringify!($ty), text, why.to_string()))
            }
        }

        impl ValueType for $ty {
            fn try_from(value: Value) -> Result<Self, ValueTypeErr> {
                let text = <String as ValueType>::try_from(value)?;
                <$ty>::$from_text(&text).map_err(|_| ValueTypeErr)
            }

            fn type_name() -> String {
                stringify!($ty).to_owned()
            }

            fn array_type() -> ArrayType {
                ArrayType::String
            }

            fn column_type() -> ColumnType {
                ColumnType::String(StringLen::None)
            }
        }

        impl Nullable for $ty {
            fn null() -> Value {
                Value::String(None)
            }
        }

        impl sea_orm::IntoActiveValue<$ty> for $ty {
            fn into_active_value(self) -> sea_orm::ActiveValue<$ty> {
                sea_orm::ActiveValue::Set(self)
            }
        }

        impl sea_orm::sea_query::postgres_array::NotU8 for $ty {}
    )+};
}

stored_as_text!(
    EventKind => as_str / parse,
    EventStatus => as_str / parse,
    RegistrationStatus => as_str / parse,
    Role => as_str / parse,
    EmployerStatus => as_str / parse,
    ProviderType => as_str / parse,
    LinkStatus => as_str / parse,
    ExhibitorStatus => as_str / parse,
    Activity => as_str / parse,
    MessageKind => as_str / parse,
    MessageStatus => as_str / parse,
    Answer => recorded / from_recorded,
    TimeZone => name / parse,
);

/// A value stored as JSON text (lists of ids, year groups, interests).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Json<T>(pub T);

impl<T: Serialize> From<Json<T>> for Value {
    fn from(value: Json<T>) -> Self {
        // Serialising our own lists of strings, numbers and ids cannot fail.
        serde_json::to_string(&value.0).unwrap_or_else(|_| "null".to_owned()).into()
    }
}

impl<T: DeserializeOwned> TryGetable for Json<T> {
    fn try_get_by<I: ColIdx>(res: &QueryResult, idx: I) -> Result<Self, TryGetError> {
        let text = String::try_get_by(res, idx)?;
        serde_json::from_str(&text).map(Json).map_err(|why| not_stored(std::any::type_name::<T>(), text, why.to_string()))
    }
}

impl<T: DeserializeOwned> ValueType for Json<T> {
    fn try_from(value: Value) -> Result<Self, ValueTypeErr> {
        let text = <String as ValueType>::try_from(value)?;
        serde_json::from_str(&text).map(Json).map_err(|_| ValueTypeErr)
    }

    fn type_name() -> String {
        format!("Json<{}>", std::any::type_name::<T>())
    }

    fn array_type() -> ArrayType {
        ArrayType::String
    }

    fn column_type() -> ColumnType {
        ColumnType::Text
    }
}

impl<T> Nullable for Json<T> {
    fn null() -> Value {
        Value::String(None)
    }
}

impl<T: Serialize> sea_orm::IntoActiveValue<Json<T>> for Json<T> {
    fn into_active_value(self) -> sea_orm::ActiveValue<Json<T>> {
        sea_orm::ActiveValue::Set(self)
    }
}

impl<T> sea_orm::sea_query::postgres_array::NotU8 for Json<T> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_word_goes_in_and_comes_out_as_itself() {
        for status in EventStatus::ALL {
            let value: Value = status.into();
            assert_eq!(<EventStatus as ValueType>::try_from(value).ok(), Some(status));
        }
        assert!(<EventStatus as ValueType>::try_from(Value::from("Published".to_owned())).is_err());
        let zone: Value = TimeZone::LONDON.into();
        assert_eq!(zone, Value::from("Europe/London".to_owned()));
    }

    #[test]
    fn a_list_is_json_text() {
        let value: Value = Json(vec![7, 8]).into();
        assert_eq!(value, Value::from("[7,8]".to_owned()));
        assert_eq!(<Json<Vec<i32>> as ValueType>::try_from(value).ok().map(|j| j.0), Some(vec![7, 8]));
        assert!(<Json<Vec<i32>> as ValueType>::try_from(Value::from("[7,".to_owned())).is_err());
    }
}
