-- Gongshu metadata schema, version 1.
-- One text for both backends: `{serial_primary_key}` is the only dialect
-- difference, filled in by migrations.rs (INTEGER PRIMARY KEY AUTOINCREMENT on
-- SQLite, an identity column on PostgreSQL). Timestamps are RFC 3339 UTC text
-- with fixed width, so they sort as text on both (ADR 0002).
CREATE TABLE organization (
    id TEXT PRIMARY KEY,
    code TEXT UNIQUE,
    name_zh TEXT NOT NULL UNIQUE,
    name_en TEXT,
    kind TEXT NOT NULL,
    region_code TEXT NOT NULL,
    parent_id TEXT REFERENCES organization (id),
    created_at TEXT NOT NULL
);

CREATE TABLE app_user (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT,
    system_admin BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);

CREATE TABLE membership (
    user_id TEXT NOT NULL REFERENCES app_user (id),
    org_id TEXT NOT NULL REFERENCES organization (id),
    role TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (user_id, org_id, role)
);

CREATE TABLE api_token (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES app_user (id),
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    revoked_at TEXT
);
CREATE INDEX api_token_user ON api_token (user_id);

-- content holds the versioned JSON of the entry's ResourceDraft; the other
-- columns repeat what lists filter and sort on.
CREATE TABLE resource (
    id TEXT PRIMARY KEY,
    provider_org_id TEXT NOT NULL REFERENCES organization (id),
    state TEXT NOT NULL,
    registration_code TEXT UNIQUE,
    name_zh TEXT NOT NULL,
    name_en TEXT,
    level TEXT NOT NULL,
    share_kind TEXT NOT NULL,
    open_kind TEXT NOT NULL,
    content TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    published_at TEXT,
    row_version BIGINT NOT NULL
);
CREATE INDEX resource_provider ON resource (provider_org_id);
CREATE INDEX resource_state ON resource (state);

-- One row per data item, for 一数一源 look-ups across providers.
CREATE TABLE resource_item (
    resource_id TEXT NOT NULL REFERENCES resource (id),
    position BIGINT NOT NULL,
    identity_key TEXT NOT NULL,
    title TEXT NOT NULL,
    PRIMARY KEY (resource_id, position)
);
CREATE INDEX resource_item_identity ON resource_item (identity_key);

CREATE TABLE registration (
    id TEXT PRIMARY KEY,
    resource_id TEXT NOT NULL REFERENCES resource (id),
    application TEXT NOT NULL,
    state TEXT NOT NULL,
    registrant_org_id TEXT NOT NULL REFERENCES organization (id),
    reason TEXT,
    proposed TEXT,
    code TEXT,
    submitted_at TEXT NOT NULL,
    state_since TEXT NOT NULL,
    due_date TEXT,
    publicity_start TEXT,
    publicity_end TEXT,
    updated_at TEXT NOT NULL,
    row_version BIGINT NOT NULL
);
CREATE INDEX registration_resource ON registration (resource_id);
CREATE INDEX registration_state ON registration (state);

CREATE TABLE objection (
    id TEXT PRIMARY KEY,
    registration_id TEXT NOT NULL REFERENCES registration (id),
    objector_user_id TEXT NOT NULL REFERENCES app_user (id),
    claim TEXT NOT NULL,
    state TEXT NOT NULL,
    opinion TEXT,
    created_at TEXT NOT NULL,
    resolved_at TEXT
);
CREATE INDEX objection_registration ON objection (registration_id);

CREATE TABLE duplicate_flag (
    id TEXT PRIMARY KEY,
    identity_key TEXT NOT NULL,
    item_title TEXT NOT NULL,
    resource_id TEXT NOT NULL REFERENCES resource (id),
    existing_resource_id TEXT NOT NULL REFERENCES resource (id),
    state TEXT NOT NULL,
    lead_org_id TEXT REFERENCES organization (id),
    opinion TEXT,
    created_at TEXT NOT NULL,
    resolved_at TEXT,
    UNIQUE (identity_key, resource_id, existing_resource_id)
);
CREATE INDEX duplicate_flag_resource ON duplicate_flag (resource_id);

-- Registration codes are a prefix (region, kind, day) plus a sequence; the
-- counter row serializes concurrent coders on PostgreSQL.
CREATE TABLE code_counter (
    prefix TEXT PRIMARY KEY,
    last_sequence BIGINT NOT NULL
);

CREATE TABLE history (
    seq {serial_primary_key},
    entity_kind TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    actor_user_id TEXT,
    action TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT,
    opinion TEXT,
    at TEXT NOT NULL
);
CREATE INDEX history_entity ON history (entity_kind, entity_id);
