// Package export publishes the event stream to an external message broker — NATS JetStream, Kafka, or an
// AMQP 0-9-1 broker such as RabbitMQ — through watermill publishers, for operators who feed their own systems
// (analytics, CRMs, audit) from plugzapi's events. It is opt-in ([Config.URL]).
//
// # Guarantees
//
// The export is a consumer group of its own ([ConsumerGroup], an [events.Relay]): its offset is committed only
// after the broker acknowledged every event up to it (JetStream publish acks, Kafka acks from all in-sync
// replicas, AMQP publisher confirms), so every event is published at least once, and survives restarts. An
// event is published again when the process stops, or the broker fails to answer, between the broker's
// acknowledgement and the commit; the event ID tells duplicates apart (NATS: it is also the Nats-Msg-Id, so
// JetStream drops a duplicate within its duplicate window).
//
// Events are published one at a time in stream order, so an instance's events reach the broker in their
// order: on NATS under the subject <Topic>.<instance ID>.<type>, on Kafka keyed by instance ID (one partition
// per instance), on AMQP with the routing key <instance ID>.<type> on the topic exchange <Topic>.
//
// A broker that is down or refuses stops the export, not the server: the export retries with backoff (up to
// the log's RetryMax), logs each failure, counts it (plugzapi_export_failures_total), and falls behind
// (plugzapi_event_consumer_lag{group="export"}); the other consumer groups go on, and the stream keeps the
// events the export has not published (its offset holds back stream pruning). The first start exports from
// the end of the stream; turning the export off forgets its offset, so that it no longer holds back pruning.
//
// On a cluster every node runs the export; the group's offset row in Postgres is locked by the node that
// publishes a batch until it commits, so the nodes take turns and publish each event once (twice only after a
// failure, as above).
//
// # Envelope
//
// Each message's body is the JSON [Envelope]:
//
//	{"version":1,"instanceId":"…","eventId":"…","seq":12,"type":"message_sent","time":"2026-12-03T10:00:00.123Z",
//	 "data":{"zaapId":"…","messageId":"…","phone":"5511…"}}
//
// seq numbers an instance's events 1, 2, 3… without gaps (a filtered export skips some); type is one of
// [EventTypes]; data is the event's payload in protobuf's JSON mapping of proto/events/v1 (lowerCamelCase
// names, enums by name, 64-bit integers as strings, zero values left out), without the server's bookkeeping
// (vault keys, idempotency keys and request hashes). An envelope larger than the broker takes goes out
// without its data ("data":null,"dataOmitted":true) rather than stop the export. Messages also carry
// instance_id, type and seq as headers ([MetadataInstanceID]…), and the event ID as watermill's message UUID.
//
// # Privacy
//
// Events never carry message content — text, media, names and pictures live in the content vault, which
// destroys them once a message is sent or its webhooks are delivered — and neither does the export: it would
// keep a copy, out of plugzapi's reach, of what plugzapi promises not to keep. It carries what the events do:
// IDs, phone numbers, types, sizes, times, statuses. Use webhooks for content.
//
// The broker URL is the operator's own setting, like the database URL, so it is not held to the policy that
// keeps users' webhook and media URLs away from internal addresses.
package export
