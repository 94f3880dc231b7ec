//! How the domain's values are stored, so that rows hold them typed and every text column
//! is parsed once, here, at the database boundary. `domain/` stays free of sqlx: the impls
//! live in this file instead.
//!
//! Each enum is stored as its `key()` text (the same words the migrations' `check`
//! constraints list); a value this version does not know is a decode error naming it.
//! Each id newtype is stored as the key it wraps (`bigint`, or `uuid` for operations).

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgHasArrayType, PgTypeInfo, PgValueRef};
use sqlx::{Decode, Encode, Postgres, Type};

use crate::domain::account::AccountStatus;
use crate::domain::app::App;
use crate::domain::ids::{AccountId, ClientId, OperationId, ServerId};
use crate::domain::operation::{Kind, Level, ServerState};
use crate::domain::server::{AuthKind, Module};

/// `Type`, `Encode` and `Decode` as text for enums with `ALL` and `key()`.
macro_rules! stored_as_key {
    ($($ty:ident),* $(,)?) => {$(
        impl Type<Postgres> for $ty {
            fn type_info() -> PgTypeInfo {
                <str as Type<Postgres>>::type_info()
            }

            fn compatible(ty: &PgTypeInfo) -> bool {
                <str as Type<Postgres>>::compatible(ty)
            }
        }

        impl Encode<'_, Postgres> for $ty {
            fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
                <&str as Encode<Postgres>>::encode(self.key(), buf)
            }
        }

        impl<'r> Decode<'r, Postgres> for $ty {
            fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
                let key = <&str as Decode<Postgres>>::decode(value)?;
                $ty::ALL
                    .into_iter()
                    .find(|v| v.key() == key)
                    .ok_or_else(|| format!("unknown {} `{key}` stored", stringify!($ty)).into())
            }
        }
    )*};
}

stored_as_key!(
    AccountStatus,
    App,
    AuthKind,
    Kind,
    Level,
    Module,
    ServerState
);

/// `Type`, `Encode` and `Decode` (arrays too, for `= any($1)`) as the wrapped key.
macro_rules! stored_as_inner {
    ($($ty:ident($inner:ty)),* $(,)?) => {$(
        impl Type<Postgres> for $ty {
            fn type_info() -> PgTypeInfo {
                <$inner as Type<Postgres>>::type_info()
            }

            fn compatible(ty: &PgTypeInfo) -> bool {
                <$inner as Type<Postgres>>::compatible(ty)
            }
        }

        impl PgHasArrayType for $ty {
            fn array_type_info() -> PgTypeInfo {
                <$inner as PgHasArrayType>::array_type_info()
            }

            fn array_compatible(ty: &PgTypeInfo) -> bool {
                <$inner as PgHasArrayType>::array_compatible(ty)
            }
        }

        impl Encode<'_, Postgres> for $ty {
            fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
                <$inner as Encode<Postgres>>::encode_by_ref(&self.0, buf)
            }

            fn size_hint(&self) -> usize {
                <$inner as Encode<Postgres>>::size_hint(&self.0)
            }
        }

        impl<'r> Decode<'r, Postgres> for $ty {
            fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
                <$inner as Decode<Postgres>>::decode(value).map($ty)
            }
        }
    )*};
}

stored_as_inner!(
    AccountId(i64),
    ClientId(i64),
    OperationId(uuid::Uuid),
    ServerId(i64),
);
