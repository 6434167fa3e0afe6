package whatsapp

import (
	"context"
	"sync"

	"go.mau.fi/whatsmeow/appstate"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
)

// presence is what the instance shows and follows of presence. WhatsApp relays typing, and counts a device's
// delivery receipts as delivered rather than inactive, only while the device is available; and it tells online
// and last-seen only to who subscribed, for as long as the connection lasts. Being available has a cost: while a
// linked device is online, WhatsApp may not notify the phone of new messages, so it can be turned off.
type presence struct {
	// online: announce the device available on every connection, once the account's push name is known
	// (WhatsApp takes presence only with one).
	online bool

	mu sync.Mutex
	// pushName comes from the device store, or from app state (the phone shares it with a newly linked device),
	// in whatsmeow's app state goroutine: it is read there and passed on under the lock.
	pushName string
	// watch: follow the presence of the people the instance chats with (the chat-presence webhook is set).
	watch bool
	// people are those it chatted with since the server started, subscribed the ones in this connection.
	people     map[types.JID]bool
	subscribed map[types.JID]bool
}

// onPresenceEvent keeps presence as it should be across whatsmeow's events: available once the name is known,
// subscriptions made again on every connection, a new one for each new person who writes.
func (c *Conn) onPresenceEvent(evt any) {
	switch e := evt.(type) {
	case *events.AppStateSyncComplete:
		if e.Name == appstate.WAPatchCriticalBlock {
			c.announce(true)
		}
	case *events.PushNameSetting:
		c.announce(true)
	case *events.Connected:
		c.announce(false)
		c.p.mu.Lock()
		clear(c.p.subscribed)
		c.p.mu.Unlock()
		c.subscribeAll()
	case *events.Message:
		if !e.Info.IsGroup && !e.Info.IsFromMe && e.Info.Chat.Server != types.BroadcastServer {
			c.follow(e.Info.Chat)
		}
	}
}

// announce sends available presence when the push name is known (nameChanged: read it anew from the store).
func (c *Conn) announce(nameChanged bool) {
	c.p.mu.Lock()
	if nameChanged {
		c.p.pushName = c.cli.Store.PushName
	}
	name, online := c.p.pushName, c.p.online
	c.p.mu.Unlock()
	if !online || name == "" {
		return
	}
	if err := c.cli.SendPresence(context.Background(), types.PresenceAvailable); err != nil {
		c.log.Debug("cannot announce the device available", "err", err)
	}
}

// WatchPresence turns following the presence of the people the instance chats with on or off.
func (c *Conn) WatchPresence(on bool) {
	c.p.mu.Lock()
	c.p.watch = on
	c.p.mu.Unlock()
	if on {
		c.subscribeAll()
	}
}

// follow notes a person the instance chats with, and subscribes to their presence when watching.
func (c *Conn) follow(person types.JID) {
	person = person.ToNonAD()
	c.p.mu.Lock()
	c.p.people[person] = true
	c.p.mu.Unlock()
	c.subscribeAll()
}

// subscribeAll subscribes, when watching, to the presence of everyone known not subscribed to in this connection.
func (c *Conn) subscribeAll() {
	c.p.mu.Lock()
	var todo []types.JID
	if c.p.watch && c.cli.IsLoggedIn() {
		for person := range c.p.people {
			if !c.p.subscribed[person] {
				c.p.subscribed[person] = true
				todo = append(todo, person)
			}
		}
	}
	c.p.mu.Unlock()
	for _, person := range todo {
		if err := c.cli.SubscribePresence(context.Background(), person); err != nil {
			c.log.Debug("cannot subscribe to presence", "of", person, "err", err)
			c.p.mu.Lock()
			delete(c.p.subscribed, person)
			c.p.mu.Unlock()
		}
	}
}
