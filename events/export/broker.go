package export

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strings"

	"github.com/ThreeDotsLabs/watermill"
	wamqp "github.com/ThreeDotsLabs/watermill-amqp/v3/pkg/amqp"
	wnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// Metadata keys every exported message carries besides its envelope: NATS and AMQP headers, Kafka record
// headers. They let a consumer route or filter without parsing the body.
const (
	MetadataInstanceID = "instance_id"
	MetadataType       = "type"
	MetadataSeq        = "seq"
)

// publisher is a connected watermill publisher and how an event is addressed on it.
type publisher struct {
	message.Publisher
	// topic returns the watermill topic an instance's event of type typ is published to.
	topic func(instanceID, typ string) string
}

// connect opens a publisher on the configured broker. Every publish waits for the broker's acknowledgement:
// JetStream's publish ack, Kafka's acks from all in-sync replicas, AMQP publisher confirms.
func connect(cfg Config, wlog watermill.LoggerAdapter) (*publisher, error) {
	b, err := parseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	switch b.kind {
	case "nats":
		return connectNATS(cfg, wlog)
	case "kafka":
		return connectKafka(cfg, b)
	default:
		return connectAMQP(cfg, wlog)
	}
}

// connectNATS publishes to JetStream subjects <Topic>.<instance>.<type>, with the event ID as Nats-Msg-Id so
// that JetStream drops a re-publication within its duplicate window. The stream capturing them is created when
// none does.
func connectNATS(cfg Config, wlog watermill.LoggerAdapter) (*publisher, error) {
	conn, err := nats.Connect(cfg.URL, nats.Name("plugzapi event export"), nats.Timeout(cfg.Timeout),
		// A connection that fails is replaced by a new one (see Exporter.deliver), not reconnected behind the
		// exporter's back while its publications time out.
		nats.NoReconnect())
	if err != nil {
		return nil, fmt.Errorf("connect to NATS: %w", err)
	}
	js, err := conn.JetStream(nats.MaxWait(cfg.Timeout))
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("NATS JetStream: %w", err)
	}
	if err := ensureStream(js, cfg.Topic); err != nil {
		conn.Close()
		return nil, err
	}
	pub, err := wnats.NewPublisherWithNatsConn(conn, wnats.PublisherPublishConfig{
		Marshaler:         &wnats.NATSMarshaler{},
		SubjectCalculator: wnats.DefaultSubjectCalculator,
		JetStream: wnats.JetStreamConfig{
			TrackMsgId:     true,
			ConnectOptions: []nats.JSOpt{nats.MaxWait(cfg.Timeout)},
		},
	}, wlog)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("NATS publisher: %w", err)
	}
	return &publisher{Publisher: pub, topic: func(inst, typ string) string { return cfg.Topic + "." + inst + "." + typ }}, nil
}

// ensureStream creates a JetStream stream for the export's subjects unless one captures them already (an
// operator's own, with the limits they chose).
func ensureStream(js nats.JetStreamContext, topic string) error {
	_, err := js.StreamNameBySubject(topic + ".>")
	if err == nil {
		return nil
	}
	if !errors.Is(err, nats.ErrNoMatchingStream) {
		return fmt.Errorf("NATS JetStream: find the stream of %s.>: %w", topic, err)
	}
	name := strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(topic))
	if _, err := js.AddStream(&nats.StreamConfig{Name: name, Subjects: []string{topic + ".>"}, Storage: nats.FileStorage}); err != nil {
		return fmt.Errorf("NATS JetStream: create stream %s for %s.>: %w", name, topic, err)
	}
	return nil
}

// connectKafka produces to one topic, keyed by instance ID: the partitioner sends one key to one partition
// (murmur2, as Kafka's own clients do), which keeps an instance's events in order. The producer is idempotent
// and waits for all in-sync replicas.
func connectKafka(cfg Config, b broker) (*publisher, error) {
	opts := []kgo.Opt{
		kgo.SeedBrokers(b.hosts...),
		kgo.ClientID("plugzapi-export"),
		kgo.DialTimeout(cfg.Timeout),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordDeliveryTimeout(cfg.Timeout),
		kgo.ProducerLinger(0),
	}
	if b.tls {
		opts = append(opts, kgo.DialTLSConfig(&tls.Config{MinVersion: tls.VersionTLS12}))
	}
	if b.url.User != nil {
		password, _ := b.url.User.Password()
		user := b.url.User.Username()
		switch b.sasl {
		case "plain":
			opts = append(opts, kgo.SASL(plain.Auth{User: user, Pass: password}.AsMechanism()))
		case "scram-sha-256":
			opts = append(opts, kgo.SASL(scram.Auth{User: user, Pass: password}.AsSha256Mechanism()))
		default:
			opts = append(opts, kgo.SASL(scram.Auth{User: user, Pass: password}.AsSha512Mechanism()))
		}
	}
	client, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("Kafka client: %w", err)
	}
	return &publisher{Publisher: kafkaPublisher{client}, topic: func(string, string) string { return cfg.Topic }}, nil
}

// kafkaPublisher is watermill's Publisher on a franz-go client. (watermill-kafka's, on sarama, brings
// OpenTelemetry versions the actor system's metrics do not build with, and takes no context.) Records carry
// the message's metadata as headers, and its UUID (the event ID) in the header watermill-kafka uses.
type kafkaPublisher struct {
	client *kgo.Client
}

func (p kafkaPublisher) Publish(topic string, msgs ...*message.Message) error {
	for _, msg := range msgs {
		headers := []kgo.RecordHeader{{Key: "_watermill_message_uuid", Value: []byte(msg.UUID)}}
		for k, v := range msg.Metadata {
			headers = append(headers, kgo.RecordHeader{Key: k, Value: []byte(v)})
		}
		rec := &kgo.Record{Topic: topic, Key: []byte(msg.Metadata.Get(MetadataInstanceID)), Value: msg.Payload, Headers: headers}
		if err := p.client.ProduceSync(msg.Context(), rec).FirstErr(); err != nil {
			return fmt.Errorf("produce message %s: %w", msg.UUID, err)
		}
	}
	return nil
}

func (p kafkaPublisher) Close() error {
	p.client.Close()
	return nil
}

// connectAMQP publishes to a durable topic exchange named Topic (declared when missing) with routing key
// <instance>.<type>, persistent messages, and publisher confirms.
func connectAMQP(cfg Config, wlog watermill.LoggerAdapter) (*publisher, error) {
	ac := wamqp.Config{
		Connection: wamqp.ConnectionConfig{
			AmqpURI:    cfg.URL,
			AmqpConfig: &amqp.Config{Dial: amqp.DefaultDial(cfg.Timeout), Heartbeat: cfg.Timeout, Properties: amqp.Table{"connection_name": "plugzapi event export"}},
		},
		Marshaler: wamqp.DefaultMarshaler{},
		Exchange: wamqp.ExchangeConfig{
			GenerateName: wamqp.GenerateExchangeNameConstant(cfg.Topic),
			Type:         "topic",
			Durable:      true,
		},
		Publish: wamqp.PublishConfig{
			GenerateRoutingKey: func(topic string) string { return topic },
			ConfirmDelivery:    true,
			ChannelPoolSize:    1,
		},
		TopologyBuilder: &wamqp.DefaultTopologyBuilder{},
	}
	pub, err := wamqp.NewPublisher(ac, wlog)
	if err != nil {
		return nil, fmt.Errorf("connect to AMQP: %w", err)
	}
	return &publisher{Publisher: pub, topic: func(inst, typ string) string { return inst + "." + typ }}, nil
}
