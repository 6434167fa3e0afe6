-- v1: the event log, snapshots, and the stream's tables for Topic: its messages, numbered by their offset,
-- and its consumer groups' offsets (read and written through StreamSchema and StreamOffsets).
CREATE TABLE instance_events (
	instance_id TEXT NOT NULL,
	seq BIGINT NOT NULL,
	id TEXT NOT NULL,
	type TEXT NOT NULL,
	time_ms BIGINT NOT NULL,
	message_id TEXT,
	payload BLOB NOT NULL,
	PRIMARY KEY (instance_id, seq)
);
CREATE UNIQUE INDEX instance_events_id ON instance_events (id);
CREATE INDEX instance_events_message ON instance_events (instance_id, message_id) WHERE message_id IS NOT NULL;
CREATE TABLE instance_snapshots (
	instance_id TEXT PRIMARY KEY,
	seq BIGINT NOT NULL,
	state BLOB NOT NULL,
	saved_ms BIGINT NOT NULL
);
CREATE TABLE "watermill_instance_events" (
	"offset" INTEGER PRIMARY KEY AUTOINCREMENT,
	uuid TEXT NOT NULL,
	payload BLOB NOT NULL,
	metadata TEXT NOT NULL,
	created_ms INTEGER NOT NULL
);
CREATE TABLE "watermill_offsets_instance_events" (
	consumer_group TEXT PRIMARY KEY,
	offset_acked INTEGER NOT NULL
);
