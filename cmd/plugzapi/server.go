package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"go.mau.fi/whatsmeow"

	"github.com/plugzapi/plugzapi/access"
	"github.com/plugzapi/plugzapi/actors"
	"github.com/plugzapi/plugzapi/events"
	"github.com/plugzapi/plugzapi/events/consumers"
	"github.com/plugzapi/plugzapi/events/export"
	"github.com/plugzapi/plugzapi/events/live"
	"github.com/plugzapi/plugzapi/events/webhooks"
	httpapi "github.com/plugzapi/plugzapi/http"
	"github.com/plugzapi/plugzapi/mediastore"
	"github.com/plugzapi/plugzapi/netguard"
	"github.com/plugzapi/plugzapi/store"
	"github.com/plugzapi/plugzapi/wasim/simclient"
	"github.com/plugzapi/plugzapi/whatsapp"
)

func newLogger(cfg Config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogJSON {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

// serve runs the server until ctx ends, then shuts it down in order: a cluster node first hands its instances
// over while its API still serves (actors.System.Drain); then no new requests, and the requests in flight
// finish; then the instances (closing their WhatsApp connections), then the event consumers, then the storage.
func serve(ctx context.Context, cfg Config, log *slog.Logger) (err error) {
	ctx, cutOff := context.WithCancelCause(ctx)
	defer cutOff(nil)
	var closers []func() error
	defer func() {
		for i := len(closers) - 1; i >= 0; i-- {
			err = errors.Join(err, closers[i]())
		}
		// A node cut off from its cluster stops with an error: its supervisor starts it again, as a new member.
		if cause := context.Cause(ctx); errors.Is(cause, errCutOff) {
			err = errors.Join(err, cause)
		}
	}()

	if cfg.DebugAddr != "" {
		if err := serveDebug(cfg.DebugAddr, log); err != nil {
			return fmt.Errorf("debug listener: %w", err)
		}
	}
	sync := "FULL"
	if !cfg.DurableCommits {
		sync = "NORMAL"
	}
	db, err := store.Open(ctx, store.Config{Dir: cfg.DataDir, DatabaseURL: cfg.DatabaseURL, Synchronous: sync}, log.With("component", "store"))
	if err != nil {
		return err
	}
	closers = append(closers, db.Close)

	generated, err := db.EnsureAdminToken(ctx, cfg.AdminToken)
	if err != nil {
		return err
	}
	if generated != "" {
		// Printed once, to stdout, apart from the logs: only its hash is kept.
		fmt.Printf("\nAdmin token (shown only now; set PLUGZAPI_ADMIN_TOKEN to choose your own):\n\n    %s\n\n", generated)
	}

	// Consumer groups commit unsynced: they replay from their offset whatever a power loss takes back.
	evlog, err := events.Open(ctx, db, events.Config{Retention: cfg.Retention, ConsumerDB: db.Unsynced()},
		log.With("component", "events"))
	if err != nil {
		return err
	}
	closers = append(closers, evlog.Close)
	closers = append(closers, evlog.StartSweeper(log.With("component", "retention")).Close)

	hooks := webhooks.Config{
		AllowInsecure:  cfg.AllowInsecureWebhooks,
		RequestTimeout: cfg.WebhookTimeout,
		BackoffMax:     cfg.WebhookRetryMax,
		DeadAfter:      min(cfg.WebhookDeadAfter, cfg.Retention),
		Retention:      cfg.Retention,
	}
	// On a cluster a node delivers the webhooks of the instances it runs; the instances start after the
	// consumers, so until then it delivers none.
	var running atomic.Pointer[actors.System]
	if cfg.ClusterProvider != "" {
		hooks.Runs = func(id string) bool { s := running.Load(); return s != nil && s.Runs(id) }
	}
	cons, err := consumers.Start(ctx, db, evlog, consumers.Config{Webhooks: hooks}, log.With("component", "consumers"))
	if err != nil {
		return err
	}
	closers = append(closers, cons.Close)
	if cfg.Export.Enabled() {
		exp, err := export.Start(ctx, evlog, cfg.Export, cons.Metrics.Registry(), log.With("component", "export"))
		if err != nil {
			return err
		}
		closers = append(closers, exp.Close)
	} else if err := evlog.DropGroup(ctx, export.ConsumerGroup); err != nil {
		// An export turned off must not hold back stream pruning with an offset no one moves.
		return err
	}
	// The dashboard's live events: one consumer group per node (a node serves the streams of its instances).
	feed, err := live.Start(ctx, evlog, cfg.ClusterURL)
	if err != nil {
		return err
	}
	closers = append(closers, feed.Close)

	mediaURLs := netguard.Policy{AllowHTTP: cfg.AllowInsecureMedia, AllowPrivate: cfg.AllowInsecureMedia}
	if cfg.AllowInsecureMedia {
		log.Warn("media URLs may be http:// and lead to loopback and private addresses (PLUGZAPI_ALLOW_INSECURE_MEDIA)")
	}
	// Listening now tells the port chosen for ":0", which the URLs of received files need.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	closers = append(closers, func() error { ln.Close(); return nil })
	files, err := mediastore.Open(ctx, db, mediastore.Config{PublicURL: cfg.publicURL(ln.Addr().String()), Retention: min(cfg.MediaRetention, cfg.Retention)},
		log.With("component", "mediastore"))
	if err != nil {
		return err
	}
	closers = append(closers, files.Close)

	// whatsmeow's store commits unsynced too: what it writes on the way to an acknowledgement is synced by the
	// acknowledged event's commit after it (see store.DB.Unsynced).
	sessions, err := whatsapp.OpenSessions(ctx, db.Unsynced(), db.Dialect().DriverName(), whatsapp.Options{
		Logger:     log.With("component", "whatsapp"),
		Redirect:   simulatorRedirect(cfg.Simulator, log),
		DeviceName: cfg.DeviceName,
		HideOnline: !cfg.ShowOnline,
		Sealer:     db.Vault(),
		Files:      whatsapp.Files{Limits: cfg.MediaLimits, Fetcher: netguard.NewFetcher(mediaURLs, cfg.MediaFetchTimeout)},
		Media:      files,
		Uploads:    simulatorHTTP(cfg.Simulator),
		Websocket:  simulatorHTTP(cfg.Simulator),
	})
	if err != nil {
		return err
	}

	acfg := actors.DefaultConfig()
	acfg.SendDelayMin, acfg.SendDelayMax = cfg.SendDelayMin, cfg.SendDelayMax
	acfg.MaxQueueWhileDisconnected = cfg.MaxQueueWhileOffline
	// The log is compacted only behind snapshots: a quiet instance snapshots well within the retention.
	acfg.SnapshotAfter = min(acfg.SnapshotAfter, events.SweepInterval(cfg.Retention))
	// A file is fetched, then uploaded (which may take as long), then sent.
	acfg.FileSendTimeout = acfg.SendTimeout + 2*cfg.MediaFetchTimeout
	acfg.ForwardWindow = cfg.ForwardWindow
	acfg.LeaseTTL = cfg.ClusterLeaseTTL
	node, err := cfg.actorsCluster()
	if err != nil {
		return err
	}
	if node == nil {
		// Alone, the server is the data directory's: after a crash it takes its instances' leases back at once.
		abs, err := filepath.Abs(cfg.DataDir)
		if err != nil {
			return err
		}
		host, _ := os.Hostname()
		acfg.LeaseOwner = "alone:" + host + ":" + abs
	}
	system, err := actors.NewSystem(acfg, actors.SystemDeps{
		Logger: log.With("component", "actors"), DB: db.SQL(), Events: evlog, Vault: db.Vault(),
		Sessions: actorSessions{sessions}, Webhooks: cons.Webhooks, Leases: db, Cluster: node,
		CutOff: func() { cutOff(errCutOff) },
	})
	if err != nil {
		return err
	}
	running.Store(system)
	if err := system.Start(ctx); err != nil {
		return err
	}
	closers = append(closers, func() error {
		stopCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		system.Stop(stopCtx)
		return nil
	})

	guard, err := access.Open(ctx, db, access.Config{CancelGrace: cfg.CancelGrace, RefreshEvery: accessRefresh(cfg)}, db, system, log.With("component", "access"))
	if err != nil {
		return err
	}
	closers = append(closers, guard.Close)
	directory := actors.NewDirectory(db.SQL(), cons.View, cons.Webhooks, evlog)

	handler, err := httpapi.NewRouter(httpapi.Config{MediaLimits: cfg.MediaLimits, MediaURLs: mediaURLs,
		TrustedProxies: cfg.TrustedProxies, MetricsToken: cfg.MetricsToken, ClusterSecret: cfg.ClusterSecret}, httpapi.Deps{
		AdminAuth: guard, InstanceAuth: guard, Registry: instanceRegistry{system, guard}, Directory: directory,
		Pairing: system, Session: system, Connection: system, Sender: system, Reader: system, QueueView: system,
		QueueEditor: system, Webhooks: system, Accounts: system, Settings: system, Chats: cons.Chats, Health: db, Metrics: cons.MetricsHandler(), Media: files,
		ClientTokens: guard, IPAllowLists: guard, Subscriptions: guard,
		WebhookBacklog: cons.Webhooks, WebhookRedelivery: cons.Webhooks,
		CheckWebhookURL: webhooks.URLPolicy(cfg.AllowInsecureWebhooks).CheckURL,
		Logger:          log.With("component", "http"),
		Locator:         locator(system, node != nil),
		Live:            feed,
	})
	if err != nil {
		return err
	}
	var drain func(context.Context)
	if node != nil {
		drain = func(limit context.Context) {
			// A node cut off from the cluster has nothing to hand over: it leaves at once.
			if !errors.Is(context.Cause(ctx), errCutOff) {
				system.Drain(limit)
			}
		}
	}
	return serveAPI(ctx, cfg, ln, handler, drain, log)
}

// accessRefresh is how often a cluster node reloads the access policies other nodes may have changed.
func accessRefresh(cfg Config) time.Duration {
	if cfg.ClusterProvider == "" {
		return 0
	}
	return 2 * time.Second
}

// errCutOff stops a server that lost an instance's lease to another: it was counted out while paused or cut off.
var errCutOff = errors.New("another server took over an instance of this one (this one was paused or cut off longer than the lease): stopping, to start again afresh")

// locator is the cluster's: nil when the server runs alone.
func locator(s *actors.System, clustered bool) httpapi.Locator {
	if !clustered {
		return nil
	}
	return s
}

// serveAPI serves the API on ln until ctx ends, then runs drain (when set; the API still serves meanwhile), then
// lets requests in flight finish.
func serveAPI(ctx context.Context, cfg Config, ln net.Listener, handler http.Handler, drain func(context.Context), log *slog.Logger) error {
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("listening", "addr", ln.Addr().String())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	if drain != nil {
		drainCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		drain(drainCtx)
		cancel()
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shut down the API: %w", err)
	}
	return nil
}

// simulatorRedirect returns, when a simulator address is configured, what points every WhatsApp client at it.
// Trusting the simulator's root key makes this process unable to talk to the real WhatsApp, and anyone holding
// the (public) simulator key able to impersonate WhatsApp to it: hence the explicit setting and the warning.
func simulatorRedirect(addr string, log *slog.Logger) func(*whatsmeow.Client) {
	if addr == "" {
		return nil
	}
	simclient.TrustRoot()
	log.Warn("USING THE WHATSAPP SIMULATOR: its public test root key is trusted instead of WhatsApp's. "+
		"Never run production traffic like this.", "simulator", addr)
	return func(cli *whatsmeow.Client) { simclient.Configure(cli, addr) }
}

// simulatorHTTP is, when a simulator address is configured, an HTTP client pointed at the simulator as
// simulatorRedirect points whatsmeow: for the uploads whatsmeow does not make itself (product pictures), and
// the connections of linked devices (opened through a client the server gates, see whatsapp.MayConnect).
func simulatorHTTP(addr string) *http.Client {
	if addr == "" {
		return nil
	}
	return simclient.HTTPClient(addr)
}

// actorSessions gives the instance actors WhatsApp clients as the small interface they use.
type actorSessions struct{ *whatsapp.Sessions }

func (s actorSessions) Open(ctx context.Context, owner, deviceJID, sessionName string, handle whatsapp.Handler, may whatsapp.MayConnect) (actors.Conn, error) {
	conn, err := s.Sessions.Open(ctx, owner, deviceJID, sessionName, handle, may)
	if err != nil {
		return nil, err
	}
	return conn, nil
}

// instanceRegistry creates instances in the actor system and deletes them through access, which forgets their
// credentials and policies with them.
type instanceRegistry struct {
	*actors.System
	access *access.Control
}

func (r instanceRegistry) DeleteInstance(ctx context.Context, id string) error {
	return r.access.DeleteInstance(ctx, id)
}
