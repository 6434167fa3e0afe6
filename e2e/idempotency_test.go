package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/plugzapi/plugzapi/wasim"
)

// sendKeyed sends a text with an Idempotency-Key and returns the answer.
func sendKeyed(t testing.TB, in instance, key, phone, text string) response {
	t.Helper()
	return in.srv.call(t, "POST", in.path("send-text"), map[string]any{"phone": phone, "message": text},
		"Idempotency-Key", key)
}

// queuedIDs decodes a send route's answer, which must be a 200 with the message's IDs.
func queuedIDs(t testing.TB, res response) (ids struct{ ZaapID, MessageID, ID string }) {
	t.Helper()
	if res.status != http.StatusOK {
		t.Fatalf("send: %s", res)
	}
	res.decode(t, &ids)
	if ids.ZaapID == "" || ids.MessageID == "" || ids.ID != ids.MessageID {
		t.Fatalf("send answered %s", res.body)
	}
	return ids
}

// wantInbox waits for a last message sent without a key (it comes after everything queued before it) and then
// checks that the contact has exactly the texts want, in order, each once, plus that last one.
func wantInbox(t *testing.T, sim *wasim.Simulator, in instance, contact *wasim.Account, want ...string) {
	t.Helper()
	last := sendText(t, in, contact.Phone(), "the last one")
	waitMessage(t, contact, last)
	var got []string
	for _, m := range contact.Messages("") {
		got = append(got, m.Text)
		if d := sim.Deliveries(m.ID); d != 1 {
			t.Errorf("message %s %q was delivered %d times", m.ID, m.Text, d)
		}
	}
	if want = append(want, "the last one"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("the contact has %q, want %q", got, want)
	}
}

// TestIdempotencyKey: a retry with the same key gets the same IDs and queues nothing; the key with another
// body is refused.
func TestIdempotencyKey(t *testing.T) {
	sim := startSimulator(t)
	business := addAccount(t, sim, businessPhone, "Business")
	alice := addAccount(t, sim, alicePhone, "Alice")
	srv := startServer(t, sim)
	in := createInstance(t, srv, "idempotent", nil)
	link(t, in, business)

	first := sendKeyed(t, in, "order-42", alicePhone, "your order shipped")
	ids := queuedIDs(t, first)
	waitMessage(t, alice, ids.MessageID)
	again := sendKeyed(t, in, "order-42", alicePhone, "your order shipped")
	if again.status != first.status || string(again.body) != string(first.body) {
		t.Errorf("the retry answered %s, want %s", again, first)
	}
	var e struct{ Error, Code string }
	other := sendKeyed(t, in, "order-42", alicePhone, "another text")
	if other.decode(t, &e); other.status != http.StatusUnprocessableEntity || e.Code != "idempotency_key_reused" || e.Error == "" {
		t.Errorf("the key with another body answered %s, want 422 idempotency_key_reused", other)
	}
	wantInbox(t, sim, in, alice, "your order shipped")
}

// TestIdempotencyKeyAcrossACrash: the keys of accepted messages survive a kill -9 (they are in the messages'
// events): after the restart a retry gets the first IDs and the contact has each message once.
func TestIdempotencyKeyAcrossACrash(t *testing.T) {
	sim := startSimulator(t)
	business := addAccount(t, sim, businessPhone, "Business")
	alice := addAccount(t, sim, alicePhone, "Alice")
	srv := startServer(t, sim, withEnv("PLUGZAPI_SEND_DELAY", "200ms"))
	in := createInstance(t, srv, "idempotent-crash", nil)
	link(t, in, business)

	const n = 5
	var texts []string
	answers := map[string]response{}
	for i := range n {
		key, text := fmt.Sprint("crash-key-", i), fmt.Sprint("keyed message ", i)
		res := sendKeyed(t, in, key, alicePhone, text)
		queuedIDs(t, res)
		answers[key] = res
		texts = append(texts, text)
	}
	srv.kill()
	if got := len(alice.Messages("")); got == n {
		t.Fatalf("all %d messages were sent before the crash: the test proves nothing", n)
	}
	srv.start()

	for i := range n {
		key := fmt.Sprint("crash-key-", i)
		res := sendKeyed(t, in, key, alicePhone, texts[i])
		if res.status != answers[key].status || string(res.body) != string(answers[key].body) {
			t.Errorf("the retry of %s after the crash answered %s, want %s", key, res, answers[key])
		}
	}
	if res := sendKeyed(t, in, "crash-key-0", alicePhone, "another text"); res.status != http.StatusUnprocessableEntity {
		t.Errorf("the key with another body after the crash answered %s, want 422", res)
	}
	eventually(t, 30*time.Second, "every message received", func() error {
		if got := len(alice.Messages("")); got < n {
			return fmt.Errorf("%d of %d received", got, n)
		}
		return nil
	})
	wantInbox(t, sim, in, alice, texts...)
}
