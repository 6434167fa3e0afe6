-- v1: instances, server settings (admin token hash, vault key check) and the content vault.
CREATE TABLE instances (
	id TEXT COLLATE "C" PRIMARY KEY,
	token_hash BYTEA NOT NULL,
	name TEXT COLLATE "C" NOT NULL,
	session_name TEXT COLLATE "C" NOT NULL DEFAULT '',
	created_ms BIGINT NOT NULL,
	webhook_secret TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE TABLE settings (
	key TEXT COLLATE "C" PRIMARY KEY,
	value BYTEA NOT NULL
);
CREATE TABLE vault (
	key TEXT COLLATE "C" PRIMARY KEY,
	wrapped_key BYTEA NOT NULL,
	ciphertext BYTEA NOT NULL
);
