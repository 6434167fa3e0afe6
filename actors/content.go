package actors

import (
	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// The content of a message is in memory when it is queued: keeping it there until it is sent spares the send
// loop a vault read per message. The bounds keep a long queue of files from holding memory; what is not kept
// is read from the vault while the message before it is being sent.
const (
	contentCacheBytes   = 1 << 20  // per instance
	contentCacheMaxItem = 64 << 10 // a larger message is read when its turn comes
)

// contentCache holds whole queued messages (content included) by zaapId. The send goroutine reads a message
// it was given; nothing here changes a message once it is in.
type contentCache struct {
	items   map[string]cachedContent
	bytes   int
	reading string // the zaapId being read ahead, if any
}

type cachedContent struct {
	msg  *messagesv1.Outbound
	size int
}

// put keeps a queued message's content if it fits.
func (c *contentCache) put(m *messagesv1.Outbound, size int) {
	if size > contentCacheMaxItem || c.bytes+size > contentCacheBytes {
		return
	}
	if c.items == nil {
		c.items = map[string]cachedContent{}
	}
	c.drop(m.GetZaapId())
	c.items[m.GetZaapId()] = cachedContent{msg: m, size: size}
	c.bytes += size
}

// get returns the whole message, or nil when its content is not in memory.
func (c *contentCache) get(zaapID string) *messagesv1.Outbound {
	return c.items[zaapID].msg
}

// drop forgets a message that left the queue.
func (c *contentCache) drop(zaapID string) {
	if it, ok := c.items[zaapID]; ok {
		c.bytes -= it.size
		delete(c.items, zaapID)
	}
}

// keep forgets every message that is not in the queue (after the state was reloaded).
func (c *contentCache) keep(st *state) {
	queued := make(map[string]bool, len(st.queue))
	for _, e := range st.queue {
		queued[e.GetMessageQueued().GetZaapId()] = true
	}
	for id := range c.items {
		if !queued[id] {
			c.drop(id)
		}
	}
	c.reading = ""
}

// startReading reports whether the message's content should be read ahead: it is not in memory and not being
// read.
func (c *contentCache) startReading(zaapID string) bool {
	if _, ok := c.items[zaapID]; ok || c.reading == zaapID {
		return false
	}
	c.reading = zaapID
	return true
}

// readAhead keeps content read ahead, if its message is still queued. A failed read is left to the send, which
// reads again and decides what the failure means.
func (c *contentCache) readAhead(r contentRead, st *state) {
	if r.err != nil || r.msg == nil {
		c.reading = ""
		return
	}
	if c.reading == r.msg.GetZaapId() {
		c.reading = ""
	}
	if st.find(r.msg.GetZaapId()) != nil {
		c.put(r.msg, r.size)
	}
}
