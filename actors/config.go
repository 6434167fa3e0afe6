package actors

import (
	"errors"
	"fmt"
	"time"
)

// Config tunes the instance actors. The zero value is not valid: start from DefaultConfig.
type Config struct {
	// SendDelayMin and SendDelayMax bound the random pause between two messages of an instance (PlugZapi: 1–3 s).
	// Both 0 sends back to back (tests, benchmarks).
	SendDelayMin, SendDelayMax time.Duration
	// MaxQueueWhileDisconnected is how many messages a disconnected instance holds before refusing more.
	MaxQueueWhileDisconnected int
	// SendTimeout bounds one send to WhatsApp (the wait for the server's ack included).
	SendTimeout time.Duration
	// FileSendTimeout bounds the send of a message that carries a file (a picture, a recording, a video, a
	// document, a sticker, a link preview's picture): fetching it from its URL, uploading it, sending it.
	FileSendTimeout time.Duration
	// RequestTimeout bounds how long an API call waits for its instance.
	RequestTimeout time.Duration
	// SnapshotEvery is how many events an instance appends between snapshots of its state.
	SnapshotEvery int
	// SnapshotAfter bounds how long an event goes uncovered by a snapshot: the log is compacted only behind
	// snapshots, so this is how late a quiet instance's old events can be compacted after their retention.
	SnapshotAfter time.Duration
	// ForwardWindow is how long the messages an instance sends and receives are kept, encrypted, to be
	// forwarded (PLUGZAPI_FORWARD_WINDOW); 0 keeps none, and forwarding is refused.
	ForwardWindow time.Duration
}

// DefaultConfig is PlugZapi's documented behaviour.
func DefaultConfig() Config {
	return Config{
		SendDelayMin:              time.Second,
		SendDelayMax:              3 * time.Second,
		MaxQueueWhileDisconnected: 1000,
		SendTimeout:               60 * time.Second,
		FileSendTimeout:           3 * time.Minute,
		RequestTimeout:            30 * time.Second,
		SnapshotEvery:             500,
		SnapshotAfter:             time.Hour,
	}
}

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	switch {
	case c.SendDelayMin < 0 || c.SendDelayMax < c.SendDelayMin:
		return fmt.Errorf("send delay %s-%s: the range must be non-negative and ordered", c.SendDelayMin, c.SendDelayMax)
	case c.MaxQueueWhileDisconnected < 1:
		return errors.New("the queue limit while disconnected must be at least 1")
	case c.SendTimeout <= 0 || c.FileSendTimeout <= 0 || c.RequestTimeout <= 0:
		return errors.New("timeouts must be positive")
	case c.SnapshotEvery < 1:
		return errors.New("snapshot interval must be at least 1 event")
	case c.SnapshotAfter <= 0:
		return errors.New("the longest time between snapshots must be positive")
	case c.ForwardWindow < 0:
		return errors.New("the forward window must not be negative")
	}
	return nil
}
