//! The stand-in for a customer's cPanel home, `GET /cpanel/USER` (whm-api.md §7): the user's
//! groups in order, each with its visible links in order, showing icon and label. The click
//! itself (`POST /cpanel/USER/open/APP`) is `autologin`'s.
//!
//! Where the customer sees what: a link sits in the group its `group_id` names when the user
//! has that group, otherwise in cPanel's built-in *Preferences* group, which comes after the
//! user's own groups and is shown only when it holds a link. Groups go by `order` (an
//! integer, 99999 without one), then id; links likewise, then app name. Hidden links
//! (`hide=1`) are not shown; without a label cPanel shows the group id or app name, without
//! an icon a generic one.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::Sim;
use super::functions::order_key;
use super::state::{StoredGroup, StoredLink, World};

/// The id of cPanel's built-in group for links without a group of their own.
pub const PREFERENCES_GROUP: &str = "pref";
/// Its name on the page.
pub const PREFERENCES_LABEL: &str = "Preferences";

#[derive(Template)]
#[template(path = "whm_sim/cpanel.html")]
struct CpanelPage {
    user: String,
    domain: String,
    groups: Vec<PageGroup>,
}

struct PageGroup {
    id: String,
    label: String,
    links: Vec<PageLink>,
}

struct PageLink {
    app: String,
    /// Where the click goes: `/cpanel/USER/open/APP`, each part percent-encoded.
    action: String,
    label: String,
    /// Base64 of the PNG icon; none: the generic icon.
    icon: Option<String>,
}

/// `GET /cpanel/{user}`.
pub(super) async fn home(State(sim): State<Arc<Sim>>, Path(user): Path<String>) -> Response {
    let page = {
        let world = sim.world.lock();
        let Some(account) = world.accounts.get(&user) else {
            return (StatusCode::NOT_FOUND, "no such cPanel account").into_response();
        };
        CpanelPage {
            user: account.user.clone(),
            domain: account.domain.clone(),
            groups: page_groups(&world, &user),
        }
    };
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(err) => {
            tracing::error!(error = %err, "whm-sim: rendering the cPanel page failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// The user's groups with their visible links, in the order the page shows them.
fn page_groups(world: &World, user: &str) -> Vec<PageGroup> {
    let no_groups = BTreeMap::new();
    let own = world.groups.get(user).unwrap_or(&no_groups);
    let mut members: BTreeMap<&str, Vec<(&str, &StoredLink)>> = BTreeMap::new();
    for (app, link) in world.links.get(user).into_iter().flatten() {
        if link.get("hide") == Some("1") {
            continue;
        }
        let group = link
            .get("group_id")
            .filter(|group| own.contains_key(*group))
            .unwrap_or(PREFERENCES_GROUP);
        members.entry(group).or_default().push((app, link));
    }

    let mut groups: Vec<(&str, &StoredGroup)> =
        own.iter().map(|(id, group)| (id.as_str(), group)).collect();
    groups.sort_by_key(|(id, group)| (group.order, *id));
    let mut page: Vec<PageGroup> = groups
        .into_iter()
        .map(|(id, group)| {
            let label = group
                .label
                .as_deref()
                .filter(|label| !label.is_empty())
                .unwrap_or(id);
            page_group(user, id, label, members.remove(id).unwrap_or_default())
        })
        .collect();
    // A user's own group named like the built-in one has taken its links above.
    if let Some(preferences) = members.remove(PREFERENCES_GROUP) {
        page.push(page_group(
            user,
            PREFERENCES_GROUP,
            PREFERENCES_LABEL,
            preferences,
        ));
    }
    page
}

fn page_group(user: &str, id: &str, label: &str, mut links: Vec<(&str, &StoredLink)>) -> PageGroup {
    links.sort_by_key(|(app, link)| order_key(app, link));
    PageGroup {
        id: id.to_string(),
        label: label.to_string(),
        links: links
            .into_iter()
            .map(|(app, link)| PageLink {
                app: app.to_string(),
                action: open_path(user, app),
                label: link
                    .get("label")
                    .filter(|label| !label.is_empty())
                    .unwrap_or(app)
                    .to_string(),
                icon: link
                    .get("base64_png_image")
                    .filter(|image| !image.is_empty())
                    // Line breaks are fine in Base64 but not inside a data: URL.
                    .map(|image| image.split_ascii_whitespace().collect()),
            })
            .collect(),
    }
}

/// `/cpanel/USER/open/APP` with both parts percent-encoded: an app may be any file name.
fn open_path(user: &str, app: &str) -> String {
    format!("/cpanel/{}/open/{}", path_segment(user), path_segment(app))
}

/// Percent-encodes every byte but RFC 3986's unreserved characters.
fn path_segment(text: &str) -> String {
    text.bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                char::from(byte).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}
