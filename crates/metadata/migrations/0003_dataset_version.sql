-- Immutable versions of a resource's data: one Parquet file each, in the
-- data store at `location`. A row is written only after its file is whole.
CREATE TABLE dataset_version (
    id TEXT PRIMARY KEY,
    resource_id TEXT NOT NULL REFERENCES resource (id),
    version BIGINT NOT NULL,
    location TEXT NOT NULL,
    row_count BIGINT NOT NULL,
    parquet_bytes BIGINT NOT NULL,
    source_bytes BIGINT NOT NULL,
    content_hash TEXT NOT NULL,
    source_name TEXT NOT NULL,
    -- JSON: columns, load details (encoding, delimiter, header line,
    -- warnings) and the quality profile, versioned like resource content.
    schema_json TEXT NOT NULL,
    load_json TEXT NOT NULL,
    profile_json TEXT NOT NULL,
    created_by TEXT,
    created_at TEXT NOT NULL,
    UNIQUE (resource_id, version)
);
CREATE INDEX dataset_version_resource ON dataset_version (resource_id);
