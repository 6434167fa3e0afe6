-- v3: nothing to do on Postgres. (On SQLite the event log became a WITHOUT ROWID table; a Postgres table has
-- no rowid B-tree of its own to save.)
SELECT 1;
