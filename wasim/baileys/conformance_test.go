package baileys_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plugzapi/plugzapi/wasim"
	"github.com/plugzapi/plugzapi/wasim/baileys"
	"github.com/plugzapi/plugzapi/wasim/simclient"
)

// waitTimeout bounds every single wait: generous, because -race slows the simulated
// phones' Signal and SQLite work a lot on a shared 2-core machine.
const waitTimeout = 30 * time.Second

// freshLinkBudget is how soon after "open" a freshly linked Baileys must stop buffering
// its events. WhatsApp sends the history sync notification within a second or two of
// the first login; without it Baileys waits 20 s (chats.js, AwaitingInitialSync).
const freshLinkBudget = 5 * time.Second

// testLogger logs to stderr at the level in WASIM_TEST_LOG (debug, info, warn,
// error); by default nothing. Same as wasim's own tests.
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

// complaints summarizes Baileys' warnings and errors (pino levels 40 and up) and
// anything Node printed outside pino, counted by message.
func complaints(stderr string) []string {
	counts := map[string]int{}
	var order []string
	for _, l := range strings.Split(stderr, "\n") {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		var key string
		var rec map[string]any
		if json.Unmarshal([]byte(l), &rec) == nil {
			lvl, _ := rec["level"].(float64)
			if lvl < 40 {
				continue
			}
			name := map[float64]string{40: "WARN", 50: "ERROR", 60: "FATAL"}[lvl]
			msg, _ := rec["msg"].(string)
			detail := ""
			for _, k := range []string{"err", "error", "trace", "uploadResult", "node", "attrs"} {
				if v, ok := rec[k]; ok && v != nil {
					b, _ := json.Marshal(v)
					detail = k + "=" + string(b)
					break
				}
			}
			if len(detail) > 300 {
				detail = detail[:300] + "…"
			}
			key = name + " " + msg
			if detail != "" {
				key += " | " + detail
			}
		} else {
			key = "NODE " + l
			if len(key) > 300 {
				key = key[:300] + "…"
			}
		}
		if counts[key] == 0 {
			order = append(order, key)
		}
		counts[key]++
	}
	out := make([]string, 0, len(order))
	for _, k := range order {
		out = append(out, fmt.Sprintf("%dx %s", counts[k], k))
	}
	return out
}

// logged returns Baileys' log lines (as complaints formats them) that contain every
// one of subs, for failure reasons.
func logged(c *baileys.Client, subs ...string) []string {
	var out []string
	for _, c := range complaints(c.Log()) {
		ok := true
		for _, s := range subs {
			ok = ok && strings.Contains(c, s)
		}
		if ok {
			out = append(out, c)
		}
	}
	return out
}

// steps runs the ordered steps and keeps the table printed at the end.
type steps struct {
	t    *testing.T
	mu   sync.Mutex
	rows []row
	ok   map[string]bool
}

type row struct {
	name, status, reason string
	dur                  time.Duration
}

func (s *steps) add(r row) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rows = append(s.rows, r)
	if r.status == "PASS" {
		s.ok[r.name] = true
	}
}

func (s *steps) passed(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ok[name]
}

// run runs one step as a subtest. A step returns a note (shown when it passes) or an
// error (the reason it failed). Steps listed in needs must have passed, else the step
// fails too, naming the failed prerequisite (the suite is failing already; a skip would hide the step).
func (s *steps) run(name string, needs []string, fn func(ctx context.Context) (string, error)) {
	s.t.Run(name, func(t *testing.T) {
		for _, n := range needs {
			if !s.passed(n) {
				reason := "prerequisite step " + n + " did not pass"
				s.add(row{name: name, status: "FAIL", reason: reason})
				t.Fatal(reason)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		defer cancel()
		start := time.Now()
		recorded := false
		defer func() {
			if !recorded {
				s.add(row{name: name, status: "FAIL", reason: "aborted", dur: time.Since(start)})
			}
		}()
		note, err := fn(ctx)
		recorded = true
		if err != nil {
			s.add(row{name: name, status: "FAIL", reason: err.Error(), dur: time.Since(start)})
			t.Fatalf("%v", err)
		}
		s.add(row{name: name, status: "PASS", reason: note, dur: time.Since(start)})
		if note != "" {
			t.Log(note)
		}
	})
}

func (s *steps) table() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	b.WriteString("\nBaileys conformance against wasim:\n")
	fmt.Fprintf(&b, "%-38s %-5s %7s  %s\n", "step", "", "time", "reason / note")
	for _, r := range s.rows {
		reason := strings.ReplaceAll(r.reason, "\n", "\n"+strings.Repeat(" ", 54))
		fmt.Fprintf(&b, "%-38s %-5s %6.1fs  %s\n", r.name, r.status, r.dur.Seconds(), reason)
	}
	return b.String()
}

// poll calls cond until it reports true, for at most waitTimeout. detail (the last one
// cond gave) goes into the error.
func poll(ctx context.Context, what string, cond func() (bool, string)) error {
	ctx, cancel := context.WithTimeout(ctx, waitTimeout)
	defer cancel()
	for {
		ok, detail := cond()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			if detail != "" {
				return fmt.Errorf("%s: not within %s (%s)", what, waitTimeout, detail)
			}
			return fmt.Errorf("%s: not within %s", what, waitTimeout)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// waitEvent waits (waitTimeout at most) for a Baileys event from Seq from on.
func waitEvent(ctx context.Context, c *baileys.Client, from int, name string, match func(baileys.Event) bool) (baileys.Event, error) {
	ctx, cancel := context.WithTimeout(ctx, waitTimeout)
	defer cancel()
	return c.WaitEventAfter(ctx, from, name, match)
}

// findUpsert is a messages.upsert matcher for the message with id.
func findUpsert(id string, into *baileys.Message) func(baileys.Event) bool {
	return func(e baileys.Event) bool {
		var u baileys.Upsert
		if e.Decode(&u) != nil {
			return false
		}
		for _, m := range u.Messages {
			if m.Key.ID == id {
				*into = m
				return true
			}
		}
		return false
	}
}

// seenStatuses lists what Baileys reported about a message (status updates and
// receipt updates), for failure messages.
func seenStatuses(c *baileys.Client, id string) string {
	var seen []string
	for _, e := range c.Events() {
		switch e.Name {
		case "messages.update":
			var us []baileys.MessageUpdate
			_ = e.Decode(&us)
			for _, u := range us {
				if u.Key.ID == id {
					seen = append(seen, "messages.update "+u.Status+" "+string(u.Update))
				}
			}
		case "messages.upsert":
			var u baileys.Upsert
			_ = e.Decode(&u)
			for _, m := range u.Messages {
				if m.Key.ID == id {
					seen = append(seen, "messages.upsert ("+u.Type+") status "+m.Status)
				}
			}
		case "message-receipt.update":
			var rs []baileys.ReceiptUpdate
			_ = e.Decode(&rs)
			for _, r := range rs {
				if r.Key.ID == id {
					b, _ := json.Marshal(r.Receipt)
					seen = append(seen, "message-receipt.update "+string(b))
				}
			}
		}
	}
	if len(seen) == 0 {
		return "Baileys reported nothing about " + id
	}
	return "Baileys reported: " + strings.Join(seen, "; ")
}

// presenceOf matches a presence.update event that shows jid in state.
func presenceOf(chat, jid, state string) func(baileys.Event) bool {
	return func(e baileys.Event) bool {
		var p baileys.PresenceUpdate
		if e.Decode(&p) != nil || p.ID != chat {
			return false
		}
		v, ok := p.Presences[jid]
		return ok && v.LastKnownPresence == state
	}
}

func presenceEvents(c *baileys.Client, from int) string {
	var seen []string
	for _, e := range c.Events()[from:] {
		if e.Name == "presence.update" {
			seen = append(seen, string(e.Data))
		}
	}
	if len(seen) == 0 {
		return "no presence.update events"
	}
	return "presence.update events: " + strings.Join(seen, "; ")
}

func testJPEG(seed byte) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 48, 32))
	for y := 0; y < 32; y++ {
		for x := 0; x < 48; x++ {
			img.Set(x, y, color.RGBA{R: byte(x*5) + seed, G: byte(y * 7), B: seed, A: 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 80}); err != nil {
		panic(err)
	}
	return b.Bytes()
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestBaileysConformance(t *testing.T) {
	setupCtx, cancelSetup := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancelSetup()

	st := &steps{t: t, ok: map[string]bool{}}

	if _, err := baileys.Install(setupCtx); err != nil {
		t.Fatalf("install Baileys: %v", err)
	}
	sim, err := wasim.Start(setupCtx, wasim.Options{Logger: testLogger()})
	if err != nil {
		t.Fatalf("start simulator: %v", err)
	}
	t.Cleanup(func() {
		// A simulator that deadlocked would hang here until go test's timeout: give up
		// after a minute, with the goroutine stacks in a file.
		done := make(chan error, 1)
		go func() { done <- sim.Close() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("close simulator: %v", err)
			}
		case <-time.After(time.Minute):
			path := filepath.Join(os.TempDir(), fmt.Sprintf("wasim-baileys-goroutines-%d.txt", os.Getpid()))
			if f, err := os.Create(path); err == nil {
				_ = pprof.Lookup("goroutine").WriteTo(f, 2)
				_ = f.Close()
			}
			t.Errorf("close simulator: still running after a minute (deadlock?); goroutine stacks in %s", path)
		}
	})
	alice, err := sim.AddAccount(setupCtx, "5511900000001", "Alice")
	if err != nil {
		t.Fatalf("add account Alice: %v", err)
	}
	bob, err := sim.AddAccount(setupCtx, "5511900000002", "Bob")
	if err != nil {
		t.Fatalf("add account Bob: %v", err)
	}
	carol, err := sim.AddAccount(setupCtx, "5511900000003", "Carol")
	if err != nil {
		t.Fatalf("add account Carol: %v", err)
	}
	dave, err := sim.AddAccount(setupCtx, "5511900000004", "Dave")
	if err != nil {
		t.Fatalf("add account Dave: %v", err)
	}
	// Erin's account has moved its chats to LIDs, as most of WhatsApp has: she writes to
	// people by LID, and the groups she creates are LID-addressed.
	erin, err := sim.AddAccount(setupCtx, "5511900000005", "Erin")
	if err != nil {
		t.Fatalf("add account Erin: %v", err)
	}
	if err := erin.MoveChatsToLID(setupCtx); err != nil {
		t.Fatalf("move Erin's chats to LID: %v", err)
	}
	aliceJID, bobJID, carolJID, daveJID := alice.JID().String(), bob.JID().String(), carol.JID().String(), dave.JID().String()

	c, err := baileys.Start(setupCtx, baileys.Options{
		SimAddr: sim.Addr(),
		AuthDir: t.TempDir(),
		RootKey: simclient.RootPublicKey(),
		Name:    "alice-baileys",
	})
	if err != nil {
		t.Fatalf("start Baileys: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	// Registered last, so it runs first: the table shows even if closing hangs.
	t.Cleanup(func() {
		t.Log(st.table())
		counts := map[string]int{}
		var names []string
		for _, e := range c.Events() {
			if counts[e.Name] == 0 {
				names = append(names, e.Name)
			}
			counts[e.Name]++
		}
		sort.Strings(names)
		var seen []string
		for _, n := range names {
			seen = append(seen, fmt.Sprintf("%s×%d", n, counts[n]))
		}
		t.Logf("Baileys events: %s", strings.Join(seen, " "))
		if c := complaints(c.Log()); len(c) > 0 {
			t.Logf("Baileys warnings and errors (pino level >= warn, by count):\n  %s", strings.Join(c, "\n  "))
		}
	})

	// State the steps share.
	var (
		openEvent    baileys.Event
		device       string
		fromBob      baileys.Message // step 3's message, as Baileys got it
		fromBobID    string
		toBobID      string
		groupJID     string
		groupCreated bool
	)

	st.run("01_pair_and_open", nil, func(ctx context.Context) (string, error) {
		qrEv, err := waitEvent(ctx, c, 0, "qr", nil)
		if err != nil {
			return "", fmt.Errorf("Baileys showed no QR code: %w", err)
		}
		var qr struct {
			QR string `json:"qr"`
		}
		if err := qrEv.Decode(&qr); err != nil {
			return "", err
		}
		mark := c.Mark()
		dev, err := alice.ScanQR(ctx, qr.QR)
		if err != nil {
			return "", fmt.Errorf("phone ScanQR(%q): %w", qr.QR, err)
		}
		device = dev.String()
		var closes []string
		openEvent, err = waitEvent(ctx, c, mark, "connection", func(e baileys.Event) bool {
			var ce baileys.ConnectionEvent
			_ = e.Decode(&ce)
			if ce.Connection == "close" && ce.LastDisconnect != nil {
				closes = append(closes, fmt.Sprintf("%d %s", ce.LastDisconnect.StatusCode, ce.LastDisconnect.Message))
			}
			return ce.Connection == "open"
		})
		if err != nil {
			return "", fmt.Errorf("no connection \"open\" after pairing (closes seen: %v): %w", closes, err)
		}
		me, err := c.Me(ctx)
		if err != nil {
			return "", err
		}
		if me == nil || me.ID != device {
			return "", fmt.Errorf("creds.me = %+v, want id %s (the device wasim linked)", me, device)
		}
		return fmt.Sprintf("device %s, lid %s, name %q, closes before open: %v", me.ID, me.LID, me.Name, closes), nil
	})

	st.run("02_fresh_link_unbuffered", []string{"01_pair_and_open"}, func(ctx context.Context) (string, error) {
		// Once logged in, Baileys waits for the offline flush (<ib><offline>: connection.update
		// receivedPendingNotifications), then buffers its events until the history sync
		// notification arrives (chats.js, AwaitingInitialSync), 20 s at most. The offline
		// flush may come before "open" (which waits for the prekey upload).
		var open baileys.ConnectionEvent
		_ = openEvent.Decode(&open)
		pending, err := waitEvent(ctx, c, 0, "connection.update", func(e baileys.Event) bool {
			var u struct {
				Received   bool `json:"receivedPendingNotifications"`
				Generation int  `json:"generation"`
			}
			return e.Decode(&u) == nil && u.Received && u.Generation == open.Generation
		})
		if err != nil {
			return "", fmt.Errorf("no receivedPendingNotifications on the connection that opened (no <ib><offline>?): %w", err)
		}
		// Baileys leaves AwaitingInitialSync (history sync notification processed and app
		// state synced, or the 20 s timeout) with creds.update {accountSyncCounter}; any
		// stanza it handles meanwhile also flushes the buffer early.
		ctx2, cancel := context.WithTimeout(ctx, 45*time.Second)
		defer cancel()
		online, err := c.WaitEventAfter(ctx2, pending.Seq, "creds.update", func(e baileys.Event) bool {
			var u struct {
				Keys []string `json:"keys"`
			}
			return e.Decode(&u) == nil && slices.Equal(u.Keys, []string{"accountSyncCounter"})
		})
		if err != nil {
			return "", fmt.Errorf("Baileys did not leave AwaitingInitialSync within 45 s of the offline flush: %w", err)
		}
		flushed, err := c.WaitEventAfter(ctx2, pending.Seq, "buffering", func(e baileys.Event) bool {
			var b struct {
				Buffering bool `json:"buffering"`
			}
			return e.Decode(&b) == nil && !b.Buffering
		})
		if err != nil {
			return "", fmt.Errorf("Baileys still buffers its events 45 s after the offline flush: %w", err)
		}
		toPending := pending.Time.Sub(openEvent.Time)
		toFlush := max(flushed.Time.Sub(openEvent.Time), 0)
		toOnline := max(online.Time.Sub(openEvent.Time), 0)
		var history []string
		for _, e := range c.Events()[pending.Seq : online.Seq+1] {
			if e.Name == "messaging-history.set" || e.Name == "messaging-history.status" {
				history = append(history, e.Name+" "+string(e.Data))
			}
		}
		note := fmt.Sprintf("open→receivedPendingNotifications %s, open→first buffer flush %s, open→sync done (creds.update accountSyncCounter) %s; history events: %v",
			toPending.Round(time.Millisecond), toFlush.Round(time.Millisecond), toOnline.Round(time.Millisecond), history)
		if toOnline > freshLinkBudget {
			timeout := ""
			if len(logged(c, "Timeout in AwaitingInitialSync")) > 0 {
				timeout = ": Baileys logged \"Timeout in AwaitingInitialSync\", i.e. no history sync notification (protocolMessage HISTORY_SYNC_NOTIFICATION from the primary device) arrived within 20 s"
			}
			return "", fmt.Errorf("%s; over the %s budget%s", note, freshLinkBudget, timeout)
		}
		return note, nil
	})

	st.run("03_text_phone_to_baileys", []string{"01_pair_and_open"}, func(ctx context.Context) (string, error) {
		mark := c.Mark()
		id, err := bob.SendText(ctx, alice.Phone(), "hello Baileys, this is Bob", "")
		if err != nil {
			return "", fmt.Errorf("phone SendText: %w", err)
		}
		if _, err := waitEvent(ctx, c, mark, "messages.upsert", findUpsert(id, &fromBob)); err != nil {
			return "", fmt.Errorf("no messages.upsert for %s: %w", id, err)
		}
		fromBobID = id
		switch {
		case fromBob.Text != "hello Baileys, this is Bob":
			return "", fmt.Errorf("text %q (type %s), want the sent text", fromBob.Text, fromBob.Type)
		case fromBob.Key.FromMe:
			return "", fmt.Errorf("key.fromMe set on a message from Bob: %+v", fromBob.Key)
		case fromBob.Key.RemoteJID != bobJID && fromBob.Key.RemoteJIDAlt != bobJID:
			return "", fmt.Errorf("key %+v: neither remoteJid nor remoteJidAlt is Bob's %s", fromBob.Key, bobJID)
		}
		return fmt.Sprintf("key %+v pushName %q", fromBob.Key, fromBob.PushName), nil
	})

	st.run("04_text_baileys_to_phone", []string{"01_pair_and_open"}, func(ctx context.Context) (string, error) {
		id, err := c.SendText(ctx, bobJID, "hello Bob, this is Baileys")
		if err != nil {
			return "", fmt.Errorf("Baileys sendText: %w", err)
		}
		toBobID = id
		err = poll(ctx, "Bob's phone receives "+id, func() (bool, string) {
			for _, m := range bob.Messages("") {
				if m.ID == id {
					return m.Text == "hello Bob, this is Baileys" && m.From == alice.Phone(), fmt.Sprintf("got %+v", m)
				}
			}
			return false, fmt.Sprintf("sim.Deliveries(%s) = %d, devices %v", id, sim.Deliveries(id), sim.DeliveriesByDevice(id))
		})
		if err != nil {
			return "", err
		}
		if n := sim.Deliveries(id); n != 1 {
			return "", fmt.Errorf("sim.Deliveries(%s) = %d, want 1 (by device: %v)", id, n, sim.DeliveriesByDevice(id))
		}
		return "", nil
	})

	st.run("05_delivery_receipt_to_baileys", []string{"04_text_baileys_to_phone"}, func(ctx context.Context) (string, error) {
		// Bob's phone's delivery receipt reaches Baileys. (Baileys also turns it into a
		// DELIVERY_ACK status, unless its event buffer merges it with the later "sender"
		// receipt from Alice's own phone, which it maps to SERVER_ACK: the status update
		// it reports is a note, the receipt on the socket the proof.)
		_, err := waitEvent(ctx, c, 0, "receipt.stanza", func(e baileys.Event) bool {
			var r struct {
				From string   `json:"from"`
				Type string   `json:"type"`
				IDs  []string `json:"ids"`
			}
			return e.Decode(&r) == nil && slices.Contains(r.IDs, toBobID) && r.Type == "" &&
				(r.From == bobJID || r.From == bob.LID().String())
		})
		if err != nil {
			return "", fmt.Errorf("no delivery receipt from Bob for %s (%s): %w", toBobID, seenStatuses(c, toBobID), err)
		}
		return seenStatuses(c, toBobID), nil
	})

	st.run("06_read_receipt_to_baileys", []string{"04_text_baileys_to_phone"}, func(ctx context.Context) (string, error) {
		if err := bob.MarkRead(ctx, alice.Phone(), toBobID); err != nil {
			return "", fmt.Errorf("phone MarkRead: %w", err)
		}
		// As for the delivery receipt, the receipt on the socket is the proof; the READ status Baileys derives
		// from it is a note (its event buffer may merge it with a later, lower status update of the message).
		_, err := waitEvent(ctx, c, 0, "receipt.stanza", func(e baileys.Event) bool {
			var r struct {
				From string   `json:"from"`
				Type string   `json:"type"`
				IDs  []string `json:"ids"`
			}
			return e.Decode(&r) == nil && slices.Contains(r.IDs, toBobID) && r.Type == "read" &&
				(r.From == bobJID || r.From == bob.LID().String())
		})
		if err != nil {
			return "", fmt.Errorf("no read receipt from Bob for %s (%s): %w", toBobID, seenStatuses(c, toBobID), err)
		}
		return seenStatuses(c, toBobID), nil
	})

	st.run("07_baileys_reads_phone_message", []string{"03_text_phone_to_baileys"}, func(ctx context.Context) (string, error) {
		if err := c.ReadMessages(ctx, fromBob.Key); err != nil {
			return "", fmt.Errorf("Baileys readMessages: %w", err)
		}
		var errs []error
		var note string
		err := poll(ctx, "Bob's phone gets a read receipt for "+fromBobID, func() (bool, string) {
			var seen []string
			for _, r := range bob.Receipts() {
				if slices.Contains(r.IDs, fromBobID) {
					if r.Type == "read" {
						note = fmt.Sprintf("read receipt from %s in chat %s at %s", r.From, r.Chat, r.Time.Format(time.StampMilli))
						return true, ""
					}
					seen = append(seen, r.Type+" from "+r.From)
				}
			}
			return false, fmt.Sprintf("receipts for it: %v", seen)
		})
		if err != nil {
			errs = append(errs, err)
		}
		delivered := slices.ContainsFunc(bob.Receipts(), func(r wasim.Receipt) bool {
			return slices.Contains(r.IDs, fromBobID) && (r.Type == "delivered" || r.Type == "inactive")
		})
		if !delivered {
			errs = append(errs, fmt.Errorf("Bob's phone saw no delivery receipt (delivered/inactive) from Baileys for %s", fromBobID))
		}
		return note, errors.Join(errs...)
	})

	st.run("08_presence_phone_to_baileys", []string{"01_pair_and_open"}, func(ctx context.Context) (string, error) {
		mark := c.Mark()
		if err := c.SubscribePresence(ctx, bobJID); err != nil {
			return "", fmt.Errorf("Baileys presenceSubscribe: %w", err)
		}
		if _, err := waitEvent(ctx, c, mark, "presence.update", presenceOf(bobJID, bobJID, "available")); err != nil {
			return "", fmt.Errorf("no presence.update available for Bob after subscribing (%s): %w", presenceEvents(c, mark), err)
		}
		mark = c.Mark()
		if err := bob.SetPresence(ctx, false); err != nil {
			return "", fmt.Errorf("phone SetPresence(false): %w", err)
		}
		defer func() { _ = bob.SetPresence(context.Background(), true) }()
		if _, err := waitEvent(ctx, c, mark, "presence.update", presenceOf(bobJID, bobJID, "unavailable")); err != nil {
			return "", fmt.Errorf("no presence.update unavailable for Bob (%s): %w", presenceEvents(c, mark), err)
		}
		return "", nil
	})

	st.run("09_presence_baileys_to_phone", []string{"01_pair_and_open"}, func(ctx context.Context) (string, error) {
		// Alice's own simulated phone shows itself available too: make it unavailable,
		// so that only Baileys can make Alice available.
		if err := alice.SetPresence(ctx, false); err != nil {
			return "", fmt.Errorf("Alice's phone SetPresence(false): %w", err)
		}
		defer func() { _ = alice.SetPresence(context.Background(), true) }()
		if err := bob.SubscribePresence(ctx, alice.Phone()); err != nil {
			return "", fmt.Errorf("phone SubscribePresence: %w", err)
		}
		alicePresences := func(from int) (seen []string, available bool) {
			ps := bob.Presences()
			for _, p := range ps[min(from, len(ps)):] {
				if p.From == alice.Phone() {
					seen = append(seen, fmt.Sprintf("available=%v lastSeen=%v", p.Available, p.LastSeen.Format(time.TimeOnly)))
					available = p.Available
				}
			}
			return seen, available
		}
		err := poll(ctx, "Bob's phone sees Alice unavailable once her phone is", func() (bool, string) {
			seen, available := alicePresences(0)
			return len(seen) > 0 && !available, fmt.Sprintf("Alice's presences seen: %v; alice.Available()=%v", seen, alice.Available())
		})
		if err != nil {
			return "", fmt.Errorf("precondition: %w", err)
		}
		from := len(bob.Presences())
		if err := c.SendPresence(ctx, "available", ""); err != nil {
			return "", fmt.Errorf("Baileys sendPresenceUpdate available: %w", err)
		}
		err = poll(ctx, "Bob's phone sees Alice available after Baileys sent available", func() (bool, string) {
			seen, available := alicePresences(from)
			return available, fmt.Sprintf("Alice's presences seen since: %v; alice.Available()=%v", seen, alice.Available())
		})
		if err != nil {
			me, _ := c.Me(ctx)
			if me != nil && me.Name == "" {
				err = fmt.Errorf("%w; Baileys' creds.me.name is empty, so it sends no <presence type=available> (chats.js sendPresenceUpdate: \"no name present, ignoring presence update request\"): no push name reached it after linking", err)
			}
			return "", err
		}
		return "", nil
	})

	st.run("10_typing_both_ways", []string{"01_pair_and_open"}, func(ctx context.Context) (string, error) {
		var errs []error
		mark := c.Mark()
		if err := bob.Typing(ctx, alice.Phone(), "composing"); err != nil {
			errs = append(errs, fmt.Errorf("phone Typing: %w", err))
		} else if _, err := waitEvent(ctx, c, mark, "presence.update", presenceOf(bobJID, bobJID, "composing")); err != nil {
			err = fmt.Errorf("phone→Baileys: no presence.update composing from Bob (%s): %w", presenceEvents(c, mark), err)
			if me, _ := c.Me(ctx); me != nil && me.Name == "" {
				err = fmt.Errorf("%w; note Baileys never announced itself available (creds.me.name empty, see step 09), and wasim relays chat states only to available devices", err)
			}
			errs = append(errs, err)
		}
		_ = bob.Typing(ctx, alice.Phone(), "paused")
		if err := c.SendPresence(ctx, "composing", bobJID); err != nil {
			errs = append(errs, fmt.Errorf("Baileys sendPresenceUpdate composing: %w", err))
		} else {
			err := poll(ctx, "Baileys→phone: Bob's phone sees Alice composing", func() (bool, string) {
				var seen []string
				for _, s := range bob.ChatStates() {
					if s.From == alice.Phone() {
						if s.State == "composing" {
							return true, ""
						}
						seen = append(seen, s.State)
					}
				}
				return false, fmt.Sprintf("Alice's chat states seen: %v", seen)
			})
			if err != nil {
				errs = append(errs, err)
			}
		}
		_ = c.SendPresence(ctx, "paused", bobJID)
		return "", errors.Join(errs...)
	})

	st.run("11_image_phone_to_baileys", []string{"01_pair_and_open"}, func(ctx context.Context) (string, error) {
		img := testJPEG(1)
		mark := c.Mark()
		id, err := bob.SendMedia(ctx, alice.Phone(), wasim.Media{Kind: wasim.MediaImage, Data: img, MimeType: "image/jpeg", Caption: "a picture from Bob"})
		if err != nil {
			return "", fmt.Errorf("phone SendMedia: %w", err)
		}
		var m baileys.Message
		if _, err := waitEvent(ctx, c, mark, "messages.upsert", findUpsert(id, &m)); err != nil {
			return "", fmt.Errorf("no messages.upsert for image %s: %w", id, err)
		}
		if m.Type != "imageMessage" || m.Caption != "a picture from Bob" || m.FileSHA256 != sha(img) {
			return "", fmt.Errorf("image message %+v: want imageMessage, the caption and fileSha256 %s", m, sha(img))
		}
		d, err := c.Download(ctx, id)
		if err != nil {
			return "", fmt.Errorf("Baileys download: %w", err)
		}
		if d.SHA256 != sha(img) {
			return "", fmt.Errorf("downloaded %d bytes with sha256 %s, sent %d bytes with %s", d.Size, d.SHA256, len(img), sha(img))
		}
		return fmt.Sprintf("%d bytes", d.Size), nil
	})

	st.run("12_image_baileys_to_phone", []string{"01_pair_and_open"}, func(ctx context.Context) (string, error) {
		img := testJPEG(2)
		id, err := c.SendImage(ctx, bobJID, img, "image/jpeg", "a picture from Baileys")
		if err != nil {
			return "", fmt.Errorf("Baileys sendMessage image: %w", err)
		}
		var got wasim.Message
		err = poll(ctx, "Bob's phone receives image "+id, func() (bool, string) {
			for _, m := range bob.Messages("") {
				if m.ID == id {
					got = m
					return m.MediaSHA256 != "" || m.MediaError != "", fmt.Sprintf("%+v", m)
				}
			}
			return false, fmt.Sprintf("not in inbox; sim.Deliveries=%d", sim.Deliveries(id))
		})
		if err != nil {
			return "", err
		}
		if got.MediaSHA256 != sha(img) {
			return "", fmt.Errorf("phone got %+v, want MediaSHA256 %s", got, sha(img))
		}
		return "", nil
	})

	st.run("13_group", []string{"01_pair_and_open"}, func(ctx context.Context) (string, error) {
		mark := c.Mark()
		info, err := bob.CreateGroup(ctx, "Baileys conformance", alice.Phone(), carol.Phone())
		if err != nil {
			return "", fmt.Errorf("phone CreateGroup: %w", err)
		}
		groupJID = info.JID.String()
		groupCreated = true
		var errs []error
		if _, err := waitEvent(ctx, c, mark, "groups.upsert", func(e baileys.Event) bool {
			var gs []baileys.GroupMetadata
			return e.Decode(&gs) == nil && slices.ContainsFunc(gs, func(g baileys.GroupMetadata) bool { return g.ID == groupJID })
		}); err != nil {
			errs = append(errs, fmt.Errorf("no groups.upsert for %s: %w", groupJID, err))
		}

		mark = c.Mark()
		id, err := bob.SendText(ctx, groupJID, "hello group, this is Bob", "")
		if err != nil {
			errs = append(errs, fmt.Errorf("phone SendText to group: %w", err))
		} else {
			var m baileys.Message
			if _, err := waitEvent(ctx, c, mark, "messages.upsert", findUpsert(id, &m)); err != nil {
				errs = append(errs, fmt.Errorf("phone→group: no messages.upsert for %s: %w", id, err))
			} else if m.Key.RemoteJID != groupJID || (m.Key.Participant != bobJID && m.Key.ParticipantAlt != bobJID) || m.Text != "hello group, this is Bob" {
				errs = append(errs, fmt.Errorf("phone→group: got %+v, want remoteJid %s, participant %s and the text", m, groupJID, bobJID))
			}
		}

		id, err = c.SendText(ctx, groupJID, "hello group, this is Baileys")
		if err != nil {
			errs = append(errs, fmt.Errorf("Baileys sendText to group: %w", err))
		} else {
			for _, a := range []*wasim.Account{bob, carol} {
				err := poll(ctx, a.Name()+"'s phone receives group message "+id, func() (bool, string) {
					for _, m := range a.Messages("") {
						if m.ID == id {
							return m.Chat == groupJID && m.Text == "hello group, this is Baileys", fmt.Sprintf("%+v", m)
						}
					}
					return false, fmt.Sprintf("not in inbox; sim.DeliveriesByDevice=%v", sim.DeliveriesByDevice(id))
				})
				if err != nil {
					errs = append(errs, err)
				}
			}
		}
		return "group " + groupJID, errors.Join(errs...)
	})

	st.run("14_lid_group", []string{"01_pair_and_open"}, func(ctx context.Context) (string, error) {
		mark := c.Mark()
		info, err := erin.CreateGroup(ctx, "Baileys LID group", alice.Phone(), carol.Phone())
		if err != nil {
			return "", fmt.Errorf("create LID group: %w", err)
		}
		lidGroup := info.JID.String()
		var errs []error
		ev, err := waitEvent(ctx, c, mark, "groups.upsert", func(e baileys.Event) bool {
			var gs []baileys.GroupMetadata
			return e.Decode(&gs) == nil && slices.ContainsFunc(gs, func(g baileys.GroupMetadata) bool { return g.ID == lidGroup })
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("no groups.upsert for %s: %w", lidGroup, err))
		} else {
			var gs []baileys.GroupMetadata
			_ = ev.Decode(&gs)
			for _, g := range gs {
				if g.ID == lidGroup && g.AddressingMode != "lid" {
					errs = append(errs, fmt.Errorf("groups.upsert addressingMode %q, want lid", g.AddressingMode))
				}
			}
		}
		mark = c.Mark()
		id, err := erin.SendText(ctx, lidGroup, "hello LID group, this is Erin", "")
		if err != nil {
			errs = append(errs, fmt.Errorf("phone SendText to LID group: %w", err))
		} else {
			var m baileys.Message
			if _, err := waitEvent(ctx, c, mark, "messages.upsert", findUpsert(id, &m)); err != nil {
				errs = append(errs, fmt.Errorf("phone→LID group: no messages.upsert for %s: %w", id, err))
			} else if m.Key.Participant != erin.LID().String() || m.Key.ParticipantAlt != erin.JID().String() {
				errs = append(errs, fmt.Errorf("phone→LID group: key %+v, want participant %s (LID) and participantAlt %s", m.Key, erin.LID(), erin.JID()))
			}
		}
		id, err = c.SendText(ctx, lidGroup, "hello LID group, this is Baileys")
		if err != nil {
			errs = append(errs, fmt.Errorf("Baileys sendText to LID group: %w", err))
		} else {
			for _, a := range []*wasim.Account{erin, carol} {
				err := poll(ctx, a.Name()+"'s phone receives LID group message "+id, func() (bool, string) {
					return slices.ContainsFunc(a.Messages(""), func(m wasim.Message) bool { return m.ID == id }), ""
				})
				if err != nil {
					errs = append(errs, err)
				}
			}
		}
		return "", errors.Join(errs...)
	})

	// Extra checks beyond the numbered steps: queries Baileys makes on its own.
	st.run("15_queries", []string{"01_pair_and_open"}, func(ctx context.Context) (string, error) {
		var errs []error
		res, err := c.OnWhatsApp(ctx, bob.Phone(), "5511900000999")
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("onWhatsApp: %w", err))
		case !slices.ContainsFunc(res, func(r baileys.OnWhatsAppResult) bool { return r.JID == bobJID && r.Exists }):
			errs = append(errs, fmt.Errorf("onWhatsApp(%s) = %+v, want %s exists", bob.Phone(), res, bobJID))
		}
		if groupCreated {
			g, err := c.GroupMetadata(ctx, groupJID)
			if err != nil {
				errs = append(errs, fmt.Errorf("groupMetadata: %w", err))
			} else {
				var members []string
				for _, p := range g.Participants {
					members = append(members, p.ID)
				}
				sort.Strings(members)
				want := []string{aliceJID, bobJID, carolJID}
				sort.Strings(want)
				if !slices.Equal(members, want) {
					errs = append(errs, fmt.Errorf("groupMetadata participants %v, want %v", members, want))
				}
			}
		}
		if _, err := bob.SetProfilePicture(ctx, testJPEG(3)); err != nil {
			errs = append(errs, fmt.Errorf("phone SetProfilePicture: %w", err))
		} else {
			var r struct {
				URL    string `json:"url"`
				SHA256 string `json:"sha256"`
			}
			if err := c.Call(ctx, "profilePictureUrl", map[string]any{"jid": bobJID, "download": true}, &r); err != nil {
				errs = append(errs, fmt.Errorf("profilePictureUrl: %w", err))
			} else if r.SHA256 != sha(testJPEG(3)) {
				errs = append(errs, fmt.Errorf("profile picture %s downloaded with sha256 %s, want %s", r.URL, r.SHA256, sha(testJPEG(3))))
			}
		}
		return "", errors.Join(errs...)
	})

	st.run("16_first_contact_baileys_to_new_phone", []string{"01_pair_and_open"}, func(ctx context.Context) (string, error) {
		// Dave never wrote to Baileys: Baileys has no Signal session with his devices and
		// must fetch prekey bundles first (steps 04 and 12 write to Bob, who wrote first).
		id, err := c.SendText(ctx, daveJID, "hello Dave, first contact from Baileys")
		if err != nil {
			return "", fmt.Errorf("Baileys sendText: %w", err)
		}
		err = poll(ctx, "Dave's phone receives "+id, func() (bool, string) {
			for _, m := range dave.Messages("") {
				if m.ID == id {
					return true, ""
				}
			}
			return false, fmt.Sprintf("sim.DeliveriesByDevice=%v", sim.DeliveriesByDevice(id))
		})
		return "", err
	})

	st.run("17_lid_chat_both_ways", []string{"01_pair_and_open"}, func(ctx context.Context) (string, error) {
		// Erin writes by LID: her message arrives from her LID, with her phone number
		// beside it, and Baileys answers the chat it got (the LID).
		mark := c.Mark()
		id, err := erin.SendText(ctx, aliceJID, "hello from a LID chat", "")
		if err != nil {
			return "", fmt.Errorf("phone SendText: %w", err)
		}
		var m baileys.Message
		if _, err := waitEvent(ctx, c, mark, "messages.upsert", findUpsert(id, &m)); err != nil {
			return "", fmt.Errorf("no messages.upsert for %s: %w", id, err)
		}
		if m.Key.RemoteJID != erin.LID().String() || m.Key.RemoteJIDAlt != erin.JID().String() || m.Key.AddressingMode != "lid" {
			return "", fmt.Errorf("key %+v, want remoteJid %s (LID), remoteJidAlt %s, addressing lid", m.Key, erin.LID(), erin.JID())
		}
		reply, err := c.SendText(ctx, m.Key.RemoteJID, "answering your LID")
		if err != nil {
			return "", fmt.Errorf("Baileys sendText to %s: %w", m.Key.RemoteJID, err)
		}
		return fmt.Sprintf("key %+v", m.Key), poll(ctx, "Erin's phone receives "+reply, func() (bool, string) {
			return slices.ContainsFunc(erin.Messages(""), func(m wasim.Message) bool { return m.ID == reply }), ""
		})
	})

	st.run("18_to_linked_devices", []string{"01_pair_and_open"}, func(ctx context.Context) (string, error) {
		// A second Baileys client, linked to Carol's account: a device that is not a
		// phone, which a sender reaches only if the server lists it with its key index.
		c2, err := baileys.Start(ctx, baileys.Options{SimAddr: sim.Addr(), AuthDir: t.TempDir(), Name: "carol-baileys"})
		if err != nil {
			return "", fmt.Errorf("start a second Baileys: %w", err)
		}
		defer c2.Close()
		if _, err := c2.Link(ctx, carol); err != nil {
			return "", err
		}
		var errs []error
		for _, way := range []struct {
			from, to *baileys.Client
			toJID    string
			phone    *wasim.Account
		}{
			{c, c2, carolJID, carol},
			{c2, c, aliceJID, alice},
		} {
			mark := way.to.Mark()
			id, err := way.from.SendText(ctx, way.toJID, "to every device of "+way.phone.Name())
			if err != nil {
				errs = append(errs, fmt.Errorf("sendText to %s: %w", way.toJID, err))
				continue
			}
			var m baileys.Message
			if _, err := waitEvent(ctx, way.to, mark, "messages.upsert", findUpsert(id, &m)); err != nil {
				errs = append(errs, fmt.Errorf("the linked device of %s got no %s: %w", way.phone.Name(), id, err))
			}
			if err := poll(ctx, way.phone.Name()+"'s phone receives "+id, func() (bool, string) {
				return slices.ContainsFunc(way.phone.Messages(""), func(m wasim.Message) bool { return m.ID == id }), ""
			}); err != nil {
				errs = append(errs, err)
			}
		}
		return "", errors.Join(errs...)
	})

	st.run("19_logout", []string{"01_pair_and_open"}, func(ctx context.Context) (string, error) {
		if err := c.Logout(ctx); err != nil {
			return "", fmt.Errorf("Baileys logout: %w", err)
		}
		return "", poll(ctx, "the simulator unlinks "+device, func() (bool, string) {
			devs := sim.Devices(alice.Phone())
			for _, d := range devs {
				if d.String() == device {
					return false, fmt.Sprintf("devices %v", devs)
				}
			}
			return true, ""
		})
	})
}
