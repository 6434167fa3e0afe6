package export

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
)

// DefaultTopic is Config.Topic's default.
const DefaultTopic = "plugzapi.events"

// Config says where events are exported. The zero value exports nothing.
type Config struct {
	// URL is the broker: nats://[user:password@]host:4222 (or tls://… for NATS over TLS) for NATS JetStream;
	// kafka://[user:password@]host:9092[,host2:9092…][?tls=true&sasl=plain|scram-sha-256|scram-sha-512] for
	// Kafka (SASL SCRAM-SHA-512 when a user is given and sasl is not); amqp://user:password@host:5672/vhost
	// (or amqps://…) for RabbitMQ and other AMQP 0-9-1 brokers. Empty: no export.
	URL string
	// Events are the event types exported ("message_received", "message_sent"…, see [EventTypes]); empty
	// exports every event.
	Events []string
	// Topic names where events go: the NATS subject prefix (subjects are <Topic>.<instance ID>.<type>, in the
	// JetStream stream that captures them, created as <TOPIC with _ for .> when none does), the Kafka topic, or
	// the AMQP topic exchange (routing keys are <instance ID>.<type>). Default [DefaultTopic].
	Topic string
	// Timeout bounds connecting to the broker and one batch of publications. Default 10s.
	Timeout time.Duration
}

// Enabled reports whether events are exported.
func (c Config) Enabled() bool { return c.URL != "" }

func (c Config) withDefaults() Config {
	if c.Topic == "" {
		c.Topic = DefaultTopic
	}
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}
	return c
}

// topicName is what a NATS subject prefix, a Kafka topic and an AMQP exchange name all accept.
var topicName = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	if !c.Enabled() {
		if len(c.Events) > 0 {
			// Most likely the URL's variable is misspelt or unset by mistake: say so rather than export nothing.
			return errors.New("export: event types are chosen but no broker URL is set")
		}
		return nil
	}
	c = c.withDefaults()
	if _, err := parseURL(c.URL); err != nil {
		return err
	}
	if len(c.Topic) > 200 || !topicName.MatchString(c.Topic) {
		return fmt.Errorf("export: topic %q: use letters, digits, '_', '-' and dots between them (at most 200 characters)", c.Topic)
	}
	if strings.HasPrefix(c.Topic, "amq.") {
		return fmt.Errorf("export: topic %q: AMQP reserves exchange names starting with amq.", c.Topic)
	}
	known := EventTypes()
	for _, t := range c.Events {
		if !slices.Contains(known, t) {
			return fmt.Errorf("export: unknown event type %q; the event types are: %s", t, strings.Join(known, ", "))
		}
	}
	if c.Timeout < 100*time.Millisecond {
		return errors.New("export: timeout must be at least 100ms")
	}
	return nil
}

// broker is a parsed export URL.
type broker struct {
	kind string // "nats", "kafka" or "amqp"
	url  *url.URL
	// hosts are a Kafka URL's bootstrap brokers, tls and sasl its parameters.
	hosts []string
	tls   bool
	sasl  string
}

func parseURL(raw string) (broker, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse's error repeats the URL, password included.
		return broker{}, errors.New("export: the URL does not parse")
	}
	b := broker{url: u}
	switch u.Scheme {
	case "nats", "tls":
		b.kind = "nats"
	case "kafka":
		b.kind = "kafka"
		b.hosts = strings.Split(u.Host, ",")
		for _, h := range b.hosts {
			if !strings.Contains(h, ":") || strings.HasPrefix(h, ":") {
				return broker{}, fmt.Errorf("export: Kafka broker %q: want host:port", h)
			}
		}
		q := u.Query()
		for k := range q {
			if k != "tls" && k != "sasl" {
				return broker{}, fmt.Errorf("export: Kafka URL parameter %q: want tls or sasl", k)
			}
		}
		if v := q.Get("tls"); v != "" {
			if b.tls, err = strconv.ParseBool(v); err != nil {
				return broker{}, fmt.Errorf("export: Kafka URL parameter tls=%q: want true or false", v)
			}
		}
		b.sasl = q.Get("sasl")
		switch {
		case b.sasl != "" && b.sasl != "plain" && b.sasl != "scram-sha-256" && b.sasl != "scram-sha-512":
			return broker{}, fmt.Errorf("export: Kafka URL parameter sasl=%q: want plain, scram-sha-256 or scram-sha-512", b.sasl)
		case b.sasl != "" && u.User == nil:
			return broker{}, errors.New("export: Kafka SASL needs a user: kafka://user:password@host:port")
		case u.User != nil && b.sasl == "":
			b.sasl = "scram-sha-512"
		}
		if b.sasl == "plain" && !b.tls {
			return broker{}, errors.New("export: Kafka SASL PLAIN sends the password as it is: use it with tls=true")
		}
	case "amqp", "amqps":
		b.kind = "amqp"
	default:
		return broker{}, fmt.Errorf("export: URL scheme %q: want nats://, tls://, kafka://, amqp:// or amqps://", u.Scheme)
	}
	if u.Host == "" {
		return broker{}, fmt.Errorf("export: %s URL without a host", u.Scheme)
	}
	return b, nil
}

// EventTypes returns the names of the event types, as the envelope's "type" spells them.
func EventTypes() []string {
	fields := (&eventsv1.Event{}).ProtoReflect().Descriptor().Oneofs().ByName("payload").Fields()
	out := make([]string, fields.Len())
	for i := range fields.Len() {
		out[i] = string(fields.Get(i).Name())
	}
	return out
}
