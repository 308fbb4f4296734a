-- The sharing responsibility list (共享责任清单): what each department must
-- provide and how often; `resource_id` is the entry that fulfils a duty.
CREATE TABLE sharing_duty (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organization (id),
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    basis TEXT NOT NULL,
    update_cycle TEXT NOT NULL,
    first_due TEXT NOT NULL,
    resource_id TEXT REFERENCES resource (id),
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    row_version BIGINT NOT NULL
);
CREATE INDEX sharing_duty_org ON sharing_duty (org_id);
