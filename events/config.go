package events

import (
	"errors"
	"time"
)

// Config tunes the log and its consumers. The zero value is usable: every zero field takes its default.
type Config struct {
	// PollInterval is how often an idle consumer looks for events it was not woken for. Appends made through
	// this Log wake consumers at once, so this only bounds the delay for events written by another process on the
	// same database. Default 1s.
	PollInterval time.Duration
	// BatchSize is how many events a consumer handles in one transaction. Larger batches mean fewer commits
	// (fsyncs) and a longer hold on the write lock. Default 50.
	BatchSize int
	// RetryMax caps the backoff after a consumer transaction fails (a handler error rolls back its whole batch,
	// which is retried from the last committed offset). Default 30s.
	RetryMax time.Duration
	// TopicRetention is how long a stream row is kept after every consumer group has processed it. The event
	// log itself is never pruned. Default 7 days; negative keeps the stream forever.
	TopicRetention time.Duration
}

func (c Config) withDefaults() Config {
	if c.PollInterval == 0 {
		c.PollInterval = time.Second
	}
	if c.BatchSize == 0 {
		c.BatchSize = 50
	}
	if c.RetryMax == 0 {
		c.RetryMax = 30 * time.Second
	}
	if c.TopicRetention == 0 {
		c.TopicRetention = 7 * 24 * time.Hour
	}
	return c
}

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	c = c.withDefaults()
	if c.PollInterval < time.Millisecond {
		return errors.New("events: poll interval must be at least 1ms")
	}
	if c.BatchSize < 1 || c.BatchSize > 10000 {
		return errors.New("events: batch size must be between 1 and 10000")
	}
	if c.RetryMax < 10*time.Millisecond {
		return errors.New("events: retry cap must be at least 10ms")
	}
	return nil
}
