package store

import (
	"errors"
	"io/fs"
	"os"
	"sync/atomic"
	"time"
)

// unsyncedWindow bounds, on SQLite, how long a commit of the Unsynced pool stays unsynced: past it the store
// syncs the log (the WAL file) itself. Postgres bounds its unsynced commits the same way (its WAL writer
// flushes them within three wal_writer_delay, 600 ms by default).
const unsyncedWindow = 100 * time.Millisecond

// walSyncer makes the Unsynced pool's commits durable within unsyncedWindow. They commit with
// synchronous=NORMAL: written to the WAL file, not synced. A synced commit of the main pool syncs them with it
// (the WAL is one sequence), and so does a checkpoint; with neither for a while (an idle server), only the
// syncer does. Syncing the file from another descriptor is enough: fsync flushes a file's pages whoever wrote
// them.
type walSyncer struct {
	path  string
	dirty atomic.Bool
	file  *os.File // the WAL file, opened at the first sync; only the loop uses it
	syncs atomic.Int64
}

func newWALSyncer(dbPath string) *walSyncer {
	return &walSyncer{path: dbPath + "-wal"}
}

// wrote records a commit (or a statement outside a transaction) of the unsynced pool. A nil syncer ignores it.
func (s *walSyncer) wrote() {
	if s != nil {
		s.dirty.Store(true)
	}
}

// sync syncs the WAL file if anything was written unsynced since the last sync.
func (s *walSyncer) sync() error {
	if !s.dirty.Swap(false) {
		return nil
	}
	if err := s.open(); errors.Is(err, fs.ErrNotExist) {
		return nil // no WAL: its last connection closed, after checkpointing it into the synced database file
	} else if err != nil {
		s.dirty.Store(true)
		return err
	}
	if err := s.file.Sync(); err != nil {
		s.dirty.Store(true)
		return err
	}
	s.syncs.Add(1)
	return nil
}

// open opens the WAL file, again when it is a new file: SQLite deletes the WAL when its last connection
// closes and creates it at the next, and a descriptor of the deleted one would sync nothing.
func (s *walSyncer) open() error {
	current, err := os.Stat(s.path)
	if err != nil {
		return err
	}
	if s.file != nil {
		if held, err := s.file.Stat(); err == nil && os.SameFile(held, current) {
			return nil
		}
		_ = s.file.Close()
		s.file = nil
	}
	f, err := os.Open(s.path)
	if err != nil {
		return err
	}
	s.file = f
	return nil
}

func (s *walSyncer) close() error {
	if s.file == nil {
		return nil
	}
	return s.file.Close()
}

// loop syncs every unsyncedWindow until stop is closed, then once more.
func (s *walSyncer) loop(stop <-chan struct{}, warn func(error)) {
	t := time.NewTicker(unsyncedWindow)
	defer t.Stop()
	for {
		select {
		case <-stop:
			if err := s.sync(); err != nil {
				warn(err)
			}
			return
		case <-t.C:
		}
		if err := s.sync(); err != nil {
			warn(err)
		}
	}
}
