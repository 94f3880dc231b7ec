//! `applinks demo`: simulated servers on loopback, demo clients and accounts, an admin with a
//! fresh password, then the web server with in-process workers. One command to see it all.
//! Each run starts afresh: earlier `demo-*` servers, operations and switches are reset.

use anyhow::Context as _;
use base64::Engine as _;
use sqlx::PgPool;

use crate::config::{ProvisioningArgs, WebArgs};
use crate::crypto::SecretBox;
use crate::db;
use crate::hosting::admins::create_admin;
use crate::startup::Application;
use crate::whm::sim::{self, SimConfig, SimHandle};

/// The simulated servers: name, module, accounts, version.
const SERVERS: [(&str, &str, usize, &str); 4] = [
    ("demo-cpanel-1", "cpanel", 40, "11.134.0.5"),
    ("demo-cpanel-2", "cpanel", 40, "11.134.0.5"),
    ("demo-wp2", "wp2", 20, "11.134.0.5"),
    ("demo-cpanel-legacy", "cpanel", 5, "11.52.0.1"),
];

const ADMIN: &str = "demo";
/// Jobs the demo's in-process workers run at once.
pub const WORKERS: usize = 4;

pub async fn run(pool: PgPool, web: WebArgs) -> anyhow::Result<()> {
    db::migrate::run(&pool).await?;
    let secrets = SecretBox::from_base64(Some(&SecretBox::generate_key()))?;
    let mut sims = Vec::new();
    for (name, module, accounts, version) in SERVERS {
        let sim = sim::spawn(SimConfig {
            accounts,
            module: module.to_string(),
            version: version.to_string(),
            // A little latency, so the progress bar has something to show.
            latency_ms: 15,
            ..Default::default()
        })
        .await
        .with_context(|| format!("starting the simulator {name}"))?;
        sims.push((name, sim));
    }
    let seeded: Vec<(&str, &SimHandle, usize)> = sims
        .iter()
        .map(|(name, sim)| {
            let n = SERVERS.iter().find(|s| s.0 == *name).map_or(0, |s| s.2);
            (*name, sim, n)
        })
        .collect();
    seed(&pool, &secrets, &seeded).await?;
    // Every demo starts from the same place: both applications off, no earlier operations.
    sqlx::query("update applications set enabled = false, updated_at = now()")
        .execute(&pool)
        .await?;
    sqlx::query("delete from operations").execute(&pool).await?;

    let password = {
        let bytes: [u8; 12] = rand::random();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    };
    sqlx::query("delete from admins where username = $1")
        .bind(ADMIN)
        .execute(&pool)
        .await?;
    create_admin(
        &pool,
        ADMIN,
        crate::domain::permission::FULL_ADMINISTRATOR,
        &password,
    )
    .await?;

    let app = Application::build(pool, &web, secrets).await?;
    println!("applinks demo: {}/admin", app.public_url);
    println!("admin: {ADMIN} / {password}");
    for (name, sim) in &sims {
        let n = SERVERS.iter().find(|s| s.0 == *name).map_or(0, |s| s.2);
        println!(
            "simulated server: {} ({}, {n} accounts)",
            sim.url, sim.module
        );
        tracing::info!(server = name, url = %sim.url, version = %sim.version, "simulated server");
    }
    println!(
        "customer view: {}/cpanel/user0001 (the simulated cPanel home of user0001)",
        sims[0].1.url
    );
    tokio::spawn(app.workers(&ProvisioningArgs::default(), WORKERS));
    app.run_until_stopped().await
}

/// Registers each simulator as a server (replacing earlier `demo-*` servers, whose ports and
/// key are gone) with one client and account per simulated user `user0001`….
pub async fn seed(
    pool: &PgPool,
    secrets: &SecretBox,
    sims: &[(&str, &SimHandle, usize)],
) -> anyhow::Result<()> {
    let mut tx = db::begin(pool).await?;
    sqlx::query(
        "delete from accounts where server_id in (select id from servers where name like 'demo-%')",
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query("delete from servers where name like 'demo-%'")
        .execute(&mut *tx)
        .await?;
    for (name, sim, accounts) in sims {
        let server_id: i64 = sqlx::query_scalar(
            "insert into servers (name, hostname, port, module, username, auth_kind, secret_ciphertext, use_tls, version, version_checked_at)
             values ($1, $2, $3, $4, $5, 'token', $6, false, $7, now()) returning id",
        )
        .bind(name)
        .bind(sim.addr.ip().to_string())
        .bind(i32::from(sim.addr.port()))
        .bind(&sim.module)
        .bind(&sim.username)
        .bind(secrets.encrypt(&sim.token))
        .bind(&sim.version)
        .fetch_one(&mut *tx)
        .await?;
        for i in 1..=*accounts {
            let user = format!("user{i:04}");
            let email = format!("owner{i:04}@example.test");
            let client_id: i64 = sqlx::query_scalar(
                "insert into clients (name, email) values ($1, $2)
                 on conflict (lower(email)) do update set updated_at = now() returning id",
            )
            .bind(format!("Demo Customer {i:04}"))
            .bind(&email)
            .fetch_one(&mut *tx)
            .await?;
            // The owner, and a second user so that *User Management* has someone to switch.
            let users = [
                (format!("Owner {i:04}"), email.clone(), true),
                (
                    format!("Bookkeeper {i:04}"),
                    format!("books{i:04}@example.test"),
                    false,
                ),
            ];
            for (name, email, is_owner) in users {
                sqlx::query(
                    "insert into client_users (client_id, name, email, is_owner) values ($1, $2, $3, $4)
                     on conflict do nothing",
                )
                .bind(client_id)
                .bind(name)
                .bind(email)
                .bind(is_owner)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query("insert into accounts (client_id, server_id, username, domain) values ($1, $2, $3, $4)")
                .bind(client_id)
                .bind(server_id)
                .bind(&user)
                .bind(format!("{user}.example.test"))
                .execute(&mut *tx)
                .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}
