//! `/admin`: the landing page after sign-in, offering what the admin may open.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::response::Redirect;
use axum::routing::get;

use crate::web::AppState;
use crate::web::layout::Chrome;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/admin") }))
        .route("/admin", get(show))
}

#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
pub struct HomePage {
    pub chrome: Chrome,
}

async fn show(chrome: Chrome) -> HomePage {
    HomePage { chrome }
}
