package wasim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"go.mau.fi/whatsmeow/util/keys"

	"github.com/plugzapi/plugzapi/wasim/simclient"
)

// Options configures a Simulator. The zero value is usable: it listens on a random
// loopback port and logs nothing.
type Options struct {
	// Addr is the TCP address to listen on. Default "127.0.0.1:0".
	Addr string
	// Logger receives the simulator's logs. Default: discarded.
	Logger *slog.Logger
	// QRRefs is how many pairing refs (QR codes) a new client is offered. WhatsApp
	// offers 6 (whatsmeow shows the first for 60 s and each other one for 20 s, then
	// gives up); tests that wait for the QR timeout can offer fewer. Default 6.
	QRRefs int
	// StreamErrorGrace is how long the simulator waits between sending a stream error
	// or login failure and closing the socket. whatsmeow does not close the socket
	// itself, and closing at once could make it see EOF before the stanza. Default 250ms.
	StreamErrorGrace time.Duration
	// IdleTimeout closes a connection that sent nothing for this long, so a peer that
	// vanished without closing its TCP connection is cleaned up. whatsmeow pings every
	// 20–30 s. Default 2 minutes.
	IdleTimeout time.Duration
	// RoutedMemory is how many routed messages are remembered for crash-resend
	// de-duplication and Deliveries. Default 100000.
	RoutedMemory int
	// MaxQueue caps the stanzas queued for one device while it is offline; the oldest
	// are dropped beyond it. Default 10000.
	MaxQueue int
	// DataDir is where the simulator creates the temporary directory holding its
	// phones' SQLite store; Close removes that directory. Default: os.TempDir().
	DataDir string
	// MediaMemory bounds the bytes of uploaded (encrypted) media the simulator keeps
	// in memory; beyond it the oldest uploads are evicted, and downloading them
	// answers 404 (whatsmeow's ErrMediaDownloadFailedWith404). Default 256 MiB.
	MediaMemory int64
	// MaxMediaObjects bounds how many uploads are kept, evicted oldest first like
	// MediaMemory. Default 10000.
	MaxMediaObjects int
	// MaxMediaSize is the largest single upload accepted (413 beyond); never more
	// than MediaMemory. Default 64 MiB.
	MaxMediaSize int64
}

func (o *Options) setDefaults() {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.QRRefs <= 0 {
		o.QRRefs = 6
	}
	if o.StreamErrorGrace <= 0 {
		o.StreamErrorGrace = 250 * time.Millisecond
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 2 * time.Minute
	}
	if o.RoutedMemory <= 0 {
		o.RoutedMemory = 100000
	}
	if o.MaxQueue <= 0 {
		o.MaxQueue = 10000
	}
	if o.MediaMemory <= 0 {
		o.MediaMemory = 256 << 20
	}
	if o.MaxMediaObjects <= 0 {
		o.MaxMediaObjects = 10000
	}
	if o.MaxMediaSize <= 0 {
		o.MaxMediaSize = 64 << 20
	}
}

// Simulator is a simulated WhatsApp network: a server that speaks WhatsApp's
// multi-device protocol to real whatsmeow clients, a registry of accounts and their
// linked devices, and the simulated phones of those accounts. It serves the WhatsApp
// websocket and its JSON control API on one address. All methods are safe for
// concurrent use.
type Simulator struct {
	opts    Options
	log     *slog.Logger
	static  *keys.KeyPair // the server's Noise static key, certified by chain
	chain   []byte
	handler http.Handler

	ln  net.Listener
	srv *http.Server

	// ctx is cancelled by Close; it bounds everything the simulator starts.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // connections and timers
	// phoneCtx bounds what the phones do on their own (phoneWorkLocked); Close cancels
	// it (stopPhoneWork) and waits for phoneWork before it disconnects them.
	phoneCtx      context.Context
	stopPhoneWork context.CancelFunc
	phoneWork     sync.WaitGroup

	routes *routes // read-only after Start
	ids    atomic.Uint64
	media  *mediaStore // uploaded media and profile pictures; has its own lock
	flows  bizFlows    // the interactive flows messages declared; has its own lock
	// replacements counts the logins of a device whose previous connection was still open: two clients on one
	// device at once, which WhatsApp ends by closing the older with "replaced".
	replacements atomic.Int64

	mu           sync.Mutex
	closed       bool
	accounts     map[string]*Account // by phone number (JID user)
	byLID        map[string]*Account // by LID user
	conns        map[*conn]struct{}
	pairRefs     map[string]*conn        // QR ref → pre-login connection
	codePairings map[string]*codePairing // link code pairing ref → pending pairing
	routed       *routedLog
	groups       map[string]*group // by group JID user (the digits of <digits>@g.us)
	calls        []*Call           // the latest calls, oldest first (calls.go)
	nextLID      uint64

	engineMu sync.Mutex
	engines  *engineStore // created by the first AddAccount
	dataDir  string       // the directory engines lives in, removed by Close
}

// Start starts a simulator listening on opts.Addr and returns once it accepts
// connections. ctx bounds the start only; the simulator runs until Close.
func Start(ctx context.Context, opts Options) (*Simulator, error) {
	simclient.InitSignalLogger()
	opts.setDefaults()
	s := &Simulator{
		opts:         opts,
		log:          opts.Logger,
		static:       keys.NewKeyPair(),
		accounts:     make(map[string]*Account),
		byLID:        make(map[string]*Account),
		conns:        make(map[*conn]struct{}),
		pairRefs:     make(map[string]*conn),
		codePairings: make(map[string]*codePairing),
		routed:       newRoutedLog(opts.RoutedMemory),
		groups:       make(map[string]*group),
		media:        newMediaStore(opts),
		nextLID:      uint64(time.Now().UnixNano()%1e9) * 1e5, // looks like a LID, differs between runs
	}
	s.ids.Store(uint64(time.Now().UnixNano() % 1e12))
	chain, err := certChain(s.static, time.Now())
	if err != nil {
		return nil, fmt.Errorf("start simulator: %w", err)
	}
	s.chain = chain
	s.routes = s.newRoutes()
	s.handler = s.newHandler()

	lc := net.ListenConfig{}
	ln, err := lc.Listen(ctx, "tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("start simulator: listen on %s: %w", opts.Addr, err)
	}
	s.ln = ln
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.phoneCtx, s.stopPhoneWork = context.WithCancel(s.ctx)
	s.srv = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return s.ctx },
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("simulator stopped serving", "addr", ln.Addr().String(), "err", err)
		}
	}()
	s.log.Info("WhatsApp simulator listening", "addr", s.Addr())
	return s, nil
}

// newHandler mounts the WhatsApp endpoints (websocket, media upload and download,
// profile pictures) and the control API. Feature files add their own routes here.
func (s *Simulator) newHandler() http.Handler {
	r := chi.NewRouter()
	// Set before mounting: sub-routers inherit these JSON answers.
	r.NotFound(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "not found")
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusMethodNotAllowed, "method not allowed")
	})
	r.Get("/ws/chat", s.serveWebsocket)
	s.mountMedia(r)
	s.mountCatalog(r)
	s.mountControlAPI(r)
	return r
}

// Addr returns the address the simulator listens on (host:port), the value to give
// Configure and HTTPClient.
func (s *Simulator) Addr() string {
	return s.ln.Addr().String()
}

// Replacements is how many times a device logged in while its previous connection was still open (two clients
// on one device at once); WhatsApp closes the older one with "replaced".
func (s *Simulator) Replacements() int64 { return s.replacements.Load() }

// Handler returns the simulator's HTTP handler (WhatsApp websocket and control API),
// for mounting it in another server. Connections served through it are closed by
// Close like those of the simulator's own listener.
func (s *Simulator) Handler() http.Handler {
	return s.handler
}

// Close disconnects every simulated phone and client, stops the listener and waits
// for every goroutine the simulator started. It is safe to call more than once.
func (s *Simulator) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	accounts := make([]*Account, 0, len(s.accounts))
	for _, a := range s.accounts {
		accounts = append(accounts, a)
	}
	s.mu.Unlock()

	// What the phones do on their own ends before they disconnect: whatsmeow's socket
	// close races with a write in flight.
	s.stopPhoneWork()
	s.phoneWork.Wait()
	for _, a := range accounts {
		a.stopEngine()
	}
	s.cancel()
	s.mu.Lock()
	for c := range s.conns {
		c.closeNow("simulator closing")
	}
	s.mu.Unlock()
	var errs []error
	if err := s.srv.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close http server: %w", err))
	}
	s.wg.Wait()

	s.engineMu.Lock()
	defer s.engineMu.Unlock()
	if s.engines != nil {
		if err := s.engines.close(); err != nil {
			errs = append(errs, err)
		}
	}
	if s.dataDir != "" {
		if err := os.RemoveAll(s.dataDir); err != nil {
			errs = append(errs, fmt.Errorf("remove data dir: %w", err))
		}
	}
	return errors.Join(errs...)
}

// track registers a goroutine with the simulator's wait group unless it is closed.
func (s *Simulator) track() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	return true
}

// after runs fn after d unless the simulator closes first, on a goroutine that
// Close waits for.
func (s *Simulator) after(d time.Duration, fn func()) {
	if !s.track() {
		return
	}
	go func() {
		defer s.wg.Done()
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			fn()
		case <-s.ctx.Done():
		}
	}()
}

// phoneWorkLocked runs fn, something a simulated phone does on its own, on a goroutine
// that Close cancels and waits for before it disconnects the phones, unless the
// simulator is closed. The caller holds s.mu.
func (s *Simulator) phoneWorkLocked(fn func(ctx context.Context)) {
	if s.closed {
		return
	}
	s.phoneWork.Add(1)
	go func() {
		defer s.phoneWork.Done()
		fn(s.phoneCtx)
	}()
}

// nextID returns a fresh stanza id.
func (s *Simulator) nextID() string {
	return fmt.Sprintf("%d", s.ids.Add(1))
}
