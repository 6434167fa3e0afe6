package webhooks

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plugzapi/plugzapi/events"
	"github.com/plugzapi/plugzapi/events/eventstest"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
	"github.com/plugzapi/plugzapi/store"
)

// hit is one request a test receiver got.
type hit struct {
	path   string
	header http.Header
	body   []byte
	status int // 0: the receiver hung until the client gave up
}

// receiver is an httptest server whose answers a test controls.
type receiver struct {
	srv *httptest.Server

	mu     sync.Mutex
	hits   []hit
	answer func(path string, n int) int // n counts requests per path; 0 means hang
	counts map[string]int
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{counts: map[string]int{}, answer: func(string, int) int { return http.StatusOK }}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.counts[req.URL.Path]++
		status := r.answer(req.URL.Path, r.counts[req.URL.Path])
		r.hits = append(r.hits, hit{path: req.URL.Path, header: req.Header.Clone(), body: body, status: status})
		r.mu.Unlock()
		if status == 0 {
			<-req.Context().Done()
			return
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) url(path string) string { return r.srv.URL + path }

func (r *receiver) setAnswer(f func(path string, n int) int) {
	r.mu.Lock()
	r.answer = f
	r.mu.Unlock()
}

// ok returns the requests to path that were answered 2xx, in arrival order.
func (r *receiver) ok(path string) []hit {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []hit
	for _, h := range r.hits {
		if h.path == path && h.status >= 200 && h.status < 300 {
			out = append(out, h)
		}
	}
	return out
}

func (r *receiver) all() []hit {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hit(nil), r.hits...)
}

func (r *receiver) attempts(path string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counts[path]
}

// observer records what the dispatcher reports.
type observer struct {
	mu       sync.Mutex
	ok, fail int
	dead     []string
	requeued map[string]int
}

func (o *observer) ObserveAttempt(_ string, ok bool, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if ok {
		o.ok++
	} else {
		o.fail++
	}
}

func (o *observer) ObserveDeadLetter(cb string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.dead = append(o.dead, cb)
}

func (o *observer) ObserveRequeued(source string, n int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.requeued == nil {
		o.requeued = map[string]int{}
	}
	o.requeued[source] += n
}

func (o *observer) requeuedBy(source string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.requeued[source]
}

func (o *observer) counts() (ok, fail, dead int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.ok, o.fail, len(o.dead)
}

type env struct {
	t      *testing.T
	db     *store.DB
	log    *events.Log
	cfg    Config
	obs    *observer
	hooks  *Webhooks
	group  *events.Consumer // the projection's
	inst   string
	secret string
}

func mustID(t *testing.T) string {
	t.Helper()
	id, err := store.NewInstanceID()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func testConfig() Config {
	return Config{
		AllowInsecure:  true,
		RequestTimeout: 300 * time.Millisecond,
		BackoffBase:    10 * time.Millisecond,
		BackoffMax:     40 * time.Millisecond,
		// Deliveries are woken by commits; a long poll proves it.
		PollInterval: time.Hour,
	}
}

func newEnv(t *testing.T, cfg Config) *env {
	t.Helper()
	db := eventstest.OpenDB(t, "")
	e := &env{t: t, db: db, log: eventstest.OpenLog(t, db, events.Config{ConsumerDB: db.Unsynced()}), cfg: cfg, obs: &observer{}, secret: "whsec-test"}
	inst, _, err := store.CreateInstance(context.Background(), db.SQL(), mustID(t), "test", "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := store.SetWebhookSecret(context.Background(), db.SQL(), inst.ID, e.secret); err != nil {
		t.Fatal(err)
	}
	e.inst = inst.ID
	e.start()
	return e
}

func (e *env) start() {
	e.t.Helper()
	w, err := New(context.Background(), e.db, e.log, e.cfg, eventstest.Logger())
	if err != nil {
		e.t.Fatal(err)
	}
	if err := w.Start(e.obs); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { w.Close() })
	e.hooks, e.group = w, eventstest.Consume(e.t, e.log, w.Part())
}

func (e *env) stop() {
	e.t.Helper()
	if err := errors.Join(e.group.Close(), e.hooks.Close()); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) configure(kind eventsv1.WebhookKind, url string) {
	e.t.Helper()
	eventstest.Append(e.t, e.log, e.inst, &eventsv1.Event{Payload: &eventsv1.Event_WebhookConfigured{
		WebhookConfigured: &eventsv1.WebhookConfigured{Kind: kind, Url: url}}})
}

func (e *env) sent(n int) *eventsv1.Event {
	return &eventsv1.Event{Payload: &eventsv1.Event_MessageSent{MessageSent: &eventsv1.MessageSent{
		ZaapId: fmt.Sprint("zaap", n), MessageId: fmt.Sprint("MSG", n), Phone: "5511999990001"}}}
}

// received appends a MessageReceived whose content goes into the vault in the same transaction.
func (e *env) received(inst, id, body string, fromMe bool) string {
	e.t.Helper()
	ctx := context.Background()
	key := events.InboundVaultKey(inst, id)
	last, err := e.log.LastSeq(ctx, inst)
	if err != nil {
		e.t.Fatal(err)
	}
	public, record, err := events.Seal(&messagesv1.Inbound{
		MessageId: id, Phone: "5511999990002", FromMe: fromMe, Type: messagesv1.Kind_KIND_TEXT, VaultKey: key,
		Content: text(body), SenderName: "Ana"})
	if err != nil {
		e.t.Fatal(err)
	}
	_, err = e.log.Append(ctx, inst, last, []*eventsv1.Event{{Payload: &eventsv1.Event_MessageReceived{MessageReceived: public}}},
		func(tx *sql.Tx) error { return e.db.Vault().Put(ctx, tx, key, record) })
	if err != nil {
		e.t.Fatal(err)
	}
	return key
}

func (e *env) vaultHas(key string) bool {
	_, err := e.db.Vault().Get(context.Background(), key)
	if err != nil && !errors.Is(err, store.ErrVaultNotFound) {
		e.t.Fatal(err)
	}
	return err == nil
}

func (e *env) deliveries(state string) int {
	var n int
	if err := e.db.SQL().QueryRow(`SELECT COUNT(*) FROM webhook_deliveries WHERE state = ?`, state).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func field(t *testing.T, body []byte, name string) any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	return m[name]
}

// webhookOf names a request by what it is about: its callback type and message ID (or "" for a connection).
func webhookOf(t *testing.T, h hit) string {
	t.Helper()
	switch cb := field(t, h.body, "type").(string); cb {
	case MessageStatusCallback:
		return cb + " " + field(t, h.body, "ids").([]any)[0].(string)
	case DeliveryCallback:
		return cb + " " + field(t, h.body, "messageId").(string)
	default:
		return cb
	}
}

// TestDeliveryInOrderThroughFailuresAndRestart: a receiver whose delivery and status URLs answer 503, then
// hang past the timeout, then recover — with the dispatcher restarted in between — gets every webhook of the
// instance, signed, in the order of its events across all three URLs; nothing behind the failing head is
// tried meanwhile, and another instance is not held up.
func TestDeliveryInOrderThroughFailuresAndRestart(t *testing.T) {
	eventstest.CheckGoroutines(t)
	e := newEnv(t, testConfig())
	r := newReceiver(t)
	e.configure(eventsv1.WebhookKind_WEBHOOK_KIND_DELIVERY, r.url("/delivery"))
	e.configure(eventsv1.WebhookKind_WEBHOOK_KIND_MESSAGE_STATUS, r.url("/status"))
	e.configure(eventsv1.WebhookKind_WEBHOOK_KIND_CONNECTED, r.url("/connected"))
	failing := func(path string) bool { return path == "/delivery" || path == "/status" }

	r.setAnswer(func(path string, _ int) int {
		if failing(path) {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	const first, second = 15, 10
	for i := range first {
		eventstest.Append(t, e.log, e.inst, e.sent(i))
	}
	eventstest.Append(t, e.log, e.inst, eventstest.Connected("5511999990000"))

	other, _, err := store.CreateInstance(context.Background(), e.db.SQL(), mustID(t), "other", "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	eventstest.Append(t, e.log, other.ID, &eventsv1.Event{Payload: &eventsv1.Event_WebhookConfigured{
		WebhookConfigured: &eventsv1.WebhookConfigured{Kind: eventsv1.WebhookKind_WEBHOOK_KIND_CONNECTED, Url: r.url("/other")}}})
	eventstest.Append(t, e.log, other.ID, eventstest.Connected("5511999990009"))
	eventstest.WaitFor(t, 10*time.Second, "another instance's webhook while this one's fail", func() bool { return len(r.ok("/other")) == 1 })
	eventstest.WaitFor(t, 10*time.Second, "several failed attempts", func() bool { return r.attempts("/delivery") >= 3 })
	for _, h := range r.all() {
		if h.path == "/other" {
			continue
		}
		if got := webhookOf(t, h); got != DeliveryCallback+" MSG0" {
			t.Fatalf("%s was attempted while the head (MSG0's DeliveryCallback) was failing", got)
		}
	}

	// The other instance's webhook reached the receiver; its outcome is recorded a moment later.
	eventstest.WaitFor(t, 10*time.Second, "only this instance's deliveries pending", func() bool {
		return e.deliveries("pending") == 2*first+1
	})
	e.stop()
	if n := e.deliveries("pending"); n != 2*first+1 {
		t.Fatalf("%d pending deliveries after stopping, want %d", n, 2*first+1)
	}
	// Appended while the dispatcher is down: projected and sent after the restart.
	for i := first; i < first+second; i++ {
		eventstest.Append(t, e.log, e.inst, e.sent(i))
	}
	// Next, three hangs past the request timeout, then success.
	var mu sync.Mutex
	hangs := 3
	r.setAnswer(func(path string, _ int) int {
		mu.Lock()
		defer mu.Unlock()
		if failing(path) && hangs > 0 {
			hangs--
			return 0
		}
		return http.StatusNoContent
	})
	e.start()
	eventstest.WaitFor(t, 20*time.Second, "all webhooks delivered", func() bool { return e.deliveries("pending") == 0 })

	var want []string
	for i := range first + second {
		want = append(want, fmt.Sprint(DeliveryCallback, " MSG", i), fmt.Sprint(MessageStatusCallback, " MSG", i))
		if i == first-1 {
			want = append(want, ConnectedCallback)
		}
	}
	var got []string
	for _, h := range r.all() {
		if h.path == "/other" || h.status < 200 || h.status >= 300 {
			continue
		}
		got = append(got, webhookOf(t, h))
		if err := Verify(e.secret, h.header.Get(HeaderTimestamp), h.header.Get(HeaderSignature), h.body, time.Now(), time.Minute); err != nil {
			t.Fatalf("%s: %v", got[len(got)-1], err)
		}
		cb := field(t, h.body, "type").(string)
		if id := h.header.Get(HeaderWebhookID); id != h.header.Get(HeaderEventID)+"-"+cb || h.header.Get(HeaderEventID) == "" {
			t.Fatalf("webhook id header %q, event id %q", id, h.header.Get(HeaderEventID))
		}
		if h.header.Get("Content-Type") != "application/json" {
			t.Fatalf("content type %q", h.header.Get("Content-Type"))
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("delivered, in arrival order:\n%v\nwant:\n%v", got, want)
	}
	ok, fail, dead := e.obs.counts()
	if ok != len(want)+1 || fail < 3+3 || dead != 0 {
		t.Fatalf("observer: ok=%d fail=%d dead=%d", ok, fail, dead)
	}
}

// newStuckEnv returns an env whose failed deliveries wait an hour, a receiver that is down and one that is up.
func newStuckEnv(t *testing.T) (e *env, down, up *receiver) {
	cfg := testConfig()
	cfg.BackoffBase, cfg.BackoffMax = time.Hour, time.Hour
	e = newEnv(t, cfg)
	down, up = newReceiver(t), newReceiver(t)
	down.setAnswer(func(string, int) int { return http.StatusBadGateway })
	return e, down, up
}

// backedOff waits until the instance's head delivery to url failed once and its backoff was recorded.
func (e *env) backedOff(url string) {
	e.t.Helper()
	eventstest.WaitFor(e.t, 5*time.Second, url+" failed and backed off", func() bool {
		var n int
		err := e.db.SQL().QueryRow(`SELECT COUNT(*) FROM webhook_deliveries WHERE url = ? AND attempts = 1`, url).Scan(&n)
		return err == nil && n == 1
	})
}

// TestChangingURLMovesPendingDeliveries: a receiver that is down holds up the instance's webhooks; pointing
// the webhook elsewhere sends its backlog there at once (not after the backoff), and removing a webhook drops
// its pending deliveries and the content they held.
func TestChangingURLMovesPendingDeliveries(t *testing.T) {
	e, down, up := newStuckEnv(t)
	e.configure(eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED, down.url("/received"))
	e.configure(eventsv1.WebhookKind_WEBHOOK_KIND_DELIVERY, down.url("/delivery"))
	e.configure(eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED_DELIVERY, down.url("/all"))
	e.configure(eventsv1.WebhookKind_WEBHOOK_KIND_CONNECTED, up.url("/connected"))

	theirs := e.received(e.inst, "IN1", "to the received URL", false)
	for i := range 3 {
		eventstest.Append(t, e.log, e.inst, e.sent(i))
	}
	mine := e.received(e.inst, "IN2", "from the phone", true)
	eventstest.Append(t, e.log, e.inst, eventstest.Connected("5511999990000"))

	// IN1 goes to /received, then /all; IN2 (fromMe) to /all only.
	e.backedOff(down.url("/received"))
	e.configure(eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED, up.url("/received"))
	e.backedOff(down.url("/all"))
	e.configure(eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED_DELIVERY, "")
	e.backedOff(down.url("/delivery"))
	e.configure(eventsv1.WebhookKind_WEBHOOK_KIND_DELIVERY, up.url("/delivery"))

	eventstest.WaitFor(t, 5*time.Second, "the backlog at the new URLs", func() bool { return len(up.ok("/connected")) == 1 })
	var got []string
	for _, h := range up.all() {
		got = append(got, webhookOf(t, h))
	}
	want := []string{ReceivedCallback, DeliveryCallback + " MSG0", DeliveryCallback + " MSG1", DeliveryCallback + " MSG2", ConnectedCallback}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("the new URLs got %v, want %v", got, want)
	}
	for _, path := range []string{"/received", "/delivery", "/all"} {
		if n := down.attempts(path); n != 1 {
			t.Fatalf("the old %s URL was tried %d times, want once", path, n)
		}
	}
	// The receiver saw the last request a moment before the dispatcher recorded it.
	eventstest.WaitFor(t, 5*time.Second, "queue drained, no content left", func() bool {
		return e.deliveries("pending") == 0 && !e.vaultHas(theirs) && !e.vaultHas(mine)
	})
}

// TestRemovedReceivedWebhookHandsOverItsBacklog: received and received-delivery render the same payload; when
// one is removed, a message it still owed goes through the other if that one is set, and exactly once.
func TestRemovedReceivedWebhookHandsOverItsBacklog(t *testing.T) {
	e, down, up := newStuckEnv(t)

	// Queued for the received URL only; then received-delivery is set and received removed (what
	// update-every-webhooks with notifySentByMe does): the message moves over.
	e.configure(eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED, down.url("/received"))
	first := e.received(e.inst, "IN1", "moved over", false)
	e.backedOff(down.url("/received"))
	e.configure(eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED_DELIVERY, up.url("/all"))
	e.configure(eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED, "")
	eventstest.WaitFor(t, 5*time.Second, "IN1 at the received-delivery URL", func() bool { return len(up.ok("/all")) == 1 })
	eventstest.WaitFor(t, 5*time.Second, "IN1's content released", func() bool { return !e.vaultHas(first) })

	// Queued for both URLs: removing the failing one leaves the other's delivery, not a second one.
	e.configure(eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED, down.url("/received"))
	e.received(e.inst, "IN2", "once", false)
	e.backedOff(down.url("/received"))
	e.configure(eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED, "")
	eventstest.WaitFor(t, 5*time.Second, "queue drained", func() bool { return e.deliveries("pending") == 0 })
	var got []any
	for _, h := range up.all() {
		got = append(got, field(t, h.body, "messageId"))
	}
	if fmt.Sprint(got) != "[IN1 IN2]" {
		t.Fatalf("the received-delivery URL got %v, want [IN1 IN2]", got)
	}
}

func TestReceivedContentLifecycle(t *testing.T) {
	e := newEnv(t, testConfig())
	r := newReceiver(t)
	e.configure(eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED, r.url("/received"))
	e.configure(eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED_DELIVERY, r.url("/all"))

	// The received URL fails for a while; the content must stay until every webhook needing it succeeded.
	var mu sync.Mutex
	failReceived := true
	r.setAnswer(func(path string, _ int) int {
		mu.Lock()
		defer mu.Unlock()
		if path == "/received" && failReceived {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	key := e.received(e.inst, "IN1", "olá, tudo bem?", false)
	mine := e.received(e.inst, "IN2", "sent from the phone", true)
	eventstest.WaitFor(t, 10*time.Second, "received URL failing", func() bool { return r.attempts("/received") >= 2 })
	if !e.vaultHas(key) || !e.vaultHas(mine) {
		t.Fatal("content deleted while deliveries still need it")
	}
	if n := r.attempts("/all"); n != 0 {
		t.Fatalf("/all got %d requests while the instance's first webhook was failing", n)
	}
	mu.Lock()
	failReceived = false
	mu.Unlock()
	eventstest.WaitFor(t, 10*time.Second, "both URLs got the messages", func() bool {
		return len(r.ok("/received")) == 1 && len(r.ok("/all")) == 2
	})
	// The receiver saw the last request a moment before the dispatcher recorded it.
	eventstest.WaitFor(t, 5*time.Second, "content deleted after its last webhook", func() bool {
		return !e.vaultHas(key) && !e.vaultHas(mine)
	})

	got := r.ok("/received")[0]
	if field(t, got.body, "text").(map[string]any)["message"] != "olá, tudo bem?" || field(t, got.body, "senderName") != "Ana" {
		t.Fatalf("ReceivedCallback body %s", got.body)
	}
	all := r.ok("/all")
	if field(t, all[0].body, "messageId") != "IN1" || field(t, all[1].body, "messageId") != "IN2" || field(t, all[1].body, "fromMe") != true {
		t.Fatalf("received-delivery bodies %s / %s", all[0].body, all[1].body)
	}

	// An instance with no received webhooks: the content is deleted as soon as the event is projected.
	other, _, err := store.CreateInstance(context.Background(), e.db.SQL(), mustID(t), "other", "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	orphan := e.received(other.ID, "IN3", "nobody listens", false)
	eventstest.WaitFor(t, 5*time.Second, "unwanted content deleted", func() bool { return !e.vaultHas(orphan) })

	// The same URL configured for both kinds gets one webhook per message.
	e.configure(eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED, r.url("/all"))
	e.received(e.inst, "IN4", "once", false)
	eventstest.WaitFor(t, 5*time.Second, "message IN4", func() bool { return len(r.ok("/all")) == 3 })
	eventstest.WaitFor(t, 5*time.Second, "queue drained", func() bool { return e.deliveries("pending") == 0 })
	if n := len(r.ok("/all")); n != 3 {
		t.Fatalf("/all got %d requests, want 3", n)
	}
}

// TestTwinsFinishedTogetherReleaseTheirContent: twins (one received message bound for two URLs) finished by two
// transactions at once — the dispatcher recording one delivered while the projection drops the other — leave no
// content behind. On Postgres the second transaction runs while the first is open; without releaseContent's lock
// each counted the other's delivery as pending and both kept the content, for ever.
func TestTwinsFinishedTogetherReleaseTheirContent(t *testing.T) {
	e := newEnv(t, testConfig())
	e.stop() // the transactions below are the dispatcher's and the projection's
	ctx := context.Background()
	key := events.InboundVaultKey(e.inst, "IN1")
	if err := e.db.Vault().Put(ctx, e.db.SQL(), key, []byte("the message")); err != nil {
		t.Fatal(err)
	}
	var twins []int64
	for _, kind := range []eventsv1.WebhookKind{eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED, eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED_DELIVERY} {
		var id int64
		err := e.db.SQL().QueryRowContext(ctx, `INSERT INTO webhook_deliveries
			(instance_id, url, kind, callback, twin, event_id, event, vault_key, next_attempt_ms, created_ms)
			VALUES (?, ?, ?, 'ReceivedCallback', ?, 'EV1', ?, ?, 0, 0) RETURNING id`,
			e.inst, fmt.Sprint("http://127.0.0.1:9/", kind), int32(kind), true, []byte{}, key).Scan(&id)
		if err != nil {
			t.Fatal(err)
		}
		twins = append(twins, id)
	}
	finish := func(tx *sql.Tx, id int64) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM webhook_deliveries WHERE id = ?`, id); err != nil {
			return err
		}
		return releaseContent(ctx, tx, e.db, key)
	}

	first, err := e.db.SQL().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Rollback()
	if err := finish(first, twins[0]); err != nil {
		t.Fatal(err)
	}
	second := make(chan error, 1)
	go func() { second <- store.InTx(ctx, e.db.SQL(), func(tx *sql.Tx) error { return finish(tx, twins[1]) }) }()
	var secondErr error
	secondDone := false
	if e.db.Dialect() == store.Postgres {
		// Let the second transaction go as far as it can while the first is open: to its end without the lock,
		// to the lock with it. (On SQLite it cannot even begin: one writer at a time.)
		eventstest.WaitFor(t, 10*time.Second, "the second transaction finished or waiting for the first", func() bool {
			select {
			case secondErr = <-second:
				secondDone = true
				return true
			default:
			}
			var waiting int
			err := e.db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
				AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
				AND classid = ? AND objsubid = 2`, contentLockClass).Scan(&waiting)
			if err != nil {
				t.Fatal(err)
			}
			return waiting > 0
		})
	}
	if err := first.Commit(); err != nil {
		t.Fatal(err)
	}
	if !secondDone {
		secondErr = <-second
	}
	if secondErr != nil {
		t.Fatal(secondErr)
	}
	if e.vaultHas(key) {
		t.Error("both twins are gone but their content is still in the vault")
	}
}

func TestDeadLetter(t *testing.T) {
	cfg := testConfig()
	cfg.DeadAfter = 150 * time.Millisecond
	e := newEnv(t, cfg)
	r := newReceiver(t)
	e.configure(eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED, r.url("/received"))
	e.configure(eventsv1.WebhookKind_WEBHOOK_KIND_CONNECTED, r.url("/connected"))
	r.setAnswer(func(path string, _ int) int {
		if path == "/received" {
			return http.StatusBadGateway
		}
		return http.StatusOK
	})
	key := e.received(e.inst, "IN1", "never delivered", false)
	eventstest.Append(t, e.log, e.inst, eventstest.Connected("1"))
	eventstest.WaitFor(t, 10*time.Second, "dead-lettered", func() bool { return e.deliveries("dead") == 1 })
	eventstest.WaitFor(t, 5*time.Second, "the next webhook goes ahead", func() bool { return len(r.ok("/connected")) == 1 })
	if e.vaultHas(key) {
		t.Fatal("content kept for a dead-lettered delivery")
	}
	var lastErr string
	var attempts int
	if err := e.db.SQL().QueryRow(`SELECT last_error, attempts FROM webhook_deliveries WHERE state = 'dead'`).Scan(&lastErr, &attempts); err != nil {
		t.Fatal(err)
	}
	if attempts < 2 || lastErr == "" {
		t.Fatalf("dead delivery: attempts=%d last_error=%q", attempts, lastErr)
	}
	eventstest.WaitFor(t, 5*time.Second, "observer told of the dead letter", func() bool {
		_, _, dead := e.obs.counts()
		return dead == 1
	})
	eventstest.WaitFor(t, 5*time.Second, "backlog: none pending, one dead", func() bool {
		pending, deadN, err := e.hooks.Backlog(context.Background())
		return err == nil && pending == 0 && deadN == 1
	})
	// The URL's later webhooks go ahead once it recovers.
	r.setAnswer(func(string, int) int { return http.StatusOK })
	e.received(e.inst, "IN2", "delivered", false)
	eventstest.WaitFor(t, 5*time.Second, "next webhook delivered", func() bool { return len(r.ok("/received")) == 1 })
}

func TestLinkLocalTargetIsDeadLettered(t *testing.T) {
	e := newEnv(t, testConfig())
	// Configured through the stream directly, as if the API's check had been bypassed.
	e.configure(eventsv1.WebhookKind_WEBHOOK_KIND_CONNECTED, "http://169.254.169.254/latest/meta-data")
	eventstest.Append(t, e.log, e.inst, eventstest.Connected("1"))
	eventstest.WaitFor(t, 5*time.Second, "dead-lettered", func() bool { return e.deliveries("dead") == 1 })
	if ok, fail, _ := e.obs.counts(); ok+fail != 0 {
		t.Fatal("a request was made to a metadata address")
	}
}

func TestInstanceDeletionDropsDeliveries(t *testing.T) {
	e := newEnv(t, testConfig())
	r := newReceiver(t)
	r.setAnswer(func(string, int) int { return http.StatusInternalServerError })
	e.configure(eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED, r.url("/received"))
	key := e.received(e.inst, "IN1", "x", false)
	e.received(e.inst, "IN2", "y", false)
	eventstest.WaitFor(t, 5*time.Second, "deliveries queued and failing", func() bool { return r.attempts("/received") >= 1 })
	eventstest.Append(t, e.log, e.inst, &eventsv1.Event{Payload: &eventsv1.Event_InstanceDeleted{InstanceDeleted: &eventsv1.InstanceDeleted{}}})
	eventstest.WaitFor(t, 5*time.Second, "deliveries dropped", func() bool { return e.deliveries("pending") == 0 })
	if e.vaultHas(key) {
		t.Fatal("content of a deleted instance's deliveries kept")
	}
	targets, err := e.hooks.Targets(context.Background(), e.inst)
	if err != nil || len(targets) != 0 {
		t.Fatalf("targets after deletion = %v, %v", targets, err)
	}
}

func TestDeliveriesOfRemovedInstanceRowAreDropped(t *testing.T) {
	e := newEnv(t, testConfig())
	r := newReceiver(t)
	r.setAnswer(func(string, int) int { return http.StatusInternalServerError })
	e.configure(eventsv1.WebhookKind_WEBHOOK_KIND_CONNECTED, r.url("/c"))
	eventstest.Append(t, e.log, e.inst, eventstest.Connected("1"))
	eventstest.WaitFor(t, 5*time.Second, "failing", func() bool { return r.attempts("/c") >= 1 })
	if err := store.DeleteInstance(context.Background(), e.db.SQL(), e.inst); err != nil {
		t.Fatal(err)
	}
	eventstest.WaitFor(t, 5*time.Second, "dropped", func() bool { return e.deliveries("pending") == 0 })
}

func TestTargetsReadModel(t *testing.T) {
	e := newEnv(t, testConfig())
	e.configure(eventsv1.WebhookKind_WEBHOOK_KIND_DELIVERY, "https://a.example/d")
	e.configure(eventsv1.WebhookKind_WEBHOOK_KIND_CONNECTED, "https://a.example/c")
	e.configure(eventsv1.WebhookKind_WEBHOOK_KIND_DELIVERY, "https://b.example/d")
	e.configure(eventsv1.WebhookKind_WEBHOOK_KIND_CONNECTED, "")
	e.configure(eventsv1.WebhookKind(99), "https://ignored.example/")
	var targets map[eventsv1.WebhookKind]string
	eventstest.WaitFor(t, 5*time.Second, "configuration applied", func() bool {
		var err error
		targets, err = e.hooks.Targets(context.Background(), e.inst)
		return err == nil && len(targets) == 1 && targets[eventsv1.WebhookKind_WEBHOOK_KIND_DELIVERY] == "https://b.example/d"
	})
}

func TestConfigValidate(t *testing.T) {
	if err := (Config{}).Validate(); err != nil {
		t.Fatalf("zero Config: %v", err)
	}
	for name, c := range map[string]Config{
		"tiny timeout":       {RequestTimeout: time.Millisecond},
		"cap below base":     {BackoffBase: time.Minute, BackoffMax: time.Second},
		"negative in-flight": {MaxInFlight: -1},
		"negative retention": {Retention: -time.Hour},
		"retention < dead":   {Retention: time.Hour, DeadAfter: 2 * time.Hour},
		"dead before base":   {BackoffBase: time.Hour, BackoffMax: time.Hour, DeadAfter: time.Minute},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%s: Validate accepted %+v", name, c)
		}
	}
}

// On a cluster a node delivers only the webhooks of the instances it runs; those of an instance it takes over
// go out from then on, in order.
func TestDeliversOnlyTheInstancesThisNodeRuns(t *testing.T) {
	var runs atomic.Bool
	var inst atomic.Value
	cfg := testConfig()
	cfg.PollInterval = 50 * time.Millisecond // taking an instance over is not a commit: the poll notices it
	cfg.Runs = func(id string) bool { return id != inst.Load() || runs.Load() }
	e := newEnv(t, cfg)
	inst.Store(e.inst)
	r := newReceiver(t)
	e.configure(eventsv1.WebhookKind_WEBHOOK_KIND_DELIVERY, r.url("/delivery"))
	for i := range 3 {
		eventstest.Append(t, e.log, e.inst, e.sent(i))
	}
	time.Sleep(300 * time.Millisecond)
	if n := r.attempts("/delivery"); n != 0 {
		t.Fatalf("%d webhooks of an instance another node runs went out from this one", n)
	}
	runs.Store(true)
	eventstest.WaitFor(t, 5*time.Second, "the instance's webhooks once this node runs it", func() bool {
		return len(r.ok("/delivery")) == 3
	})
	for i, h := range r.ok("/delivery") {
		if got, want := webhookOf(t, h), fmt.Sprint(DeliveryCallback, " MSG", i); got != want {
			t.Errorf("webhook %d is %s, want %s", i, got, want)
		}
	}
}
