-- Agreements that make grants outside government sharing: conditional-open
-- applications (受限开放协议) and authorized operation (授权运营协议).
-- `terms` and `record` are versioned JSON documents; the columns beside
-- them are what lists filter on.
CREATE TABLE agreement (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    grantor_org_id TEXT NOT NULL REFERENCES organization (id),
    holder_org_id TEXT REFERENCES organization (id),
    resource_id TEXT REFERENCES resource (id),
    terms TEXT NOT NULL,
    record TEXT NOT NULL,
    state TEXT NOT NULL,
    due_date TEXT,
    opinion TEXT,
    grant_id TEXT REFERENCES access_grant (id),
    submitted_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    row_version BIGINT NOT NULL
);
CREATE INDEX agreement_grantor ON agreement (grantor_org_id);
CREATE INDEX agreement_holder ON agreement (holder_org_id);

-- Holders' reports on their use (使用情况报告); append-only.
CREATE TABLE usage_report (
    seq {serial_primary_key},
    agreement_id TEXT NOT NULL REFERENCES agreement (id),
    period_start TEXT NOT NULL,
    period_end TEXT NOT NULL,
    summary TEXT NOT NULL,
    outputs TEXT NOT NULL,
    incidents TEXT NOT NULL,
    submitted_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX usage_report_agreement ON usage_report (agreement_id, seq);
