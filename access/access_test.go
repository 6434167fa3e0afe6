package access

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/plugzapi/plugzapi/actors"
	"github.com/plugzapi/plugzapi/events/eventstest"
	"github.com/plugzapi/plugzapi/store"
	"github.com/plugzapi/plugzapi/store/storetest"
)

// fakeInstances records what access asks of the instances.
type fakeInstances struct {
	mu        sync.Mutex
	suspended []string
}

func (f *fakeInstances) Suspend(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.suspended = append(f.suspended, id)
	return nil
}

func (f *fakeInstances) RestoreSession(context.Context, string) error { return actors.ErrNotLinked }

func (f *fakeInstances) Status(context.Context, string) (actors.Status, error) {
	return actors.Status{}, nil
}

func (f *fakeInstances) DeleteInstance(context.Context, string) error { return nil }

func (f *fakeInstances) Runs(string) bool { return true }

func (f *fakeInstances) suspensions() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.suspended)
}

type noAdmin struct{}

func (noAdmin) CheckAdminToken(context.Context, string) (bool, error) { return false, nil }

// TestPoliciesSurviveARestart: the Client-Token, an allow-list and a cancellation are written to the database
// (on the run's dialect) and read back by the next Open, which stops the cancelled instance again; removing
// them is durable too.
func TestPoliciesSurviveARestart(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t, store.Config{})
	id, err := store.NewInstanceID()
	if err != nil {
		t.Fatal(err)
	}
	_, token, err := store.CreateInstance(ctx, db.SQL(), id, "policies", "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	open := func() (*Control, *fakeInstances) {
		t.Helper()
		inst := &fakeInstances{}
		c, err := Open(ctx, db, Config{}, noAdmin{}, inst, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		t.Cleanup(func() { c.Close() })
		return c, inst
	}

	c, _ := open()
	if err := c.AuthenticateInstance(ctx, id, token); err != nil {
		t.Fatalf("the instance's token: %v", err)
	}
	if err := c.AuthenticateInstance(ctx, id, token+"0"); !errors.Is(err, actors.ErrInstanceNotFound) {
		t.Fatalf("a wrong token: %v, want ErrInstanceNotFound", err)
	}
	const clientToken = "client-token-0123456789"
	if err := c.SetClientToken(ctx, clientToken); err != nil {
		t.Fatal(err)
	}
	allowed := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")}
	if err := c.SetAllowedIPs(ctx, id, allowed); err != nil {
		t.Fatal(err)
	}
	deleteAt, err := c.Cancel(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()

	c, inst := open()
	if err := c.CheckClientToken(clientToken, true); err != nil {
		t.Errorf("the Client-Token after a restart: %v", err)
	}
	if err := c.CheckClientToken("another-token-0123456789", true); !errors.Is(err, ErrClientTokenInvalid) {
		t.Errorf("another Client-Token after a restart: %v, want ErrClientTokenInvalid", err)
	}
	if got, err := c.AllowedIPs(ctx, id); err != nil || !slices.Equal(got, allowed) {
		t.Errorf("the allow-list after a restart: %v, %v; want %v", got, err, allowed)
	}
	if err := c.CheckIP(id, netip.MustParseAddr("11.0.0.1")); !errors.Is(err, ErrIPNotAllowed) {
		t.Errorf("an address off the allow-list after a restart: %v", err)
	}
	if at, ok := c.Cancelled(id); !ok || !at.Equal(deleteAt) {
		t.Errorf("the cancellation after a restart: %v %v, want %v", at, ok, deleteAt)
	}
	if got := inst.suspensions(); !slices.Equal(got, []string{id}) {
		t.Errorf("instances stopped at start: %v, want the cancelled one", got)
	}

	if err := c.RemoveClientToken(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.SetAllowedIPs(ctx, id, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Subscribe(ctx, id); err != nil {
		t.Fatal(err)
	}
	c.Close()

	c, inst = open()
	if c.ClientTokenSet() {
		t.Error("a removed Client-Token is back after a restart")
	}
	if err := c.CheckIP(id, netip.MustParseAddr("11.0.0.1")); err != nil {
		t.Errorf("a removed allow-list still applies after a restart: %v", err)
	}
	if _, ok := c.Cancelled(id); ok || len(inst.suspensions()) != 0 {
		t.Errorf("an undone cancellation is back after a restart (stopped: %v)", inst.suspensions())
	}
}

// On a cluster each node holds the policies in memory: a change made through one node is enforced by the others
// once they reload (RefreshEvery).
func TestPolicyChangesReachTheOtherNodes(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	node := func() *Control {
		db := storetest.Open(t, store.Config{Dir: dir})
		c, err := Open(ctx, db, Config{RefreshEvery: 20 * time.Millisecond}, noAdmin{}, &fakeInstances{}, log)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	a, b := node(), node()
	if err := a.SetClientToken(ctx, "client-token-0123456789"); err != nil {
		t.Fatal(err)
	}
	eventstest.WaitFor(t, 5*time.Second, "the other node enforces the Client-Token", func() bool {
		return b.CheckClientToken("", false) != nil && b.CheckClientToken("client-token-0123456789", true) == nil
	})
}
