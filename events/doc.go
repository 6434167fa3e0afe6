// Package events is the event log and the event stream of WhatsApp instances.
//
// The log ([Log.Append], [Log.Load], snapshots) is the source of truth: every state change of an instance is an
// eventsv1.Event appended with the next sequence number of its instance, under optimistic concurrency, in the
// same transaction as the state change it describes (the caller's inTx) and as its publication to the stream.
//
// The stream is one watermill-sql topic (table watermill_instance_events) read through consumer groups
// ([Log.Consume]): each group gets every event at least once, in append order (so in per-instance order), and
// hands it to its parts (read models, [Part]) inside the transaction that commits the group's offset, so a
// projection written through that transaction is applied exactly once. The server's read models are the parts
// of one group ([ProjectionsGroup]): one read of the stream and one commit per batch for all of them. The adapters watermill-sql needs for it, on SQLite and on
// Postgres ([StreamSchema], [StreamOffsets]), live here too.
//
// Events carry identifiers, never message content: content lives in the store's vault. [Seal] splits a message
// into its event's payload and its vault record, [Unseal] puts it back together.
//
// This package must not know about webhooks, metrics or HTTP: those are consumers (events/webhooks,
// events/metrics, events/instanceview) and depend on it, not the other way around.
package events
