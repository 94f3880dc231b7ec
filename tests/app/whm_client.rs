//! The WHM API client against the simulator on a loopback port: every function's happy path,
//! both auth forms, how each kind of failure is classified and retried, and that every call
//! is a POST whose arguments travel in the body (whm-api.md §1).

use applinks::whm::sim::{self, FaultsUpdate, SimConfig, SimHandle};
use applinks::whm::types::Account;
use applinks::whm::{
    Cause, ClientSettings, CreateLink, ErrorKind, ServerClient, ServerConn, WhmAuth, WhmClient,
};
use secrecy::SecretString;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::helpers::sim_conn;

/// Retries without waiting to speak of, so failure tests stay fast.
pub(crate) fn fast_settings() -> ClientSettings {
    ClientSettings {
        timeout_ms: 5_000,
        retry_max_attempts: 3,
        retry_base_delay_ms: 1,
        ..ClientSettings::default()
    }
}

pub(crate) async fn spawn_sim(accounts: usize) -> SimHandle {
    sim::spawn(SimConfig {
        accounts,
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts")
}

pub(crate) fn client(sim: &SimHandle) -> ServerClient {
    WhmClient::new(fast_settings()).server(&sim_conn(sim))
}

/// A server record for a URL where no simulator (or no WHM at all) answers.
fn conn_to(base_url: impl Into<String>) -> ServerConn {
    ServerConn {
        base_url: base_url.into(),
        auth: WhmAuth::ApiToken {
            username: "root".into(),
            token: SecretString::from("t"),
        },
        verify_tls: true,
    }
}

/// Base64 of a real 2×2 PNG, as an icon.
pub(crate) fn tiny_png() -> String {
    use base64::Engine as _;
    let mut bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut bytes, 2, 2);
        encoder.set_color(png::ColorType::Rgba);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(&[200; 16]).unwrap();
    }
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A link as applinks creates it (whm-api.md §5).
pub(crate) fn link(user: &str, key: &str, label: &str, order: u32) -> CreateLink {
    CreateLink {
        user: user.to_string(),
        app: format!("applinks_{key}"),
        implements: "support".to_string(),
        label: label.to_string(),
        subscriber_unique_id: "42".to_string(),
        token: SecretString::from("link-secret-0123456789abcdef"),
        autologin_token_url: Some("http://127.0.0.1:9/sso/cpanel".to_string()),
        url: Some(format!("http://127.0.0.1:9/client/{key}")),
        group_id: None,
        order: Some(order.to_string()),
        hide: false,
        base64_png_image: None,
    }
}

#[tokio::test]
async fn version_answers_the_simulated_version() {
    let sim = spawn_sim(1).await;
    assert_eq!(client(&sim).version().await.unwrap(), "11.134.0.5");
}

#[tokio::test]
async fn listaccts_answers_every_account_with_domain_email_and_suspension() {
    let sim = spawn_sim(3).await;
    sim.add_account(Account {
        user: "sleepy".into(),
        domain: "sleepy.example.test".into(),
        email: "sleepy@example.test".into(),
        suspended: true,
    });

    let accounts = client(&sim).listaccts().await.unwrap();

    assert_eq!(accounts.len(), 4);
    assert_eq!(
        accounts[1],
        Account {
            user: "user0001".into(),
            domain: "user0001.example.test".into(),
            email: "owner0001@example.test".into(),
            suspended: false,
        }
    );
    let sleepy = accounts.iter().find(|a| a.user == "sleepy").unwrap();
    assert!(sleepy.suspended);
}

#[tokio::test]
async fn create_integration_link_sends_every_argument_the_simulator_accepts() {
    let sim = spawn_sim(1).await;
    let mut created = link("user0001", "ticket_open", "Open Ticket", 5);
    created.group_id = Some("software".into());
    created.base64_png_image = Some(tiny_png());

    client(&sim)
        .create_integration_link(&created)
        .await
        .unwrap();

    let stored = &sim.links("user0001")["applinks_ticket_open"];
    assert_eq!(stored["label"], "Open Ticket");
    assert_eq!(stored["implements"], "support");
    assert_eq!(stored["subscriber_unique_id"], "42");
    assert_eq!(stored["token"], "link-secret-0123456789abcdef");
    assert_eq!(
        stored["autologin_token_url"],
        "http://127.0.0.1:9/sso/cpanel"
    );
    assert_eq!(stored["url"], "http://127.0.0.1:9/client/ticket_open");
    assert_eq!(stored["group_id"], "software");
    assert_eq!(stored["order"], "5");
    assert_eq!(stored["hide"], "0");
    assert_eq!(stored["base64_png_image"], tiny_png());
}

#[tokio::test]
async fn labels_with_reserved_characters_arrive_intact() {
    let sim = spawn_sim(1).await;
    let label = "News & Announcements + 100% <new>?=#é";

    client(&sim)
        .create_integration_link(&link("user0001", "announcements", label, 1))
        .await
        .unwrap();

    assert_eq!(
        sim.links("user0001")["applinks_announcements"]["label"],
        label
    );
}

#[tokio::test]
async fn list_integration_links_names_the_users_apps() {
    let sim = spawn_sim(2).await;
    let whm = client(&sim);
    whm.create_integration_link(&link("user0001", "ticket_open", "Open Ticket", 1))
        .await
        .unwrap();
    whm.create_integration_link(&link("user0001", "profile", "Manage Profile", 2))
        .await
        .unwrap();

    let mut apps = whm.list_integration_links("user0001").await.unwrap();
    apps.sort();

    assert_eq!(apps, ["applinks_profile", "applinks_ticket_open"]);
    assert!(
        whm.list_integration_links("user0002")
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn get_integration_link_user_config_answers_the_link_without_its_token() {
    let sim = spawn_sim(1).await;
    let whm = client(&sim);
    whm.create_integration_link(&link("user0001", "ticket_open", "Open Ticket", 1))
        .await
        .unwrap();

    let config = whm
        .get_integration_link_user_config("user0001", "applinks_ticket_open")
        .await
        .unwrap();

    assert_eq!(config.app, "applinks_ticket_open");
    assert_eq!(config.user, "user0001");
    assert_eq!(config.label.as_deref(), Some("Open Ticket"));
    assert_eq!(config.implements.as_deref(), Some("support"));
    assert_eq!(config.subscriber_unique_id.as_deref(), Some("42"));
    assert_eq!(
        config.url.as_deref(),
        Some("http://127.0.0.1:9/client/ticket_open")
    );
}

#[tokio::test]
async fn update_integration_link_token_changes_only_the_token() {
    let sim = spawn_sim(1).await;
    let whm = client(&sim);
    whm.create_integration_link(&link("user0001", "ticket_open", "Open Ticket", 1))
        .await
        .unwrap();
    let before = sim.links("user0001")["applinks_ticket_open"].clone();

    whm.update_integration_link_token(
        "user0001",
        "applinks_ticket_open",
        &SecretString::from("fresh-secret"),
    )
    .await
    .unwrap();

    let mut after = sim.links("user0001")["applinks_ticket_open"].clone();
    assert_eq!(after["token"], "fresh-secret");
    after.insert("token".into(), before["token"].clone());
    assert_eq!(after, before);
}

#[tokio::test]
async fn remove_integration_link_removes_only_that_app() {
    let sim = spawn_sim(1).await;
    let whm = client(&sim);
    whm.create_integration_link(&link("user0001", "ticket_open", "Open Ticket", 1))
        .await
        .unwrap();
    whm.create_integration_link(&link("user0001", "profile", "Manage Profile", 2))
        .await
        .unwrap();

    whm.remove_integration_link("user0001", "applinks_ticket_open")
        .await
        .unwrap();

    let links = sim.links("user0001");
    assert_eq!(links.keys().collect::<Vec<_>>(), ["applinks_profile"]);
}

#[tokio::test]
async fn integration_groups_are_created_listed_and_removed() {
    let sim = spawn_sim(1).await;
    let whm = client(&sim);

    whm.create_integration_group("user0001", "billing_tools", "Billing", 3)
        .await
        .unwrap();
    assert_eq!(
        whm.list_integration_groups("user0001").await.unwrap(),
        ["billing_tools"]
    );
    assert_eq!(sim.groups("user0001")["billing_tools"].order, 3);

    whm.remove_integration_group("user0001", "billing_tools")
        .await
        .unwrap();
    assert!(
        whm.list_integration_groups("user0001")
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_group_may_have_a_negative_order_and_no_label() {
    let sim = spawn_sim(1).await;

    client(&sim)
        .create_integration_group("user0001", "tools", "", -5)
        .await
        .unwrap();

    let group = &sim.groups("user0001")["tools"];
    assert_eq!(group.order, -5);
    assert_eq!(group.label, None);
}

#[tokio::test]
async fn get_users_links_answers_the_apps_per_service_in_order() {
    let sim = spawn_sim(1).await;
    let whm = client(&sim);
    let mut profile = link("user0001", "profile", "Manage Profile", 1);
    profile.implements = "billing".into();
    whm.create_integration_link(&profile).await.unwrap();
    whm.create_integration_link(&link("user0001", "downloads", "Downloads", 10))
        .await
        .unwrap();
    whm.create_integration_link(&link("user0001", "ticket_open", "Open Ticket", 2))
        .await
        .unwrap();

    let services = whm.get_users_links("user0001").await.unwrap();

    assert_eq!(
        services,
        serde_json::json!({
            "billing": ["applinks_profile"],
            "support": ["applinks_ticket_open", "applinks_downloads"],
        })
    );
}

#[tokio::test]
async fn the_password_form_authenticates_with_http_basic() {
    let sim = spawn_sim(1).await;
    let conn = ServerConn {
        base_url: sim.url.clone(),
        auth: WhmAuth::Password {
            username: sim.username.clone(),
            password: SecretString::from(sim.token.clone()),
        },
        verify_tls: true,
    };

    let version = WhmClient::new(fast_settings())
        .server(&conn)
        .version()
        .await
        .unwrap();

    assert_eq!(version, "11.134.0.5");
}

#[tokio::test]
async fn a_wrong_token_is_a_permanent_access_denied_after_one_attempt() {
    let sim = spawn_sim(1).await;
    let conn = ServerConn {
        auth: WhmAuth::ApiToken {
            username: "root".into(),
            token: SecretString::from("not-the-token"),
        },
        ..sim_conn(&sim)
    };

    let err = WhmClient::new(fast_settings())
        .server(&conn)
        .version()
        .await
        .unwrap_err();

    assert_eq!(err.kind, ErrorKind::Permanent);
    assert_eq!(err.cause, Cause::AccessDenied);
    assert_eq!(err.reason, "Access denied");
    assert_eq!(err.attempts, 1);
    assert_eq!(sim.calls("version"), 1);
    assert_eq!(
        err.describe(),
        "access denied: check the WHM username and API token"
    );
}

#[tokio::test]
async fn a_wrong_password_is_access_denied_too() {
    let sim = spawn_sim(1).await;
    let conn = ServerConn {
        auth: WhmAuth::Password {
            username: "root".into(),
            password: SecretString::from("wrong"),
        },
        ..sim_conn(&sim)
    };

    let err = WhmClient::new(fast_settings())
        .server(&conn)
        .listaccts()
        .await
        .unwrap_err();

    assert_eq!(err.cause, Cause::AccessDenied);
    assert_eq!(err.attempts, 1);
}

#[tokio::test]
async fn http_500s_are_retried_up_to_the_maximum_then_reported_as_transient() {
    let sim = spawn_sim(1).await;
    sim.set_faults(FaultsUpdate {
        fail_rate: Some(1.0),
        ..FaultsUpdate::default()
    })
    .unwrap();

    let err = client(&sim).version().await.unwrap_err();

    assert_eq!(err.kind, ErrorKind::Transient);
    assert_eq!(err.cause, Cause::Http(500));
    assert_eq!(err.attempts, 3);
    assert_eq!(sim.calls("version"), 3);
    assert_eq!(err.reason, "Internal Server Error (simulated)");
}

#[tokio::test]
async fn retry_max_attempts_of_one_means_no_retry() {
    let sim = spawn_sim(1).await;
    sim.set_faults(FaultsUpdate {
        fail_rate: Some(1.0),
        ..FaultsUpdate::default()
    })
    .unwrap();
    let settings = ClientSettings {
        retry_max_attempts: 1,
        ..fast_settings()
    };

    let err = WhmClient::new(settings)
        .server(&sim_conn(&sim))
        .version()
        .await
        .unwrap_err();

    assert_eq!(err.attempts, 1);
    assert_eq!(sim.calls("version"), 1);
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_as_a_transient_error() {
    let sim = spawn_sim(1).await;
    sim.set_faults(FaultsUpdate {
        timeout_rate: Some(1.0),
        ..FaultsUpdate::default()
    })
    .unwrap();
    let settings = ClientSettings {
        timeout_ms: 200,
        retry_max_attempts: 2,
        retry_base_delay_ms: 1,
        ..ClientSettings::default()
    };

    let err = WhmClient::new(settings)
        .server(&sim_conn(&sim))
        .version()
        .await
        .unwrap_err();

    assert_eq!(err.kind, ErrorKind::Transient);
    assert_eq!(err.cause, Cause::Timeout);
    assert_eq!(err.attempts, 2);
    assert!(err.describe().contains("did not answer in time"));
    sim.shutdown().await;
}

#[tokio::test]
async fn result_0_is_a_permanent_error_with_the_servers_reason_and_no_retry() {
    let sim = spawn_sim(1).await;

    let err = client(&sim)
        .create_integration_link(&link("nobody", "ticket_open", "Open Ticket", 1))
        .await
        .unwrap_err();

    assert_eq!(err.kind, ErrorKind::Permanent);
    assert_eq!(err.cause, Cause::Api);
    assert_eq!(err.reason, "You do not have a user named “nobody”.");
    assert!(applinks::domain::operation::is_unknown_account(&err.reason));
    assert_eq!(err.attempts, 1);
    assert_eq!(sim.calls("create_integration_link"), 1);
}

#[tokio::test]
async fn an_empty_user_answers_the_may_not_be_empty_reason() {
    let sim = spawn_sim(1).await;

    let err = client(&sim).list_integration_links("").await.unwrap_err();

    assert_eq!(err.cause, Cause::Api);
    assert_eq!(err.reason, "The value of “user” may not be empty.");
}

#[tokio::test]
async fn fail_users_answer_the_unknown_user_reason_though_the_server_has_them() {
    let sim = sim::spawn(SimConfig {
        accounts: 2,
        fail_users: vec!["user0002".into()],
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let whm = client(&sim);

    assert!(whm.list_integration_links("user0001").await.is_ok());
    let err = whm.list_integration_links("user0002").await.unwrap_err();

    assert_eq!(err.reason, "You do not have a user named “user0002”.");
}

#[tokio::test]
async fn a_refused_port_is_a_transient_connection_refused() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let conn = conn_to(format!("http://127.0.0.1:{port}"));

    let err = WhmClient::new(fast_settings())
        .server(&conn)
        .version()
        .await
        .unwrap_err();

    assert_eq!(err.kind, ErrorKind::Transient);
    assert_eq!(err.cause, Cause::ConnectionRefused);
    assert_eq!(err.attempts, 3);
    assert_eq!(err.host, format!("127.0.0.1:{port}"));
    assert!(err.describe().starts_with("connection refused"));
}

#[tokio::test]
async fn https_to_a_plain_http_port_is_a_tls_error() {
    let sim = spawn_sim(1).await;
    let conn = ServerConn {
        base_url: sim.url.replace("http://", "https://"),
        ..sim_conn(&sim)
    };

    let err = WhmClient::new(fast_settings())
        .server(&conn)
        .version()
        .await
        .unwrap_err();

    assert_eq!(err.cause, Cause::Tls, "{err}");
    assert!(err.describe().starts_with("TLS handshake failed: "));
}

#[tokio::test]
async fn a_4xx_other_than_401_or_403_is_permanent_and_not_retried() {
    let sim = spawn_sim(1).await;
    let conn = ServerConn {
        base_url: format!("{}/not-whm", sim.url),
        ..sim_conn(&sim)
    };

    let err = WhmClient::new(fast_settings())
        .server(&conn)
        .version()
        .await
        .unwrap_err();

    assert_eq!(err.kind, ErrorKind::Permanent);
    assert_eq!(err.cause, Cause::Http(404));
    assert_eq!(err.attempts, 1);
}

#[tokio::test]
async fn an_answer_that_is_not_the_json_envelope_is_a_permanent_bad_response() {
    // Something other than WHM listening on the port: a web page, not the API.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let page = axum::Router::new().fallback(|| async { axum::response::Html("<h1>Welcome</h1>") });
    tokio::spawn(async move { axum::serve(listener, page).await });
    let conn = conn_to(format!("http://{addr}"));

    let err = WhmClient::new(fast_settings())
        .server(&conn)
        .version()
        .await
        .unwrap_err();

    assert_eq!(err.kind, ErrorKind::Permanent);
    assert_eq!(err.cause, Cause::BadResponse);
    assert_eq!(err.attempts, 1);
}

#[tokio::test]
async fn no_secret_appears_in_debug_output_or_error_texts() {
    let sim = spawn_sim(1).await;
    let conn = ServerConn {
        auth: WhmAuth::Password {
            username: "root".into(),
            password: SecretString::from("hunter2-password"),
        },
        ..sim_conn(&sim)
    };
    let created = link("nobody", "ticket_open", "Open Ticket", 1);
    let whm = WhmClient::new(fast_settings());

    let err = whm
        .server(&sim_conn(&sim))
        .create_integration_link(&created)
        .await
        .unwrap_err();

    let texts = [
        format!("{:?}", sim_conn(&sim)),
        format!("{conn:?}"),
        format!("{:?}", whm.server(&conn)),
        format!("{created:?}"),
        format!("{err} {err:?} {}", err.describe()),
    ];
    for text in texts {
        assert!(!text.contains(&sim.token), "{text}");
        assert!(!text.contains("hunter2-password"), "{text}");
        assert!(!text.contains("link-secret"), "{text}");
    }
}

#[tokio::test]
async fn an_unusable_base_url_is_a_permanent_config_error_without_any_attempt() {
    let conn = conn_to("whm.example.test:2087");

    let err = WhmClient::new(fast_settings())
        .server(&conn)
        .version()
        .await
        .unwrap_err();

    assert_eq!(err.kind, ErrorKind::Permanent);
    assert_eq!(err.cause, Cause::Config);
    assert_eq!(err.attempts, 0);
    assert!(
        err.describe()
            .starts_with("the server settings cannot be used")
    );
}

/// What a recording WHM stand-in received: method, path, query string, content type, body.
#[derive(Debug, Clone)]
struct Received {
    method: String,
    path: String,
    query: Option<String>,
    content_type: Option<String>,
    body: String,
}

/// A WHM stand-in on loopback that records each request and answers `result: 1`.
async fn spawn_recorder() -> (String, Arc<Mutex<Vec<Received>>>) {
    use axum::http::{HeaderMap, Method, Uri};

    let received: Arc<Mutex<Vec<Received>>> = Arc::default();
    let log = received.clone();
    let app = axum::Router::new().fallback(
        move |method: Method, uri: Uri, headers: HeaderMap, body: String| {
            let log = log.clone();
            async move {
                log.lock().unwrap().push(Received {
                    method: method.to_string(),
                    path: uri.path().to_string(),
                    query: uri.query().map(str::to_string),
                    content_type: headers
                        .get("content-type")
                        .map(|value| value.to_str().unwrap().to_string()),
                    body,
                });
                axum::Json(serde_json::json!({
                    "metadata": { "command": "x", "reason": "OK", "result": 1, "version": 1 }
                }))
            }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

#[tokio::test]
async fn every_call_is_a_post_whose_token_travels_in_the_form_body_and_never_in_the_url() {
    let (url, received) = spawn_recorder().await;
    let whm = WhmClient::new(fast_settings()).server(&conn_to(url));
    let mut created = link("user0001", "ticket_open", "Open & Ticket", 1);
    created.base64_png_image = Some(tiny_png());

    whm.create_integration_link(&created).await.unwrap();
    whm.update_integration_link_token(
        "user0001",
        "applinks_ticket_open",
        &SecretString::from("fresh-secret"),
    )
    .await
    .unwrap();

    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), 2);
    for (request, function, token) in [
        (
            &received[0],
            "create_integration_link",
            "link-secret-0123456789abcdef",
        ),
        (
            &received[1],
            "update_integration_link_token",
            "fresh-secret",
        ),
    ] {
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, format!("/json-api/{function}"));
        assert_eq!(request.query, None, "{request:?}");
        assert_eq!(
            request.content_type.as_deref(),
            Some("application/x-www-form-urlencoded")
        );
        let form: HashMap<String, String> = form_urlencoded::parse(request.body.as_bytes())
            .into_owned()
            .collect();
        assert_eq!(form["api.version"], "1");
        assert_eq!(form["user"], "user0001");
        assert_eq!(form["app"], "applinks_ticket_open");
        assert_eq!(form["token"], token);
    }
    let create: HashMap<String, String> = form_urlencoded::parse(received[0].body.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(create["label"], "Open & Ticket");
    assert_eq!(create["base64_png_image"], tiny_png());
}

#[tokio::test]
async fn create_integration_link_leaves_out_optional_arguments_that_are_empty() {
    let (url, received) = spawn_recorder().await;
    let whm = WhmClient::new(fast_settings()).server(&conn_to(url));
    let created = CreateLink {
        implements: String::new(),
        label: String::new(),
        subscriber_unique_id: String::new(),
        token: SecretString::from(""),
        autologin_token_url: None,
        ..link("user0001", "ticket_open", "", 1)
    };

    whm.create_integration_link(&created).await.unwrap();

    let body = received.lock().unwrap()[0].body.clone();
    let names: Vec<String> = form_urlencoded::parse(body.as_bytes())
        .map(|(name, _)| name.into_owned())
        .collect();
    assert_eq!(
        names,
        ["api.version", "user", "app", "url", "order", "hide"]
    );
}

#[tokio::test]
async fn an_answer_beyond_the_size_bound_is_a_permanent_bad_response() {
    let sim = spawn_sim(50).await;
    let settings = ClientSettings {
        max_answer_bytes: 2_048,
        ..fast_settings()
    };
    let whm = WhmClient::new(settings);
    let err = whm.server(&sim_conn(&sim)).listaccts().await.unwrap_err();
    assert_eq!(err.cause, Cause::BadResponse);
    assert_eq!(err.kind, ErrorKind::Permanent);
    assert!(
        err.reason.contains("larger than 2048 bytes"),
        "{}",
        err.reason
    );
    assert_eq!(err.attempts, 1);
    // A small answer still reads.
    assert_eq!(
        whm.server(&sim_conn(&sim)).version().await.unwrap(),
        sim.version
    );
}
