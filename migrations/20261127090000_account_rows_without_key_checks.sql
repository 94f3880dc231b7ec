-- An account's link secrets and its outcomes in operations go with the account, as before, but
-- by a trigger on deleting accounts rather than by foreign keys (issue 11). A foreign key is
-- checked for every row written: a shared lock on the account's row, itself a write of that
-- row and a WAL record. A first activation writes a link secret and an outcome for every
-- account of every server at once (twenty servers: 8,000 checks within a few hundred
-- milliseconds). The checks were about half the work of the two statements writing those
-- rows, the database's costliest at the moment the jobs' first requests waited for it. Every
-- statement that writes to either table reads the accounts it names in the same statement
-- (`db::outcomes`, `db::provisioning`), and account ids are never reused.
alter table account_link_secrets drop constraint account_link_secrets_account_id_fkey;
alter table operation_accounts drop constraint operation_accounts_account_id_fkey;

create function delete_account_rows() returns trigger language plpgsql as $$
begin
    delete from account_link_secrets s using gone g where s.account_id = g.id;
    delete from operation_accounts o using gone g where o.account_id = g.id;
    return null;
end
$$;

-- Once per statement, whatever deleted the accounts (a server's removal, a client's cascade).
create trigger accounts_delete_their_rows after delete on accounts
    referencing old table as gone
    for each statement execute function delete_account_rows();
