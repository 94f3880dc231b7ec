-- Link configuration, operations with their per-server jobs, the provisioning log, and the
-- per-account link secrets (SPEC §4, §6, §8).

create table app_links (
    app text not null references applications (app),
    link_key text not null,
    shown boolean not null default true,
    label text not null check (length(btrim(label)) between 1 and 100),
    -- 1-based position within the application; the set of positions is a permutation.
    position integer not null check (position >= 1),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (app, link_key),
    constraint app_links_position_key unique (app, position) deferrable initially deferred
);

insert into app_links (app, link_key, label, position)
select a.app, l.link_key, l.label, l.position
from (values ('cpanel'), ('wp2')) as a (app),
     (values
        ('upgrade', 'Upgrade/Downgrade', 1),
        ('addons', 'View/Order Addons', 2),
        ('domain_register', 'Register New Domain', 3),
        ('domain_transfer', 'Transfer a Domain', 4),
        ('ticket_open', 'Open Ticket', 5),
        ('ticket_history', 'View Ticket History', 6),
        ('announcements', 'News & Announcements', 7),
        ('downloads', 'Download Resources', 8),
        ('knowledgebase', 'Search our Knowledgebase', 9),
        ('network_status', 'Check Network Status', 10),
        ('profile', 'Manage Profile', 11),
        ('billing_view', 'View Billing Information', 12),
        ('billing_manage', 'Manage Billing Information', 13),
        ('email_history', 'View Email History', 14),
        ('invoice_history', 'View Invoice History', 15)
     ) as l (link_key, label, position);

create table operations (
    id uuid primary key,
    app text not null references applications (app),
    kind text not null check (kind in ('activate', 'sync', 'deactivate', 'retry', 'account')),
    -- For kind = 'account': the account whose links changed.
    account_id bigint references accounts (id) on delete set null,
    started_at timestamptz not null default now(),
    finished_at timestamptz,
    -- Set when a newer operation of the same application took over; its jobs stop early.
    superseded_by uuid references operations (id) on delete set null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index operations_app_started_idx on operations (app, started_at desc);

create table operation_servers (
    operation_id uuid not null references operations (id) on delete cascade,
    server_id bigint not null references servers (id) on delete cascade,
    state text not null default 'queued'
        check (state in ('queued', 'running', 'done', 'failed', 'skipped', 'superseded')),
    accounts_total integer not null default 0,
    accounts_done integer not null default 0,
    warnings integer not null default 0,
    started_at timestamptz,
    finished_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (operation_id, server_id)
);

create table operation_log (
    id bigserial primary key,
    operation_id uuid not null references operations (id) on delete cascade,
    at timestamptz not null default clock_timestamp(),
    level text not null check (level in ('debug', 'info', 'notice', 'warning')),
    server_id bigint,
    server_name text,
    account_username text,
    message text not null,
    -- A plain explanation beside a server's words, for warnings known to be harmless.
    hint text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index operation_log_operation_idx on operation_log (operation_id, id desc);

create table account_link_secrets (
    account_id bigint not null references accounts (id) on delete cascade,
    app text not null references applications (app),
    -- AES-256-GCM (crate::crypto) of the token sent as `token` with every link.
    token_ciphertext bytea not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (account_id, app)
);
