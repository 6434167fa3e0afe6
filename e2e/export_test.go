package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/plugzapi/plugzapi/events/export"
)

// TestEventExport: the server exports an instance's events to NATS JetStream (a real server, in the test's
// process) while it is linked, sends a message, receives one, and is killed and started again: the broker gets
// every event of the instance, from its creation on, in order, on the instance's subjects — and no message
// text.
func TestEventExport(t *testing.T) {
	ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	t.Cleanup(ns.Shutdown)
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}

	sim := startSimulator(t)
	business := addAccount(t, sim, businessPhone, "Business")
	alice := addAccount(t, sim, alicePhone, "Alice")
	hooks := newReceiver(t)
	srv := startServer(t, sim, withEnv("PLUGZAPI_EXPORT_URL", ns.ClientURL()), withEnv("PLUGZAPI_EXPORT_TOPIC", "wa"))
	in := createInstance(t, srv, "exported", hooks)
	link(t, in, business)

	outText := marker("export-outbound")
	id := sendText(t, in, alicePhone, outText)
	hooks.waitFor(t, "delivery", delivery(id))
	inText := marker("export-inbound")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	replyID, err := alice.SendText(ctx, businessPhone, inText, "")
	if err != nil {
		t.Fatal(err)
	}
	hooks.waitFor(t, "received", func(h hook) bool { return h.Type == "ReceivedCallback" && h.str("messageId") == replyID })

	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []export.Envelope
	var raw [][]byte
	eventually(t, 10*time.Second, "the export's stream", func() error { _, err := js.StreamNameBySubject("wa.>"); return err })
	_, err = js.Subscribe("wa."+in.id+".>", func(m *nats.Msg) {
		var env export.Envelope
		if err := json.Unmarshal(m.Data, &env); err != nil {
			t.Errorf("envelope %q: %v", m.Data, err)
		}
		if want := "wa." + in.id + "." + env.Type; m.Subject != want {
			t.Errorf("event %s on subject %s, want %s", env.EventID, m.Subject, want)
		}
		mu.Lock()
		got, raw = append(got, env), append(raw, m.Data)
		mu.Unlock()
	}, nats.OrderedConsumer(), nats.DeliverAll())
	if err != nil {
		t.Fatal(err)
	}

	// Every event of the instance, seq 1, 2, 3… (duplicates allowed: at least once), and among them wants.
	exported := func(wants ...string) func() error {
		return func() error {
			mu.Lock()
			defer mu.Unlock()
			seen := map[string]bool{}
			var types []string
			for _, env := range got {
				if seen[env.EventID] {
					continue
				}
				seen[env.EventID] = true
				if env.InstanceID != in.id || env.Seq != int64(len(types)+1) {
					return fmt.Errorf("event %d: instance %s seq %d, want %s seq %d (in order)", len(types), env.InstanceID, env.Seq, in.id, len(types)+1)
				}
				types = append(types, env.Type)
			}
			all := "," + strings.Join(types, ",") + ","
			for _, want := range wants {
				if !strings.Contains(all, ","+want+",") {
					return fmt.Errorf("no %s among %s", want, all)
				}
				all = strings.Replace(all, ","+want+",", ",", 1)
			}
			return nil
		}
	}
	eventually(t, 15*time.Second, "the instance's events at the broker", exported("instance_created", "qr_code_issued",
		"paired", "connected", "message_queued", "message_sent", "message_received"))

	// A crash (kill -9) while the next message's events are being exported: after the restart the export
	// resumes where the broker acknowledged, and the broker still gets every event, in order.
	id2 := sendText(t, in, alicePhone, "after the crash")
	srv.kill()
	srv.start()
	hooks.waitFor(t, "delivery after the crash", delivery(id2))
	eventually(t, 15*time.Second, "the events since the crash at the broker", exported("instance_created", "qr_code_issued",
		"paired", "connected", "message_queued", "message_sent", "message_received", "message_queued", "message_sent"))

	mu.Lock()
	defer mu.Unlock()
	for _, b := range raw {
		if bytes.Contains(b, []byte(outText)) || bytes.Contains(b, []byte(inText)) {
			t.Fatalf("an exported event carries message text: %s", b)
		}
	}
	if res := srv.call(t, "GET", "/metrics", nil); !bytes.Contains(res.body, []byte(`plugzapi_event_consumer_lag{group="export"}`)) ||
		!bytes.Contains(res.body, []byte("plugzapi_export_published_total")) {
		t.Fatalf("the export's metrics are missing from /metrics")
	}
}
