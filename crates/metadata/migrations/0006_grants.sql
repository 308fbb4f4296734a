-- Grants (授权) and the workflows that make them; the access gateway's usage events.
CREATE TABLE sharing_request (
    id TEXT PRIMARY KEY,
    requester_org_id TEXT NOT NULL REFERENCES organization (id),
    provider_org_id TEXT NOT NULL REFERENCES organization (id),
    resource_id TEXT NOT NULL REFERENCES resource (id),
    columns TEXT NOT NULL,
    modes TEXT NOT NULL,
    purpose TEXT NOT NULL,
    legal_basis TEXT NOT NULL,
    scenario TEXT NOT NULL,
    needed_until TEXT NOT NULL,
    state TEXT NOT NULL,
    due_date TEXT,
    opinion TEXT,
    grant_id TEXT,
    submitted_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    row_version BIGINT NOT NULL
);
CREATE INDEX sharing_request_requester ON sharing_request (requester_org_id);
CREATE INDEX sharing_request_provider ON sharing_request (provider_org_id);

-- `grant` is an SQL keyword, hence `access_grant`.
CREATE TABLE access_grant (
    id TEXT PRIMARY KEY,
    basis TEXT NOT NULL,
    source_id TEXT NOT NULL,
    grantee_org_id TEXT NOT NULL REFERENCES organization (id),
    grantor_org_id TEXT NOT NULL REFERENCES organization (id),
    resources TEXT NOT NULL,
    modes TEXT NOT NULL,
    purpose TEXT NOT NULL,
    scenario TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    valid_until TEXT NOT NULL,
    min_group_size BIGINT NOT NULL,
    epsilon_budget_micros BIGINT,
    epsilon_spent_micros BIGINT NOT NULL,
    allow_joins BIGINT NOT NULL,
    state TEXT NOT NULL,
    state_reason TEXT,
    hash_key TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    row_version BIGINT NOT NULL
);
CREATE INDEX access_grant_grantee ON access_grant (grantee_org_id);

-- Which resources each grant covers, so the gateway finds a caller's grants by resource.
CREATE TABLE access_grant_resource (
    grant_id TEXT NOT NULL REFERENCES access_grant (id),
    resource_id TEXT NOT NULL REFERENCES resource (id),
    PRIMARY KEY (grant_id, resource_id)
);
CREATE INDEX access_grant_resource_resource ON access_grant_resource (resource_id);

CREATE TABLE usage_event (
    seq {serial_primary_key},
    at TEXT NOT NULL,
    user_id TEXT,
    org_id TEXT,
    grant_id TEXT,
    resource_id TEXT NOT NULL,
    version BIGINT,
    mode TEXT NOT NULL,
    channel TEXT NOT NULL,
    purpose TEXT,
    allowed BIGINT NOT NULL,
    reason TEXT,
    query_fingerprint TEXT NOT NULL,
    rows_out BIGINT,
    bytes_out BIGINT,
    privacy_cost_micros BIGINT NOT NULL,
    result_hash TEXT
);
CREATE INDEX usage_event_grant ON usage_event (grant_id, seq);
CREATE INDEX usage_event_resource ON usage_event (resource_id, seq);
