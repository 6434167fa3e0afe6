-- v1: the instances read model. connected is a BOOLEAN: the view binds Go bools, which pgx encodes only as booleans.
CREATE TABLE instance_view (
	instance_id TEXT COLLATE "C" PRIMARY KEY,
	name TEXT COLLATE "C" NOT NULL DEFAULT '',
	state TEXT COLLATE "C" NOT NULL DEFAULT 'new',
	connected BOOLEAN NOT NULL DEFAULT FALSE,
	phone TEXT COLLATE "C" NOT NULL DEFAULT '',
	state_changed_ms BIGINT NOT NULL DEFAULT 0,
	queue_depth BIGINT NOT NULL DEFAULT 0,
	created_ms BIGINT NOT NULL DEFAULT 0,
	last_seq BIGINT NOT NULL DEFAULT 0
);
