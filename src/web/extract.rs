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

/// A form body, typed: [`axum::Form`], except that a body that is not a form answers our 415
/// page, one that does not fit the form our 400 page (naming what is wrong), and one over the
/// body bound our 413 page, in the layout like every other error, and never axum's plain text.
#[derive(Debug, Clone)]
pub struct Form<T>(pub T);

impl<T, S> axum::extract::FromRequest<S> for Form<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        use axum::extract::rejection::FormRejection;
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(value)) => Ok(Form(value)),
            Err(FormRejection::InvalidFormContentType(_)) => Err(AppError::NotAForm),
            Err(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                Err(AppError::TooLarge {
                    max_bytes: crate::web::csrf::MAX_FORM_BYTES,
                })
            }
            Err(e) => Err(AppError::BadRequest(format!(
                "The form could not be read ({}). Nothing was changed.",
                e.body_text()
            ))),
        }
    }
}
