//! Setup › Application Links. Everything here sits behind the `configure_application_links`
//! guard in `pages::router`, including routes added later.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use sqlx::PgPool;

use crate::db;
use crate::db::applications::ApplicationRow;
use crate::web::layout::Chrome;
use crate::web::{AppResult, AppState};

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(show))
}

#[derive(Template, WebTemplate)]
#[template(path = "setup/application_links/index.html")]
pub struct ApplicationLinksPage {
    pub chrome: Chrome,
    pub apps: Vec<ApplicationRow>,
}

async fn show(State(pool): State<PgPool>, chrome: Chrome) -> AppResult<ApplicationLinksPage> {
    let apps = db::applications::list(&pool).await?;
    Ok(ApplicationLinksPage { chrome, apps })
}
