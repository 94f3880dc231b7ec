//! `/json-api/FUNCTION`: the simulated WHM API 1 (whm-api.md §1 and §3).
//!
//! GET and POST alike, the arguments in the query string, a form body, or both (merged; the
//! body's value wins when a name is in both, since POST is the usual form). Order of a call:
//! count it, add the latency, check the credentials (403 "Access denied"), roll the faults
//! (hang, HTTP 500), then validate the arguments as cPanel's server does (`validate`) and
//! answer the envelope. A call that fails validation changes nothing.
//!
//! Where whm-api.md is silent, the simulator decides: `get_users_links` answers
//! `{IMPLEMENTS: [APP, …]}` in cPanel's order, `listaccts` filters by user name with `search`
//! (substring, or exact with `searchmethod=exact`), and a body that is not form-encoded is
//! ignored. `batch` (§2) is not simulated yet.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use super::Sim;
use super::state::{StoredGroup, StoredLink, World};
use super::validate::{self, Args};
use crate::whm::types::{Envelope, Metadata};

/// The largest request body the API reads: icons are a few KB, so this leaves ample room
/// while keeping a runaway client from filling the memory.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// How long a simulated timeout hangs: longer than any client waits.
const HANG: Duration = Duration::from_secs(3600);

type Answer = Result<Value, String>;

/// The handler of every API function, GET or POST.
pub(super) async fn call(
    State(sim): State<Arc<Sim>>,
    Path(function): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
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
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            return envelope(rejection.status(), &function, Err(rejection.body_text()));
        }
    };
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

    let args = arguments(query.as_deref(), &headers, &body);
    let answer = if args.get("api.version").map(String::as_str) != Some("1") {
        Err("The “api.version” argument must be 1.".to_string())
    } else {
        let mut world = sim.world.lock();
        dispatch(&mut world, &sim.version, &function, &args)
    };
    envelope(StatusCode::OK, &function, answer)
}

/// The body's form fields, then the query string's; the first value of a name wins.
fn arguments(query: Option<&str>, headers: &HeaderMap, body: &[u8]) -> Args {
    // A body of another type (JSON, multipart) holds no arguments as far as this API goes.
    let form_body = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_none_or(|value| {
            value
                .trim_start()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    let body = if form_body { body } else { &[] };
    let mut args = Args::new();
    for (name, value) in
        form_urlencoded::parse(body).chain(form_urlencoded::parse(query.unwrap_or("").as_bytes()))
    {
        args.entry(name.into_owned()).or_insert(value.into_owned());
    }
    args
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
            validate::all_required(args, &["user", "app"])?;
            let user = validate::user(world, args)?;
            let app = validate::file_name(args, "app")?;
            if let Some(links) = world.links.get_mut(user) {
                links.remove(app);
            }
            if let Some(tokens) = world.orphan_tokens.get_mut(user) {
                tokens.remove(app);
            }
            Ok(Value::Null)
        }
        "list_integration_links" => {
            let user = validate::user(world, args)?;
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
            validate::all_required(args, &["user", "app"])?;
            let user = validate::user(world, args)?;
            let app = validate::file_name(args, "app")?;
            let link = world
                .links
                .get(user)
                .and_then(|links| links.get(app))
                .ok_or_else(|| format!("The user “{user}” has no integration link “{app}”."))?;
            // The user config only: the token lives apart and is never answered.
            Ok(json!({ "userconfig": link.config }))
        }
        "update_integration_link_token" => update_token(world, args),
        "create_integration_group" => create_group(world, args),
        "list_integration_groups" => {
            let user = validate::user(world, args)?;
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
            validate::all_required(args, &["user", "group_id"])?;
            let user = validate::user(world, args)?;
            let group_id = validate::file_name(args, "group_id")?;
            if let Some(groups) = world.groups.get_mut(user) {
                groups.remove(group_id);
            }
            Ok(Value::Null)
        }
        "get_users_links" => {
            let user = validate::user(world, args)?;
            Ok(users_links(world, user))
        }
        _ => Err(format!(
            "Unknown app (“{function}”) requested for this version (1) of the API."
        )),
    }
}

/// How cPanel orders links: by `order` as an integer (99999 without one), then by app name.
pub(super) fn order_key<'a>(app: &'a str, link: &StoredLink) -> (i64, &'a str) {
    (validate::order_of(link.config.get("order")), app)
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

/// `{IMPLEMENTS: [APP, …]}`, each list in cPanel's order.
fn users_links(world: &World, user: &str) -> Value {
    let mut services: BTreeMap<&str, Vec<(&str, &StoredLink)>> = BTreeMap::new();
    for (app, link) in world.links.get(user).into_iter().flatten() {
        let implements = link.config.get("implements").map_or("", String::as_str);
        services.entry(implements).or_default().push((app, link));
    }
    let services: serde_json::Map<String, Value> = services
        .into_iter()
        .map(|(implements, mut links)| {
            links.sort_by_key(|(app, link)| order_key(app, link));
            let apps: Vec<&str> = links.into_iter().map(|(app, _)| app).collect();
            (implements.to_string(), json!(apps))
        })
        .collect();
    Value::Object(services)
}

fn create_link(world: &mut World, args: &Args) -> Answer {
    validate::all_required(args, &["user", "app"])?;
    let user = validate::user(world, args)?.to_string();
    let app = validate::file_name(args, "app")?;
    validate::url_or_autologin(args)?;
    validate::label(args)?;
    validate::hide(args)?;
    validate::order(args)?;
    validate::link_group(args)?;
    validate::png_image(args)?;
    let config = args
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "user" | "app" | "token" | "api.version"))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    let link = StoredLink {
        config,
        token: args.get("token").cloned(),
    };
    // The link replaces whatever the app had, a token set without a link included.
    if let Some(tokens) = world.orphan_tokens.get_mut(&user) {
        tokens.remove(app);
    }
    world
        .links
        .entry(user)
        .or_default()
        .insert(app.to_string(), link);
    Ok(Value::Null)
}

/// Changes the token only; on an app without a link cPanel still succeeds and keeps the
/// token, which no link uses.
fn update_token(world: &mut World, args: &Args) -> Answer {
    validate::all_required(args, &["user", "app", "token"])?;
    let user = validate::user(world, args)?.to_string();
    let app = validate::file_name(args, "app")?;
    let token = validate::required(args, "token")?.to_string();
    match world
        .links
        .get_mut(&user)
        .and_then(|links| links.get_mut(app))
    {
        Some(link) => link.token = Some(token),
        None => {
            world
                .orphan_tokens
                .entry(user)
                .or_default()
                .insert(app.to_string(), token);
        }
    }
    Ok(Value::Null)
}

fn create_group(world: &mut World, args: &Args) -> Answer {
    validate::all_required(args, &["user", "group_id"])?;
    let user = validate::user(world, args)?.to_string();
    let group_id = validate::file_name(args, "group_id")?;
    validate::label(args)?;
    let order = validate::order(args)?;
    world.groups.entry(user).or_default().insert(
        group_id.to_string(),
        StoredGroup {
            label: args.get("label").cloned(),
            order,
        },
    );
    Ok(Value::Null)
}
