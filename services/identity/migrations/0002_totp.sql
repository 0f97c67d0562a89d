-- Admin two-factor authentication (TOTP, RFC 6238).

alter table admin_users
    -- Base32 secret of the enabled authenticator; null when TOTP is off.
    add column totp_secret text,
    add column totp_enabled_at timestamptz,
    -- An enrolment begun and not yet confirmed with a code.
    add column totp_pending_secret text,
    add column totp_pending_at timestamptz,
    -- The last time step whose code was accepted: a code is good once.
    add column totp_last_step bigint not null default 0;

-- Ten single-use recovery codes per admin; only their SHA-256 is stored.
create table admin_recovery_codes (
    id            uuid primary key,
    admin_user_id uuid not null references admin_users (id) on delete cascade,
    code_hash     bytea not null,
    used_at       timestamptz,
    created_at    timestamptz not null default now()
);
create index admin_recovery_codes_user_idx on admin_recovery_codes (admin_user_id);

-- The second step of an admin login: the password was right, a code is
-- due. Single use, five minutes, five wrong codes.
create table admin_login_challenges (
    id            uuid primary key,
    admin_user_id uuid not null references admin_users (id) on delete cascade,
    token_hash    bytea not null,
    -- Set when this login also enrols TOTP (required and not yet set up).
    enroll_secret text,
    attempts      integer not null default 0,
    client_ip     text not null default '',
    expires_at    timestamptz not null,
    created_at    timestamptz not null default now()
);
create unique index admin_login_challenges_token_key on admin_login_challenges (token_hash);
create index admin_login_challenges_user_idx on admin_login_challenges (admin_user_id);
