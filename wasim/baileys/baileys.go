// Package baileys drives Baileys, the Node.js WhatsApp multi-device client (npm package
// baileys, pinned in package.json and package-lock.json), against the wasim WhatsApp
// simulator, so that tests can check the simulator against a second, independent
// implementation of the client side of the protocol, not only against whatsmeow.
//
// Baileys runs unmodified: the one change is its certificate trust root
// (WA_CERT_DETAILS.PUBLIC_KEY), replaced at runtime by the simulator's
// (simclient.RootPublicKey), exactly as simclient.TrustRoot does for whatsmeow. The rest
// is ordinary Baileys configuration: the websocket URL (ws://<sim>/ws/chat), an https
// agent for media uploads and an undici dispatcher for downloads that connect to the
// simulator over plain TCP whatever WhatsApp host is asked for (the Host header keeps
// the WhatsApp host name, as with simclient.HTTPClient).
//
// Each Client is one Node process running driver.mjs, which holds one Baileys socket
// (reconnecting by itself as Baileys applications do, e.g. after the 515 that follows
// pairing) and speaks JSON lines on its stdin and stdout. Install makes sure the pinned
// node_modules are present (npm ci), and needs node and npm on PATH.
//
// The conformance test runs every step of a scripted session (pairing, texts, receipts,
// presence, typing, media, groups) between Baileys and simulated phones and prints a
// table of the steps with the reason of each failure:
//
//	go test -race -count=1 -v -run TestBaileysConformance ./wasim/baileys/
//
// BAILEYS_LOG=debug shows Baileys' own log (pino JSON on stderr) and WASIM_TEST_LOG=debug
// the simulator's, stanza by stanza.
package baileys

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.mau.fi/whatsmeow/types"

	"github.com/plugzapi/plugzapi/wasim/simclient"
)

// DirEnv overrides where the package folder (package.json, driver.mjs) is, for binaries
// built with -trimpath, where the source location is unknown.
const DirEnv = "WASIM_BAILEYS_DIR"

// LogEnv is the environment variable holding the default pino log level of the driven
// Baileys (trace, debug, info, warn, error, silent). Default "warn".
const LogEnv = "BAILEYS_LOG"

// Dir returns the package folder: the one holding this source file, package.json and
// driver.mjs.
func Dir() (string, error) {
	if d := os.Getenv(DirEnv); d != "" {
		return d, nil
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		return "", fmt.Errorf("baileys: cannot locate the package folder from the source path %q; set %s", file, DirEnv)
	}
	dir := filepath.Dir(file)
	if _, err := os.Stat(filepath.Join(dir, "driver.mjs")); err != nil {
		return "", fmt.Errorf("baileys: driver.mjs not found beside %s (set %s): %w", file, DirEnv, err)
	}
	return dir, nil
}

// Install makes sure node_modules in the package folder matches package-lock.json,
// running npm ci when node_modules/.package-lock.json is missing or older than
// package-lock.json. Concurrent callers (other test processes too) are serialized with
// a file lock in the folder. It returns the package folder.
func Install(ctx context.Context) (string, error) {
	dir, err := Dir()
	if err != nil {
		return "", err
	}
	if _, err := exec.LookPath("node"); err != nil {
		return "", fmt.Errorf("baileys: node is not installed (Node.js 20 or later is needed): %w", err)
	}
	if _, err := exec.LookPath("npm"); err != nil {
		return "", fmt.Errorf("baileys: npm is not installed: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".install.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", fmt.Errorf("baileys: open install lock: %w", err)
	}
	defer lock.Close()
	for {
		err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			return "", fmt.Errorf("baileys: lock %s: %w", lock.Name(), err)
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("baileys: waiting for another npm ci: %w", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck // closing the file unlocks too

	if upToDate(dir) {
		return dir, nil
	}
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("baileys: npm ci in %s: %w\n%s", dir, err, tail(out, 4000))
	}
	if !upToDate(dir) {
		return "", fmt.Errorf("baileys: npm ci in %s left node_modules older than package-lock.json\n%s", dir, tail(out, 4000))
	}
	return dir, nil
}

func upToDate(dir string) bool {
	lockInfo, err := os.Stat(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return false
	}
	installed, err := os.Stat(filepath.Join(dir, "node_modules", ".package-lock.json"))
	if err != nil || installed.ModTime().Before(lockInfo.ModTime()) {
		return false
	}
	_, err = os.Stat(filepath.Join(dir, "node_modules", "baileys", "package.json"))
	return err == nil
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// Options configures a driven Baileys client.
type Options struct {
	// SimAddr is the simulator's address (host:port, wasim.Simulator.Addr).
	SimAddr string
	// AuthDir is Baileys' auth state folder (useMultiFileAuthState). An empty or new
	// folder makes a fresh client that shows a QR code; reusing one logs in again.
	AuthDir string
	// RootKey is the trust root Baileys uses instead of WhatsApp's. Default:
	// simclient.RootPublicKey().
	RootKey [32]byte
	// LogLevel is Baileys' pino level. Default: $BAILEYS_LOG, else "warn".
	LogLevel string
	// Name tags the client's log lines.
	Name string
	// MarkOnlineOnConnect overrides Baileys' markOnlineOnConnect (default true).
	MarkOnlineOnConnect *bool
}

// Event is an event the driver forwarded: a Baileys event (messages.upsert,
// connection.update…) flattened to plain JSON, or one of the driver's own (qr,
// connection, creds, reconnecting, loggedOut, buffering, driver.error).
type Event struct {
	// Seq numbers the client's events from 0, in arrival order.
	Seq  int
	Name string
	// Time is when the driver emitted it.
	Time time.Time
	Data json.RawMessage
}

// Decode unmarshals the event's data into v.
func (e Event) Decode(v any) error {
	if err := json.Unmarshal(e.Data, v); err != nil {
		return fmt.Errorf("decode %s event: %w", e.Name, err)
	}
	return nil
}

// Client is a running driver process with one Baileys socket.
type Client struct {
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	log   *logBuffer // the driver's stderr

	writeMu sync.Mutex

	mu      sync.Mutex
	nextID  int64
	pending map[int64]chan response
	events  []Event
	changed chan struct{} // closed and replaced on every new event and at exit
	exited  bool
	exitErr error

	done chan struct{}
}

type response struct {
	OK     bool            `json:"ok"`
	Result json.RawMessage `json:"result"`
	Error  string          `json:"error"`
}

type line struct {
	ID     *int64          `json:"id"`
	OK     bool            `json:"ok"`
	Result json.RawMessage `json:"result"`
	Error  string          `json:"error"`
	Event  string          `json:"event"`
	T      int64           `json:"t"`
	Data   json.RawMessage `json:"data"`
}

// Start installs the driver's dependencies if needed (Install), runs driver.mjs and
// starts the Baileys socket. ctx bounds the start only; the client runs until Close.
func Start(ctx context.Context, opts Options) (*Client, error) {
	if opts.SimAddr == "" || opts.AuthDir == "" {
		return nil, errors.New("baileys: Options.SimAddr and Options.AuthDir are required")
	}
	dir, err := Install(ctx)
	if err != nil {
		return nil, err
	}
	if opts.RootKey == ([32]byte{}) {
		opts.RootKey = simclient.RootPublicKey()
	}
	if opts.LogLevel == "" {
		opts.LogLevel = os.Getenv(LogEnv)
	}
	if opts.LogLevel == "" {
		opts.LogLevel = "warn"
	}
	if opts.Name == "" {
		opts.Name = "baileys"
	}
	log := &logBuffer{}
	var stderr io.Writer = log
	if os.Getenv(LogEnv) != "" {
		stderr = io.MultiWriter(log, os.Stderr)
	}
	cmd := exec.Command("node", "driver.mjs")
	cmd.Dir = dir
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("baileys: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("baileys: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("baileys: start node driver.mjs: %w", err)
	}
	c := &Client{
		name:    opts.Name,
		cmd:     cmd,
		stdin:   stdin,
		log:     log,
		pending: map[int64]chan response{},
		changed: make(chan struct{}),
		done:    make(chan struct{}),
	}
	go c.read(stdout, stderr)

	args := map[string]any{
		"simAddr":    opts.SimAddr,
		"authDir":    opts.AuthDir,
		"rootKeyHex": hex.EncodeToString(opts.RootKey[:]),
		"logLevel":   opts.LogLevel,
		"name":       opts.Name,
	}
	if opts.MarkOnlineOnConnect != nil {
		args["markOnlineOnConnect"] = *opts.MarkOnlineOnConnect
	}
	if err := c.Call(ctx, "start", args, nil); err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

// read dispatches the driver's stdout: responses to their callers, events to the log.
// Lines that are not JSON objects (none should be) are copied to stderr.
func (c *Client) read(stdout io.Reader, stderr io.Writer) {
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 0, 1<<20), 256<<20)
	for sc.Scan() {
		b := sc.Bytes()
		var l line
		if len(b) == 0 || b[0] != '{' || json.Unmarshal(b, &l) != nil {
			fmt.Fprintf(stderr, "[%s stdout] %s\n", c.name, b)
			continue
		}
		c.mu.Lock()
		switch {
		case l.Event != "":
			data := l.Data
			if len(data) == 0 {
				data = json.RawMessage("null")
			}
			c.events = append(c.events, Event{
				Seq:  len(c.events),
				Name: l.Event,
				Time: time.UnixMilli(l.T),
				Data: append(json.RawMessage(nil), data...),
			})
			close(c.changed)
			c.changed = make(chan struct{})
		case l.ID != nil:
			if ch, ok := c.pending[*l.ID]; ok {
				delete(c.pending, *l.ID)
				ch <- response{OK: l.OK, Result: append(json.RawMessage(nil), l.Result...), Error: l.Error}
			}
		}
		c.mu.Unlock()
	}
	err := c.cmd.Wait()
	c.mu.Lock()
	c.exited = true
	if err == nil {
		err = errors.New("driver exited")
	} else {
		err = fmt.Errorf("driver exited: %w", err)
	}
	c.exitErr = err
	for id, ch := range c.pending {
		delete(c.pending, id)
		ch <- response{Error: err.Error()}
	}
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
	close(c.done)
}

// Log returns what the driver wrote to its stderr so far: Baileys' pino log, one JSON
// object a line, and anything else Node printed. With $BAILEYS_LOG set, it is also
// copied to the test process's stderr as it comes.
func (c *Client) Log() string { return c.log.String() }

// logBuffer collects the driver's stderr, written by os/exec's copying goroutine.
type logBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Call sends a command to the driver and unmarshals its result into result (unless
// nil). It fails with the driver's error message when the command failed.
func (c *Client) Call(ctx context.Context, cmd string, args any, result any) error {
	c.mu.Lock()
	if c.exited {
		err := c.exitErr
		c.mu.Unlock()
		return fmt.Errorf("baileys %s: %w", cmd, err)
	}
	c.nextID++
	id := c.nextID
	ch := make(chan response, 1)
	c.pending[id] = ch
	c.mu.Unlock()

	req, err := json.Marshal(map[string]any{"id": id, "cmd": cmd, "args": args})
	if err != nil {
		c.forget(id)
		return fmt.Errorf("baileys %s: %w", cmd, err)
	}
	c.writeMu.Lock()
	_, err = c.stdin.Write(append(req, '\n'))
	c.writeMu.Unlock()
	if err != nil {
		c.forget(id)
		return fmt.Errorf("baileys %s: write to driver: %w", cmd, err)
	}
	select {
	case r := <-ch:
		if !r.OK {
			return fmt.Errorf("baileys %s: %s", cmd, r.Error)
		}
		if result != nil {
			if err := json.Unmarshal(r.Result, result); err != nil {
				return fmt.Errorf("baileys %s: decode result %s: %w", cmd, r.Result, err)
			}
		}
		return nil
	case <-ctx.Done():
		c.forget(id)
		return fmt.Errorf("baileys %s: %w", cmd, ctx.Err())
	}
}

func (c *Client) forget(id int64) {
	c.mu.Lock()
	delete(c.pending, id)
	c.mu.Unlock()
}

// Close stops the driver: it closes its stdin (the driver ends the socket and exits),
// kills it if it has not exited within 3 s, and waits for it.
func (c *Client) Close() error {
	c.writeMu.Lock()
	_ = c.stdin.Close()
	c.writeMu.Unlock()
	select {
	case <-c.done:
	case <-time.After(3 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
	return nil
}

// Events returns every event received so far, oldest first.
func (c *Client) Events() []Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Event(nil), c.events...)
}

// Mark returns the number of events received so far: pass it to WaitEventAfter to wait
// only for later events.
func (c *Client) Mark() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.events)
}

// WaitEvent returns the first event named name (any, if name is empty) for which match
// (if not nil) returns true, including events that arrived before the call.
func (c *Client) WaitEvent(ctx context.Context, name string, match func(Event) bool) (Event, error) {
	return c.WaitEventAfter(ctx, 0, name, match)
}

// WaitEventAfter is WaitEvent for events with Seq >= from (see Mark).
func (c *Client) WaitEventAfter(ctx context.Context, from int, name string, match func(Event) bool) (Event, error) {
	next := from
	for {
		c.mu.Lock()
		evs := c.events[min(next, len(c.events)):]
		changed, exited, exitErr := c.changed, c.exited, c.exitErr
		next = len(c.events)
		c.mu.Unlock()
		for _, e := range evs {
			if (name == "" || e.Name == name) && (match == nil || match(e)) {
				return e, nil
			}
		}
		if exited {
			return Event{}, fmt.Errorf("waiting for %s event: %w", name, exitErr)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return Event{}, fmt.Errorf("waiting for %s event: %w", name, ctx.Err())
		}
	}
}

// Me describes the account a client is logged in as (Baileys' creds.me).
type Me struct {
	ID   string `json:"id"`
	LID  string `json:"lid"`
	Name string `json:"name"`
}

// ConnectionEvent is the data of the driver's "connection" event (Baileys'
// connection.update when it has a connection field).
type ConnectionEvent struct {
	Connection     string          `json:"connection"` // connecting, open, close
	IsNewLogin     bool            `json:"isNewLogin"`
	LastDisconnect *LastDisconnect `json:"lastDisconnect"`
	// Generation counts the sockets the driver made (a new one after each close).
	Generation int `json:"generation"`
}

// LastDisconnect is why a connection closed.
type LastDisconnect struct {
	StatusCode int             `json:"statusCode"`
	Message    string          `json:"message"`
	Data       json.RawMessage `json:"data"`
}

// MessageKey identifies a message, as Baileys' WAMessageKey.
type MessageKey struct {
	RemoteJID      string `json:"remoteJid"`
	RemoteJIDAlt   string `json:"remoteJidAlt,omitempty"`
	FromMe         bool   `json:"fromMe,omitempty"`
	ID             string `json:"id"`
	Participant    string `json:"participant,omitempty"`
	ParticipantAlt string `json:"participantAlt,omitempty"`
	AddressingMode string `json:"addressingMode,omitempty"`
}

// Message summarizes a message of a messages.upsert event.
type Message struct {
	Key              MessageKey `json:"key"`
	PushName         string     `json:"pushName"`
	MessageTimestamp int64      `json:"messageTimestamp"`
	Status           string     `json:"status"`
	MessageStubType  int        `json:"messageStubType"`
	// Type is the content type: conversation, extendedTextMessage, imageMessage…
	Type       string `json:"type"`
	Text       string `json:"text"`
	Caption    string `json:"caption"`
	Mimetype   string `json:"mimetype"`
	FileSHA256 string `json:"fileSha256"` // hex
	FileLength int64  `json:"fileLength"`
	QuotedID   string `json:"quotedId"`
}

// Upsert is the data of a messages.upsert event.
type Upsert struct {
	Type     string    `json:"type"` // notify, append
	Messages []Message `json:"messages"`
}

// MessageUpdate is one entry of a messages.update event.
type MessageUpdate struct {
	Key MessageKey `json:"key"`
	// Status is the WebMessageInfo status name (SERVER_ACK, DELIVERY_ACK, READ…), if
	// the update changes it.
	Status string          `json:"status"`
	Update json.RawMessage `json:"update"`
}

// ReceiptUpdate is one entry of a message-receipt.update event.
type ReceiptUpdate struct {
	Key     MessageKey `json:"key"`
	Receipt struct {
		UserJID          string `json:"userJid"`
		ReceiptTimestamp int64  `json:"receiptTimestamp"`
		ReadTimestamp    int64  `json:"readTimestamp"`
		PlayedTimestamp  int64  `json:"playedTimestamp"`
	} `json:"receipt"`
}

// PresenceUpdate is the data of a presence.update event.
type PresenceUpdate struct {
	ID        string `json:"id"`
	Presences map[string]struct {
		LastKnownPresence string `json:"lastKnownPresence"`
		LastSeen          int64  `json:"lastSeen"`
	} `json:"presences"`
}

// GroupMetadata is Baileys' description of a group (groupMetadata, groups.upsert).
type GroupMetadata struct {
	ID           string `json:"id"`
	Subject      string `json:"subject"`
	Owner        string `json:"owner"`
	Desc         string `json:"desc"`
	Size         int    `json:"size"`
	Participants []struct {
		ID          string `json:"id"`
		PhoneNumber string `json:"phoneNumber"`
		LID         string `json:"lid"`
		Admin       string `json:"admin"`
	} `json:"participants"`
	AddressingMode string `json:"addressingMode"`
}

// OnWhatsAppResult is one answer of OnWhatsApp.
type OnWhatsAppResult struct {
	JID    string `json:"jid"`
	Exists bool   `json:"exists"`
}

// Download is a media message's content as Baileys downloaded and decrypted it.
type Download struct {
	SHA256 string `json:"sha256"` // hex
	Size   int64  `json:"size"`
	Data   []byte `json:"-"`
}

// Me returns the account the client is logged in as (nil before pairing).
func (c *Client) Me(ctx context.Context) (*Me, error) {
	var r struct {
		Me *Me `json:"me"`
	}
	err := c.Call(ctx, "me", nil, &r)
	return r.Me, err
}

// Phone is a phone that links devices by scanning their QR code: a simulated account
// (*wasim.Account).
type Phone interface {
	ScanQR(ctx context.Context, qr string) (types.JID, error)
}

// Link pairs a fresh client with phone's account: it waits for the QR code the client
// shows, has the phone scan it exactly as shown, and returns the linked device once the
// client is logged in as it and past its initial sync (Baileys holds its events back
// until the history sync the phone sends a new device has arrived, or 20 s passed).
func (c *Client) Link(ctx context.Context, phone Phone) (types.JID, error) {
	qr, err := c.WaitEvent(ctx, "qr", nil)
	if err != nil {
		return types.EmptyJID, fmt.Errorf("link: no QR code: %w", err)
	}
	var shown struct {
		QR string `json:"qr"`
	}
	if err := qr.Decode(&shown); err != nil {
		return types.EmptyJID, fmt.Errorf("link: %w", err)
	}
	mark := c.Mark()
	dev, err := phone.ScanQR(ctx, shown.QR)
	if err != nil {
		return types.EmptyJID, fmt.Errorf("link: the phone scans %q: %w", shown.QR, err)
	}
	var open ConnectionEvent
	if _, err := c.WaitEventAfter(ctx, mark, "connection", func(e Event) bool {
		return e.Decode(&open) == nil && open.Connection == "open"
	}); err != nil {
		return types.EmptyJID, fmt.Errorf("link: no connection \"open\" after pairing: %w", err)
	}
	if me, err := c.Me(ctx); err != nil || me == nil || me.ID != dev.String() {
		return types.EmptyJID, fmt.Errorf("link: creds.me = %+v (%v), want the device the phone linked, %s", me, err, dev)
	}
	// The offline flush on the connection that opened (Baileys may report it before
	// "open") starts the initial sync, which ends with creds.update
	// {accountSyncCounter} and a flush of the held events.
	pending, err := c.WaitEventAfter(ctx, mark, "connection.update", func(e Event) bool {
		var u struct {
			Received   bool `json:"receivedPendingNotifications"`
			Generation int  `json:"generation"`
		}
		return e.Decode(&u) == nil && u.Received && u.Generation == open.Generation
	})
	if err != nil {
		return types.EmptyJID, fmt.Errorf("link: no offline flush after login: %w", err)
	}
	if _, err := c.WaitEventAfter(ctx, pending.Seq, "creds.update", func(e Event) bool {
		var u struct {
			Keys []string `json:"keys"`
		}
		return e.Decode(&u) == nil && len(u.Keys) == 1 && u.Keys[0] == "accountSyncCounter"
	}); err != nil {
		return types.EmptyJID, fmt.Errorf("link: not past the initial sync: %w", err)
	}
	if _, err := c.WaitEventAfter(ctx, pending.Seq, "buffering", func(e Event) bool {
		var b struct {
			Buffering bool `json:"buffering"`
		}
		return e.Decode(&b) == nil && !b.Buffering
	}); err != nil {
		return types.EmptyJID, fmt.Errorf("link: still holding its events back after the initial sync: %w", err)
	}
	return dev, nil
}

// SendText sends a text message to a JID and returns its id once the server acked it.
func (c *Client) SendText(ctx context.Context, to, text string) (string, error) {
	var r struct {
		ID string `json:"id"`
	}
	err := c.Call(ctx, "sendText", map[string]any{"to": to, "text": text}, &r)
	return r.ID, err
}

// SendImage uploads and sends an image to a JID and returns the message id.
func (c *Client) SendImage(ctx context.Context, to string, data []byte, mimetype, caption string) (string, error) {
	var r struct {
		ID string `json:"id"`
	}
	err := c.Call(ctx, "sendImage", map[string]any{
		"to": to, "dataBase64": base64.StdEncoding.EncodeToString(data), "mimetype": mimetype, "caption": caption,
	}, &r)
	return r.ID, err
}

// Download downloads and decrypts the media of a message the client received (by id),
// and returns its SHA-256, size and bytes.
func (c *Client) Download(ctx context.Context, id string) (Download, error) {
	var r struct {
		Download
		DataBase64 string `json:"dataBase64"`
	}
	if err := c.Call(ctx, "download", map[string]any{"id": id, "data": true}, &r); err != nil {
		return Download{}, err
	}
	d := r.Download
	var err error
	d.Data, err = base64.StdEncoding.DecodeString(r.DataBase64)
	return d, err
}

// ReadMessages marks messages read (Baileys' readMessages).
func (c *Client) ReadMessages(ctx context.Context, keys ...MessageKey) error {
	return c.Call(ctx, "readMessages", map[string]any{"keys": keys}, nil)
}

// SendPresence sends a presence (available, unavailable) or, with to, a chat state
// (composing, recording, paused) in that chat.
func (c *Client) SendPresence(ctx context.Context, typ, to string) error {
	args := map[string]any{"type": typ}
	if to != "" {
		args["to"] = to
	}
	return c.Call(ctx, "sendPresence", args, nil)
}

// SubscribePresence subscribes to a JID's presence.
func (c *Client) SubscribePresence(ctx context.Context, jid string) error {
	return c.Call(ctx, "subscribePresence", map[string]any{"jid": jid}, nil)
}

// GroupMetadata asks the server about a group.
func (c *Client) GroupMetadata(ctx context.Context, jid string) (GroupMetadata, error) {
	var g GroupMetadata
	err := c.Call(ctx, "groupMetadata", map[string]any{"jid": jid}, &g)
	return g, err
}

// OnWhatsApp asks which phone numbers (digits, or JIDs) are on WhatsApp.
func (c *Client) OnWhatsApp(ctx context.Context, phones ...string) ([]OnWhatsAppResult, error) {
	var r []OnWhatsAppResult
	err := c.Call(ctx, "onWhatsApp", map[string]any{"phones": phones}, &r)
	return r, err
}

// Logout unlinks the client's device (Baileys' logout).
func (c *Client) Logout(ctx context.Context) error {
	return c.Call(ctx, "logout", nil, nil)
}
