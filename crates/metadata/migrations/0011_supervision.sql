-- Supervision (ADR 0015): emergency freezes, alerts raised by the
-- monitoring rules, exemptions from the public data tracker, and daily
-- usage totals the rules, the console and the tracker read.
CREATE TABLE emergency_freeze (
    id TEXT PRIMARY KEY,
    target TEXT NOT NULL,
    target_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    frozen_by TEXT NOT NULL,
    frozen_at TEXT NOT NULL,
    alert_id TEXT,
    released_by TEXT,
    released_at TEXT,
    release_decision TEXT,
    row_version BIGINT NOT NULL
);
CREATE INDEX emergency_freeze_target ON emergency_freeze (target, target_id);
-- One active freeze per target, even when two reviewers act at once.
CREATE UNIQUE INDEX emergency_freeze_active ON emergency_freeze (target, target_id) WHERE released_at IS NULL;

CREATE TABLE alert (
    id TEXT PRIMARY KEY,
    rule TEXT NOT NULL,
    dedup_key TEXT NOT NULL UNIQUE,
    grant_id TEXT,
    resource_id TEXT,
    user_id TEXT,
    org_id TEXT,
    summary_en TEXT NOT NULL,
    summary_zh TEXT NOT NULL,
    evidence TEXT NOT NULL,
    raised_at TEXT NOT NULL,
    state TEXT NOT NULL,
    handled_by TEXT,
    note TEXT,
    row_version BIGINT NOT NULL
);
CREATE INDEX alert_state ON alert (state, raised_at);

CREATE TABLE tracker_exemption (
    id TEXT PRIMARY KEY,
    grant_id TEXT NOT NULL REFERENCES access_grant (id),
    reason TEXT NOT NULL,
    until_day TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX tracker_exemption_grant ON tracker_exemption (grant_id);

-- Reads per local day and (grant, organization, resource, purpose, mode,
-- allowed); empty text stands for none, so the key is always complete.
CREATE TABLE usage_daily (
    day TEXT NOT NULL,
    grant_id TEXT NOT NULL,
    org_id TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    purpose TEXT NOT NULL,
    mode TEXT NOT NULL,
    allowed BIGINT NOT NULL,
    reads BIGINT NOT NULL,
    rows_out BIGINT NOT NULL,
    first_seq BIGINT NOT NULL,
    last_seq BIGINT NOT NULL,
    PRIMARY KEY (day, grant_id, org_id, resource_id, purpose, mode, allowed)
);
CREATE INDEX usage_daily_resource ON usage_daily (resource_id, day);

-- The monitor reads usage in the ledger's order (gapless, by commit), so
-- its cursor is a ledger index: -1 before the first.
CREATE TABLE monitor_state (
    id INTEGER PRIMARY KEY,
    last_index BIGINT NOT NULL
);
INSERT INTO monitor_state (id, last_index) VALUES (1, -1);
