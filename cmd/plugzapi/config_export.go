package main

import (
	"strings"

	"github.com/plugzapi/plugzapi/events/export"
)

// ExportConfig is where the event stream is exported to (see README "Exporting events"). The broker URL is the
// operator's, like the database URL, and is not checked against internal addresses as users' URLs are.
type ExportConfig struct {
	Export export.Config
}

func defaultExportConfig() ExportConfig {
	return ExportConfig{Export: export.Config{Topic: export.DefaultTopic}}
}

func (c *ExportConfig) exportSettings() []setting {
	return []setting{
		{"export-url", "PLUGZAPI_EXPORT_URL", "broker the event stream is exported to: nats://host:4222 (NATS JetStream; tls:// for TLS), kafka://[user:password@]host:9092[,host:9092…][?tls=true&sasl=scram-sha-512|scram-sha-256|plain] or amqp://user:password@host:5672/vhost (amqps:// for TLS); empty: no export",
			str(&c.Export.URL), func() string { return redactURL(c.Export.URL) }},
		{"export-events", "PLUGZAPI_EXPORT_EVENTS", "comma-separated event types to export (message_received, message_sent, connected…); empty: all",
			list(&c.Export.Events), func() string { return strings.Join(c.Export.Events, ",") }},
		{"export-topic", "PLUGZAPI_EXPORT_TOPIC", "NATS subject prefix (subjects <topic>.<instance>.<type>), Kafka topic, or AMQP topic exchange (routing keys <instance>.<type>) the events are exported to",
			str(&c.Export.Topic), func() string { return c.Export.Topic }},
	}
}
