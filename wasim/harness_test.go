package wasim_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/appstate"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/store/sqlstore"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	waLog "go.mau.fi/whatsmeow/util/log"

	"github.com/plugzapi/plugzapi/wasim"
	"github.com/plugzapi/plugzapi/wasim/simclient"
)

// waitTimeout bounds every wait in these tests. Generous, because -race slows the
// Signal and SQLite work a lot on a shared 2-core machine.
const waitTimeout = 30 * time.Second

func TestMain(m *testing.M) {
	if os.Getenv(helperDBEnv) != "" {
		// This binary was started by TestKilledClientProcessLogsInAgain as the
		// client process it kills.
		os.Exit(helperClientMain())
	}
	simclient.TrustRoot()
	// Fast keepalives, so keepalive behaviour is observable in seconds. These are
	// whatsmeow package variables: set them before any client exists.
	whatsmeow.KeepAliveIntervalMin = 400 * time.Millisecond
	whatsmeow.KeepAliveIntervalMax = 600 * time.Millisecond
	whatsmeow.KeepAliveResponseDeadline = time.Second
	os.Exit(m.Run())
}

// testLogger logs to stderr at the level in WASIM_TEST_LOG (debug, info, warn,
// error); by default nothing.
func testLogger() *slog.Logger {
	var level slog.Level
	switch strings.ToLower(os.Getenv("WASIM_TEST_LOG")) {
	case "debug":
		level = slog.LevelDebug
	case "info":
		level = slog.LevelInfo
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	default:
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// clientLogger is the test clients' whatsmeow logger, enabled like testLogger.
func clientLogger() waLog.Logger {
	level := strings.ToUpper(os.Getenv("WASIM_TEST_LOG"))
	if level == "" {
		return waLog.Noop
	}
	return waLog.Stdout("client", level, false)
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func startSim(t *testing.T, opts wasim.Options) *wasim.Simulator {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger()
	}
	sim, err := wasim.Start(testContext(t), opts)
	if err != nil {
		t.Fatalf("start simulator: %v", err)
	}
	t.Cleanup(func() {
		if err := sim.Close(); err != nil {
			t.Errorf("close simulator: %v", err)
		}
	})
	return sim
}

var phoneSeq atomic.Int64

// newPhone returns a fresh phone number, unique in the test binary.
func newPhone() string {
	return fmt.Sprintf("55119%08d", phoneSeq.Add(1))
}

func addAccount(t *testing.T, sim *wasim.Simulator, name string) *wasim.Account {
	t.Helper()
	a, err := sim.AddAccount(testContext(t), newPhone(), name)
	if err != nil {
		t.Fatalf("add account %s: %v", name, err)
	}
	return a
}

// client is a real whatsmeow client of the kind the server under test runs, with
// every event it emits recorded.
type client struct {
	t      *testing.T
	cli    *whatsmeow.Client
	store  *sqlstore.Container
	dbPath string
	logs   *logCapture

	mu      sync.Mutex
	events  []any
	changed chan struct{}
	// device is the client's device JID once known (from its store before it connects, or from its pairing),
	// kept here because whatsmeow clears Store.ID concurrently at logout.
	device types.JID
}

func newClient(t *testing.T, sim *wasim.Simulator) *client {
	t.Helper()
	ctx := testContext(t)
	path := filepath.Join(t.TempDir(), "client.db")
	container, err := sqlstore.New(ctx, "sqlite", storeDSN(path), waLog.Noop)
	if err != nil {
		t.Fatalf("client store: %v", err)
	}
	t.Cleanup(func() { _ = container.Close() })
	c := wrapClient(t, sim, container, container.NewDevice())
	c.dbPath = path
	return c
}

func storeDSN(path string) string {
	return "file:" + path + "?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)&_pragma=busy_timeout(10000)&_txlock=immediate"
}

func wrapClient(t *testing.T, sim *wasim.Simulator, container *sqlstore.Container, dev *store.Device) *client {
	c := &client{t: t, store: container, changed: make(chan struct{})}
	if dev.ID != nil {
		c.device = *dev.ID
	}
	c.logs = &logCapture{next: clientLogger()}
	c.logs.init()
	c.cli = whatsmeow.NewClient(dev, c.logs)
	simclient.Configure(c.cli, sim.Addr())
	c.cli.AddEventHandler(c.record)
	t.Cleanup(func() { c.settleThenDisconnect(sim) })
	return c
}

// settleThenDisconnect waits until the simulator holds nothing the client has not acknowledged, and the
// client finished the sync its phone's welcome started, then disconnects it. whatsmeow writes receipts and
// acks, and syncs app state, on goroutines of its own, and its FrameSocket.Close races (go test -race) with a
// write in flight; once every stanza is acknowledged and the sync is done, those writes are done. Only the
// simulator is asked: whatsmeow's own IsConnected races with a close too.
func (c *client) settleThenDisconnect(sim *wasim.Simulator) {
	c.mu.Lock()
	dev := c.device
	c.mu.Unlock()
	if acct, ok := sim.Account(dev.User); ok && !dev.IsEmpty() {
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) && sim.Online(dev) && busy(acct, dev) {
			time.Sleep(10 * time.Millisecond)
		}
	}
	c.cli.Disconnect()
}

// busy reports whether a device has stanzas to acknowledge or a sync under way.
func busy(acct *wasim.Account, dev types.JID) bool {
	for _, d := range acct.DeviceInfos() {
		if d.JID == dev {
			return d.Queued > 0 || d.Welcomed && !(d.WelcomeAcknowledged && d.AppStateSynced)
		}
	}
	return false
}

// reopen loads c's device from its store into a second client, as a restarted
// process would. The returned client is not connected.
func reopen(t *testing.T, sim *wasim.Simulator, c *client) *client {
	t.Helper()
	dev, err := c.store.GetDevice(testContext(t), *c.cli.Store.ID)
	if err != nil || dev == nil {
		t.Fatalf("load device %s: %v", c.cli.Store.ID, err)
	}
	return wrapClient(t, sim, c.store, dev)
}

func (c *client) record(evt any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if paired, ok := evt.(*events.PairSuccess); ok {
		c.device = paired.ID
	}
	c.events = append(c.events, evt)
	close(c.changed)
	c.changed = make(chan struct{})
}

// mark returns a position in the event history, for waits that must only see later
// events.
func (c *client) mark() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.events)
}

// waitFor waits for an event at or after position from that match accepts.
func (c *client) waitFor(from int, what string, match func(any) bool) any {
	c.t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		for _, e := range c.events[min(from, len(c.events)):] {
			if match(e) {
				c.mu.Unlock()
				return e
			}
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			c.t.Fatalf("timed out waiting for %s; events: %s", what, c.describe())
			return nil
		}
	}
}

// beAvailable announces the client available, as an app in use does, and waits until
// the simulator took note: WhatsApp shows a device chat states and counts its receipts
// as delivered only then. whatsmeow needs a push name for it, which a linked client
// learned from the account's app state.
func (c *client) beAvailable(acct *wasim.Account) {
	c.t.Helper()
	if err := c.cli.SendPresence(testContext(c.t), types.PresenceAvailable); err != nil {
		c.t.Fatalf("send available presence: %v", err)
	}
	eventually(c.t, "the simulator sees the client available", func() bool {
		for _, d := range acct.DeviceInfos() {
			if d.JID == c.device {
				return d.Available
			}
		}
		return false
	})
}

// forgetSessionWith deletes the client's Signal session with another client's device,
// as a device that lost its state would: by phone number, and by LID, which is how
// whatsmeow names sessions once the server revealed the other side's LID.
func (c *client) forgetSessionWith(other *client) {
	c.t.Helper()
	ctx := testContext(c.t)
	for _, addr := range []types.JID{*other.cli.Store.ID, other.cli.Store.LID} {
		if err := c.cli.Store.Sessions.DeleteSession(ctx, addr.SignalAddress().String()); err != nil {
			c.t.Fatalf("delete session with %s: %v", addr, err)
		}
	}
}

// never asserts that no event after from matches during d.
func (c *client) never(from int, d time.Duration, what string, match func(any) bool) {
	c.t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		for _, e := range c.events[min(from, len(c.events)):] {
			if match(e) {
				c.mu.Unlock()
				c.t.Fatalf("unexpected %s: %#v", what, e)
			}
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			return
		}
	}
}

func (c *client) describe() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	parts := make([]string, len(c.events))
	for i, e := range c.events {
		parts[i] = fmt.Sprintf("%T", e)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func waitEvent[T any](c *client, from int, match func(T) bool) T {
	c.t.Helper()
	var zero T
	what := fmt.Sprintf("%T", zero)
	e := c.waitFor(from, what, func(e any) bool {
		v, ok := e.(T)
		return ok && (match == nil || match(v))
	})
	return e.(T)
}

// connectForQR connects an unpaired client and returns the first QR code it shows.
func (c *client) connectForQR() string {
	c.t.Helper()
	ctx := testContext(c.t)
	qr, err := c.cli.GetQRChannel(ctx)
	if err != nil {
		c.t.Fatalf("qr channel: %v", err)
	}
	if err := c.cli.Connect(); err != nil {
		c.t.Fatalf("connect: %v", err)
	}
	select {
	case item := <-qr:
		if item.Event != whatsmeow.QRChannelEventCode {
			c.t.Fatalf("first qr channel item is %q, want a code", item.Event)
		}
		return item.Code
	case <-time.After(waitTimeout):
		c.t.Fatal("timed out waiting for a QR code")
	}
	return ""
}

// link pairs the client with the account through a QR scan and waits until it is
// logged in and the phone has welcomed it: its history sync arrived and it read the
// account's push name from the app state the phone shared.
func (c *client) link(acct *wasim.Account) types.JID {
	c.t.Helper()
	code := c.connectForQR()
	from := c.mark()
	dev, err := acct.ScanQR(testContext(c.t), code)
	if err != nil {
		c.t.Fatalf("scan qr: %v", err)
	}
	waitEvent[*events.PairSuccess](c, from, nil)
	waitEvent[*events.Connected](c, from, nil)
	waitEvent[*events.HistorySync](c, from, nil)
	// whatsmeow fetches every collection once it has the key, and sets the push name
	// before it reports critical_block synced. Tests start once it is done, so that no
	// request of its initial sync is in flight when they drop the connection.
	for _, name := range appstate.AllPatchNames {
		waitEvent[*events.AppStateSyncComplete](c, from, func(e *events.AppStateSyncComplete) bool { return e.Name == name })
	}
	if name := c.cli.Store.PushName; name != acct.Name() {
		c.t.Fatalf("the client learned the push name %q, want %q", name, acct.Name())
	}
	// whatsmeow sends the receipts of the phone's messages on goroutines of its own:
	// wait for them too, so that a test that then drops the connection does not race
	// with one in flight.
	eventually(c.t, "the device acknowledges its welcome", func() bool {
		for _, d := range acct.DeviceInfos() {
			if d.JID == dev {
				return d.Welcomed && d.WelcomeAcknowledged && d.Queued == 0
			}
		}
		return false
	})
	return dev
}

// messageText returns the text of a received message, plain or extended.
func messageText(evt *events.Message) string {
	if t := evt.Message.GetConversation(); t != "" {
		return t
	}
	return evt.Message.GetExtendedTextMessage().GetText()
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// logCapture keeps the warnings a client logs (and the device-list hash checks), so
// tests can assert on what whatsmeow thought of the simulator's answers.
type logCapture struct {
	module string
	next   waLog.Logger
	mu     *sync.Mutex
	lines  *[]string
}

func (l *logCapture) init() {
	if l.mu == nil {
		l.mu, l.lines = &sync.Mutex{}, new([]string)
	}
}

func (l *logCapture) keep(level, msg string, args []any) {
	line := fmt.Sprintf(msg, args...)
	if level == "DEBUG" && !strings.Contains(line, "device list hash") {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	*l.lines = append(*l.lines, level+" "+l.module+": "+line)
}

func (l *logCapture) Errorf(msg string, args ...any) {
	l.keep("ERROR", msg, args)
	l.next.Errorf(msg, args...)
}
func (l *logCapture) Warnf(msg string, args ...any) {
	l.keep("WARN", msg, args)
	l.next.Warnf(msg, args...)
}
func (l *logCapture) Infof(msg string, args ...any) { l.next.Infof(msg, args...) }
func (l *logCapture) Debugf(msg string, args ...any) {
	l.keep("DEBUG", msg, args)
	l.next.Debugf(msg, args...)
}
func (l *logCapture) Sub(module string) waLog.Logger {
	l.init()
	return &logCapture{module: module, next: l.next.Sub(module), mu: l.mu, lines: l.lines}
}

// contains reports whether a kept line contains every one of parts.
func (l *logCapture) contains(parts ...string) bool {
	l.init()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range *l.lines {
		if !slices.ContainsFunc(parts, func(p string) bool { return !strings.Contains(line, p) }) {
			return true
		}
	}
	return false
}
