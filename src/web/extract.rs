//! Extractors the pages share. [`Path`] is axum's, except that a segment that does not parse
//! (an id that is not a number, an unknown application) answers the 404 page, like a record
//! that does not exist, in this one place instead of in every handler.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::web::AppError;

/// The path's parameters, typed: `Path<App>`, `Path<ServerId>`, `Path<(ClientId, AccountId)>`.
/// Any segment that does not parse is a 404.
#[derive(Debug, Clone, Copy)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(_) => Err(AppError::NotFound),
        }
    }
}
