//! The provisioning log's lines that jobs and operations write, in one place: what a line
//! about a server looks like ([`about`]), and the sentences applinks writes more than once
//! or from more than one file.

use sqlx::{PgConnection, PgExecutor};

use crate::db;
use crate::db::operations::NewEntry;
use crate::db::servers::Server;
use crate::domain::app::App;
use crate::domain::ids::OperationId;
use crate::domain::operation::{Level, hint_for};
use crate::domain::server::min_link_version;
use crate::whm::client::WhmError;

/// An entry about `server` (its id and its name at the time, kept if it is removed later).
pub(crate) fn about(server: &Server) -> NewEntry<'_> {
    NewEntry {
        server_id: Some(server.id),
        server_name: Some(&server.name),
        ..Default::default()
    }
}

/// Info: the server runs a version without application links and is skipped.
pub(crate) async fn too_old(
    conn: &mut PgConnection,
    op: OperationId,
    s: &Server,
) -> sqlx::Result<()> {
    db::operations::log(
        conn,
        op,
        Level::Info,
        &format!(
            "{} runs version {}, older than {}, the first with application links; skipped",
            s.name,
            s.version.as_deref().unwrap_or("unknown"),
            min_link_version()
        ),
        about(s),
    )
    .await
}

/// Info: the server's module cannot carry links at all.
pub(crate) async fn cannot_link(
    conn: &mut PgConnection,
    op: OperationId,
    s: &Server,
) -> sqlx::Result<()> {
    db::operations::log(
        conn,
        op,
        Level::Info,
        &format!(
            "{} runs {}, which cannot carry application links; skipped",
            s.name,
            s.module.name()
        ),
        about(s),
    )
    .await
}

/// Notice: no server of the application can carry links.
pub(crate) async fn no_server(
    conn: &mut PgConnection,
    op: OperationId,
    app: App,
) -> sqlx::Result<()> {
    let supported = match app {
        App::Cpanel => format!("cPanel & WHM ({} or later)", min_link_version()),
        App::Wp2 => "WP Squared".to_string(),
    };
    db::operations::log(
        conn,
        op,
        Level::Notice,
        &format!(
            "No server of {} supports application links: add a server running a supported {supported} first",
            app.name(),
        ),
        NewEntry::default(),
    )
    .await
}

/// Warning: what the server answered about itself or about `account`, with a hint when the
/// answer is a known harmless one.
pub(crate) async fn warning(
    db: impl PgExecutor<'_>,
    op: OperationId,
    server: &Server,
    account: Option<&str>,
    err: &WhmError,
) -> sqlx::Result<()> {
    let message = if err.reason.is_empty() {
        err.describe()
    } else {
        err.reason.clone()
    };
    warning_words(db, op, server, account, &message, err.attempts).await
}

/// Warning in the server's words (or why it could not be reached), after `attempts`, with
/// the hint SPEC §6 gives a known-harmless one.
pub(crate) async fn warning_words(
    db: impl PgExecutor<'_>,
    op: OperationId,
    server: &Server,
    account: Option<&str>,
    message: &str,
    attempts: u32,
) -> sqlx::Result<()> {
    db::operations::log(
        db,
        op,
        Level::Warning,
        &format!("{message} (after {} attempt(s))", attempts.max(1)),
        NewEntry {
            account,
            hint: hint_for(message),
            ..about(server)
        },
    )
    .await
}
