-- v1: the account's Client-Token hash, the instances' IP allow-lists and pending cancellations.
CREATE TABLE access_client_token (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	token_hash BLOB NOT NULL
);
CREATE TABLE access_allowed_ips (
	instance_id TEXT PRIMARY KEY,
	prefixes TEXT NOT NULL
);
CREATE TABLE access_cancellations (
	instance_id TEXT PRIMARY KEY,
	delete_at_ms BIGINT NOT NULL
);
