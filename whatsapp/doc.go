// Package whatsapp is the server's adapter to WhatsApp through go.mau.fi/whatsmeow: it keeps every instance's
// device session in the server's database, builds and configures clients, sends messages and translates what
// whatsmeow reports into this package's own small vocabulary of events.
//
// It knows nothing of instances, queues or webhooks: the instance actor drives it. It must not keep message
// content anywhere: text and files (fetched from their URLs or given in base64) pass through to whatsmeow and are
// gone.
package whatsapp
