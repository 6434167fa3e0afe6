-- v1: the chats read model. Flags are BOOLEANs: the view binds Go bools, which pgx encodes only as booleans.
CREATE TABLE chats_view (
	instance_id TEXT COLLATE "C" NOT NULL,
	phone TEXT COLLATE "C" NOT NULL,
	unread BIGINT NOT NULL DEFAULT 0,
	marked_unread BOOLEAN NOT NULL DEFAULT FALSE,
	last_message_ms BIGINT NOT NULL DEFAULT 0,
	archived BOOLEAN NOT NULL DEFAULT FALSE,
	pinned BOOLEAN NOT NULL DEFAULT FALSE,
	muted_until_ms BIGINT NOT NULL DEFAULT 0,
	last_seq BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (instance_id, phone)
);
CREATE TABLE chats_view_labels (
	instance_id TEXT COLLATE "C" NOT NULL,
	id TEXT COLLATE "C" NOT NULL,
	name TEXT COLLATE "C" NOT NULL DEFAULT '',
	color INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (instance_id, id)
);
CREATE TABLE chats_view_chat_labels (
	instance_id TEXT COLLATE "C" NOT NULL,
	phone TEXT COLLATE "C" NOT NULL,
	label_id TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (instance_id, phone, label_id)
);
CREATE TABLE chats_view_instances (
	instance_id TEXT COLLATE "C" PRIMARY KEY,
	business BOOLEAN NOT NULL DEFAULT FALSE,
	last_seq BIGINT NOT NULL DEFAULT 0
);
