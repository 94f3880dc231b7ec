-- Reset SSO token (issue 12, SPEC §6): an operation that pushes an account's new link secret
-- to its links with `update_integration_link_token`.
alter table operations drop constraint operations_kind_check;
alter table operations add constraint operations_kind_check
    check (kind in ('activate', 'sync', 'deactivate', 'retry', 'account', 'reset_token'));
