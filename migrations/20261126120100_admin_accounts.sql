-- Administrators managed in the browser (issue 12): a name and an e-mail beside the username,
-- and a switch that disables an admin. Admins are never deleted, so the log keeps their names.
alter table admins
    add column name text not null default '' check (length(name) <= 200),
    add column email text check (email is null or length(email) between 3 and 254),
    add column disabled boolean not null default false;

-- Admins created before this had only a username.
update admins set name = username where name = '';
