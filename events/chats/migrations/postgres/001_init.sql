CREATE TABLE chats_view (
	instance_id TEXT COLLATE "C" NOT NULL,
	phone TEXT COLLATE "C" NOT NULL,
	unread BIGINT NOT NULL DEFAULT 0,
	marked_unread INTEGER NOT NULL DEFAULT 0,
	last_message_ms BIGINT NOT NULL DEFAULT 0,
	archived INTEGER NOT NULL DEFAULT 0,
	pinned INTEGER NOT NULL DEFAULT 0,
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
	business INTEGER NOT NULL DEFAULT 0,
	last_seq BIGINT NOT NULL DEFAULT 0
);
