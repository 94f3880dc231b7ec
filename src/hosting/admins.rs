//! Administrators and roles as Setup › Administrators, Setup › Roles, My account and the
//! `applinks admin …` commands change them: validation, hashing and the database work, with
//! messages a person can act on. The pages and the command line call these functions, so
//! every rule holds for both.
//!
//! Nobody can lock the installation out: a change that could leave no enabled admin holding
//! `manage_admins` (disabling an admin, changing an admin's role, unticking a role's
//! permission) runs in one transaction that first takes [`db::admins::lock_for_change`], makes
//! the change, and commits only if [`db::admins::managers_left`] is still above zero. Two such
//! changes therefore run one after the other, and the second sees the first.
//!
//! A disabled admin's sessions end in the same transaction, as do the sessions of an admin
//! whose password another admin set; changing one's own password ends one's other sessions.

use anyhow::{Context as _, bail};
use sqlx::PgPool;

use crate::crypto::password::{hash_password, verify_password};
use crate::db;
use crate::db::admins::{Admin, NewAdmin};
use crate::db::roles::{CreateRoleError, Role};
use crate::hosting::forms::FieldErrors;
use crate::hosting::forms::admin::{AdminInput, RoleInput, check_new_password, check_username};

/// Why a change of admins or roles was refused (or failed).
#[derive(Debug, thiserror::Error)]
pub enum AdminsError {
    /// Field messages, keyed by form field.
    #[error("{0}")]
    Invalid(FieldErrors),
    #[error(
        "this change would leave no enabled administrator holding “Manage Admins”, so nobody \
         could manage administrators any more; nothing was saved"
    )]
    Lockout,
    #[error("there is no such administrator or role")]
    NotFound,
    #[error("the built-in role “Full Administrator” cannot be changed or deleted")]
    BuiltIn,
    #[error(
        "the role “{role}” is the role of {admins} administrator(s): give them another role first"
    )]
    RoleInUse { role: String, admins: i64 },
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

type Result<T> = std::result::Result<T, AdminsError>;

/// argon2 takes tens of milliseconds of CPU: keep it off the async workers.
async fn hash(password: &str) -> anyhow::Result<String> {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || hash_password(&password)).await?
}

fn username_taken() -> AdminsError {
    AdminsError::Invalid(FieldErrors::one(
        "username",
        "Another administrator already has this username.",
    ))
}

fn role_gone() -> AdminsError {
    AdminsError::Invalid(FieldErrors::one(
        "role_id",
        "This role no longer exists: choose another.",
    ))
}

/// Fails with [`AdminsError::Lockout`] when the transaction's changes leave nobody who may
/// manage admins; the caller then drops the transaction, so nothing is saved.
async fn someone_still_manages_admins(conn: &mut sqlx::PgConnection) -> Result<()> {
    if db::admins::managers_left(conn).await? == 0 {
        return Err(AdminsError::Lockout);
    }
    Ok(())
}

/// Adds an administrator with the form's first password.
pub async fn add_admin(pool: &PgPool, input: &AdminInput) -> Result<i64> {
    let password = input
        .password
        .as_deref()
        .ok_or_else(|| AdminsError::Invalid(FieldErrors::one("password", "Enter a password.")))?;
    let password_hash = hash(password).await?;
    let mut tx = db::begin(pool).await?;
    db::admins::lock_for_change(&mut tx).await?;
    if db::roles::find(&mut *tx, input.role_id).await?.is_none() {
        return Err(role_gone());
    }
    let id = db::admins::create(
        &mut *tx,
        &NewAdmin {
            username: &input.username,
            name: &input.name,
            email: input.email.as_deref(),
            password_hash: &password_hash,
            role_id: input.role_id,
        },
    )
    .await?
    .ok_or_else(username_taken)?;
    tx.commit().await?;
    tracing::info!(admin = %input.username, "administrator added");
    Ok(id)
}

/// Creates an administrator with `role`; refuses short passwords and taken usernames.
pub async fn create_admin(
    pool: &PgPool,
    username: &str,
    role: &str,
    password: &str,
) -> anyhow::Result<i64> {
    let mut errors = FieldErrors::new();
    let Some(username) = check_username(&mut errors, username) else {
        bail!("{}", errors.get("username").unwrap_or("bad username"));
    };
    check_new_password(password).map_err(anyhow::Error::msg)?;
    let role_row = db::roles::find_by_name(pool, role)
        .await?
        .with_context(|| {
            format!("there is no role named “{role}” (create it with `applinks role create`)")
        })?;
    let hash = hash(password).await?;
    db::admins::insert(pool, &username, &hash, role_row.id)
        .await?
        .with_context(|| format!("an admin named “{username}” already exists"))
}

/// Changes an administrator's username, name, e-mail and role.
pub async fn update_admin(pool: &PgPool, id: i64, input: &AdminInput) -> Result<()> {
    let mut tx = db::begin(pool).await?;
    db::admins::lock_for_change(&mut tx).await?;
    if db::roles::find(&mut *tx, input.role_id).await?.is_none() {
        return Err(role_gone());
    }
    let updated = db::admins::update(
        &mut *tx,
        id,
        &input.username,
        &input.name,
        input.email.as_deref(),
        input.role_id,
    )
    .await;
    match updated {
        Ok(true) => {}
        Ok(false) => return Err(AdminsError::NotFound),
        Err(err) if db::admins::is_username_taken(&err) => return Err(username_taken()),
        Err(err) => return Err(err.into()),
    }
    someone_still_manages_admins(&mut tx).await?;
    tx.commit().await?;
    Ok(())
}

/// Disables an admin (their sessions end at once) or enables one again; answers the admin.
pub async fn set_disabled(pool: &PgPool, id: i64, disabled: bool) -> Result<Admin> {
    let mut tx = db::begin(pool).await?;
    db::admins::lock_for_change(&mut tx).await?;
    if !db::admins::set_disabled(&mut *tx, id, disabled).await? {
        return Err(AdminsError::NotFound);
    }
    if disabled {
        db::admins::end_sessions(&mut *tx, id, None).await?;
        someone_still_manages_admins(&mut tx).await?;
    }
    let admin = db::admins::find(&mut *tx, id)
        .await?
        .ok_or(AdminsError::NotFound)?;
    tx.commit().await?;
    tracing::info!(admin = %admin.username, disabled, "administrator switched");
    Ok(admin)
}

/// Sets another admin's password (checked by the caller); every session of that admin ends.
pub async fn reset_password(pool: &PgPool, id: i64, password: &str) -> Result<Admin> {
    let password_hash = hash(password).await?;
    let mut tx = db::begin(pool).await?;
    store_password(&mut tx, id, &password_hash, None).await?;
    let admin = db::admins::find(&mut *tx, id)
        .await?
        .ok_or(AdminsError::NotFound)?;
    tx.commit().await?;
    tracing::info!(admin = %admin.username, "password reset; sessions ended");
    Ok(admin)
}

/// Changes one's own password after checking the current one; one's sessions other than
/// `this_session` end.
pub async fn change_own_password(
    pool: &PgPool,
    id: i64,
    current: &str,
    new: &str,
    this_session: Option<&str>,
) -> Result<()> {
    let admin = db::admins::find(pool, id)
        .await?
        .ok_or(AdminsError::NotFound)?;
    let stored = admin.password_hash.clone();
    let current = current.to_string();
    let ok = tokio::task::spawn_blocking(move || verify_password(&current, Some(&stored)))
        .await
        .map_err(anyhow::Error::from)?;
    if !ok {
        return Err(AdminsError::Invalid(FieldErrors::one(
            "current_password",
            "This is not your current password.",
        )));
    }
    let password_hash = hash(new).await?;
    let mut tx = db::begin(pool).await?;
    store_password(&mut tx, id, &password_hash, this_session).await?;
    tx.commit().await?;
    tracing::info!(admin = %admin.username, "own password changed; other sessions ended");
    Ok(())
}

/// Stores admin `id`'s new password hash and ends their sessions except `keep`, inside the
/// caller's transaction.
async fn store_password(
    tx: &mut sqlx::PgConnection,
    id: i64,
    password_hash: &str,
    keep: Option<&str>,
) -> Result<()> {
    if !db::admins::set_password_hash(&mut *tx, id, password_hash).await? {
        return Err(AdminsError::NotFound);
    }
    db::admins::end_sessions(&mut *tx, id, keep).await?;
    Ok(())
}

/// `applinks admin set-password`: sets the password of the admin named `username` (the same
/// rule as the pages) and ends all of that admin's sessions.
pub async fn set_password(pool: &PgPool, username: &str, password: &str) -> anyhow::Result<()> {
    check_new_password(password).map_err(anyhow::Error::msg)?;
    let admin = db::admins::find_by_username(pool, username.trim())
        .await?
        .ok_or_else(|| anyhow::anyhow!("there is no administrator named “{}”", username.trim()))?;
    reset_password(pool, admin.id, password)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(())
}

/// Adds a role with the ticked permissions.
pub async fn create_role(pool: &PgPool, input: &RoleInput) -> Result<Role> {
    let mut conn = pool.acquire().await?;
    match db::roles::create(&mut conn, &input.name, &input.permissions).await {
        Ok(role) => Ok(role),
        Err(CreateRoleError::Exists(_)) => Err(name_taken()),
        Err(CreateRoleError::BadName) => Err(AdminsError::Invalid(FieldErrors::one(
            "name",
            "Enter a name of 1 to 100 characters.",
        ))),
        Err(CreateRoleError::Db(err)) => Err(err.into()),
    }
}

fn name_taken() -> AdminsError {
    AdminsError::Invalid(FieldErrors::one(
        "name",
        "Another role already has this name.",
    ))
}

/// Renames a role and replaces its permissions; the built-in role cannot be changed.
pub async fn update_role(pool: &PgPool, id: i64, input: &RoleInput) -> Result<()> {
    let mut tx = db::begin(pool).await?;
    db::admins::lock_for_change(&mut tx).await?;
    let role = db::roles::find(&mut *tx, id)
        .await?
        .ok_or(AdminsError::NotFound)?;
    if role.built_in {
        return Err(AdminsError::BuiltIn);
    }
    match db::roles::update(&mut tx, id, &input.name, &input.permissions).await {
        Ok(true) => {}
        Ok(false) => return Err(AdminsError::NotFound),
        Err(err) if db::roles::is_name_taken(&err) => return Err(name_taken()),
        Err(err) => return Err(err.into()),
    }
    someone_still_manages_admins(&mut tx).await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes a role no admin has (disabled ones included); the built-in role stays.
pub async fn delete_role(pool: &PgPool, id: i64) -> Result<Role> {
    let mut tx = db::begin(pool).await?;
    db::admins::lock_for_change(&mut tx).await?;
    let role = db::roles::find(&mut *tx, id)
        .await?
        .ok_or(AdminsError::NotFound)?;
    if role.built_in {
        return Err(AdminsError::BuiltIn);
    }
    let admins = db::roles::admins_with(&mut *tx, id).await?;
    if admins > 0 {
        return Err(AdminsError::RoleInUse {
            role: role.name,
            admins,
        });
    }
    db::roles::delete(&mut *tx, id).await?;
    tx.commit().await?;
    Ok(role)
}
