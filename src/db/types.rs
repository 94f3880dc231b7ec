//! How the domain's values are stored, so that rows hold them typed and every text column
//! is parsed once, here, at the database boundary. `domain/` stays free of sqlx: the impls
//! live in this file instead.
//!
//! Each enum is stored as its `key()` text (the same words the migrations' `check`
//! constraints list); a value this version does not know is a decode error naming it.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef};
use sqlx::{Decode, Encode, Postgres, Type};

use crate::domain::account::AccountStatus;
use crate::domain::app::App;
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
