package whatsapp

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	signallogger "go.mau.fi/libsignal/logger"
	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waCompanionReg"
	"go.mau.fi/whatsmeow/proto/waWa6"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/store/sqlstore"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"
)

// ErrNoSession is returned when an instance's recorded device has no session in the store any more (it was
// removed, or the database was restored without it): the instance must be linked again.
var ErrNoSession = errors.New("the device's WhatsApp session is gone")

var signalLoggerOnce sync.Once

// Sessions holds every instance's whatsmeow device store, on the server's own database, and builds the clients.
type Sessions struct {
	container  *sqlstore.Container
	log        *slog.Logger
	redirect   func(*whatsmeow.Client)
	sealer     Sealer
	files      Files
	media      MediaKeeper
	hideOnline bool
	uploads    *http.Client
	websocket  *http.Client
}

// Options configure Sessions.
type Options struct {
	Logger *slog.Logger
	// Redirect, when set, is applied to every client before it connects: it points whatsmeow at a WhatsApp
	// simulator instead of WhatsApp.
	Redirect func(*whatsmeow.Client)
	// DeviceName is the default name linked devices show on the phone.
	DeviceName string
	// HideOnline keeps linked devices from announcing themselves available. WhatsApp then relays no typing to
	// them and counts their receipts as inactive, but it keeps notifying the phone of new messages.
	HideOnline bool
	// Sealer encrypts the decrypted messages whatsmeow buffers until they are handled. Required.
	Sealer Sealer
	// Files are the limits of the files messages carry and the fetcher of files given by URL; unset, the
	// default limits, and only https URLs of public addresses.
	Files Files
	// Media keeps the files of received messages and gives their URLs; unset, received files are reported
	// without URLs.
	Media MediaKeeper
	// Uploads is the HTTP client of the uploads whatsmeow cannot make itself (product pictures); unset,
	// http.DefaultClient. With Redirect, it must reach the same simulator.
	Uploads *http.Client
	// Websocket is the HTTP client a linked device's connection to WhatsApp is opened through (see MayConnect);
	// unset, one like whatsmeow's own. With Redirect, it must reach the same simulator.
	Websocket *http.Client
}

// MayConnect is asked before every connection a client opens to WhatsApp, whatsmeow's own reconnects included:
// an error refuses it. An instance may connect only while its node holds its lease: two connections of one
// device make WhatsApp drop one ("replaced"), and a node that was paused past its lease must not take the
// device back from the node that runs it now. It is asked before every write of the device's keys too (see
// fenceWrites).
type MayConnect func() error

// gatedTransport asks MayConnect before each request (each a websocket's opening handshake).
type gatedTransport struct {
	inner http.RoundTripper
	may   MayConnect
}

func (t gatedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.may(); err != nil {
		return nil, fmt.Errorf("not connecting: %w", err)
	}
	return t.inner.RoundTrip(req)
}

// OpenSessions opens whatsmeow's store in db (dialect as go.mau.fi/util/dbutil names it: "sqlite" or
// "postgres") and brings its schema up to date.
func OpenSessions(ctx context.Context, db *sql.DB, dialect string, opts Options) (*Sessions, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	if opts.Sealer == nil {
		return nil, errors.New("open sessions: a sealer for buffered messages is required")
	}
	// libsignal installs its logger lazily with an unsynchronized write: have it done before clients run
	// concurrently.
	signalLoggerOnce.Do(func() { signallogger.Debug("libsignal logger initialized") })
	if opts.DeviceName != "" {
		store.DeviceProps.Os = proto.String(opts.DeviceName)
	}
	store.DeviceProps.PlatformType = waCompanionReg.DeviceProps_CHROME.Enum()
	container := sqlstore.NewWithDB(db, dialect, newWALogger(log.With("part", "whatsmeow-store")))
	if err := upgrade(ctx, db, dialect, container); err != nil {
		return nil, fmt.Errorf("upgrade whatsmeow store: %w", err)
	}
	uploads := opts.Uploads
	if uploads == nil {
		uploads = http.DefaultClient
	}
	websocket := opts.Websocket
	if websocket == nil {
		websocket = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	return &Sessions{container: container, log: log, redirect: opts.Redirect, sealer: opts.Sealer,
		files: opts.Files.withDefaults(), media: opts.Media, hideOnline: opts.HideOnline, uploads: uploads,
		websocket: websocket}, nil
}

// upgradeLockClass and upgradeLockKey name the advisory lock nodes take on Postgres to upgrade whatsmeow's
// schema one at a time (two-key advisory locks are a key space apart from one-key ones).
const (
	upgradeLockClass int32 = 0x77616d73 // "wams"
	upgradeLockKey   int32 = 1
)

// upgrade brings whatsmeow's schema up to date. Nodes sharing a Postgres database may start together, and
// whatsmeow's Upgrade reads its version and then creates its tables with nothing to stop two nodes from doing
// both at once (the second would fail on tables the first created). So on Postgres a transaction of its own
// holds an advisory lock while the upgrade runs on the pool's other connections: a second node waits, then
// finds the schema current. On SQLite one process owns the file.
func upgrade(ctx context.Context, db *sql.DB, dialect string, container *sqlstore.Container) error {
	if dialect != "postgres" {
		return container.Upgrade(ctx)
	}
	lock, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	defer lock.Rollback() // releases the lock; nothing was written in it
	if _, err := lock.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?, ?)`, upgradeLockClass, upgradeLockKey); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	return container.Upgrade(ctx)
}

// Handler receives an instance's events. For messages and receipts, returning false means the event was not
// stored: whatsmeow then does not acknowledge it, and WhatsApp delivers it again.
type Handler func(Event) bool

// Open builds the client of one instance (owner, which the files it receives are kept for): on its linked
// device when deviceJID is set, or on a new, unlinked device. sessionName, when set, is the name the phone shows
// for a device linked from this client. may, when set, is asked before each connection of a linked device.
func (s *Sessions) Open(ctx context.Context, owner, deviceJID, sessionName string, handle Handler, may MayConnect) (*Conn, error) {
	var device *store.Device
	if deviceJID == "" {
		device = s.container.NewDevice()
	} else {
		jid, err := types.ParseJID(deviceJID)
		if err != nil {
			return nil, fmt.Errorf("parse device %q: %w", deviceJID, err)
		}
		device, err = s.container.GetDevice(ctx, jid)
		if err != nil {
			return nil, fmt.Errorf("load device %s: %w", deviceJID, err)
		}
		if device == nil {
			return nil, fmt.Errorf("device %s: %w", deviceJID, ErrNoSession)
		}
	}
	fenceWrites(device, may)
	if device.Sessions != nil {
		device.Sessions = turnSessions{device.Sessions}
	}
	turn := new(sync.Mutex)
	s.wrapBuffer(device, turn)
	log := s.log.With("device", deviceJID)
	cli := whatsmeow.NewClient(device, newWALogger(log.With("part", "whatsmeow")))
	// At-least-once inbound: WhatsApp gets the ack only once the handler has stored the event, and a message that
	// arrives again after a crash is served from the decrypted-event buffer (the ratchet has moved on).
	cli.SynchronousAck = true
	cli.EnableDecryptedEventBuffer = true
	// A newly linked device learns the account's chat settings and labels from its first (full) app state sync:
	// they must reach the chats read model too.
	cli.EmitAppStateEventsOnFullSync = true
	if sessionName != "" {
		cli.GetClientPayload = registrationWithName(cli, sessionName)
	}
	if s.redirect != nil {
		s.redirect(cli)
	}
	if may != nil {
		inner := s.websocket.Transport
		if inner == nil {
			inner = http.DefaultTransport
		}
		cli.SetWebsocketHTTPClient(&http.Client{Transport: gatedTransport{inner: inner, may: may}})
	}
	c := &Conn{cli: cli, turn: turn, log: log, files: s.files, accounts: map[string]types.JID{}, polls: map[string][]string{},
		subjects: map[types.JID]string{}, photos: newPhotoCache(photoMemory, time.Now),
		media: s.media, owner: owner, uploads: s.uploads, calls: newCallMemory(), report: handle, p: presence{
			online: !s.hideOnline, pushName: device.PushName, people: map[types.JID]bool{}, subscribed: map[types.JID]bool{}}}
	// The phone number ↔ LID mappings every device of the container learned (they are facts about people, the
	// same for every instance).
	tr := translator{lids: s.container.LIDMap, own: func() (types.JID, types.JID) {
		if id := cli.Store.ID; id != nil {
			return id.ToNonAD(), cli.Store.GetLID().ToNonAD()
		}
		return types.EmptyJID, types.EmptyJID
	}, calls: c.calls}
	cli.AddEventHandlerWithSuccessStatus(func(evt any) bool {
		if _, ok := evt.(*events.PairSuccess); ok {
			// Saving a newly paired device gave it whatsmeow's own event buffer again (clear, not taking turns).
			// This runs in the goroutine that saved it, before the reconnect after which messages can arrive. Its
			// other stores are read by the reconnect, which runs meanwhile: they are fenced from its next
			// connection on.
			s.wrapBuffer(cli.Store, turn)
		}
		c.onPresenceEvent(evt)
		c.noteGroupEvent(evt)
		c.notePictureChange(evt, tr)
		e, ok := tr.translate(evt)
		if !ok {
			return true
		}
		switch ev := e.(type) {
		case Connected:
			if cli.Store.ID != nil {
				e = Connected{Phone: cli.Store.ID.User}
			}
			if err := ensureSelfSession(context.Background(), cli.Store); err != nil {
				c.log.Warn("no session with the device itself: each send asks WhatsApp for its own keys", "err", err)
			}
		case MessageReceived:
			c.complete(context.Background(), evt, ev.Message)
		case GroupNotifications:
			for _, m := range ev {
				c.complete(context.Background(), evt, m.Message)
				if !handle(m) {
					return false
				}
			}
			return true
		}
		stored := handle(e)
		if stored {
			c.changes.stored(evt)
		}
		return stored
	})
	return c, nil
}

// wrapBuffer makes the device keep its buffer of decrypted messages encrypted, and decrypt in its turn
// (turns.go).
func (s *Sessions) wrapBuffer(device *store.Device, turn *sync.Mutex) {
	if _, sealed := device.EventBuffer.(sealedBuffer); !sealed {
		device.EventBuffer = sealedBuffer{EventBuffer: takingTurns{EventBuffer: device.EventBuffer, turn: turn}, sealer: s.sealer}
	}
}

// DeleteDevice removes a device's session from the store without talking to WhatsApp (used when an instance is
// deleted while it cannot connect).
func (s *Sessions) DeleteDevice(ctx context.Context, deviceJID string) error {
	jid, err := types.ParseJID(deviceJID)
	if err != nil {
		return fmt.Errorf("parse device %q: %w", deviceJID, err)
	}
	device, err := s.container.GetDevice(ctx, jid)
	if err != nil || device == nil {
		return err
	}
	if err := device.Delete(ctx); err != nil {
		return fmt.Errorf("delete device %s: %w", deviceJID, err)
	}
	return nil
}

// registrationWithName makes a client register with its own device name: whatsmeow takes the name from a
// process-wide variable, which cannot differ per instance.
func registrationWithName(cli *whatsmeow.Client, name string) func() *waWa6.ClientPayload {
	return func() *waWa6.ClientPayload {
		payload := cli.Store.GetClientPayload()
		if payload.DevicePairingData == nil {
			return payload
		}
		props := proto.Clone(store.DeviceProps).(*waCompanionReg.DeviceProps)
		props.Os = proto.String(name)
		if raw, err := proto.Marshal(props); err == nil {
			payload.DevicePairingData.DeviceProps = raw
		}
		return payload
	}
}
