-- Text that catalog searches match, folded to lower case by Gongshu itself
-- (SQLite's LOWER folds ASCII only, PostgreSQL's folds all of Unicode, so
-- neither is used). Rows written before this migration are filled in by
-- SqlStore::connect.
ALTER TABLE resource ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
