package whatsapp

import (
	"container/list"
	"context"
	"errors"
	"sync"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// Profile pictures of a received message's chat and sender (the webhook's photo and senderPhoto): the URLs
// WhatsApp gives for their previews, on its own servers, as Z-API reports them.
//
// They are looked up here, in the event handler before the message is acknowledged, because they must be in the
// message when it becomes an event: the webhooks render events alone (the same bytes on every retry) and never
// reach WhatsApp, and looking them up after the ack would need a second event, and a second webhook, for one
// message. So this path stays fast: answers are kept per JID (a busy chat costs no query per message), the
// lookups of one message share a short budget, and what is not known within it is left empty. A picture never
// holds a message back for longer than photoBudget, and never loses it.

const (
	// photoBudget bounds the lookups of one message (chat and sender together).
	photoBudget = 3 * time.Second
	// photoTTL is how long a picture's URL is kept: WhatsApp's URLs stay valid for days, and a change of picture
	// comes as an event (events.Picture) that forgets the old one at once.
	photoTTL = 24 * time.Hour
	// noPhotoTTL is how long "no picture, or hidden from this account" is kept.
	noPhotoTTL = time.Hour
	// photoFailureTTL is how long an unanswered lookup (a timeout, the connection down) is not tried again: soon
	// enough to recover, not on every message of a busy chat while WhatsApp is slow.
	photoFailureTTL = time.Minute
	// photoMemory bounds how many JIDs' pictures a connection keeps (a few hundred KB); the least recently used
	// go first.
	photoMemory = 2000
)

// pictureAsker asks WhatsApp for the picture of a person or a group (whatsmeow's GetProfilePictureInfo).
type pictureAsker func(ctx context.Context, jid types.JID) (*types.ProfilePictureInfo, error)

type photoEntry struct {
	jid     types.JID
	url     string // "": none
	expires time.Time
}

// photoCache keeps the picture URLs of people and groups, by JID, for one connection (whether a picture is
// hidden depends on who asks). It is safe for concurrent use.
type photoCache struct {
	max int
	now func() time.Time

	mu      sync.Mutex
	entries map[types.JID]*list.Element
	order   *list.List // of *photoEntry, the most recently used first
}

func newPhotoCache(max int, now func() time.Time) *photoCache {
	return &photoCache{max: max, now: now, entries: map[types.JID]*list.Element{}, order: list.New()}
}

// lookup returns the URL of jid's picture, asking WhatsApp (with ask) when it is not kept or has expired. It is
// "" when there is none, it is hidden, or the asking failed (ctx bounds it).
func (pc *photoCache) lookup(ctx context.Context, jid types.JID, ask pictureAsker) string {
	jid = jid.ToNonAD()
	if !canHavePicture(jid) {
		return ""
	}
	if url, ok := pc.get(jid); ok {
		return url
	}
	info, err := ask(ctx, jid)
	switch {
	case err == nil && info != nil:
		pc.put(jid, info.URL, photoTTL)
		return info.URL
	case err == nil, errors.Is(err, whatsmeow.ErrProfilePictureNotSet), errors.Is(err, whatsmeow.ErrProfilePictureUnauthorized):
		pc.put(jid, "", noPhotoTTL)
	default:
		pc.put(jid, "", photoFailureTTL)
	}
	return ""
}

// canHavePicture: people and groups have pictures; broadcast lists, status and servers do not.
func canHavePicture(jid types.JID) bool {
	switch jid.Server {
	case types.DefaultUserServer, types.HiddenUserServer, types.GroupServer:
		return jid.User != ""
	}
	return false
}

func (pc *photoCache) get(jid types.JID) (string, bool) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	el, ok := pc.entries[jid]
	if !ok {
		return "", false
	}
	e := el.Value.(*photoEntry)
	if !pc.now().Before(e.expires) {
		pc.order.Remove(el)
		delete(pc.entries, jid)
		return "", false
	}
	pc.order.MoveToFront(el)
	return e.url, true
}

func (pc *photoCache) put(jid types.JID, url string, ttl time.Duration) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	e := &photoEntry{jid: jid, url: url, expires: pc.now().Add(ttl)}
	if el, ok := pc.entries[jid]; ok {
		el.Value = e
		pc.order.MoveToFront(el)
		return
	}
	pc.entries[jid] = pc.order.PushFront(e)
	for pc.order.Len() > pc.max {
		oldest := pc.order.Back()
		pc.order.Remove(oldest)
		delete(pc.entries, oldest.Value.(*photoEntry).jid)
	}
}

// forget drops what is kept of these JIDs (their picture changed).
func (pc *photoCache) forget(jids ...types.JID) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	for _, jid := range jids {
		if el, ok := pc.entries[jid.ToNonAD()]; ok {
			pc.order.Remove(el)
			delete(pc.entries, jid.ToNonAD())
		}
	}
}

// askPicture asks WhatsApp for the preview of a picture (the small one WhatsApp's own clients show in lists).
func (c *Conn) askPicture(ctx context.Context, jid types.JID) (*types.ProfilePictureInfo, error) {
	return c.cli.GetProfilePictureInfo(ctx, jid, &whatsmeow.GetProfilePictureParams{Preview: true})
}

// fillPhotos sets a received message's photo and sender_photo.
func (c *Conn) fillPhotos(ctx context.Context, m *messagesv1.Inbound) {
	var own types.JID
	if id := c.cli.Store.ID; id != nil {
		own = id.ToNonAD()
	}
	chat, sender := pictured(m, own)
	ctx, cancel := context.WithTimeout(ctx, photoBudget)
	defer cancel()
	m.Photo = c.photos.lookup(ctx, chat, c.askPicture)
	m.SenderPhoto = m.Photo
	if sender != chat {
		m.SenderPhoto = c.photos.lookup(ctx, sender, c.askPicture)
	}
}

// pictured names whose pictures a received message shows: the chat's (the contact, or the group) and the
// sender's (a group's member, this account — own — for what it sent, else the contact). EmptyJID: none.
func pictured(m *messagesv1.Inbound, own types.JID) (chat, sender types.JID) {
	chat, err := recipientJID(m.GetPhone())
	if err != nil || m.GetBroadcast() {
		// A broadcast list or status has no picture, and the message does not name its sender apart.
		return types.EmptyJID, types.EmptyJID
	}
	switch {
	case m.GetIsGroup():
		if sender, err = recipientJID(m.GetParticipant()); err != nil {
			sender = types.EmptyJID
		}
	case m.GetFromMe():
		sender = own
	default:
		sender = chat
	}
	return chat, sender
}

// notePictureChange forgets the picture of a person or group that changed it, under both its phone number and
// its LID (tr names the other).
func (c *Conn) notePictureChange(evt any, tr translator) {
	if e, ok := evt.(*events.Picture); ok {
		pn, lid := tr.person(e.JID, types.EmptyJID)
		c.photos.forget(e.JID, pn, lid)
	}
}
