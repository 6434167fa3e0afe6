-- v4: the vault is looked up by key only, so it becomes a WITHOUT ROWID table: each item is one entry of one
-- B-tree, where a rowid table kept it twice (the table and its key's index), so every put and delete wrote two
-- pages.
DROP INDEX vault_expires;
CREATE TABLE vault_v4 (
	key TEXT PRIMARY KEY,
	wrapped_key BLOB NOT NULL,
	ciphertext BLOB NOT NULL,
	expires_ms BIGINT
) WITHOUT ROWID;
INSERT INTO vault_v4 (key, wrapped_key, ciphertext, expires_ms) SELECT key, wrapped_key, ciphertext, expires_ms FROM vault;
DROP TABLE vault;
ALTER TABLE vault_v4 RENAME TO vault;
CREATE INDEX vault_expires ON vault (expires_ms) WHERE expires_ms IS NOT NULL;
