// Package netguard is the policy every URL the server calls passes: webhooks and media. It decides which URLs
// are acceptable (CheckURL, at the time a client gives one), guards every connection on the address actually
// dialled (so a DNS name that resolves, or rebinds, to a refused address is refused too), and fetches files
// within a time and a size limit (Fetcher).
//
// It is a leaf: it imports nothing of the module, so the HTTP API (checking a URL at intake), the webhook
// dispatcher and the WhatsApp adapter (fetching media) share one policy. It must not learn what the URLs are
// for: callers choose a Policy.
package netguard
