-- Single sign-on (SPEC §8): one-time tokens that /sso/cpanel hands out and /sso/login
-- consumes. Only the SHA-256 of a token is stored, so a leaked table signs nobody in.
create table sso_tokens (
    token_hash bytea primary key check (length(token_hash) = 32),
    client_id bigint not null references clients (id) on delete cascade,
    client_user_id bigint not null references client_users (id) on delete cascade,
    account_id bigint not null references accounts (id) on delete cascade,
    -- Client-area path the browser lands on, e.g. /client/tickets/new.
    destination text not null check (destination like '/client/%'),
    expires_at timestamptz not null,
    used_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index sso_tokens_expires_idx on sso_tokens (expires_at);
