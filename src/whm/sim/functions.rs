//! The functions of WHM API 1 as the simulator runs them (whm-api.md §3), over the world's
//! state: one call's arguments in, its answer (`data`, or the reason of a `result: 0`) out.
//! A call that fails validation changes nothing. Shared by single calls and batches.
//!
//! Where whm-api.md is silent, the simulator decides: `get_users_links` answers
//! `{IMPLEMENTS: [APP, …]}` in cPanel's order, and `listaccts` filters by user name with
//! `search` (substring, or exact with `searchmethod=exact`).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::state::{StoredGroup, StoredLink, World};
use super::validate::{self, Args};
use crate::whm::types::{Envelope, Metadata};

/// A call's `data`, or the reason it was refused.
pub(super) type Answer = Result<Value, String>;

/// The envelope of an answer (whm-api.md §1): `result` 1 with the data (none when null), or
/// 0 with the reason.
pub(super) fn answer_envelope(function: &str, answer: Answer) -> Envelope<Value> {
    match answer {
        Ok(data) => Envelope {
            metadata: Metadata::new(function, true, "OK"),
            data: Some(data).filter(|data| !data.is_null()),
        },
        Err(reason) => Envelope {
            metadata: Metadata::new(function, false, &reason),
            data: None,
        },
    }
}

/// Runs one call; the arguments are the call's own (a link keeps those it stores).
pub(super) fn dispatch(world: &mut World, version: &str, function: &str, args: Args) -> Answer {
    if function == "create_integration_link" {
        return create_link(world, args);
    }
    let args = &args;
    match function {
        "version" => Ok(json!({ "version": version })),
        "listaccts" => Ok(listaccts(world, args)),
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
    (validate::order_of(link.get("order")), app)
}

fn listaccts(world: &World, args: &Args) -> Value {
    let search = args.get("search").filter(|search| !search.is_empty());
    let exact = validate::text(args, "searchmethod") == Some("exact");
    let accounts: Vec<_> = world
        .accounts
        .values()
        .filter(|account| match search {
            None => true,
            Some(search) if exact => account.user == **search,
            Some(search) => account.user.contains(&**search),
        })
        .collect();
    json!({ "acct": accounts })
}

/// `{IMPLEMENTS: [APP, …]}`, each list in cPanel's order.
fn users_links(world: &World, user: &str) -> Value {
    let mut services: BTreeMap<&str, Vec<(&str, &StoredLink)>> = BTreeMap::new();
    for (app, link) in world.links.get(user).into_iter().flatten() {
        let implements = link.get("implements").unwrap_or("");
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

/// The link keeps the call's arguments as its user config (all but `user`, `app`, `token`
/// and `api.version`), and the token apart.
fn create_link(world: &mut World, mut args: Args) -> Answer {
    validate::all_required(&args, &["user", "app"])?;
    let user = validate::user(world, &args)?.to_string();
    let app = validate::file_name(&args, "app")?.to_string();
    validate::url_or_autologin(&args)?;
    validate::label(&args)?;
    validate::hide(&args)?;
    validate::order(&args)?;
    validate::link_group(&args)?;
    validate::png_image(&args)?;
    let token = args.remove("token").map(|token| token.to_string());
    args.retain(|name, _| !matches!(&**name, "user" | "app" | "api.version"));
    let link = StoredLink {
        config: args,
        token,
    };
    // The link replaces whatever the app had, a token set without a link included.
    if let Some(tokens) = world.orphan_tokens.get_mut(&user) {
        tokens.remove(&app);
    }
    world.links.entry(user).or_default().insert(app, link);
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
            label: args.get("label").map(|label| label.to_string()),
            order,
        },
    );
    Ok(Value::Null)
}
