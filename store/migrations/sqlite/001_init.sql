-- v1: instances, server settings (admin token hash, vault key check) and the content vault.
CREATE TABLE instances (
	id TEXT PRIMARY KEY,
	token_hash BLOB NOT NULL,
	name TEXT NOT NULL,
	session_name TEXT NOT NULL DEFAULT '',
	created_ms BIGINT NOT NULL,
	webhook_secret TEXT NOT NULL DEFAULT ''
);
CREATE TABLE settings (
	key TEXT PRIMARY KEY,
	value BLOB NOT NULL
);
CREATE TABLE vault (
	key TEXT PRIMARY KEY,
	wrapped_key BLOB NOT NULL,
	ciphertext BLOB NOT NULL
);
