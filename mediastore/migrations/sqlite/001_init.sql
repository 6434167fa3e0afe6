-- v1: one row per kept file; the file itself is in the vault, under "<owner>/media/<id>".
CREATE TABLE media_files (
	id TEXT PRIMARY KEY,
	owner TEXT NOT NULL,
	mime_type TEXT NOT NULL,
	created_ms BIGINT NOT NULL,
	expires_ms BIGINT NOT NULL
);
CREATE INDEX media_files_expires ON media_files (expires_ms);
