-- Servers, clients (with their users) and hosting accounts (SPEC §5).

create table servers (
    id bigserial primary key,
    name text not null check (length(btrim(name)) between 1 and 100),
    hostname text not null,
    port integer not null default 2087 check (port between 1 and 65535),
    -- cpanel, wp2, or a module that cannot link (still listed, logged as unsupported).
    module text not null,
    username text not null default 'root',
    -- 'token': header `Authorization: whm USER:TOKEN`; 'password': HTTP Basic.
    auth_kind text not null default 'token' check (auth_kind in ('token', 'password')),
    -- AES-256-GCM, nonce || ciphertext (crate::crypto). Never rendered back.
    secret_ciphertext bytea not null,
    -- https (real servers) or plain http (the simulator on loopback).
    use_tls boolean not null default true,
    verify_tls boolean not null default true,
    enabled boolean not null default true,
    version text,
    version_checked_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create unique index servers_name_key on servers (lower(name));

create table clients (
    id bigserial primary key,
    name text not null check (length(btrim(name)) between 1 and 200),
    email text not null,
    -- "Allow Single Sign-On" for the whole client.
    allow_sso boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create unique index clients_email_key on clients (lower(email));

create table client_users (
    id bigserial primary key,
    client_id bigint not null references clients (id) on delete cascade,
    name text not null,
    email text not null,
    is_owner boolean not null default false,
    -- This user may sign in through single sign-on.
    sso_allowed boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create unique index client_users_email_key on client_users (client_id, lower(email));
create unique index client_users_one_owner on client_users (client_id) where is_owner;

create table accounts (
    id bigserial primary key,
    client_id bigint not null references clients (id) on delete cascade,
    server_id bigint not null references servers (id) on delete restrict,
    -- May be empty (an account whose username was never recorded); the server then
    -- answers "The value of “user” may not be empty" and the log explains it.
    username text not null default '',
    domain text not null default '',
    status text not null default 'active' check (status in ('active', 'suspended', 'terminated')),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create unique index accounts_server_username_key on accounts (server_id, username) where username <> '';
create index accounts_client_idx on accounts (client_id);
