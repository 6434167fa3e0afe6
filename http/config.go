package httpapi

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/plugzapi/plugzapi/media"
	"github.com/plugzapi/plugzapi/netguard"
)

// Defaults for Config. DefaultMaxBodyBytes leaves room for the longest text WhatsApp accepts (65536 characters)
// even when every character is a JSON-escaped surrogate pair (12 bytes), plus the other fields.
const (
	DefaultMaxBodyBytes    = 1 << 20
	DefaultRequestTimeout  = 30 * time.Second
	DefaultBodyReadTimeout = 30 * time.Second
)

// Config holds the settings of the REST API. Its zero value is usable: Validate fills in the defaults.
type Config struct {
	// MaxBodyBytes bounds the size of a request body; a larger body is answered with 413. The routes that send
	// a file take, beyond it, the file's limit in base64.
	MaxBodyBytes int64
	// MediaLimits are the largest files the send routes accept, per kind; zero means media.DefaultLimits.
	MediaLimits media.Limits
	// MediaURLs is the address policy a media URL must pass to be accepted (it passes it again when fetched);
	// the zero value accepts https URLs of public addresses only.
	MediaURLs netguard.Policy
	// BodyReadTimeout is how long a request body may take to arrive, plus a second per MiB it may hold; a
	// slower one is answered with 408 and its connection closed.
	BodyReadTimeout time.Duration
	// RequestTimeout bounds how long an API request may wait for the application before it is answered with
	// 504. It does not apply to /metrics or /healthz.
	RequestTimeout time.Duration
	// MetricsToken, when set, makes GET /metrics require "Authorization: Bearer <MetricsToken>". When empty,
	// /metrics is open: bind the server to a private address or firewall that path.
	MetricsToken string
	// TrustedProxies are the CIDR prefixes (e.g. "10.0.0.0/8") of reverse proxies whose X-Forwarded-For header
	// is believed when logging the client address. Empty means the peer address is the client.
	TrustedProxies []string
	// ClusterSecret is shared by the nodes of a cluster: a request one node forwards to another carries it
	// (see forward.go). Required with Deps.Locator.
	ClusterSecret string
}

// Validate fills in the defaults of unset fields and reports settings that cannot work.
func (c *Config) Validate() error {
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.BodyReadTimeout == 0 {
		c.BodyReadTimeout = DefaultBodyReadTimeout
	}
	if c.MediaLimits == (media.Limits{}) {
		c.MediaLimits = media.DefaultLimits()
	}
	var errs []error
	if err := c.MediaLimits.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.MaxBodyBytes < 0 {
		errs = append(errs, fmt.Errorf("max body bytes must be positive, got %d", c.MaxBodyBytes))
	}
	if c.BodyReadTimeout < 0 {
		errs = append(errs, fmt.Errorf("body read timeout must be positive, got %s", c.BodyReadTimeout))
	}
	if c.RequestTimeout < 0 {
		errs = append(errs, fmt.Errorf("request timeout must be positive, got %s", c.RequestTimeout))
	}
	for _, p := range c.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err != nil {
			errs = append(errs, fmt.Errorf("trusted proxy %q: %w", p, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("http config: %w", err)
	}
	return nil
}
