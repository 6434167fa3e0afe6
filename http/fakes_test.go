package httpapi

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/plugzapi/plugzapi/account"
	"github.com/plugzapi/plugzapi/actors"
	"github.com/plugzapi/plugzapi/events/chats"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

const (
	adminToken = "admin-secret"
	instID     = "inst1"
	instToken  = "tok-secret-1"
	base       = "/instances/" + instID + "/token/" + instToken
)

// call is one call the fake application received, with its arguments.
type call struct {
	method string
	args   []any
}

// fakeApp implements every interface of application.go. It records the calls it gets and answers with what the test
// set; errs[method] makes that method fail, block (errBlock) or panic (errPanic).
type fakeApp struct {
	mu    sync.Mutex
	calls []call
	errs  map[string]error

	qr        string
	phoneCode string
	status    actors.Status
	device    actors.Device
	queued    actors.Queued
	created   actors.CreatedInstance
	instances []actors.InstanceInfo
	total     int
	queue     []actors.QueueItem
	count     int
	// account is the linked account Account hands out; nil: the instance is not connected.
	account account.Client
}

var (
	// errBlock makes a fake method wait for its context to end and return the context's error.
	errBlock = errors.New("block until the context ends")
	// errPanic makes a fake method panic.
	errPanic = errors.New("panic")
)

func newFakeApp() *fakeApp {
	return &fakeApp{errs: map[string]error{}}
}

// record notes a call and returns the error the test set for the method.
func (f *fakeApp) record(ctx context.Context, method string, args ...any) error {
	f.mu.Lock()
	f.calls = append(f.calls, call{method, args})
	err := f.errs[method]
	f.mu.Unlock()
	switch {
	case errors.Is(err, errBlock):
		<-ctx.Done()
		return ctx.Err()
	case errors.Is(err, errPanic):
		panic("fake " + method + " exploded")
	}
	return err
}

// callsTo returns the calls made to one method.
func (f *fakeApp) callsTo(method string) []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []call
	for _, c := range f.calls {
		if c.method == method {
			out = append(out, c)
		}
	}
	return out
}

// appCalls returns the methods called other than the authenticators.
func (f *fakeApp) appCalls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		if c.method != "AuthenticateAdmin" && c.method != "AuthenticateInstance" {
			out = append(out, c.method)
		}
	}
	return out
}

func (f *fakeApp) AuthenticateAdmin(ctx context.Context, token string) (bool, error) {
	if err := f.record(ctx, "AuthenticateAdmin", token); err != nil {
		return false, err
	}
	return token == adminToken, nil
}

func (f *fakeApp) AuthenticateInstance(ctx context.Context, id, token string) error {
	if err := f.record(ctx, "AuthenticateInstance", id, token); err != nil {
		return err
	}
	if id != instID || token != instToken {
		return actors.ErrInstanceNotFound
	}
	return nil
}

func (f *fakeApp) CreateInstance(ctx context.Context, spec actors.NewInstance, secret string) (actors.CreatedInstance, error) {
	if err := f.record(ctx, "CreateInstance", spec, secret); err != nil {
		return actors.CreatedInstance{}, err
	}
	return f.created, nil
}

func (f *fakeApp) DeleteInstance(ctx context.Context, id string) error {
	return f.record(ctx, "DeleteInstance", id)
}

func (f *fakeApp) ListInstances(ctx context.Context, q actors.InstanceQuery) ([]actors.InstanceInfo, int, error) {
	if err := f.record(ctx, "ListInstances", q); err != nil {
		return nil, 0, err
	}
	return f.instances, f.total, nil
}

func (f *fakeApp) Instance(ctx context.Context, id string) (actors.InstanceInfo, error) {
	if err := f.record(ctx, "Instance", id); err != nil {
		return actors.InstanceInfo{}, err
	}
	for _, in := range f.instances {
		if in.ID == id {
			return in, nil
		}
	}
	return actors.InstanceInfo{}, actors.ErrInstanceNotFound
}

func (f *fakeApp) QRCode(ctx context.Context, id string) (string, error) {
	if err := f.record(ctx, "QRCode", id); err != nil {
		return "", err
	}
	return f.qr, nil
}

func (f *fakeApp) PhoneCode(ctx context.Context, id, phone string) (string, error) {
	if err := f.record(ctx, "PhoneCode", id, phone); err != nil {
		return "", err
	}
	return f.phoneCode, nil
}

func (f *fakeApp) Restart(ctx context.Context, id string) error {
	return f.record(ctx, "Restart", id)
}

func (f *fakeApp) Disconnect(ctx context.Context, id string) error {
	return f.record(ctx, "Disconnect", id)
}

func (f *fakeApp) RestoreSession(ctx context.Context, id string) error {
	return f.record(ctx, "RestoreSession", id)
}

func (f *fakeApp) Status(ctx context.Context, id string) (actors.Status, error) {
	if err := f.record(ctx, "Status", id); err != nil {
		return actors.Status{}, err
	}
	return f.status, nil
}

func (f *fakeApp) Device(ctx context.Context, id string) (actors.Device, error) {
	if err := f.record(ctx, "Device", id); err != nil {
		return actors.Device{}, err
	}
	return f.device, nil
}

func (f *fakeApp) Send(ctx context.Context, id string, m *messagesv1.Outbound) (actors.Queued, error) {
	if err := f.record(ctx, "Send", id, m); err != nil {
		return actors.Queued{}, err
	}
	return f.queued, nil
}

func (f *fakeApp) MarkRead(ctx context.Context, id, phone, messageID string) error {
	return f.record(ctx, "MarkRead", id, phone, messageID)
}

func (f *fakeApp) Queue(ctx context.Context, id string) ([]actors.QueueItem, error) {
	if err := f.record(ctx, "Queue", id); err != nil {
		return nil, err
	}
	return f.queue, nil
}

func (f *fakeApp) QueueCount(ctx context.Context, id string) (int, error) {
	if err := f.record(ctx, "QueueCount", id); err != nil {
		return 0, err
	}
	return f.count, nil
}

func (f *fakeApp) ClearQueue(ctx context.Context, id string) error {
	return f.record(ctx, "ClearQueue", id)
}

func (f *fakeApp) CancelQueued(ctx context.Context, id, zaapID string) error {
	return f.record(ctx, "CancelQueued", id, zaapID)
}

func (f *fakeApp) SetWebhooks(ctx context.Context, id string, urls map[eventsv1.WebhookKind]string) error {
	return f.record(ctx, "SetWebhooks", id, urls)
}

func (f *fakeApp) SetWebhookSecret(ctx context.Context, id, secret string) error {
	return f.record(ctx, "SetWebhookSecret", id, secret)
}

// Account answers with f.account, the fake linked account a test set, and actors.ErrNotConnected without one.
func (f *fakeApp) Account(ctx context.Context, id string) (account.Client, error) {
	if err := f.record(ctx, "Account", id); err != nil {
		return nil, err
	}
	if f.account == nil {
		return nil, actors.ErrNotConnected
	}
	return f.account, nil
}

func (f *fakeApp) Rename(ctx context.Context, id, name string) error {
	return f.record(ctx, "Rename", id, name)
}

func (f *fakeApp) ChangeSettings(ctx context.Context, id string, change actors.SettingsChange) error {
	return f.record(ctx, "ChangeSettings", id, change)
}

func (f *fakeApp) SetNotifySentByMe(ctx context.Context, id string, on bool) error {
	return f.record(ctx, "SetNotifySentByMe", id, on)
}

func (f *fakeApp) Me(ctx context.Context, id string) (actors.Me, error) {
	if err := f.record(ctx, "Me", id); err != nil {
		return actors.Me{}, err
	}
	return actors.Me{ID: id}, nil
}

// Chats, Chat and Labels answer as a chats read model without chats or labels would.
func (f *fakeApp) Chats(ctx context.Context, id string, offset, limit int) ([]chats.Chat, error) {
	return nil, f.record(ctx, "Chats", id, offset, limit)
}

func (f *fakeApp) Chat(ctx context.Context, id, phone string) (chats.Chat, error) {
	if err := f.record(ctx, "Chat", id, phone); err != nil {
		return chats.Chat{}, err
	}
	return chats.Chat{}, account.ErrNotFound
}

func (f *fakeApp) Labels(ctx context.Context, id string) ([]chats.Label, error) {
	return nil, f.record(ctx, "Labels", id)
}

func (f *fakeApp) CheckHealth(ctx context.Context) error {
	return f.record(ctx, "CheckHealth")
}

// checkURL stands in for webhooks.CheckURL: https only.
func checkURL(raw string) error {
	if !strings.HasPrefix(raw, "https://") {
		return errors.New("webhook URL must use https")
	}
	return nil
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testServer is the router over a fake application, with its log captured.
type testServer struct {
	app     *fakeApp
	log     *syncBuffer
	handler http.Handler
}

func deps(app *fakeApp, logger *slog.Logger) Deps {
	return Deps{
		AdminAuth:       app,
		InstanceAuth:    app,
		Registry:        app,
		Directory:       app,
		Pairing:         app,
		Session:         app,
		Connection:      app,
		Sender:          app,
		Reader:          app,
		QueueView:       app,
		QueueEditor:     app,
		Webhooks:        app,
		Accounts:        app,
		Settings:        app,
		Chats:           app,
		ClientTokens:    app,
		IPAllowLists:    app,
		Subscriptions:   app,
		CheckWebhookURL: checkURL,
		Health:          app,
		// webhook_admin_test.go
		WebhookBacklog:    app,
		WebhookRedelivery: app,
		Metrics: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, "# metrics\n")
		}),
		Logger: logger,
	}
}

func newTestServer(t *testing.T, cfg Config, change ...func(*Deps)) *testServer {
	t.Helper()
	app := newFakeApp()
	buf := &syncBuffer{}
	d := deps(app, slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	for _, c := range change {
		c(&d)
	}
	h, err := NewRouter(cfg, d)
	if err != nil {
		t.Fatalf("NewRouter: %v", err)
	}
	return &testServer{app: app, log: buf, handler: h}
}

// req describes a test request. A body is sent as JSON unless contentType says otherwise ("-" for none).
type req struct {
	method      string
	path        string
	body        string
	contentType string
	auth        string
	header      map[string]string
	// chunked hides the body's length, as a streamed (chunked) upload does.
	chunked bool
}

func (s *testServer) do(t *testing.T, q req) *httptest.ResponseRecorder {
	t.Helper()
	var body io.Reader
	if q.body != "" {
		body = strings.NewReader(q.body)
		if q.chunked {
			body = io.MultiReader(body)
		}
	}
	r := httptest.NewRequestWithContext(t.Context(), q.method, q.path, body)
	switch {
	case q.contentType == "-":
	case q.contentType != "":
		r.Header.Set("Content-Type", q.contentType)
	case q.method == http.MethodPost || q.method == http.MethodPut:
		r.Header.Set("Content-Type", "application/json")
	}
	if q.auth != "" {
		r.Header.Set("Authorization", q.auth)
	}
	for k, v := range q.header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	s.handler.ServeHTTP(w, r)
	return w
}

// admin is a request with the admin token.
func admin(method, path, body string) req {
	return req{method: method, path: path, body: body, auth: "Bearer " + adminToken}
}
