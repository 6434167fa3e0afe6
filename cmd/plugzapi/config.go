package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/plugzapi/plugzapi/access"
	"github.com/plugzapi/plugzapi/events"
	"github.com/plugzapi/plugzapi/events/webhooks"
)

// Config is everything the server can be told, from flags or PLUGZAPI_* environment variables (a flag wins).
// Its zero value is not meant to be used: loadConfig starts from defaultConfig, which works with no settings.
type Config struct {
	Addr    string
	DataDir string
	// DatabaseURL selects Postgres (postgres://…) instead of the SQLite file in DataDir.
	DatabaseURL           string
	SendDelayMin          time.Duration
	SendDelayMax          time.Duration
	Simulator             string
	AdminToken            string
	AllowInsecureWebhooks bool
	DeviceName            string
	ShowOnline            bool
	LogLevel              slog.Level
	LogJSON               bool
	ShutdownTimeout       time.Duration
	DurableCommits        bool
	MaxQueueWhileOffline  int
	WebhookTimeout        time.Duration
	WebhookRetryMax       time.Duration
	WebhookDeadAfter      time.Duration // at most Retention
	DebugAddr             string
	// Retention bounds how long the history of messages (who, when) is kept; see README "Retention".
	Retention time.Duration
	// TrustedProxies are the CIDR prefixes of reverse proxies whose X-Forwarded-For names the client (for IP
	// allow-lists and the access log).
	TrustedProxies []string
	// MetricsToken, when set, is the bearer token GET /metrics requires.
	MetricsToken string
	// CancelGrace is how long an instance whose partner subscription was cancelled is kept before it is deleted.
	CancelGrace time.Duration
	// ForwardWindow is how long sent and received messages are kept, encrypted, to be forwarded; 0: none is.
	ForwardWindow time.Duration
	MediaConfig
	ClusterConfig
	ExportConfig
}

func defaultConfig() Config {
	return Config{
		Addr:                 ":8080",
		DataDir:              "./data",
		SendDelayMin:         time.Second,
		SendDelayMax:         3 * time.Second,
		DeviceName:           "plugzapi",
		ShowOnline:           true,
		LogLevel:             slog.LevelInfo,
		ShutdownTimeout:      20 * time.Second,
		DurableCommits:       true,
		MaxQueueWhileOffline: 1000,
		WebhookTimeout:       10 * time.Second,
		WebhookRetryMax:      5 * time.Minute,
		WebhookDeadAfter:     webhooks.DefaultDeadAfter,
		Retention:            events.DefaultRetention,
		CancelGrace:          access.DefaultCancelGrace,
		MediaConfig:          defaultMediaConfig(),
		ClusterConfig:        defaultClusterConfig(),
		ExportConfig:         defaultExportConfig(),
	}
}

// setting is one configurable value: its flag, its environment variable and how to parse it.
type setting struct {
	name, env, usage string
	set              func(string) error
	show             func() string
}

func (c *Config) settings() []setting {
	return append([]setting{
		{"addr", "PLUGZAPI_ADDR", "address the HTTP API listens on", str(&c.Addr), func() string { return c.Addr }},
		{"data", "PLUGZAPI_DATA", "directory of the database and the vault key", str(&c.DataDir), func() string { return c.DataDir }},
		{"database-url", "PLUGZAPI_DATABASE_URL", "postgres://user:password@host:port/db to keep everything in Postgres (a cluster's shared database) instead of the SQLite file in the data directory",
			str(&c.DatabaseURL), func() string { return redactURL(c.DatabaseURL) }},
		{"send-delay", "PLUGZAPI_SEND_DELAY", "pause between two messages of an instance: a range like 1s-3s, a fixed duration, or 0",
			c.setSendDelay, func() string { return fmt.Sprintf("%s-%s", c.SendDelayMin, c.SendDelayMax) }},
		{"wa-simulator", "PLUGZAPI_WA_SIMULATOR", "host:port of a wasim WhatsApp simulator to use instead of WhatsApp (trusts the simulator's root key: tests and demos only)",
			str(&c.Simulator), func() string { return c.Simulator }},
		{"admin-token", "PLUGZAPI_ADMIN_TOKEN", "the admin API's bearer token; when unset one is generated at first start and printed once",
			str(&c.AdminToken), func() string { return redact(c.AdminToken) }},
		{"allow-insecure-webhooks", "PLUGZAPI_ALLOW_INSECURE_WEBHOOKS", "accept http:// webhook URLs and webhook URLs to loopback, private, CGNAT and other internal addresses (1/0): tests and demos",
			boolean(&c.AllowInsecureWebhooks), func() string { return strconv.FormatBool(c.AllowInsecureWebhooks) }},
		{"device-name", "PLUGZAPI_DEVICE_NAME", "name a linked instance shows on the phone unless the instance has a sessionName",
			str(&c.DeviceName), func() string { return c.DeviceName }},
		{"show-online", "PLUGZAPI_SHOW_ONLINE", "instances show as online while connected (1): WhatsApp then relays typing to them, and may not notify the phone of new messages; 0 hides them",
			boolean(&c.ShowOnline), func() string { return strconv.FormatBool(c.ShowOnline) }},
		{"webhook-timeout", "PLUGZAPI_WEBHOOK_TIMEOUT", "how long one webhook request may take before it counts as failed",
			duration(&c.WebhookTimeout), func() string { return c.WebhookTimeout.String() }},
		{"webhook-retry-max", "PLUGZAPI_WEBHOOK_RETRY_MAX", "longest pause between two attempts of a failing webhook (the pause doubles from 1s up to this)",
			duration(&c.WebhookRetryMax), func() string { return c.WebhookRetryMax.String() }},
		{"webhook-dead-after", "PLUGZAPI_WEBHOOK_DEAD_AFTER", "how long a failing webhook is retried, from when it was queued, before it is dead-lettered (at most the retention; then it can be sent again through the admin API)",
			duration(&c.WebhookDeadAfter), func() string { return c.WebhookDeadAfter.String() }},
		{"max-queue-offline", "PLUGZAPI_MAX_QUEUE_OFFLINE", "messages a disconnected instance holds before refusing more",
			integer(&c.MaxQueueWhileOffline), func() string { return strconv.Itoa(c.MaxQueueWhileOffline) }},
		{"durable-commits", "PLUGZAPI_DURABLE_COMMITS", "fsync every commit (1); 0 survives a process crash but not a power loss, and is faster",
			boolean(&c.DurableCommits), func() string { return strconv.FormatBool(c.DurableCommits) }},
		{"retention", "PLUGZAPI_RETENTION", "how long the history of messages (numbers, times) is kept: events a snapshot covers, the event stream, webhook dead letters; received files at most as long (at least 1s)",
			duration(&c.Retention), func() string { return c.Retention.String() }},
		{"log-level", "PLUGZAPI_LOG_LEVEL", "debug, info, warn or error", c.setLogLevel, func() string { return c.LogLevel.String() }},
		{"log-json", "PLUGZAPI_LOG_JSON", "log JSON lines instead of text (1/0)", boolean(&c.LogJSON), func() string { return strconv.FormatBool(c.LogJSON) }},
		{"shutdown-timeout", "PLUGZAPI_SHUTDOWN_TIMEOUT", "how long a graceful shutdown may take",
			duration(&c.ShutdownTimeout), func() string { return c.ShutdownTimeout.String() }},
		{"debug-addr", "PLUGZAPI_DEBUG_ADDR", "host:port serving Go's profiler (/debug/pprof/) for diagnosis; off when empty. Keep it on a private address: it has no authentication",
			str(&c.DebugAddr), func() string { return c.DebugAddr }},
		{"trusted-proxies", "PLUGZAPI_TRUSTED_PROXIES", "comma-separated CIDR prefixes of reverse proxies whose X-Forwarded-For header names the client (IP allow-lists, access log); empty: the peer is the client",
			list(&c.TrustedProxies), func() string { return strings.Join(c.TrustedProxies, ",") }},
		{"metrics-token", "PLUGZAPI_METRICS_TOKEN", "bearer token GET /metrics requires; empty: /metrics is open (keep it on a private network then)",
			str(&c.MetricsToken), func() string { return redact(c.MetricsToken) }},
		{"cancel-grace", "PLUGZAPI_CANCEL_GRACE", "how long an instance whose subscription was cancelled (integrator/on-demand/cancel) is kept before it is deleted; subscribing again within it keeps the instance",
			duration(&c.CancelGrace), func() string { return c.CancelGrace.String() }},
		{"forward-window", "PLUGZAPI_FORWARD_WINDOW", "how long each message an instance sends or receives is kept, encrypted, so that forward-message can forward it; 0 keeps none (messages are not stored) and forward-message is refused",
			duration(&c.ForwardWindow), func() string { return c.ForwardWindow.String() }},
	}, append(append(c.mediaSettings(), c.clusterSettings()...), c.exportSettings()...)...)
}

// loadConfig reads the environment, then the flags.
func loadConfig(args []string, getenv func(string) string) (Config, error) {
	c := defaultConfig()
	fs := flag.NewFlagSet("plugzapi", flag.ContinueOnError)
	for _, s := range c.settings() {
		if v := getenv(s.env); v != "" {
			if err := s.set(v); err != nil {
				return c, fmt.Errorf("%s: %w", s.env, err)
			}
		}
		fs.Func(s.name, fmt.Sprintf("%s (env %s, default %s)", s.usage, s.env, s.show()), s.set)
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	return c, c.Validate()
}

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	switch {
	case c.Addr == "":
		return errors.New("the listen address is empty")
	case c.DataDir == "":
		return errors.New("the data directory is empty")
	case c.SendDelayMin < 0 || c.SendDelayMax < c.SendDelayMin:
		return fmt.Errorf("send delay %s-%s is not an ordered, non-negative range", c.SendDelayMin, c.SendDelayMax)
	case c.MaxQueueWhileOffline < 1:
		return errors.New("the offline queue limit must be at least 1")
	case c.ShutdownTimeout <= 0:
		return errors.New("the shutdown timeout must be positive")
	case c.CancelGrace <= 0:
		return errors.New("the cancel grace must be positive")
	case c.ForwardWindow < 0:
		return errors.New("the forward window must not be negative (0 keeps no message to forward)")
	case c.WebhookTimeout <= 0 || c.WebhookRetryMax <= 0:
		return errors.New("webhook timeout and retry pause must be positive")
	case c.WebhookDeadAfter < time.Second:
		return errors.New("the webhook dead-letter age must be at least 1s")
	case c.Retention < events.MinRetention:
		// Zero is refused rather than read as "forever": the history names every number an instance talked to.
		return fmt.Errorf("the retention %v is below the minimum %v", c.Retention, events.MinRetention)
	}
	return errors.Join(c.MediaConfig.validate(), c.ClusterConfig.validate(c.DatabaseURL), c.Export.Validate())
}

func (c *Config) setSendDelay(v string) error {
	lo, hi, isRange := strings.Cut(v, "-")
	min, err := parseDelay(lo)
	if err != nil {
		return err
	}
	max := min
	if isRange {
		if max, err = parseDelay(hi); err != nil {
			return err
		}
	}
	c.SendDelayMin, c.SendDelayMax = min, max
	return nil
}

func parseDelay(v string) (time.Duration, error) {
	if v == "0" {
		return 0, nil
	}
	return time.ParseDuration(strings.TrimSpace(v))
}

func (c *Config) setLogLevel(v string) error { return c.LogLevel.UnmarshalText([]byte(v)) }

func str(p *string) func(string) error { return func(v string) error { *p = v; return nil } }

func boolean(p *bool) func(string) error {
	return func(v string) (err error) { *p, err = strconv.ParseBool(v); return err }
}

func integer(p *int) func(string) error {
	return func(v string) (err error) { *p, err = strconv.Atoi(v); return err }
}

func duration(p *time.Duration) func(string) error {
	return func(v string) (err error) { *p, err = time.ParseDuration(v); return err }
}

// list parses a comma-separated list; empty items are dropped.
func list(p *[]string) func(string) error {
	return func(v string) error {
		*p = nil
		for item := range strings.SplitSeq(v, ",") {
			if item = strings.TrimSpace(item); item != "" {
				*p = append(*p, item)
			}
		}
		return nil
	}
}

func redact(secret string) string {
	if secret == "" {
		return "unset"
	}
	return "set"
}

// redactURL shows a URL without its password.
func redactURL(s string) string {
	if s == "" {
		return "unset"
	}
	u, err := url.Parse(s)
	if err != nil {
		return "set"
	}
	return u.Redacted()
}

// osEnv is the real environment, for loadConfig.
func osEnv(key string) string { return os.Getenv(key) }
