-- Each account's outcome in an operation (issue 11). A job writes a `pending` row for every
-- account it is about to reconcile and settles it when the server has answered: `done`,
-- `failed` (with the reason, the server's words where there are any) or `skipped` (a warning
-- known to be harmless, SPEC §6). Retry copies the failed and unsettled rows of the last
-- operation into its own, so that it re-runs those accounts only.
create table operation_accounts (
    operation_id uuid not null references operations (id) on delete cascade,
    account_id bigint not null references accounts (id) on delete cascade,
    server_id bigint not null references servers (id) on delete cascade,
    outcome text not null default 'pending'
        check (outcome in ('pending', 'done', 'failed', 'skipped')),
    reason text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (operation_id, account_id)
);
create index operation_accounts_server_idx on operation_accounts (operation_id, server_id, outcome);
