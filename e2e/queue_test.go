package e2e

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

type queued struct {
	ID           string `json:"_id"`
	ZaapID       string `json:"ZaapId"`
	MessageID    string `json:"MessageId"`
	Phone        string `json:"Phone"`
	Message      string `json:"Message"`
	DelayMessage int    `json:"DelayMessage"`
	DelayTyping  int    `json:"DelayTyping"`
	Created      int64  `json:"Created"`
	InstanceID   string `json:"InstanceId"`
}

func queueOf(t *testing.T, in instance) []queued {
	t.Helper()
	res := in.call(t, "GET", "queue", nil)
	if res.status != http.StatusOK {
		t.Fatalf("queue: %s", res)
	}
	var q []queued
	res.decode(t, &q)
	return q
}

func queueCount(t *testing.T, in instance) int {
	t.Helper()
	var c struct{ Count int }
	res := in.call(t, "GET", "queue/count", nil)
	if res.status != http.StatusOK {
		t.Fatalf("queue count: %s", res)
	}
	res.decode(t, &c)
	return c.Count
}

// TestQueueWhileDisconnected: messages sent to an instance that is not connected wait in its queue, where they
// can be listed, counted and removed; the ones left go out, in order, once the instance connects.
func TestQueueWhileDisconnected(t *testing.T) {
	sim := startSimulator(t)
	business := addAccount(t, sim, businessPhone, "Business")
	alice := addAccount(t, sim, alicePhone, "Alice")
	srv := startServer(t, sim)
	in := createInstance(t, srv, "queue", nil)

	var ids []string
	for i := range 5 {
		res := in.call(t, "POST", "send-text", map[string]any{"phone": alicePhone, "message": fmt.Sprintf("waiting %d", i), "delayTyping": 1})
		if res.status != http.StatusOK {
			t.Fatalf("send-text: %s", res)
		}
		var q struct{ MessageID string }
		res.decode(t, &q)
		ids = append(ids, q.MessageID)
	}
	q := queueOf(t, in)
	if len(q) != 5 || queueCount(t, in) != 5 {
		t.Fatalf("queue has %d (count %d), want 5", len(q), queueCount(t, in))
	}
	for i, item := range q {
		if item.MessageID != ids[i] || item.Message != fmt.Sprintf("waiting %d", i) || item.Phone != alicePhone ||
			item.ID != item.ZaapID || item.InstanceID != in.id || item.DelayTyping != 1 || item.Created == 0 {
			t.Errorf("queue item %d = %+v", i, item)
		}
	}

	if res := in.call(t, "DELETE", "queue/"+q[1].ZaapID, nil); res.status != http.StatusOK {
		t.Fatalf("delete one: %s", res)
	}
	if res := in.call(t, "DELETE", "queue/"+q[1].ZaapID, nil); res.status != http.StatusNotFound {
		t.Errorf("deleting it again: %s, want 404", res)
	}
	if got := queueCount(t, in); got != 4 {
		t.Fatalf("count after deleting one = %d, want 4", got)
	}

	link(t, in, business)
	want := []string{ids[0], ids[2], ids[3], ids[4]}
	for _, id := range want {
		waitMessage(t, alice, id)
	}
	inbox := alice.Messages("")
	if len(inbox) != len(want) {
		t.Fatalf("Alice has %d messages, want %d", len(inbox), len(want))
	}
	for i, m := range inbox {
		if m.ID != want[i] {
			t.Errorf("message %d is %s, want %s (order)", i, m.ID, want[i])
		}
	}
	waitQueueEmpty(t, in)
}

// waitQueueEmpty waits until the instance's queue is empty. A contact's phone can have the last message a moment
// before the instance hears WhatsApp's ack of it, which takes the message off the queue.
func waitQueueEmpty(t *testing.T, in instance) {
	t.Helper()
	eventually(t, 10*time.Second, "the queue empties", func() error {
		if got := queueCount(t, in); got != 0 {
			return fmt.Errorf("queue count = %d", got)
		}
		return nil
	})
}

// TestClearQueue empties the queue of a disconnected instance.
func TestClearQueue(t *testing.T) {
	sim := startSimulator(t)
	srv := startServer(t, sim)
	in := createInstance(t, srv, "clear", nil)
	for i := range 3 {
		sendText(t, in, alicePhone, fmt.Sprintf("to be cleared %d", i))
	}
	if res := in.call(t, "DELETE", "queue", nil); res.status != http.StatusOK {
		t.Fatalf("clear: %s", res)
	}
	if got := len(queueOf(t, in)); got != 0 {
		t.Errorf("queue has %d after clearing", got)
	}
}

// TestQueueCapWhileDisconnected: a disconnected instance holds 1000 messages and refuses the next one with a
// clear 4xx error.
func TestQueueCapWhileDisconnected(t *testing.T) {
	sim := startSimulator(t)
	srv := startServer(t, sim)
	in := createInstance(t, srv, "cap", nil)
	const limit = 1000
	var wg sync.WaitGroup
	errs := make(chan string, limit)
	work := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range work {
				res := in.call(t, "POST", "send-text", map[string]any{"phone": alicePhone, "message": fmt.Sprint("m", i)})
				if res.status != http.StatusOK {
					errs <- res.String()
				}
			}
		})
	}
	for i := range limit {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatalf("queueing within the limit failed: %s", e)
	}
	res := in.call(t, "POST", "send-text", map[string]any{"phone": alicePhone, "message": "one too many"})
	var body struct{ Error, Code string }
	res.decode(t, &body)
	if res.status != http.StatusTooManyRequests || body.Code != "queue_full" || body.Error == "" {
		t.Errorf("message %d: %s, want 429 queue_full", limit+1, res)
	}
	if got := queueCount(t, in); got != limit {
		t.Errorf("queue count = %d, want %d", got, limit)
	}
}
