-- v2: vault items that end by themselves (messages kept for forwarding, PLUGZAPI_FORWARD_WINDOW); NULL for the
-- others, which end with their event.
ALTER TABLE vault ADD COLUMN expires_ms BIGINT;
CREATE INDEX vault_expires ON vault (expires_ms) WHERE expires_ms IS NOT NULL;
