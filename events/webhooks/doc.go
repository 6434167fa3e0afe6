// Package webhooks delivers an instance's events to the HTTP endpoints its owner configured, in PlugZapi's
// payload formats, durably.
//
// Two parts, both fed by the event stream:
//
//   - The projection, a part ("webhooks") of the projections consumer group ([Webhooks.Part]), keeps each instance's webhook targets as a read model
//     (from WebhookConfigured events, so configuration applies in stream order) and turns each event into zero
//     or more rows of the durable table webhook_deliveries, in the consumer's transaction (exactly once).
//   - The dispatcher POSTs those rows: in order per instance, whatever their URLs — only the pending delivery
//     of the instance's earliest event (by sequence number) is in flight — and concurrently across instances, retrying failures with capped
//     exponential backoff and jitter. State lives in the table, so delivery survives restarts. Changing a
//     webhook's URL moves its pending deliveries to the new URL; removing it drops them, or hands received
//     messages to the other "received" webhook.
//
// # Requests
//
// Every webhook is an HTTP POST of a JSON body with these headers:
//
//	Content-Type:          application/json
//	X-Plugzapi-Webhook-Id: <event id>-<callback type>  unique per webhook, the same on every retry: de-duplicate on it
//	X-Plugzapi-Event-Id:   <event id>                  the stream event that caused the webhook
//	X-Plugzapi-Timestamp:  <unix seconds>              when this attempt was made
//	X-Plugzapi-Signature:  sha256=<hex>                only when the instance has a webhook secret
//
// The signature is the lower-case hex HMAC-SHA256, keyed with the instance's webhook secret, of the timestamp
// header's value, a ".", and the raw body: HMAC(secret, timestamp + "." + body). A receiver recomputes it over
// the bytes it received, compares in constant time, and rejects timestamps far from its clock (replays);
// [Verify] does all three.
//
// Any 2xx answer is success. Anything else — another status (redirects are not followed), a timeout, a
// connection error — is retried with backoff. A delivery still failing [Config.DeadAfter] after it was
// created is dead-lettered: kept in the table with state "dead" and its last error, logged at warning level
// and counted by the metrics, and the instance's next delivery goes ahead. Dead letters are deleted once they
// are [Config.Retention] old; a pending delivery is never dropped by age. Deleting an instance drops its
// pending deliveries.
//
// Inbound message content (the text of a ReceivedCallback) is read from the vault when the webhook is sent and
// deleted from the vault once no pending delivery needs it any more, so it does not outlive its webhooks.
//
// # The operator's side
//
// [Webhooks.WebhookStatus] and [Webhooks.WebhookDeliveries] show an instance's backlog;
// [Webhooks.RedeliverWebhooks] queues dead letters again and [Webhooks.ReplayWebhooks] queues the webhooks of
// the instance's events from a starting point again, from the event log (as far back as the retention keeps
// it). Either keeps each webhook's ID and takes its event's place in the instance's queue. A received message
// whose content is gone by then is sent without it, as the notification MESSAGE_CONTENT_UNAVAILABLE.
//
// Target URLs must pass [URLPolicy]; whatever the configuration, the dispatcher never connects to link-local
// or cloud-metadata addresses. It does not use HTTP proxies from the environment (a proxy would bypass that
// check).
package webhooks
