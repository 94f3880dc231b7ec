-- A client may have no e-mail (issue 7): cPanel's listaccts answers `*unknown*` or nothing
-- for some accounts, and the import gives each of them a client of its own. NULL means none;
-- '' is never stored, so "no e-mail" has one spelling and cannot collide in the unique index.
--
-- The unique index clients_email_key on lower(email) stays as it is: the code recognises a
-- taken e-mail by that name, any number of NULLs already coexist in it, and
-- `on conflict (lower(email))` (demo data, test helpers) still infers it.
update clients set email = null where btrim(email) = '';
alter table clients alter column email drop not null;
alter table clients add constraint clients_email_not_blank check (btrim(email) <> '');

-- The owner user's e-mail follows the client's, so it may be missing too. Still unique per
-- client when present (client_users_email_key on (client_id, lower(email)) lets NULLs be).
update client_users set email = null where btrim(email) = '';
alter table client_users alter column email drop not null;
alter table client_users add constraint client_users_email_not_blank check (btrim(email) <> '');
