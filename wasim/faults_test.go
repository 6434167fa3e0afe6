package wasim_test

import (
	"slices"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/plugzapi/plugzapi/wasim"
)

func TestConnectionFaults(t *testing.T) {
	sim := startSim(t, wasim.Options{StreamErrorGrace: 100 * time.Millisecond})
	alice := addAccount(t, sim, "Alice")

	reconnects := func(t *testing.T, fault func(dev types.JID) error, wantDisconnected bool) {
		c := newClient(t, sim)
		dev := c.link(alice)
		// Its welcome acknowledged first: an ack in flight at the fault races in whatsmeow (see settleThenDisconnect).
		eventually(t, "the device acknowledged its welcome", func() bool { return !busy(alice, dev) })
		from := c.mark()
		if err := fault(dev); err != nil {
			t.Fatal(err)
		}
		if wantDisconnected {
			waitEvent[*events.Disconnected](c, from, nil)
		}
		waitEvent[*events.Connected](c, from, nil)
		eventually(t, "the device is online again", func() bool { return sim.Online(dev) })
	}

	t.Run("drop", func(t *testing.T) {
		reconnects(t, func(dev types.JID) error { return sim.Drop(dev) }, true)
	})
	t.Run("503", func(t *testing.T) {
		reconnects(t, func(dev types.JID) error { return sim.StreamError(dev, "503") }, true)
	})
	t.Run("515", func(t *testing.T) {
		// 515 asks for an immediate reconnect, which whatsmeow does without a
		// Disconnected event.
		reconnects(t, func(dev types.JID) error { return sim.StreamError(dev, "515") }, false)
	})

	t.Run("replaced", func(t *testing.T) {
		c := newClient(t, sim)
		dev := c.link(alice)
		from := c.mark()
		if err := sim.StreamError(dev, "replaced"); err != nil {
			t.Fatal(err)
		}
		waitEvent[*events.StreamReplaced](c, from, nil)
		c.never(from, 500*time.Millisecond, "a reconnect after being replaced", func(e any) bool {
			_, ok := e.(*events.Connected)
			return ok
		})
		if !slices.Contains(sim.Devices(alice.Phone()), dev) {
			t.Error("a replaced device must stay linked")
		}
	})

	t.Run("device removed", func(t *testing.T) {
		c := newClient(t, sim)
		dev := c.link(alice)
		from := c.mark()
		if err := sim.StreamError(dev, "device_removed"); err != nil {
			t.Fatal(err)
		}
		lo := waitEvent[*events.LoggedOut](c, from, nil)
		if lo.OnConnect || lo.Reason != events.ConnectFailureLoggedOut {
			t.Errorf("logged out %+v, want a stream error 401", lo)
		}
		if slices.Contains(sim.Devices(alice.Phone()), dev) {
			t.Error("removed device is still linked")
		}
	})

	t.Run("unlink while connected", func(t *testing.T) {
		c := newClient(t, sim)
		dev := c.link(alice)
		from := c.mark()
		if err := sim.Unlink(dev); err != nil {
			t.Fatal(err)
		}
		waitEvent[*events.LoggedOut](c, from, nil)
	})

	t.Run("newer login replaces the older connection", func(t *testing.T) {
		c := newClient(t, sim)
		dev := c.link(alice)
		// A second process with the same session (a restarted server whose old
		// connection still looks alive) logs in: the old connection is replaced.
		twin := reopen(t, sim, c)
		from := c.mark()
		before := sim.Replacements()
		if err := twin.cli.Connect(); err != nil {
			t.Fatal(err)
		}
		waitEvent[*events.Connected](twin, 0, nil)
		waitEvent[*events.StreamReplaced](c, from, nil)
		if n := sim.Replacements() - before; n != 1 {
			t.Errorf("replacements counted %d, want 1", n)
		}
		if !sim.Online(dev) {
			t.Error("device offline after the newer login")
		}
	})
}

func TestFailedLogins(t *testing.T) {
	sim := startSim(t, wasim.Options{StreamErrorGrace: 100 * time.Millisecond})
	alice := addAccount(t, sim, "Alice")
	for _, tc := range []struct {
		name    string
		failure wasim.LoginFailure
		check   func(t *testing.T, c *client, from int)
		linked  bool
	}{
		{"401 logged out", wasim.LoginFailure{Reason: 401}, func(t *testing.T, c *client, from int) {
			lo := waitEvent[*events.LoggedOut](c, from, nil)
			if !lo.OnConnect || lo.Reason != events.ConnectFailureLoggedOut {
				t.Errorf("got %+v", lo)
			}
		}, false},
		{"403 main device gone", wasim.LoginFailure{Reason: 403}, func(t *testing.T, c *client, from int) {
			lo := waitEvent[*events.LoggedOut](c, from, nil)
			if !lo.OnConnect || lo.Reason != events.ConnectFailureMainDeviceGone {
				t.Errorf("got %+v", lo)
			}
		}, false},
		{"405 client outdated", wasim.LoginFailure{Reason: 405}, func(t *testing.T, c *client, from int) {
			waitEvent[*events.ClientOutdated](c, from, nil)
		}, true},
		{"402 temporary ban", wasim.LoginFailure{Reason: 402, BanCode: 102, Expire: 90 * time.Minute}, func(t *testing.T, c *client, from int) {
			ban := waitEvent[*events.TemporaryBan](c, from, nil)
			if ban.Code != events.TempBanBlockedByUsers || ban.Expire != 90*time.Minute {
				t.Errorf("got %+v", ban)
			}
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t, sim)
			dev := c.link(alice)
			if err := sim.FailNextLogin(dev, tc.failure); err != nil {
				t.Fatal(err)
			}
			from := c.mark()
			if err := sim.Drop(dev); err != nil {
				t.Fatal(err)
			}
			tc.check(t, c, from)
			if got := slices.Contains(sim.Devices(alice.Phone()), dev); got != tc.linked {
				t.Errorf("device linked after the failure: %v, want %v", got, tc.linked)
			}
		})
	}
}
