-- Harvest (区域协作): other portals' open catalogs and where each harvested entry came from.
CREATE TABLE harvest_source (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organization (id),
    kind TEXT NOT NULL,
    url TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    last_run_at TEXT,
    last_report TEXT
);

CREATE TABLE harvest_record (
    resource_id TEXT PRIMARY KEY REFERENCES resource (id),
    source_id TEXT NOT NULL REFERENCES harvest_source (id),
    remote_id TEXT NOT NULL,
    landing_page TEXT,
    publisher TEXT,
    distributions TEXT NOT NULL,
    remote_modified TEXT,
    content_hash TEXT NOT NULL,
    harvested_at TEXT NOT NULL,
    present BIGINT NOT NULL,
    UNIQUE (source_id, remote_id)
);
