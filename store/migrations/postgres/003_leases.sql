-- v3: per-instance leases with a fencing token (see lease.go). A row is never deleted: a released lease keeps
-- its token, so the next holder's is higher.
CREATE TABLE leases (
	instance_id TEXT COLLATE "C" PRIMARY KEY,
	owner TEXT COLLATE "C" NOT NULL,
	token BIGINT NOT NULL,
	expires_ms BIGINT NOT NULL
);
CREATE INDEX leases_owner ON leases (owner, expires_ms);
