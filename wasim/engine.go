package wasim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/store/sqlstore"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"
	_ "modernc.org/sqlite" // the pure-Go "sqlite" driver for the phones' stores

	"github.com/plugzapi/plugzapi/wasim/simclient"
)

// The simulated phones are whatsmeow clients logged in as device 0 of their account,
// with the account identity key as their Signal identity: real Signal sessions, real
// message encryption. Other clients see the phone as WhatsApp shows it: device 0 in
// device lists, the sender of what the phone sends, the recipient that senders encrypt
// to. (WhatsApp's phones register rather than pair; the simulator links its phones'
// clients through its QR path as device 0, which no client can tell.)

// engineStore is the SQLite database holding every simulated phone's whatsmeow store.
type engineStore struct {
	container *sqlstore.Container
}

func (e *engineStore) close() error {
	if err := e.container.Close(); err != nil {
		return fmt.Errorf("close phone store: %w", err)
	}
	return nil
}

// phoneStore opens the phones' database on first use.
func (s *Simulator) phoneStore(ctx context.Context) (*sqlstore.Container, error) {
	s.engineMu.Lock()
	defer s.engineMu.Unlock()
	if s.engines != nil {
		return s.engines.container, nil
	}
	dir, err := os.MkdirTemp(s.opts.DataDir, "wasim-")
	if err != nil {
		return nil, fmt.Errorf("create phone store directory: %w", err)
	}
	dsn := "file:" + filepath.Join(dir, "phones.db") +
		"?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)&_pragma=busy_timeout(10000)&_txlock=immediate"
	container, err := sqlstore.New(ctx, "sqlite", dsn, newWALogger(s.log.With("component", "phone-store")))
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("open phone store: %w", err)
	}
	s.engines = &engineStore{container: container}
	s.dataDir = dir
	return container, nil
}

// engine is an account's simulated phone acting as a person.
type engine struct {
	a   *Account
	cli *whatsmeow.Client
	// signal serialises the phone's Signal operations: its sends and its decryptions (phonesignal.go).
	signal sync.Mutex

	mu     sync.Mutex
	online bool // wanted online (SetOnline)
	away   bool // wanted unavailable while online (SetPresence)
	// appStateKeyID names the app state key the phone shares with the devices it links.
	appStateKeyID []byte
	connected     bool
	loggedOut     bool
	changed       chan struct{} // closed and replaced on every state change
	inbox         []Message
	seen          map[string]struct{}
	sent          map[string]*waE2E.Message    // own messages, for quoting them
	media         map[string]download          // received media by message id
	reactions     map[string]map[string]string // by message id: each reactor's emoji
	states        []ChatState                  // chat states seen, oldest first, bounded
	receipts      []Receipt                    // receipts seen, oldest first, bounded
	presences     []Presence                   // presence updates seen, oldest first, bounded
	// groupNotices counts the group notifications queued for the phone that its
	// client has not handled yet (see send).
	groupNotices int
	// chats is the phone's chat list (phonechats.go).
	chats phoneChats
}

func (a *Account) startEngine(ctx context.Context) error {
	s := a.s
	container, err := s.phoneStore(ctx)
	if err != nil {
		return err
	}
	device := container.NewDevice()
	// The phone's Signal identity is the account's: the key that signs its linked
	// devices, and the one they hold as device 0's identity from their pairing.
	device.IdentityKey = a.identity
	device.SignedPreKey = device.IdentityKey.CreateSignedPreKey(1)
	// The phone is where the account's name comes from: it writes it into the app
	// state its linked devices read (phonesync.go).
	device.PushName = a.Name()
	e := &engine{
		a:         a,
		online:    true,
		changed:   make(chan struct{}),
		seen:      make(map[string]struct{}),
		sent:      make(map[string]*waE2E.Message),
		media:     make(map[string]download),
		reactions: make(map[string]map[string]string),
	}
	initPhoneStores(container, device, a.phone, &e.signal)
	cli := whatsmeow.NewClient(device, newWALogger(s.log.With("phone", a.phone)))
	e.cli = cli
	simclient.Configure(cli, s.Addr())
	// A phone's delivery receipts say delivered even while its app is in the background.
	cli.SetForceActiveDeliveryReceipts(true)
	// A collection's first patch reaches the phone as a full sync (from version 0): the phone applies it all
	// the same (phonechats.go).
	cli.EmitAppStateEventsOnFullSync = true
	// Decryptions go through the event buffer's transaction, which takes the phone's Signal lock (phonesignal.go).
	cli.EnableDecryptedEventBuffer = true
	// A contact that could not decrypt a message asks for it again with a retry receipt; whatsmeow answers from
	// the last 256 messages it sent, and beyond those from what the phone keeps for quoting.
	cli.GetMessageForRetry = e.sentMessage
	cli.AddEventHandler(e.handleEvent)
	fail := func(err error) error {
		cli.Disconnect()
		return err
	}
	// The client lives as long as the simulator, not as long as this call: its
	// connection and reconnects use the simulator's context.
	qr, err := cli.GetQRChannel(s.ctx)
	if err != nil {
		return fail(fmt.Errorf("phone qr channel: %w", err))
	}
	if err := cli.ConnectContext(s.ctx); err != nil {
		return fail(fmt.Errorf("connect phone: %w", err))
	}
	var code string
	select {
	case item := <-qr:
		if item.Event != whatsmeow.QRChannelEventCode {
			return fail(fmt.Errorf("phone pairing: unexpected %q", item.Event))
		}
		code = item.Code
	case <-ctx.Done():
		return fail(fmt.Errorf("phone pairing: %w", ctx.Err()))
	}
	if _, err := a.scanQR(ctx, code, true); err != nil {
		return fail(fmt.Errorf("phone pairing: %w", err))
	}
	if err := e.waitConnected(ctx); err != nil {
		return fail(fmt.Errorf("phone login: %w", err))
	}
	if err := e.initAppState(ctx); err != nil {
		return fail(fmt.Errorf("phone app state: %w", err))
	}
	s.mu.Lock()
	a.engine = e
	s.mu.Unlock()
	return nil
}

// runningEngine returns the engine acting as the account's phone, nil before it started.
func (a *Account) runningEngine() *engine {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	return a.engine
}

func (a *Account) stopEngine() {
	e := a.runningEngine()
	if e != nil {
		e.cli.RemoveEventHandlers()
		a.disconnectPhone(e)
	}
}

// phoneSettleLimit bounds how long disconnectPhone waits for the phone's acknowledgements.
const phoneSettleLimit = 2 * time.Second

// disconnectPhone disconnects the phone's client once it has acknowledged what the simulator delivered to it
// (or after phoneSettleLimit). whatsmeow writes receipts and acks on goroutines of its own, and its socket's
// Close races with a write in flight (go test -race reports it in the simulator's host process); once every
// stanza is acknowledged, those writes are done.
func (a *Account) disconnectPhone(e *engine) {
	deadline := time.Now().Add(phoneSettleLimit)
	for time.Now().Before(deadline) && a.phoneUnacknowledged() > 0 {
		time.Sleep(10 * time.Millisecond)
	}
	e.cli.Disconnect()
}

// phoneUnacknowledged counts what the phone's device, while logged in, has not acknowledged. It asks the
// simulator's registry, not whatsmeow: the client's own IsConnected races with a close.
func (a *Account) phoneUnacknowledged() int {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	if d := a.devices[0]; d != nil && d.conn != nil && d.conn.loggedIn {
		return len(d.queue)
	}
	return 0
}

func (e *engine) handleEvent(evt any) {
	switch v := evt.(type) {
	case *events.Connected:
		// Presence lasts as long as a connection: a phone in use announces itself
		// available on every login, before it counts as connected.
		e.mu.Lock()
		away := e.away
		e.mu.Unlock()
		if !away {
			if err := e.cli.SendPresence(e.a.s.ctx, types.PresenceAvailable); err != nil {
				e.a.s.log.Warn("phone cannot announce itself available", "phone", e.a.phone, "err", err)
			}
		}
		e.setState(func() { e.connected = true })
	case *events.Disconnected, *events.StreamReplaced:
		e.setState(func() { e.connected = false })
	case *events.LoggedOut:
		e.setState(func() { e.connected, e.loggedOut = false, true })
	case *events.Message:
		e.record(v)
	case *events.ChatPresence:
		e.recordChatState(v)
	case *events.Receipt:
		e.recordReceipt(v)
	case *events.Presence:
		e.recordPresence(v)
	case *events.GroupInfo, *events.JoinedGroup:
		e.setState(func() { e.groupNotices = max(0, e.groupNotices-1) })
	default:
		e.applyChatEvent(evt)
	}
}

// groupNoticeQueued tells the phone a group notification is on its way to its client.
func (e *engine) groupNoticeQueued() {
	e.setState(func() { e.groupNotices++ })
}

// groupNoticeWait bounds how long a phone's send to a group waits for the group
// notifications queued for it (one its client cannot parse yields no event).
const groupNoticeWait = 2 * time.Second

// send sends msg from the phone. A send to a group first lets the client handle
// the group notifications already queued for it: whatsmeow updates its cached member
// list in place while handling one, unlocked against a send reading that list (a
// data race in whatsmeow, not something WhatsApp does), and a person's phone shows
// the change before they write anyway.
func (e *engine) send(ctx context.Context, chat types.JID, msg *waE2E.Message) (whatsmeow.SendResponse, error) {
	if chat.Server == types.GroupServer {
		deadline := time.NewTimer(groupNoticeWait)
		defer deadline.Stop()
	wait:
		for {
			e.mu.Lock()
			pending, changed := e.groupNotices, e.changed
			e.mu.Unlock()
			if pending == 0 {
				break
			}
			select {
			case <-changed:
			case <-deadline.C:
				break wait
			case <-ctx.Done():
				return whatsmeow.SendResponse{}, ctx.Err()
			}
		}
	}
	resp, err := e.sendMessage(ctx, chat, msg)
	if err == nil {
		key := e.chatKey(chat)
		name := e.a.s.chatName(key)
		e.mu.Lock()
		e.noteMessageLocked(key, name, resp.Timestamp, false, "")
		e.mu.Unlock()
	}
	return resp, err
}

// maxSeen bounds the chat states, receipts and presence updates a phone remembers
// (the oldest are forgotten first).
const maxSeen = 1000

// appendBounded appends v to list, keeping the newest maxSeen entries.
func appendBounded[T any](list []T, v T) []T {
	list = append(list, v)
	if len(list) > maxSeen {
		list = list[len(list)-maxSeen:]
	}
	return list
}

func (e *engine) recordChatState(evt *events.ChatPresence) {
	state := string(evt.State)
	if evt.State == types.ChatPresenceComposing && evt.Media == types.ChatPresenceMediaAudio {
		state = "recording"
	}
	cs := ChatState{Chat: e.a.s.chatName(evt.Chat), From: e.a.s.chatName(evt.Sender.ToNonAD()), State: state, Time: time.Now()}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.states = appendBounded(e.states, cs)
}

func (e *engine) recordReceipt(evt *events.Receipt) {
	typ := string(evt.Type)
	if evt.Type == types.ReceiptTypeDelivered {
		typ = "delivered"
	}
	r := Receipt{
		Chat: e.a.s.chatName(evt.Chat),
		From: e.a.s.chatName(evt.Sender.ToNonAD()),
		IDs:  append([]string(nil), evt.MessageIDs...),
		Type: typ,
		Time: evt.Timestamp,
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.receipts = appendBounded(e.receipts, r)
}

func (e *engine) recordPresence(evt *events.Presence) {
	p := Presence{From: e.a.s.chatName(evt.From.ToNonAD()), Available: !evt.Unavailable, LastSeen: evt.LastSeen, Time: time.Now()}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.presences = appendBounded(e.presences, p)
}

func (e *engine) setState(change func()) {
	e.mu.Lock()
	defer e.mu.Unlock()
	change()
	close(e.changed)
	e.changed = make(chan struct{})
}

// waitConnected waits until the phone's device is logged in.
func (e *engine) waitConnected(ctx context.Context) error {
	for {
		e.mu.Lock()
		connected, loggedOut, online, changed := e.connected, e.loggedOut, e.online, e.changed
		e.mu.Unlock()
		switch {
		case loggedOut:
			return fmt.Errorf("%w: its device was unlinked", ErrEngineOffline)
		case !online:
			return ErrEngineOffline
		case connected:
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("wait for the phone to connect: %w", ctx.Err())
		case <-e.a.s.ctx.Done():
			return ErrClosed
		}
	}
}

// record adds a received message to the inbox. Media is downloaded first, on the
// client's event goroutine, so the inbox keeps the order messages arrived in; the
// download is from the simulator itself and quick.
func (e *engine) record(evt *events.Message) {
	m, ok := e.a.s.inboxMessage(evt)
	if !ok {
		return
	}
	key := m.Chat + "/" + m.From + "/" + m.ID
	e.mu.Lock()
	_, dup := e.seen[key]
	e.mu.Unlock()
	if dup {
		return
	}
	dl, media := mediaOf(evt.Message, evt.IsViewOnce)
	m.MimeType, m.FileName, m.Caption, m.ViewOnce, m.GIF = media.MimeType, media.FileName, media.Caption, media.ViewOnce, media.GIF
	m.Seconds, m.Width, m.Height, m.ThumbnailSize, m.Link = media.Seconds, media.Width, media.Height, media.ThumbnailSize, media.Link
	m.Waveform = media.Waveform
	e.a.s.describeRich(evt, &m)
	if m.Forwarded && m.ViewOnce {
		// WhatsApp's apps never forward a view-once file, and show none that comes forwarded.
		m.MediaError, dl = "a view-once message cannot be forwarded", nil
		e.a.s.log.Warn("phone got a forwarded view-once message", "phone", e.a.phone, "id", m.ID)
	}
	if dl != nil {
		ctx, cancel := context.WithTimeout(e.a.s.ctx, mediaDownloadTimeout)
		data, err := dl(ctx, e.cli)
		cancel()
		if err != nil {
			m.MediaError = err.Error()
			e.a.s.log.Warn("phone cannot download media", "phone", e.a.phone, "id", m.ID, "err", err)
		} else {
			sum := sha256.Sum256(data)
			m.MediaSHA256 = hex.EncodeToString(sum[:])
			m.MediaSize = int64(len(data))
		}
	}
	chat := e.chatKey(evt.Info.Chat)
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, dup := e.seen[key]; dup {
		return
	}
	e.seen[key] = struct{}{}
	e.noteMessageLocked(chat, m.Chat, evt.Info.Timestamp, !evt.Info.IsFromMe, evt.Info.PushName)
	e.applyLocked(evt, m)
	e.inbox = append(e.inbox, m)
	if dl != nil {
		e.media[m.ID] = dl
	}
}

// ready returns the account's phone once it is connected, waiting for a reconnect in
// progress.
func (a *Account) ready(ctx context.Context) (*engine, error) {
	e := a.runningEngine()
	if e == nil {
		return nil, ErrEngineOffline
	}
	if err := e.waitConnected(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

// parseChat turns a phone number, a group id (<digits>-group) or a JID (user or
// group) into a chat JID.
func parseChat(chat string) (types.JID, error) {
	chat = strings.TrimSpace(chat)
	if strings.HasSuffix(chat, groupIDSuffix) {
		return parseGroupID(chat)
	}
	if strings.Contains(chat, "@") {
		jid, err := types.ParseJID(chat)
		if err != nil || jid.User == "" {
			return types.EmptyJID, fmt.Errorf("%w: chat %q", ErrInvalidArgument, chat)
		}
		return jid.ToNonAD(), nil
	}
	phone := strings.TrimPrefix(chat, "+")
	if !validPhone(phone) {
		return types.EmptyJID, fmt.Errorf("%w: chat %q is neither a phone number nor a JID", ErrInvalidArgument, chat)
	}
	return types.NewJID(phone, types.DefaultUserServer), nil
}

// SendText sends a text message from this account's phone to a phone number or a
// group JID, as a reply to the message replyTo when it is not empty. It returns the
// message id once the server acknowledged the message.
func (a *Account) SendText(ctx context.Context, to, text, replyTo string) (string, error) {
	chat, err := parseChat(to)
	if err != nil {
		return "", fmt.Errorf("send text: %w", err)
	}
	e, err := a.ready(ctx)
	if err != nil {
		return "", fmt.Errorf("send text: %w", err)
	}
	msg := &waE2E.Message{Conversation: proto.String(text)}
	if replyTo != "" {
		msg = &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{
			Text:        proto.String(text),
			ContextInfo: e.quote(chat, replyTo),
		}}
	}
	resp, err := e.send(ctx, chat, msg)
	if err != nil {
		return "", fmt.Errorf("send text to %s: %w", chat, err)
	}
	e.mu.Lock()
	e.sent[resp.ID] = msg
	e.mu.Unlock()
	return resp.ID, nil
}

// SendMessage sends a message built by the caller (a reaction, a location, a poll…) from this account's phone
// to a phone number or a group, as the phone's own WhatsApp client would send it: for what the other verbs do
// not cover. It returns the message id once the server acknowledged the message.
func (a *Account) SendMessage(ctx context.Context, to string, msg *waE2E.Message) (string, error) {
	chat, err := parseChat(to)
	if err != nil {
		return "", fmt.Errorf("send message: %w", err)
	}
	if msg == nil {
		return "", fmt.Errorf("send message: %w: no message", ErrInvalidArgument)
	}
	e, err := a.ready(ctx)
	if err != nil {
		return "", fmt.Errorf("send message: %w", err)
	}
	resp, err := e.send(ctx, chat, msg)
	if err != nil {
		return "", fmt.Errorf("send message to %s: %w", chat, err)
	}
	e.mu.Lock()
	e.sent[resp.ID] = msg
	e.mu.Unlock()
	return resp.ID, nil
}

// sentMessage is a message the phone sent, by ID (nil when it was not kept): whatsmeow's GetMessageForRetry.
func (e *engine) sentMessage(_, _ types.JID, id types.MessageID) *waE2E.Message {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.sent[id]
}

// quote builds the context of a reply: the quoted message, if this phone has it, and
// who wrote it.
func (e *engine) quote(chat types.JID, id string) *waE2E.ContextInfo {
	ci := &waE2E.ContextInfo{StanzaID: proto.String(id)}
	e.mu.Lock()
	defer e.mu.Unlock()
	if own, ok := e.sent[id]; ok {
		ci.Participant = proto.String(e.a.jid.String())
		ci.QuotedMessage = own
		return ci
	}
	for _, m := range e.inbox {
		if m.ID == id {
			ci.Participant = proto.String(m.sender.String())
			ci.QuotedMessage = &waE2E.Message{Conversation: proto.String(m.Text)}
			return ci
		}
	}
	if chat.Server == types.DefaultUserServer {
		ci.Participant = proto.String(chat.String())
	}
	return ci
}

// Messages returns what this account's phone received, oldest first: every message
// after the one with id since, or all of them when since is empty or unknown.
func (a *Account) Messages(since string) []Message {
	e := a.runningEngine()
	if e == nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	start := 0
	if since != "" {
		for i, m := range e.inbox {
			if m.ID == since {
				start = i + 1
			}
		}
	}
	return append([]Message(nil), e.inbox[start:]...)
}

// MarkRead sends read receipts for messages of a chat (phone number or group JID),
// as the phone's user opening the chat would.
func (a *Account) MarkRead(ctx context.Context, chat string, ids ...string) error {
	return a.markAs(ctx, chat, ids, types.ReceiptTypeRead)
}

// MarkPlayed sends played receipts (voice notes, view-once media) for messages of a
// chat.
func (a *Account) MarkPlayed(ctx context.Context, chat string, ids ...string) error {
	return a.markAs(ctx, chat, ids, types.ReceiptTypePlayed)
}

func (a *Account) markAs(ctx context.Context, chat string, ids []string, typ types.ReceiptType) error {
	if len(ids) == 0 {
		return fmt.Errorf("mark %s: %w: no message ids", typ, ErrInvalidArgument)
	}
	chatJID, err := parseChat(chat)
	if err != nil {
		return fmt.Errorf("mark %s: %w", typ, err)
	}
	e, err := a.ready(ctx)
	if err != nil {
		return fmt.Errorf("mark %s: %w", typ, err)
	}
	// A phone marks only what it received, so a receipt cannot stand in for a
	// delivery that never happened. The receipts go to the chat as each message named
	// it (phone number or LID) and, in a group, name the message's sender: the ids
	// are grouped by both.
	type addressee struct{ chat, sender types.JID }
	byAddressee := make(map[addressee][]string)
	var order []addressee
	name := a.s.chatName(chatJID)
	e.mu.Lock()
	for _, id := range ids {
		i := slices.IndexFunc(e.inbox, func(m Message) bool {
			return m.ID == id && m.Chat == name && !m.FromMe
		})
		if i < 0 {
			e.mu.Unlock()
			return fmt.Errorf("mark %s: %w: %s was not received in %s", typ, ErrUnknownMessage, id, chatJID)
		}
		to := addressee{e.inbox[i].chat, e.inbox[i].sender}
		if _, ok := byAddressee[to]; !ok {
			order = append(order, to)
		}
		byAddressee[to] = append(byAddressee[to], id)
	}
	e.mu.Unlock()
	for _, to := range order {
		if err := e.cli.MarkRead(ctx, byAddressee[to], time.Now(), to.chat, to.sender, typ); err != nil {
			return fmt.Errorf("mark %s in %s: %w", typ, to.chat, err)
		}
	}
	return nil
}

// Typing shows a chat state in a chat: "composing" (typing), "recording" (recording
// audio) or "paused". The chat's devices see it as events.ChatPresence.
func (a *Account) Typing(ctx context.Context, chat, state string) error {
	chatJID, err := parseChat(chat)
	if err != nil {
		return fmt.Errorf("typing: %w", err)
	}
	var cs types.ChatPresence
	var media types.ChatPresenceMedia
	switch state {
	case "composing":
		cs = types.ChatPresenceComposing
	case "recording":
		cs, media = types.ChatPresenceComposing, types.ChatPresenceMediaAudio
	case "paused":
		cs = types.ChatPresencePaused
	default:
		return fmt.Errorf("typing: %w: state %q is not composing, recording or paused", ErrInvalidArgument, state)
	}
	e, err := a.ready(ctx)
	if err != nil {
		return fmt.Errorf("typing: %w", err)
	}
	if err := e.cli.SendChatPresence(ctx, chatJID, cs, media); err != nil {
		return fmt.Errorf("typing in %s: %w", chatJID, err)
	}
	return nil
}

// SetOnline takes the account's phone offline (its device disconnects, and what is
// sent to it waits in the simulator's queue) or brings it back, in which case it
// returns once the phone is logged in again; the queue is flushed to it at login.
func (a *Account) SetOnline(ctx context.Context, online bool) error {
	e := a.runningEngine()
	if e == nil {
		return fmt.Errorf("set online: %w", ErrEngineOffline)
	}
	e.mu.Lock()
	loggedOut := e.loggedOut
	e.mu.Unlock()
	if loggedOut {
		// Its store is gone; connecting would start a new pairing.
		return fmt.Errorf("set online: %w: its device was unlinked", ErrEngineOffline)
	}
	if !online {
		e.setState(func() { e.online = false })
		a.disconnectPhone(e)
		e.setState(func() { e.connected = false })
		return nil
	}
	e.setState(func() { e.online = true })
	if err := e.cli.ConnectContext(a.s.ctx); err != nil && !errors.Is(err, whatsmeow.ErrAlreadyConnected) {
		return fmt.Errorf("set online: %w", err)
	}
	if err := e.waitConnected(ctx); err != nil {
		return fmt.Errorf("set online: %w", err)
	}
	return nil
}

// Online reports whether the account's phone is connected.
func (a *Account) Online() bool {
	e := a.runningEngine()
	if e == nil {
		return false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.connected && e.online
}
