package wasim_test

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/plugzapi/plugzapi/wasim"
)

// simulatorGoroutines lists the stacks of goroutines running the simulator's own
// code (not the tests', not whatsmeow's).
func simulatorGoroutines() []string {
	buf := make([]byte, 1<<22)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "plugzapi/wasim.") && !strings.Contains(g, "wasim_test.") && !strings.Contains(g, "wasim.Test") {
			out = append(out, g)
		}
	}
	return out
}

// Close stops every goroutine the simulator started, including those of busy
// connections and of pending delayed acks.
func TestCloseStopsGoroutines(t *testing.T) {
	sim, err := wasim.Start(testContext(t), wasim.Options{Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	alice := addAccount(t, sim, "Alice")
	bob := addAccount(t, sim, "Bob")
	c := newClient(t, sim)
	dev := c.link(alice)
	if err := sim.DelayAcks(dev, time.Hour); err != nil {
		t.Fatal(err)
	}
	go func() {
		// Its ack never comes before Close; the send fails when the socket closes.
		_, _ = c.cli.SendMessage(testContext(t), bob.JID(), textMessage("pending"))
	}()
	eventually(t, "the message is routed", func() bool { return len(bob.Messages("")) == 1 })
	if len(simulatorGoroutines()) == 0 {
		t.Fatal("no simulator goroutines found while running: the check would prove nothing")
	}
	c.cli.Disconnect()
	if err := sim.Close(); err != nil {
		t.Fatal(err)
	}
	if err := sim.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	deadline := time.Now().Add(waitTimeout)
	for {
		left := simulatorGoroutines()
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d simulator goroutines outlived Close:\n%s", len(left), strings.Join(left, "\n\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := sim.AddAccount(testContext(t), newPhone(), "Late"); err == nil {
		t.Error("AddAccount after Close succeeded")
	}
}
