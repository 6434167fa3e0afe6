package e2e

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestTwoWayTraffic: once the instance and Alice have a session, the instance sends her 60 texts through the API
// while her phone sends it 60, both as fast as they go; twice, on the client that linked the device and on the
// one a restart builds (they take turns at the device's sessions differently, see whatsapp/turns.go). Every text
// Alice sent reaches the ReceivedCallback exactly once, with its content, and none had to wait for a retry (a
// ratchet step lost on either side shows up as a message the other cannot decrypt, or ignores as a repeated
// counter); every text the instance sent reaches Alice's phone. Then a message from Alice under a counter she
// used before is asked for again, not dropped.
func TestTwoWayTraffic(t *testing.T) {
	const each = 60
	sim := startSimulator(t)
	business := addAccount(t, sim, businessPhone, "Business")
	alice := addAccount(t, sim, alicePhone, "Alice")
	hooks := newReceiver(t)
	srv := startServer(t, sim)
	in := createInstance(t, srv, "twoway", hooks)
	link(t, in, business)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// One message each way first, one after the other. Both sides starting their session at once is left out:
	// each then holds two sessions with the other, and libsignal-go (v0.2.1) tries a message on the current one
	// before the older ones, keeping what the failed try changed, which spoils sessions under crossing traffic.
	toAlice := []string{sendText(t, in, alicePhone, "to Alice 0")}
	waitMessage(t, alice, toAlice[0])
	first, err := alice.SendText(ctx, businessPhone, "from Alice 0", "")
	if err != nil {
		t.Fatalf("Alice answers: %v", err)
	}
	fromAlice := []string{first}
	eventually(t, 30*time.Second, "Alice's answer received", func() error { return receivedOnce(hooks, fromAlice) })

	crossing := func(t *testing.T) {
		var wg sync.WaitGroup
		sent := make([]string, each)
		base := len(toAlice)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				res := in.call(t, "POST", "send-text", map[string]any{"phone": alicePhone, "message": fmt.Sprintf("to Alice %d", base+i)})
				if res.status != http.StatusOK {
					t.Errorf("send-text %d: %s", i, res)
					return
				}
				var q struct{ MessageID string }
				res.decode(t, &q)
				sent[i] = q.MessageID
			}
		}()
		for range each {
			id, err := alice.SendText(ctx, businessPhone, fmt.Sprintf("from Alice %d", len(fromAlice)), "")
			if err != nil {
				t.Fatalf("Alice sends: %v", err)
			}
			fromAlice = append(fromAlice, id)
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		toAlice = append(toAlice, sent...)
		eventually(t, 30*time.Second, "every message on its other side", func() error {
			err := receivedOnce(hooks, fromAlice)
			var undelivered []int
			for i, id := range toAlice {
				if got, _ := findMessage(alice, id); got.Text != fmt.Sprintf("to Alice %d", i) {
					undelivered = append(undelivered, i)
				}
			}
			if len(undelivered) > 0 {
				return fmt.Errorf("%v; the instance's texts not on Alice's phone %v", err, undelivered)
			}
			return err
		})
	}
	t.Run("the client that linked", crossing)
	srv.restart()
	waitConnected(t, in)
	t.Run("after a restart", crossing)

	// A phone restored from a backup sends under counters it used before. The instance does not take such a
	// message for one it already has (it would acknowledge it unseen): it reports it waiting and asks for it
	// again, and gets it.
	before, err := alice.SendTextRewound(ctx, businessPhone, "before the backup")
	if err != nil {
		t.Fatal(err)
	}
	after, err := alice.SendText(ctx, businessPhone, "after the backup", "")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the message under a used counter", func() error {
		got := map[string]int{}
		for _, h := range hooks.hooks() {
			if id := h.str("messageId"); h.Type == "ReceivedCallback" && (id == before || id == after) {
				text, _ := h.Body["text"].(map[string]any)
				got[fmt.Sprint(id, "/", h.Body["waitingMessage"], "/", text["message"])]++
			}
		}
		if got[before+"/false/before the backup"] != 1 || got[after+"/true/<nil>"] != 1 || got[after+"/false/after the backup"] != 1 {
			return fmt.Errorf("received %v", got)
		}
		return nil
	})
}

// receivedOnce checks that each of Alice's messages (the i-th says "from Alice i") reached the
// ReceivedCallback exactly once with its text, and that no message of hers was reported waiting for a retry.
func receivedOnce(hooks *receiver, ids []string) error {
	received := map[string]int{}
	var waiting []string
	for _, h := range hooks.hooks() {
		if h.Type != "ReceivedCallback" {
			continue
		}
		if h.Body["waitingMessage"] == true {
			waiting = append(waiting, h.str("messageId"))
			continue
		}
		text, _ := h.Body["text"].(map[string]any)
		received[h.str("messageId")+"/"+fmt.Sprint(text["message"])]++
	}
	var missing, twice []int
	for i, id := range ids {
		switch received[fmt.Sprintf("%s/from Alice %d", id, i)] {
		case 0:
			missing = append(missing, i)
		case 1:
		default:
			twice = append(twice, i)
		}
	}
	if len(missing)+len(twice)+len(waiting) > 0 {
		return fmt.Errorf("Alice's texts not received %v, received more than once %v; reported waiting for a retry %v",
			missing, twice, waiting)
	}
	return nil
}
