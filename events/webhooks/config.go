package webhooks

import (
	"errors"
	"time"
)

// Config tunes webhook delivery. The zero value is usable: every zero field takes its default.
type Config struct {
	// AllowInsecure accepts http:// targets (PLUGZAPI_ALLOW_INSECURE_WEBHOOKS=1, for demos and tests). Without
	// it only https:// targets are accepted, as PlugZapi does.
	AllowInsecure bool
	// RequestTimeout bounds one delivery attempt, from connecting to reading the answer. Default 10s.
	RequestTimeout time.Duration
	// BackoffBase is the delay after the first failed attempt; it doubles with each further failure. Default 1s.
	BackoffBase time.Duration
	// BackoffMax caps the delay between attempts. Default 5m.
	BackoffMax time.Duration
	// DeadAfter is how long a delivery is retried, counted from its creation, before it is dead-lettered.
	// Default 72h.
	DeadAfter time.Duration
	// DeadRetention is how long dead-lettered deliveries are kept for inspection. Default 7 days.
	DeadRetention time.Duration
	// MaxInFlight bounds concurrent requests across all targets. Default 32.
	MaxInFlight int
	// PollInterval is how often the dispatcher looks for deliveries it was not woken for. Default 1s.
	PollInterval time.Duration
}

func (c Config) withDefaults() Config {
	if c.RequestTimeout == 0 {
		c.RequestTimeout = 10 * time.Second
	}
	if c.BackoffBase == 0 {
		c.BackoffBase = time.Second
	}
	if c.BackoffMax == 0 {
		c.BackoffMax = 5 * time.Minute
	}
	if c.DeadAfter == 0 {
		c.DeadAfter = 72 * time.Hour
	}
	if c.DeadRetention == 0 {
		c.DeadRetention = 7 * 24 * time.Hour
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = 32
	}
	if c.PollInterval == 0 {
		c.PollInterval = time.Second
	}
	return c
}

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.RequestTimeout < 10*time.Millisecond:
		return errors.New("webhooks: request timeout must be at least 10ms")
	case c.BackoffBase < time.Millisecond:
		return errors.New("webhooks: backoff base must be at least 1ms")
	case c.BackoffMax < c.BackoffBase:
		return errors.New("webhooks: backoff cap must not be below the backoff base")
	case c.DeadAfter < c.BackoffBase:
		return errors.New("webhooks: dead-letter age must not be below the backoff base")
	case c.DeadRetention < 0:
		return errors.New("webhooks: dead-letter retention must not be negative")
	case c.MaxInFlight < 1:
		return errors.New("webhooks: MaxInFlight must be at least 1")
	case c.PollInterval < time.Millisecond:
		return errors.New("webhooks: poll interval must be at least 1ms")
	}
	return nil
}
