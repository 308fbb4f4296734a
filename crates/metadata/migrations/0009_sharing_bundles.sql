-- Scenario bundles ("高效办成一件事"): the sharing requests one public service
-- needs, filed together; each request names its bundle.
CREATE TABLE sharing_bundle (
    id TEXT PRIMARY KEY,
    requester_org_id TEXT NOT NULL REFERENCES organization (id),
    title TEXT NOT NULL,
    service TEXT NOT NULL,
    state TEXT NOT NULL,
    submitted_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    row_version BIGINT NOT NULL
);
CREATE INDEX sharing_bundle_requester ON sharing_bundle (requester_org_id);
ALTER TABLE sharing_request ADD COLUMN bundle_id TEXT REFERENCES sharing_bundle (id);
CREATE INDEX sharing_request_bundle ON sharing_request (bundle_id);
