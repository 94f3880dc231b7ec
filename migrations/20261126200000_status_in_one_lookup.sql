-- The status fragment is polled every second or two by every admin watching a sync, so its
-- query must cost little more than a primary-key lookup (issue 10: ≥ 5,000 req/s).
--
-- 1. The application's last application-wide operation, kept on the application's row by
--    the transaction that starts the operation (which holds that row's lock, so operations
--    of one application start one at a time and the newest one is the one named here). It
--    replaces a sort of the application's operations on every poll.
alter table applications
    add column last_operation_id uuid references operations (id) on delete set null;

update applications a set last_operation_id = (
    select o.id from operations o
    where o.app = a.app and o.kind not in ('account', 'reset_token')
    order by o.started_at desc, o.created_at desc
    limit 1);

-- 2. An operation's Warning entries, counted by the statement that writes one (in the same
--    statement, so the count and the log never disagree). It replaces counting the log on
--    every poll.
alter table operations add column warnings integer not null default 0;

update operations o set warnings = (
    select count(*) from operation_log l where l.operation_id = o.id and l.level = 'warning');

-- The partial index served that count only.
drop index if exists operation_log_warnings_idx;
