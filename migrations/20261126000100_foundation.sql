-- Administrators, roles and the applications' On/Off switches.

create table roles (
    id bigserial primary key,
    name text not null unique check (length(btrim(name)) between 1 and 100),
    -- The built-in Full Administrator holds every permission and cannot be changed.
    built_in boolean not null default false,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

create table role_permissions (
    role_id bigint not null references roles (id) on delete cascade,
    permission text not null check (
        permission in ('configure_application_links', 'configure_servers', 'manage_clients', 'manage_admins')
    ),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (role_id, permission)
);

create table admins (
    id bigserial primary key,
    username text not null,
    password_hash text not null,
    role_id bigint not null references roles (id),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create unique index admins_username_key on admins (lower(username));

insert into roles (name, built_in) values ('Full Administrator', true);
insert into role_permissions (role_id, permission)
select r.id, p.permission
from roles r,
     (values ('configure_application_links'), ('configure_servers'), ('manage_clients'), ('manage_admins')) as p (permission)
where r.built_in;

create table applications (
    app text primary key check (app in ('cpanel', 'wp2')),
    enabled boolean not null default false,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
insert into applications (app) values ('cpanel'), ('wp2');
