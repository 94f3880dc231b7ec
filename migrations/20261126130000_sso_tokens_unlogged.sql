-- One-time SSO tokens (issue 10): they live 120 s and are worth nothing after a crash, so
-- they stay out of the WAL. Issuing and consuming a token then waits for no disk flush (the
-- round trip's only flush is the client session it starts). Crash recovery empties an
-- unlogged table, so a used token can never come back; a failover to a standby loses the
-- tokens in flight, and the customer clicks the link again.
--
-- Foreign keys would lock the referenced client, user and account rows on every insert, and
-- those locks are written to the WAL; `db::sso::consume` checks the three references
-- instead (and the SSO switches), and tokens of deleted rows expire like any other.
alter table sso_tokens drop constraint sso_tokens_client_id_fkey;
alter table sso_tokens drop constraint sso_tokens_client_user_id_fkey;
alter table sso_tokens drop constraint sso_tokens_account_id_fkey;
alter table sso_tokens set unlogged;

-- The warnings of an operation are counted on every status poll; this index answers the
-- count from the warnings alone instead of visiting every entry of a long log.
create index operation_log_warnings_idx on operation_log (operation_id) where level = 'warning';
