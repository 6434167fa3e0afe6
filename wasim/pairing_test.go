package wasim_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"go.mau.fi/whatsmeow/util/keys"

	"github.com/plugzapi/plugzapi/wasim"
	"github.com/plugzapi/plugzapi/wasim/simclient"
)

func TestQRPairing(t *testing.T) {
	sim := startSim(t, wasim.Options{QRRefs: 3})
	alice := addAccount(t, sim, "Alice")
	c := newClient(t, sim)

	ctx := testContext(t)
	qr, err := c.cli.GetQRChannel(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cli.Connect(); err != nil {
		t.Fatal(err)
	}
	qrEvt := waitEvent[*events.QR](c, 0, nil)
	if len(qrEvt.Codes) != 3 {
		t.Errorf("client shows %d QR codes, want the 3 refs offered", len(qrEvt.Codes))
	}
	item := <-qr
	// Any of the offered codes links; scan the last one, as after two rotations.
	dev, err := alice.ScanQR(ctx, qrEvt.Codes[2])
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	ps := waitEvent[*events.PairSuccess](c, 0, nil)
	waitEvent[*events.Connected](c, 0, nil)
	if ps.ID != dev || ps.Platform != "android" {
		t.Errorf("pair success %+v, want device %s on android", ps, dev)
	}
	if ps.LID.Server != types.HiddenUserServer || ps.LID.User != alice.LID().User || ps.LID.Device != dev.Device {
		t.Errorf("pair success LID %s, want %s:%d@lid", ps.LID, alice.LID().User, dev.Device)
	}
	if got := *c.cli.Store.ID; got != dev {
		t.Errorf("client stored id %s, want %s", got, dev)
	}
	// <success lid> must equal the pair-success LID, or whatsmeow drops its stored LID.
	if c.cli.Store.LID != ps.LID {
		t.Errorf("client LID after login %s, want %s", c.cli.Store.LID, ps.LID)
	}
	if !slices.Contains(sim.Devices(alice.Phone()), dev) || !sim.Online(dev) {
		t.Errorf("device %s not linked and online: %v", dev, sim.Devices(alice.Phone()))
	}
	if item.Event != whatsmeow.QRChannelEventCode || item.Code != qrEvt.Codes[0] {
		t.Errorf("qr channel item %+v, want the first code", item)
	}
	select {
	case next := <-qr:
		if next != whatsmeow.QRChannelSuccess {
			t.Errorf("qr channel after pairing: %+v, want success", next)
		}
	case <-time.After(waitTimeout):
		t.Error("qr channel never reported success")
	}

	// The same QR cannot be used twice, and garbage is rejected.
	if _, err := alice.ScanQR(ctx, qrEvt.Codes[0]); !errors.Is(err, wasim.ErrNoPendingPairing) {
		t.Errorf("second scan: %v, want ErrNoPendingPairing", err)
	}
	if _, err := alice.ScanQR(ctx, "not,a,qr"); !errors.Is(err, wasim.ErrInvalidQR) {
		t.Errorf("garbage scan: %v, want ErrInvalidQR", err)
	}
}

func TestPhoneCodePairing(t *testing.T) {
	sim := startSim(t, wasim.Options{})
	alice := addAccount(t, sim, "Alice")
	ctx := testContext(t)

	t.Run("right code", func(t *testing.T) {
		c := newClient(t, sim)
		c.connectForQR()
		code, err := c.cli.PairPhone(ctx, "+"+alice.Phone(), true, whatsmeow.PairClientChrome, "Chrome (Linux)")
		if err != nil {
			t.Fatalf("pair phone: %v", err)
		}
		dev, err := alice.EnterCode(ctx, code)
		if err != nil {
			t.Fatalf("enter code: %v", err)
		}
		ps := waitEvent[*events.PairSuccess](c, 0, nil)
		waitEvent[*events.Connected](c, 0, nil)
		if ps.ID != dev || dev.User != alice.Phone() {
			t.Errorf("paired as %s, EnterCode says %s", ps.ID, dev)
		}
	})

	t.Run("wrong code", func(t *testing.T) {
		c := newClient(t, sim)
		c.connectForQR()
		code, err := c.cli.PairPhone(ctx, alice.Phone(), false, whatsmeow.PairClientChrome, "Chrome (Linux)")
		if err != nil {
			t.Fatalf("pair phone: %v", err)
		}
		wrong := "ABCD-EFGH"
		if code == wrong {
			wrong = "HGFE-DCBA"
		}
		if _, err := alice.EnterCode(ctx, wrong); !errors.Is(err, wasim.ErrWrongCode) {
			t.Fatalf("enter wrong code: %v, want ErrWrongCode", err)
		}
		c.never(0, 300*time.Millisecond, "pairing with a wrong code", func(e any) bool {
			_, ok := e.(*events.PairSuccess)
			return ok
		})
	})

	t.Run("unregistered number", func(t *testing.T) {
		c := newClient(t, sim)
		c.connectForQR()
		_, err := c.cli.PairPhone(ctx, "5511900099999", false, whatsmeow.PairClientChrome, "Chrome (Linux)")
		var iqErr *whatsmeow.IQError
		if !errors.As(err, &iqErr) || iqErr.Code != 404 {
			t.Fatalf("pair phone with an unregistered number: %v, want IQ error 404", err)
		}
	})

	t.Run("no pending request", func(t *testing.T) {
		bob := addAccount(t, sim, "Bob")
		if _, err := bob.EnterCode(ctx, "ABCD-EFGH"); !errors.Is(err, wasim.ErrNoPendingPairing) {
			t.Fatalf("enter code without a request: %v, want ErrNoPendingPairing", err)
		}
		if _, err := bob.EnterCode(ctx, "not a code"); !errors.Is(err, wasim.ErrInvalidCode) {
			t.Fatalf("enter malformed code: %v, want ErrInvalidCode", err)
		}
	})
}

func TestReloginAfterDisconnect(t *testing.T) {
	sim := startSim(t, wasim.Options{})
	alice := addAccount(t, sim, "Alice")
	c := newClient(t, sim)
	dev := c.link(alice)

	c.cli.Disconnect()
	eventually(t, "the simulator sees the device offline", func() bool { return !sim.Online(dev) })
	from := c.mark()
	if err := c.cli.Connect(); err != nil {
		t.Fatalf("reconnect: %v", err)
	}
	waitEvent[*events.Connected](c, from, nil)
	if !sim.Online(dev) {
		t.Error("device not online after logging in again")
	}
}

func TestLoginRefused(t *testing.T) {
	sim := startSim(t, wasim.Options{})
	alice := addAccount(t, sim, "Alice")

	loggedOut := func(c *client, from int) {
		t.Helper()
		lo := waitEvent[*events.LoggedOut](c, from, nil)
		if !lo.OnConnect || lo.Reason != events.ConnectFailureLoggedOut {
			t.Errorf("logged out %+v, want on connect with 401", lo)
		}
	}

	t.Run("unlinked device", func(t *testing.T) {
		c := newClient(t, sim)
		dev := c.link(alice)
		c.cli.Disconnect()
		if err := sim.Unlink(dev); err != nil {
			t.Fatal(err)
		}
		from := c.mark()
		if err := c.cli.Connect(); err != nil {
			t.Fatal(err)
		}
		loggedOut(c, from)
	})

	t.Run("device unknown to this simulator", func(t *testing.T) {
		c := newClient(t, sim)
		c.link(alice)
		c.cli.Disconnect()
		other := startSim(t, wasim.Options{})
		simclient.Configure(c.cli, other.Addr())
		from := c.mark()
		if err := c.cli.Connect(); err != nil {
			t.Fatal(err)
		}
		loggedOut(c, from)
	})

	t.Run("wrong noise key", func(t *testing.T) {
		c := newClient(t, sim)
		dev := c.link(alice)
		c.cli.Disconnect()
		c.cli.Store.NoiseKey = keys.NewKeyPair()
		from := c.mark()
		if err := c.cli.Connect(); err != nil {
			t.Fatal(err)
		}
		loggedOut(c, from)
		// The real device is still linked: only the impostor was refused.
		if !slices.Contains(sim.Devices(alice.Phone()), dev) {
			t.Error("device unlinked by a login with the wrong noise key")
		}
	})
}

func TestLogout(t *testing.T) {
	sim := startSim(t, wasim.Options{})
	alice := addAccount(t, sim, "Alice")
	c := newClient(t, sim)
	dev := c.link(alice)
	if err := c.cli.Logout(testContext(t)); err != nil {
		t.Fatalf("logout: %v", err)
	}
	if slices.Contains(sim.Devices(alice.Phone()), dev) {
		t.Errorf("device %s still linked after logout", dev)
	}
}
