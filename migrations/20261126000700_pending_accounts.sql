-- Accounts an import found whose listed e-mail matches a client applinks already has (issue 8).
-- That e-mail is the cPanel contact address, which the customer sets himself, so a match is
-- only a suggestion: the account waits here, outside `accounts`, until an admin confirms it (it
-- becomes an account of that client) or dismisses it (an account with a client of its own).
-- Provisioning and single sign-on read `accounts` only, so a pending account gets no links and
-- no sign-in by construction, and `accounts.client_id` stays NOT NULL.
create table pending_accounts (
    id bigserial primary key,
    server_id bigint not null references servers (id) on delete cascade,
    -- Never empty: an account without a username has nothing to wait for (it is skipped).
    username text not null check (username <> ''),
    domain text not null default '',
    status text not null default 'active' check (status in ('active', 'suspended', 'terminated')),
    -- The address the server listed (as the import reads it), shown beside the client's name.
    email text not null check (btrim(email) <> ''),
    -- The client it matched. When that client goes, so does the suggestion: the next import
    -- then looks at the account afresh.
    client_id bigint not null references clients (id) on delete cascade,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create unique index pending_accounts_server_username_key on pending_accounts (server_id, username);
create index pending_accounts_client_idx on pending_accounts (client_id);
