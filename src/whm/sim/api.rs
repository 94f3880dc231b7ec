//! `GET /json-api/FUNCTION`: the simulated WHM API 1 (whm-api.md §1–§2).
//!
//! Order of a call: count it, add the latency, check the credentials (403 "Access denied"),
//! roll the faults (hang, HTTP 500), then validate the arguments as cPanel's description does
//! and answer the envelope. A call that fails validation changes nothing.
//!
//! Where cPanel's description is silent, the simulator decides: removing a link or group that
//! does not exist succeeds (so a repeated reconciliation is harmless), `get_users_links`
//! answers `{IMPLEMENTS: [APP, …]}` in cPanel's order, and `listaccts` filters by user name
//! with `search` (substring, or exact with `searchmethod=exact`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use super::Sim;
use super::state::{StoredGroup, StoredLink, World};
use crate::whm::types::{Envelope, GROUP_IDS, Metadata};

/// The reason WHM gives for an account it does not have.
pub const USER_NOT_FOUND: &str = "cPanel Account Username not found";
/// How long a simulated timeout hangs: longer than any client waits.
const HANG: Duration = Duration::from_secs(3600);

type Args = BTreeMap<String, String>;
type Answer = Result<Value, String>;

/// The handler of every API function.
pub(super) async fn call(
    State(sim): State<Arc<Sim>>,
    Path(function): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let faults = {
        let mut world = sim.world.lock();
        *world.calls.entry(function.clone()).or_default() += 1;
        world.faults.clone()
    };
    if faults.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(faults.latency_ms)).await;
    }
    if !sim.authorized(&headers) {
        return envelope(
            StatusCode::FORBIDDEN,
            &function,
            Err("Access denied".into()),
        );
    }
    if roll(faults.timeout_rate) {
        // Hang in this request's own task; the shutdown signal ends the wait so that a
        // stopping simulator does not wait an hour for it.
        let mut shutdown = sim.shutdown.clone();
        tokio::select! {
            () = tokio::time::sleep(HANG) => {}
            _ = shutdown.wait_for(|stopping| *stopping) => {}
        }
        return envelope(
            StatusCode::GATEWAY_TIMEOUT,
            &function,
            Err("Simulated timeout".into()),
        );
    }
    if roll(faults.fail_rate) {
        return envelope(
            StatusCode::INTERNAL_SERVER_ERROR,
            &function,
            Err("Internal Server Error (simulated)".into()),
        );
    }

    // First value wins when an argument is repeated.
    let mut args = Args::new();
    for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        args.entry(name.into_owned()).or_insert(value.into_owned());
    }
    let answer = if args.get("api.version").map(String::as_str) != Some("1") {
        Err("The “api.version” argument must be 1.".to_string())
    } else {
        let mut world = sim.world.lock();
        dispatch(&mut world, &sim.version, &function, &args)
    };
    envelope(StatusCode::OK, &function, answer)
}

impl Sim {
    /// `Authorization: whm USER:TOKEN`, or HTTP Basic with the same username and the token as
    /// password.
    fn authorized(&self, headers: &HeaderMap) -> bool {
        let Some(value) = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
        else {
            return false;
        };
        let Some((scheme, credentials)) = value.trim().split_once(' ') else {
            return false;
        };
        let credentials = if scheme.eq_ignore_ascii_case("whm") {
            credentials.trim().to_string()
        } else if scheme.eq_ignore_ascii_case("basic") {
            match base64::engine::general_purpose::STANDARD
                .decode(credentials.trim())
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
            {
                Some(decoded) => decoded,
                None => return false,
            }
        } else {
            return false;
        };
        let Some((username, secret)) = credentials.split_once(':') else {
            return false;
        };
        username == self.username && bool::from(secret.as_bytes().ct_eq(self.token.as_bytes()))
    }
}

fn roll(rate: f64) -> bool {
    rate > 0.0 && rand::random::<f64>() < rate
}

fn envelope(status: StatusCode, function: &str, answer: Answer) -> Response {
    let (metadata, data) = match answer {
        Ok(data) => (Metadata::new(function, true, "OK"), Some(data)),
        Err(reason) => (Metadata::new(function, false, &reason), None),
    };
    let body = Envelope {
        metadata,
        data: data.filter(|data| !data.is_null()),
    };
    (status, Json(body)).into_response()
}

fn dispatch(world: &mut World, version: &str, function: &str, args: &Args) -> Answer {
    match function {
        "version" => Ok(json!({ "version": version })),
        "listaccts" => Ok(listaccts(world, args)),
        "create_integration_link" => create_link(world, args),
        "remove_integration_link" => {
            let user = user(world, args)?;
            let app = required(args, "app")?;
            if let Some(links) = world.links.get_mut(user) {
                links.remove(app);
            }
            Ok(Value::Null)
        }
        "list_integration_links" => {
            let user = user(world, args)?;
            let links: Vec<Value> = world
                .links
                .get(user)
                .into_iter()
                .flat_map(|links| links.keys())
                .map(|app| json!({ "app": app }))
                .collect();
            Ok(json!({ "links": links }))
        }
        "get_integration_link_user_config" => {
            let user = user(world, args)?;
            let app = required(args, "app")?;
            let link = existing_link(world, user, app)?;
            let field = |name: &str| link.get(name).cloned();
            Ok(json!({ "userconfig": {
                "app": app,
                "user": user,
                "implements": field("implements"),
                "label": field("label"),
                "subscriber_unique_id": field("subscriber_unique_id"),
                "autologin_token_url": field("autologin_token_url"),
                "url": field("url"),
                "base64_png_image": field("base64_png_image"),
            }}))
        }
        "update_integration_link_token" => {
            let user = user(world, args)?.to_string();
            let app = required(args, "app")?;
            let token = required(args, "token")?;
            existing_link(world, &user, app)?;
            if let Some(link) = world
                .links
                .get_mut(&user)
                .and_then(|links| links.get_mut(app))
            {
                link.insert("token".into(), token.into());
            }
            Ok(Value::Null)
        }
        "create_integration_group" => create_group(world, args),
        "list_integration_groups" => {
            let user = user(world, args)?;
            let groups: Vec<Value> = world
                .groups
                .get(user)
                .into_iter()
                .flat_map(|groups| groups.keys())
                .map(|group| json!({ "group": group }))
                .collect();
            Ok(json!({ "links": groups }))
        }
        "remove_integration_group" => {
            let user = user(world, args)?;
            let group_id = required(args, "group_id")?;
            if let Some(groups) = world.groups.get_mut(user) {
                groups.remove(group_id);
            }
            Ok(Value::Null)
        }
        "get_users_links" => {
            let user = user(world, args)?;
            let mut services: BTreeMap<&str, Vec<(&str, &StoredLink)>> = BTreeMap::new();
            for (app, link) in world.links.get(user).into_iter().flatten() {
                let implements = link.get("implements").map_or("", String::as_str);
                services.entry(implements).or_default().push((app, link));
            }
            let services: serde_json::Map<String, Value> = services
                .into_iter()
                .map(|(implements, mut links)| {
                    links.sort_by(|a, b| order_key(a.0, a.1).cmp(&order_key(b.0, b.1)));
                    let apps: Vec<&str> = links.into_iter().map(|(app, _)| app).collect();
                    (implements.to_string(), json!(apps))
                })
                .collect();
            Ok(Value::Object(services))
        }
        _ => Err(format!(
            "Unknown app (“{function}”) requested for this version (1) of the API."
        )),
    }
}

/// How cPanel orders links: by `order` as a number, then as text, then by app name.
pub(super) fn order_key<'a>(app: &'a str, link: &'a StoredLink) -> (i64, &'a str, &'a str) {
    let order = link.get("order").map_or("", String::as_str);
    (order.trim().parse().unwrap_or(i64::MAX), order, app)
}

fn listaccts(world: &World, args: &Args) -> Value {
    let search = args.get("search").filter(|search| !search.is_empty());
    let exact = args.get("searchmethod").map(String::as_str) == Some("exact");
    let accounts: Vec<_> = world
        .accounts
        .values()
        .filter(|account| match search {
            None => true,
            Some(search) if exact => account.user == *search,
            Some(search) => account.user.contains(search.as_str()),
        })
        .collect();
    json!({ "acct": accounts })
}

fn create_link(world: &mut World, args: &Args) -> Answer {
    let user = user(world, args)?.to_string();
    let app = required(args, "app")?;
    for name in ["implements", "label", "subscriber_unique_id", "token"] {
        required(args, name)?;
    }
    if !app.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err("The “app” argument may contain only letters, digits, and underscores.".into());
    }
    let present = |name: &str| args.get(name).is_some_and(|value| !value.is_empty());
    if !present("autologin_token_url") && !present("url") {
        return Err("You must specify “autologin_token_url”, “url”, or both.".into());
    }
    if let Some(group_id) = args.get("group_id")
        && !GROUP_IDS.contains(&group_id.as_str())
    {
        return Err(format!(
            "The “group_id” argument must be one of: {}.",
            GROUP_IDS.join(", ")
        ));
    }
    if let Some(hide) = args.get("hide")
        && hide != "0"
        && hide != "1"
    {
        return Err("The “hide” argument must be 0 or 1.".into());
    }
    let link: StoredLink = args
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "user" | "app" | "api.version"))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    world
        .links
        .entry(user)
        .or_default()
        .insert(app.to_string(), link);
    Ok(Value::Null)
}

fn create_group(world: &mut World, args: &Args) -> Answer {
    let user = user(world, args)?.to_string();
    let group_id = required(args, "group_id")?;
    let label = required(args, "label")?;
    let order = required(args, "order")?;
    if !group_id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(
            "The “group_id” argument may contain only letters, digits, and underscores.".into(),
        );
    }
    let order = order
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|order| *order >= 1)
        .ok_or("The “order” argument must be a whole number of at least 1.")?;
    world.groups.entry(user).or_default().insert(
        group_id.to_string(),
        StoredGroup {
            label: label.to_string(),
            order,
        },
    );
    Ok(Value::Null)
}

/// A required argument, present and not empty.
fn required<'a>(args: &'a Args, name: &str) -> Result<&'a str, String> {
    match args.get(name) {
        None => Err(format!("The “{name}” argument is required.")),
        Some(value) if value.is_empty() => Err(format!("The value of “{name}” may not be empty")),
        Some(value) => Ok(value),
    }
}

/// The `user` argument, naming an account this server has (and that is not set to fail).
fn user<'a>(world: &World, args: &'a Args) -> Result<&'a str, String> {
    let user = required(args, "user")?;
    if !world.accounts.contains_key(user) || world.faults.fail_users.iter().any(|u| u == user) {
        return Err(USER_NOT_FOUND.into());
    }
    Ok(user)
}

fn existing_link<'a>(world: &'a World, user: &str, app: &str) -> Result<&'a StoredLink, String> {
    world
        .links
        .get(user)
        .and_then(|links| links.get(app))
        .ok_or_else(|| format!("The user “{user}” has no integration link “{app}”."))
}
