-- What a provisioning job reads and writes before and while its requests travel (issue 11:
-- twenty servers' jobs start together, and the database's share of that moment delays their
-- first requests).
--
-- 1. A job reads its server's accounts: by an index, not by reading every account (the only
--    index on the server was partial, for usernames).
create index accounts_server_idx on accounts (server_id);

-- 2. An account's outcome belongs to its server's part of the operation: one foreign key to
--    that row instead of one to the operation and one to the server, so naming a server's
--    accounts checks two keys per account, not three. Deleting the operation or the server
--    still deletes the outcomes (through the server's part, which both delete).
alter table operation_accounts
    drop constraint operation_accounts_operation_id_fkey,
    drop constraint operation_accounts_server_id_fkey,
    add constraint operation_accounts_server_part_fkey foreign key (operation_id, server_id)
        references operation_servers (operation_id, server_id) on delete cascade;
