-- A link secret's application is one of the fixed two, as `applications` itself says: a check
-- on the row, not a foreign key. The key was checked once per secret written, each check a
-- shared lock on the application's one row, taken by every job writing secrets at the same
-- moment (twenty servers' first activation: 4,000 checks of one row at once). The
-- applications' rows are written by the first migration and never deleted.
alter table account_link_secrets
    drop constraint account_link_secrets_app_fkey,
    add constraint account_link_secrets_app_check check (app in ('cpanel', 'wp2'));
