-- v1: the targets read model and the durable delivery queue.
CREATE TABLE webhook_targets (
	instance_id TEXT NOT NULL,
	kind INTEGER NOT NULL,
	url TEXT NOT NULL,
	PRIMARY KEY (instance_id, kind)
);
CREATE TABLE webhook_deliveries (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	instance_id TEXT NOT NULL,
	url TEXT NOT NULL,
	kind INTEGER NOT NULL,
	callback TEXT NOT NULL,
	twin INTEGER NOT NULL DEFAULT 0,
	event_id TEXT NOT NULL,
	event BLOB NOT NULL,
	vault_key TEXT,
	state TEXT NOT NULL DEFAULT 'pending',
	attempts INTEGER NOT NULL DEFAULT 0,
	next_attempt_ms BIGINT NOT NULL,
	created_ms BIGINT NOT NULL,
	last_error TEXT NOT NULL DEFAULT '',
	dead_ms BIGINT
);
CREATE INDEX webhook_deliveries_queue ON webhook_deliveries (state, instance_id, id);
CREATE INDEX webhook_deliveries_vault ON webhook_deliveries (vault_key, state) WHERE vault_key IS NOT NULL;
CREATE INDEX webhook_deliveries_dead ON webhook_deliveries (state, dead_ms);
