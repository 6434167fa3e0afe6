package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestCrashAtFullIntake sends 10,000 texts to one linked instance from concurrent clients as fast as the
// server takes them, with no pause between sends, and kills the server (SIGKILL) several times meanwhile —
// while it takes requests and while it sends — restarting it each time. A request that got no answer is
// retried with its Idempotency-Key, as a client should, so that one whose answer died with the server (or was
// lost on the way: one in lostAnswerEvery) is not queued twice. In the end every accepted message reached the contact exactly once, with the ID it was given,
// and each client's messages arrived in the order they were accepted.
func TestCrashAtFullIntake(t *testing.T) {
	const clients = 16
	total := 10_000
	if raceEnabled {
		// The race detector slows the server and the simulated phones that decrypt every message about
		// eightfold: 10,000 messages would take half an hour to deliver (see crashIntakeRace).
		total = crashIntakeRace
	}
	sim := startSimulator(t)
	business := addAccount(t, sim, businessPhone, "Business")
	alice := addAccount(t, sim, alicePhone, "Alice")
	srv := startServer(t, sim, withEnv("PLUGZAPI_MAX_QUEUE_OFFLINE", fmt.Sprint(total)))
	in := createInstance(t, srv, "full-intake", nil)
	link(t, in, business)

	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	// accepted[c][i] is the messageId client c was given for its message i.
	accepted := make([][]string, clients)
	var acceptedCount, retries atomic.Int64
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }() // the clients stop with the test, however it ends
	for c := range clients {
		wg.Go(func() {
			client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			defer client.CloseIdleConnections()
			for i := c; i < total; i += clients {
				loseFirstAnswer := i%lostAnswerEvery == c
				id, err := sendRetrying(ctx, client, func() *server { return srv }, in, fmt.Sprintf("c%02d-m%05d", c, i),
					fmt.Sprintf("client %02d message %05d", c, i), loseFirstAnswer, &retries)
				if err != nil {
					if ctx.Err() == nil { // else the test has failed already, or its intake timed out
						t.Errorf("client %d, message %d: %v", c, i, err)
					}
					return
				}
				accepted[c] = append(accepted[c], id)
				acceptedCount.Add(1)
			}
		})
	}
	start := time.Now()
	intakeDone := make(chan struct{})
	go func() { wg.Wait(); close(intakeDone) }()

	// delivered counts the contact's messages, reading only those that arrived since it last looked: the
	// inbox is long, and copying it all at every poll would slow the simulator down.
	var seenInbox int
	var lastSeen string
	delivered := func() int {
		fresh := alice.Messages(lastSeen)
		if len(fresh) > 0 {
			seenInbox += len(fresh)
			lastSeen = fresh[len(fresh)-1].ID
		}
		return seenInbox
	}

	// Kill while the clients send (at a fraction of the messages accepted), and once more after them, each time
	// only once the instance has been sending again since the last start.
	deliveredAtStart := 0
	crash := func(when string) {
		eventually(t, 2*time.Minute, "sending resumes after a start", func() error {
			if n := delivered(); n <= deliveredAtStart {
				return fmt.Errorf("%d delivered, as many as at the last start", n)
			}
			return nil
		})
		srv.kill()
		n := delivered()
		t.Logf("killed %s: %d accepted, %d delivered", when, acceptedCount.Load(), n)
		if n >= total {
			t.Fatalf("every message was delivered before the kill %s: the test proves nothing", when)
		}
		srv.start()
		deliveredAtStart = n
	}
	for _, fraction := range []float64{0.2, 0.5, 0.8} {
		eventually(t, 2*time.Minute, "intake progresses", func() error {
			if n := acceptedCount.Load(); n < int64(fraction*float64(total)) {
				return fmt.Errorf("%d accepted", n)
			}
			return nil
		})
		crash(fmt.Sprintf("at %.0f%% of intake", 100*fraction))
	}
	select {
	case <-intakeDone:
	case <-ctx.Done():
		t.Fatalf("the clients did not finish: %d accepted", acceptedCount.Load())
	}
	if t.Failed() {
		return
	}
	t.Logf("intake done in %s", time.Since(start).Round(time.Millisecond))
	crash("after intake, while sending")

	eventually(t, 10*time.Minute, "every message delivered", func() error {
		if n := delivered(); n < total {
			return fmt.Errorf("%d of %d delivered", n, total)
		}
		return nil
	})
	t.Logf("every message delivered %s after the first was sent; %d requests retried",
		time.Since(start).Round(time.Millisecond), retries.Load())

	inbox := alice.Messages("")
	if len(inbox) != total {
		t.Errorf("the contact has %d messages, want exactly %d", len(inbox), total)
	}
	type origin struct{ client, order int }
	byID := map[string]origin{}
	for c, ids := range accepted {
		for i, id := range ids {
			byID[id] = origin{c, i}
		}
	}
	seen := map[string]bool{}
	next := make([]int, clients) // the order of each client's next expected message
	for _, m := range inbox {
		o, ok := byID[m.ID]
		switch {
		case !ok:
			t.Errorf("the contact has %s %q, which no client was given", m.ID, m.Text)
		case seen[m.ID]:
			t.Errorf("the contact has %s %q twice", m.ID, m.Text)
		case o.order != next[o.client]:
			t.Errorf("client %d's message %d (%s) arrived when its message %d was due", o.client, o.order, m.ID, next[o.client])
		case m.Text != fmt.Sprintf("client %02d message %05d", o.client, o.client+o.order*clients):
			t.Errorf("message %s has text %q, not client %d's message %d", m.ID, m.Text, o.client, o.order)
		}
		seen[m.ID] = true
		if ok && o.order == next[o.client] {
			next[o.client]++
		}
	}
	for c, n := range next {
		if n != len(accepted[c]) {
			t.Errorf("client %d's messages from its message %d on did not arrive in order, or at all", c, n)
		}
	}
	for _, m := range inbox {
		if d := sim.Deliveries(m.ID); d != 1 {
			t.Errorf("message %s was delivered %d times", m.ID, d)
		}
	}
}

// crashIntakeRace is how many messages TestCrashAtFullIntake sends under the race detector (make test).
const crashIntakeRace = 750

// lostAnswerEvery: one message in so many has its first answer lost on the way back (the client drops it and
// retries), besides the answers the kills lose — those are few, since a request is durable only a moment
// before it is answered.
const lostAnswerEvery = 50

// sendRetrying posts a text with an Idempotency-Key until a server answers it, to the server pick gives for
// each attempt: a request that got no answer (the server died, or is restarting, or loseFirstAnswer dropped
// it), a 503 or a 504 is sent again with the same key. It returns the messageId.
func sendRetrying(ctx context.Context, client *http.Client, pick func() *server, in instance, key, text string,
	loseFirstAnswer bool, retries *atomic.Int64) (string, error) {
	body, err := json.Marshal(map[string]string{"phone": alicePhone, "message": text})
	if err != nil {
		return "", err
	}
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			retries.Add(1)
			select {
			case <-ctx.Done():
				return "", fmt.Errorf("not accepted in time: %w", ctx.Err())
			case <-time.After(20 * time.Millisecond):
			}
		}
		srv := pick()
		srv.mu.Lock() // held while the server starts: the request waits for it
		base := srv.base
		srv.mu.Unlock()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+in.path("send-text"), strings.NewReader(string(body)))
		if err != nil {
			return "", err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", key)
		res, err := client.Do(req)
		if err != nil {
			continue // no answer
		}
		raw, err := io.ReadAll(res.Body)
		res.Body.Close()
		switch {
		case err != nil || res.StatusCode == http.StatusServiceUnavailable || res.StatusCode == http.StatusGatewayTimeout:
			continue // the instance is restarting or busy: ask again
		case loseFirstAnswer:
			loseFirstAnswer = false
			continue
		case res.StatusCode != http.StatusOK:
			return "", fmt.Errorf("send-text answered %d %s", res.StatusCode, raw)
		}
		var q struct{ MessageID string }
		if err := json.Unmarshal(raw, &q); err != nil || q.MessageID == "" {
			return "", fmt.Errorf("send-text answered %s", raw)
		}
		return q.MessageID, nil
	}
}
