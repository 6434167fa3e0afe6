package webhooks

import (
	"errors"
	"time"

	"github.com/plugzapi/plugzapi/events"
)

// DefaultDeadAfter is Config.DeadAfter's default.
const DefaultDeadAfter = 72 * time.Hour

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
	// Retention bounds how long a dead letter's row (which names the chat and when) is kept for inspection,
	// counted from its creation; then it is deleted with its content. A pending delivery is never dropped by
	// age. A replay may start no earlier than Retention ago (Webhooks.ReplayWebhooks). Default 7 days, the
	// event log's default retention, which it should be; at least DeadAfter.
	Retention time.Duration
	// MaxInFlight bounds concurrent requests across all targets. Default 32.
	MaxInFlight int
	// PollInterval is how often the dispatcher looks for deliveries it was not woken for. Default 1s.
	PollInterval time.Duration
	// Runs, on a cluster, says whether this node runs an instance (holds its lease): each node delivers the
	// webhooks of its own instances only, so that an instance's webhooks go out from one node at a time, in
	// order. Unset: every instance's.
	Runs func(instanceID string) bool
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
		c.DeadAfter = DefaultDeadAfter
	}
	if c.Retention == 0 {
		c.Retention = events.DefaultRetention
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
	case c.Retention < c.DeadAfter:
		return errors.New("webhooks: retention must not be below the dead-letter age")
	case c.MaxInFlight < 1:
		return errors.New("webhooks: MaxInFlight must be at least 1")
	case c.PollInterval < time.Millisecond:
		return errors.New("webhooks: poll interval must be at least 1ms")
	}
	return nil
}
