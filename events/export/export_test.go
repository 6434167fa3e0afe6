package export_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/plugzapi/plugzapi/events"
	"github.com/plugzapi/plugzapi/events/eventstest"
	"github.com/plugzapi/plugzapi/events/export"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	"github.com/plugzapi/plugzapi/store/pgtest"
)

// The tests run real brokers: NATS (nats-server with JetStream, in this process), Kafka (kfake: franz-go's
// in-process implementation of the Kafka wire protocol, which real Kafka clients talk to), and
// RabbitMQ (Debian's rabbitmq-server, started by scripts/test-rabbitmq, or the one PLUGZAPI_TEST_AMQP_URL names).

// fastLog opens a log on a fresh database of the run's dialect, tuned so that failures retry quickly.
func fastLog(t *testing.T, dir string) *events.Log {
	t.Helper()
	db := eventstest.OpenDB(t, dir)
	return eventstest.OpenLog(t, db, events.Config{PollInterval: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond, BatchSize: 7})
}

// startExporter starts an exporter and closes it when the test ends; reg gets its metrics.
func startExporter(t *testing.T, l *events.Log, cfg export.Config, reg prometheus.Registerer) *export.Exporter {
	t.Helper()
	if cfg.Timeout == 0 {
		cfg.Timeout = 2 * time.Second
	}
	e, err := export.Start(context.Background(), l, cfg, reg, eventstest.Logger())
	if err != nil {
		t.Fatalf("start exporter: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// appendMix appends n rounds of events to two instances, interleaved, and returns what was appended in order.
func appendMix(t *testing.T, l *events.Log, round, n int) []*eventsv1.Event {
	t.Helper()
	var out []*eventsv1.Event
	for i := range n {
		for _, inst := range []string{"inst-a", "inst-b"} {
			id := fmt.Sprintf("%s-%d-%d", inst, round, i)
			out = append(out, eventstest.Append(t, l, inst, eventstest.Queued("z"+id, "m"+id, "5511999990000"))...)
			if i%2 == 0 {
				out = append(out, eventstest.Append(t, l, inst, eventstest.Sent("z"+id, "m"+id, "5511999990000"))...)
			}
		}
	}
	return out
}

// got is one message as a broker delivered it.
type got struct {
	route string // NATS subject, Kafka key, AMQP routing key
	meta  map[string]string
	env   export.Envelope
	raw   map[string]json.RawMessage
}

func decode(t *testing.T, route string, meta map[string]string, body []byte) got {
	t.Helper()
	g := got{route: route, meta: meta}
	if err := json.Unmarshal(body, &g.env); err != nil {
		t.Fatalf("envelope %q: %v", body, err)
	}
	if err := json.Unmarshal(body, &g.raw); err != nil {
		t.Fatalf("envelope %q: %v", body, err)
	}
	return g
}

// checkExported fails unless msgs hold every event of want, in order per instance. Duplicates (the same event
// ID again) are allowed only when dups is true: at-least-once. It also checks each message's envelope, its
// metadata and route(ev).
func checkExported(t *testing.T, msgs []got, want []*eventsv1.Event, dups bool, route func(*eventsv1.Event) string) {
	t.Helper()
	byID := map[string]*eventsv1.Event{}
	wantOrder := map[string][]string{}
	for _, ev := range want {
		byID[ev.Id] = ev
		wantOrder[ev.InstanceId] = append(wantOrder[ev.InstanceId], ev.Id)
	}
	seen := map[string]bool{}
	gotOrder := map[string][]string{}
	for _, m := range msgs {
		ev := byID[m.env.EventID]
		if ev == nil {
			t.Fatalf("unexpected event exported: %+v", m.env)
		}
		if seen[ev.Id] {
			if !dups {
				t.Fatalf("event %s (%s seq %d) exported twice", ev.Id, ev.InstanceId, ev.Seq)
			}
			continue
		}
		seen[ev.Id] = true
		gotOrder[ev.InstanceId] = append(gotOrder[ev.InstanceId], ev.Id)
		typ := events.TypeName(ev)
		if m.env.Version != 1 || m.env.InstanceID != ev.InstanceId || m.env.Seq != ev.Seq || m.env.Type != typ ||
			!m.env.Time.Equal(time.UnixMilli(ev.TimeMs)) {
			t.Fatalf("envelope of %s: got %+v", ev.Id, m.env)
		}
		for _, f := range []string{"version", "instanceId", "eventId", "seq", "type", "time", "data"} {
			if _, ok := m.raw[f]; !ok {
				t.Fatalf("envelope of %s lacks %q: %v", ev.Id, f, m.raw)
			}
		}
		var data map[string]any
		if err := json.Unmarshal(m.env.Data, &data); err != nil || data["messageId"] != events.MessageID(ev) {
			t.Fatalf("data of %s: %s (%v)", ev.Id, m.env.Data, err)
		}
		if _, ok := data["idempotencyKey"]; ok {
			t.Fatalf("data of %s carries the server's bookkeeping: %s", ev.Id, m.env.Data)
		}
		if m.meta[export.MetadataInstanceID] != ev.InstanceId || m.meta[export.MetadataType] != typ || m.meta[export.MetadataSeq] != fmt.Sprint(ev.Seq) {
			t.Fatalf("metadata of %s: %v", ev.Id, m.meta)
		}
		if r := route(ev); m.route != r {
			t.Fatalf("event %s went to %q, want %q", ev.Id, m.route, r)
		}
	}
	for inst, ids := range wantOrder {
		if strings.Join(gotOrder[inst], ",") != strings.Join(ids, ",") {
			t.Fatalf("instance %s: exported %d events %v, want %d %v (in order)", inst, len(gotOrder[inst]), gotOrder[inst], len(ids), ids)
		}
	}
}

// natsServer runs a NATS server with JetStream in this process, on port (-1: any), keeping its data in dir.
func natsServer(t *testing.T, dir string, port int) *server.Server {
	t.Helper()
	return natsServerWith(t, &server.Options{Port: port, StoreDir: dir})
}

// natsServerWith runs a NATS server with JetStream in this process, with opts on loopback.
func natsServerWith(t *testing.T, opts *server.Options) *server.Server {
	t.Helper()
	opts.Host, opts.JetStream, opts.NoLog, opts.NoSigs = "127.0.0.1", true, true, true
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatalf("nats server: %v", err)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	t.Cleanup(s.Shutdown)
	return s
}

// natsCollector reads every message of the export's subjects from JetStream, from the first on.
type natsCollector struct {
	mu   sync.Mutex
	msgs []got
}

func collectNATS(t *testing.T, url, topic string) *natsCollector {
	t.Helper()
	c := &natsCollector{}
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatalf("nats connect: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	// The exporter creates the stream on its first connection; wait for it.
	eventstest.WaitFor(t, 10*time.Second, "the export's JetStream stream", func() bool {
		_, err := js.StreamNameBySubject(topic + ".>")
		return err == nil
	})
	_, err = js.Subscribe(topic+".>", func(m *nats.Msg) {
		meta := map[string]string{}
		for k := range m.Header {
			meta[k] = m.Header.Get(k)
		}
		g := decode(t, m.Subject, meta, m.Data)
		c.mu.Lock()
		c.msgs = append(c.msgs, g)
		c.mu.Unlock()
	}, nats.OrderedConsumer(), nats.DeliverAll())
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	return c
}

func (c *natsCollector) snapshot() []got {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]got(nil), c.msgs...)
}

// waitDistinct waits until msgs() holds n distinct events.
func waitDistinct(t *testing.T, n int, msgs func() []got) {
	t.Helper()
	eventstest.WaitFor(t, 20*time.Second, fmt.Sprintf("%d events at the broker", n), func() bool {
		ids := map[string]bool{}
		for _, m := range msgs() {
			ids[m.env.EventID] = true
		}
		return len(ids) >= n
	})
}

func natsRoute(topic string) func(*eventsv1.Event) string {
	return func(ev *eventsv1.Event) string { return topic + "." + ev.InstanceId + "." + events.TypeName(ev) }
}

// TestExportNATS: events of two instances reach JetStream once each, in order per instance, on subjects per
// instance and type; the export starts at the end of the stream the first time.
func TestExportNATS(t *testing.T) {
	eventstest.CheckGoroutines(t)
	l := fastLog(t, "")
	s := natsServer(t, t.TempDir(), -1)
	eventstest.Append(t, l, "inst-a", eventstest.Connected("1")) // before the first start: not exported
	startExporter(t, l, export.Config{URL: s.ClientURL()}, nil)
	want := appendMix(t, l, 0, 12)
	c := collectNATS(t, s.ClientURL(), export.DefaultTopic)
	waitDistinct(t, len(want), c.snapshot)
	checkExported(t, c.snapshot(), want, false, natsRoute(export.DefaultTopic))
}

// TestExportFilter: only the chosen types are exported, and the offset moves past the others.
func TestExportFilter(t *testing.T) {
	l := fastLog(t, "")
	s := natsServer(t, t.TempDir(), -1)
	startExporter(t, l, export.Config{URL: s.ClientURL(), Topic: "acme.wa", Events: []string{"message_sent"}}, nil)
	all := appendMix(t, l, 0, 10)
	var want []*eventsv1.Event
	for _, ev := range all {
		if events.TypeName(ev) == "message_sent" {
			want = append(want, ev)
		}
	}
	c := collectNATS(t, s.ClientURL(), "acme.wa")
	waitDistinct(t, len(want), c.snapshot)
	eventstest.WaitFor(t, 10*time.Second, "the export group to catch up", func() bool { return groupLag(t, l) == 0 })
	checkExported(t, c.snapshot(), want, false, natsRoute("acme.wa"))
}

func groupLag(t *testing.T, l *events.Log) int64 {
	t.Helper()
	_, groups, err := l.Lag(context.Background())
	if err != nil {
		t.Fatalf("lag: %v", err)
	}
	for _, g := range groups {
		if g.Group == export.ConsumerGroup {
			return g.Lag
		}
	}
	t.Fatalf("no %s group in %v", export.ConsumerGroup, groups)
	return 0
}

// TestExportSurvivesOutageAndRestart: the broker goes down mid-stream (failures are counted and retried, other
// consumer groups go on), the exporter is stopped and started again before the broker is back: every event
// arrives at least once, in order per instance, and the restarted exporter resumes after what the broker
// acknowledged.
func TestExportSurvivesOutageAndRestart(t *testing.T) {
	l := fastLog(t, "")
	natsDir := t.TempDir()
	s := natsServer(t, natsDir, -1)
	port := s.Addr().(*net.TCPAddr).Port
	url := s.ClientURL()
	reg := prometheus.NewRegistry()
	e := startExporter(t, l, export.Config{URL: url, Timeout: 500 * time.Millisecond}, reg)
	want := appendMix(t, l, 0, 5)
	waitDistinct(t, len(want), collectNATS(t, url, export.DefaultTopic).snapshot)
	eventstest.WaitFor(t, 10*time.Second, "the export group to catch up", func() bool { return groupLag(t, l) == 0 })

	// Outage: the broker stops; events go on being appended, and another consumer group goes on consuming.
	s.Shutdown()
	var others atomic.Int64
	other, err := l.Consume(context.Background(), events.ConsumerOptions{Group: "other", StartAtEnd: true},
		events.Part{Name: "count", Handle: func(context.Context, *sql.Tx, *eventsv1.Event) error { others.Add(1); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	during := appendMix(t, l, 1, 4)
	want = append(want, during...)
	eventstest.WaitFor(t, 10*time.Second, "the other consumer group to go on during the outage", func() bool {
		return others.Load() == int64(len(during))
	})
	eventstest.WaitFor(t, 10*time.Second, "the export to count failed attempts", func() bool {
		return testutil.ToFloat64(counter(t, reg, "plugzapi_export_failures_total")) >= 2
	})
	if lag := groupLag(t, l); lag != int64(len(during)) {
		t.Fatalf("export group lag during the outage: %d, want %d (nothing committed without the broker)", lag, len(during))
	}

	// The exporter stops mid-outage; a new one starts while the broker is still down (the server starts without
	// it), then the broker comes back with its data: the new exporter resumes after the last acknowledged event.
	e.Close()
	reg2 := prometheus.NewRegistry()
	startExporter(t, l, export.Config{URL: url, Timeout: 500 * time.Millisecond}, reg2)
	after := appendMix(t, l, 2, 3)
	want = append(want, after...)
	natsServer(t, natsDir, port)
	c := collectNATS(t, url, export.DefaultTopic)
	waitDistinct(t, len(want), c.snapshot)
	checkExported(t, c.snapshot(), want, true, natsRoute(export.DefaultTopic))
	eventstest.WaitFor(t, 10*time.Second, "the export group to catch up", func() bool { return groupLag(t, l) == 0 })
	if n := testutil.ToFloat64(counter(t, reg2, "plugzapi_export_published_total")); n != float64(len(during)+len(after)) {
		t.Fatalf("the restarted exporter published %v events, want %d: it must resume after the last acknowledged one", n, len(during)+len(after))
	}
}

// counter returns the registered counter named name.
func counter(t *testing.T, reg *prometheus.Registry, name string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: "copy"}, func() float64 {
				return mf.GetMetric()[0].GetCounter().GetValue()
			})
		}
	}
	t.Fatalf("no metric %s", name)
	return nil
}

// TestExportTwoNodes: two nodes export from one database. On Postgres they take turns on the group's locked
// offset row, so the broker gets every event exactly once as long as nothing fails; on SQLite (one node by
// design; two processes on one file here) they may both publish an event: at least once, still in order.
func TestExportTwoNodes(t *testing.T) {
	dir := t.TempDir()
	a, b := fastLog(t, dir), fastLog(t, dir)
	s := natsServer(t, t.TempDir(), -1)
	ra, rb := prometheus.NewRegistry(), prometheus.NewRegistry()
	startExporter(t, a, export.Config{URL: s.ClientURL()}, ra)
	startExporter(t, b, export.Config{URL: s.ClientURL()}, rb)
	want := appendMix(t, a, 0, 15)
	c := collectNATS(t, s.ClientURL(), export.DefaultTopic)
	waitDistinct(t, len(want), c.snapshot)
	eventstest.WaitFor(t, 10*time.Second, "the export group to catch up", func() bool { return groupLag(t, a) == 0 })
	checkExported(t, c.snapshot(), want, true, natsRoute(export.DefaultTopic))
	published := testutil.ToFloat64(counter(t, ra, "plugzapi_export_published_total")) + testutil.ToFloat64(counter(t, rb, "plugzapi_export_published_total"))
	if pgtest.Enabled() && published != float64(len(want)) {
		t.Fatalf("two nodes published %v events, want %d: each exactly once", published, len(want))
	}
	if published < float64(len(want)) {
		t.Fatalf("two nodes published %v events, want at least %d", published, len(want))
	}
}

// TestExportTooLarge: an event larger than the broker takes goes out without its data (dataOmitted), in its
// place; the export does not stop at it.
func TestExportTooLarge(t *testing.T) {
	l := fastLog(t, "")
	s := natsServerWith(t, &server.Options{Port: -1, StoreDir: t.TempDir(), MaxPayload: 4096})
	startExporter(t, l, export.Config{URL: s.ClientURL()}, nil)
	var chats []*eventsv1.ChatChange
	for i := range 200 {
		chats = append(chats, &eventsv1.ChatChange{Phone: fmt.Sprintf("55119999%05d", i), LastMessageMs: 1764756000000})
	}
	want := appendMix(t, l, 0, 2)
	big := eventstest.Append(t, l, "inst-a", &eventsv1.Event{Payload: &eventsv1.Event_ChatsChanged{ChatsChanged: &eventsv1.ChatsChanged{Chats: chats, History: true}}})
	want = append(append(want, big...), appendMix(t, l, 1, 2)...)
	c := collectNATS(t, s.ClientURL(), export.DefaultTopic)
	waitDistinct(t, len(want), c.snapshot)
	var rest []got
	for _, m := range c.snapshot() {
		if m.env.EventID != big[0].Id {
			rest = append(rest, m)
			continue
		}
		if !m.env.DataOmitted || string(m.env.Data) != "null" || m.env.Seq != big[0].Seq || m.env.Type != "chats_changed" {
			t.Fatalf("the large event went out as %+v, want it without its data", m.env)
		}
	}
	var wantRest []*eventsv1.Event
	for _, ev := range want {
		if ev.Id != big[0].Id {
			wantRest = append(wantRest, ev)
		}
	}
	checkExported(t, rest, wantRest, false, natsRoute(export.DefaultTopic))
}

// TestExportKafka: events reach a Kafka topic keyed by instance ID (one partition per instance), in order,
// over TLS with SASL SCRAM-SHA-512.
func TestExportKafka(t *testing.T) {
	const topic = "plugzapi.events"
	serverTLS, roots := selfSigned(t)
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, topic), kfake.TLS(serverTLS),
		kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-512", "plugzapi", "s3cret"))
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	t.Cleanup(cluster.Close)
	l := fastLog(t, "")
	startExporter(t, l, export.Config{URL: "kafka://plugzapi:s3cret@" + strings.Join(cluster.ListenAddrs(), ",") + "?tls=true"}, nil)
	want := appendMix(t, l, 0, 10)

	cl, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DialTLSConfig(&tls.Config{RootCAs: roots}),
		kgo.SASL(scram.Auth{User: "plugzapi", Pass: "s3cret"}.AsSha512Mechanism()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	var msgs []got
	partitions := map[string]map[int32]bool{}
	waitDistinct(t, len(want), func() []got {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			meta := map[string]string{}
			for _, h := range r.Headers {
				meta[h.Key] = string(h.Value)
			}
			g := decode(t, string(r.Key), meta, r.Value)
			msgs = append(msgs, g)
			if partitions[g.route] == nil {
				partitions[g.route] = map[int32]bool{}
			}
			partitions[g.route][r.Partition] = true
		})
		return msgs
	})
	checkExported(t, msgs, want, false, func(ev *eventsv1.Event) string { return ev.InstanceId })
	for inst, ps := range partitions {
		if len(ps) != 1 {
			t.Fatalf("instance %s's events went to partitions %v, want one", inst, ps)
		}
	}
}

// rabbit returns the URL of the test RabbitMQ broker: PLUGZAPI_TEST_AMQP_URL, or the private node
// scripts/test-rabbitmq starts (installing Debian's package when missing).
var rabbit = sync.OnceValues(func() (string, error) {
	if u := os.Getenv("PLUGZAPI_TEST_AMQP_URL"); u != "" {
		return u, nil
	}
	_, here, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(here), "..", "..", "scripts", "test-rabbitmq")
	cmd := exec.Command(script, "start")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s start: %w", script, err)
	}
	return strings.TrimSpace(string(out)), nil
})

// TestExportAMQP: events reach a RabbitMQ topic exchange with routing keys <instance>.<type>, in order.
func TestExportAMQP(t *testing.T) {
	url, err := rabbit()
	if err != nil {
		t.Fatalf("RabbitMQ: %v", err)
	}
	exchange := fmt.Sprintf("plugzapi.test%d", time.Now().UnixNano())
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatalf("amqp dial: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	// The queue is bound before the first event: a topic exchange drops what no queue is bound for.
	if err := ch.ExchangeDeclare(exchange, "topic", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ch.ExchangeDelete(exchange, false, false) })
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(q.Name, "#", exchange, false, nil); err != nil {
		t.Fatal(err)
	}
	deliveries, err := ch.Consume(q.Name, "", true, true, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}

	l := fastLog(t, "")
	startExporter(t, l, export.Config{URL: url, Topic: exchange}, nil)
	want := appendMix(t, l, 0, 10)
	var msgs []got
	waitDistinct(t, len(want), func() []got {
		for {
			select {
			case d := <-deliveries:
				meta := map[string]string{}
				for k, v := range d.Headers {
					meta[k] = fmt.Sprint(v)
				}
				if d.DeliveryMode != amqp.Persistent {
					t.Fatalf("delivery mode %d, want persistent", d.DeliveryMode)
				}
				msgs = append(msgs, decode(t, d.RoutingKey, meta, d.Body))
			default:
				return msgs
			}
		}
	})
	checkExported(t, msgs, want, false, func(ev *eventsv1.Event) string { return ev.InstanceId + "." + events.TypeName(ev) })
}

// TestConfigValidate: settings that cannot work are refused at start-up with what to do instead.
func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  export.Config
		want string // "" when valid
	}{
		{export.Config{}, ""},
		{export.Config{Events: []string{"message_sent"}}, "no broker URL"},
		{export.Config{URL: "nats://127.0.0.1:4222"}, ""},
		{export.Config{URL: "tls://nats.example:4222", Topic: "acme.wa-events"}, ""},
		{export.Config{URL: "kafka://k1:9092,k2:9092", Events: []string{"message_received", "message_sent"}}, ""},
		{export.Config{URL: "amqps://u:p@rabbit.example/vh"}, ""},
		{export.Config{URL: "http://127.0.0.1"}, "want nats://"},
		{export.Config{URL: "nats://"}, "without a host"},
		{export.Config{URL: "kafka://k1"}, "want host:port"},
		{export.Config{URL: "kafka://u:p@k1:9092"}, ""}, // SCRAM-SHA-512
		{export.Config{URL: "kafka://u:p@k1:9092?sasl=scram-sha-256"}, ""},
		{export.Config{URL: "kafka://u:p@k1:9092?tls=true&sasl=plain"}, ""},
		{export.Config{URL: "kafka://u:p@k1:9092?sasl=plain"}, "use it with tls=true"},
		{export.Config{URL: "kafka://k1:9092?sasl=scram-sha-512"}, "needs a user"},
		{export.Config{URL: "kafka://u:p@k1:9092?sasl=gssapi"}, "want plain"},
		{export.Config{URL: "kafka://k1:9092?tls=yes"}, "want true or false"},
		{export.Config{URL: "kafka://k1:9092?acks=1"}, "want tls or sasl"},
		{export.Config{URL: "nats://h:1", Topic: "a.*"}, "topic"},
		{export.Config{URL: "nats://h:1", Topic: ".a"}, "topic"},
		{export.Config{URL: "amqp://h", Topic: "amq.x"}, "reserves"},
		{export.Config{URL: "nats://h:1", Events: []string{"message_snet"}}, "unknown event type \"message_snet\"; the event types are: instance_created"},
		{export.Config{URL: "nats://h:1", Timeout: time.Millisecond}, "timeout"},
		{export.Config{URL: "amqp://u:secret@h:5672/%zz"}, "does not parse"},
	} {
		err := tc.cfg.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: %v", tc.cfg, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%+v: got %v, want an error with %q", tc.cfg, err, tc.want)
		case err != nil && strings.Contains(err.Error(), "secret"):
			t.Errorf("%+v: the error shows the password: %v", tc.cfg, err)
		}
	}
}

// TestExportRestartMidStream: an exporter stopped while it works through a backlog, and a new one started: every
// event arrives, in order per instance, and the new one resumes where the first committed (it repeats at most
// the batch in hand).
func TestExportRestartMidStream(t *testing.T) {
	l := fastLog(t, "")
	s := natsServer(t, t.TempDir(), -1)
	startExporter(t, l, export.Config{URL: s.ClientURL()}, nil).Close() // registers the group here
	want := appendMix(t, l, 0, 200)

	r1, r2 := prometheus.NewRegistry(), prometheus.NewRegistry()
	e1 := startExporter(t, l, export.Config{URL: s.ClientURL()}, r1)
	c := collectNATS(t, s.ClientURL(), export.DefaultTopic)
	eventstest.WaitFor(t, 10*time.Second, "the first exporter to be under way", func() bool {
		return testutil.ToFloat64(counter(t, r1, "plugzapi_export_published_total")) >= 20
	})
	e1.Close()
	first := testutil.ToFloat64(counter(t, r1, "plugzapi_export_published_total"))
	if first >= float64(len(want)) {
		t.Fatalf("the first exporter published all %d events before it was stopped: the test proves nothing", len(want))
	}
	startExporter(t, l, export.Config{URL: s.ClientURL()}, r2)
	waitDistinct(t, len(want), c.snapshot)
	checkExported(t, c.snapshot(), want, true, natsRoute(export.DefaultTopic))
	eventstest.WaitFor(t, 10*time.Second, "the export group to catch up", func() bool { return groupLag(t, l) == 0 })
	second := testutil.ToFloat64(counter(t, r2, "plugzapi_export_published_total"))
	if first+second > float64(len(want)+7) { // 7: fastLog's batch size
		t.Fatalf("published %v + %v events for %d: the second exporter did not resume where the first committed", first, second, len(want))
	}
}

// selfSigned returns a TLS server configuration with a certificate for 127.0.0.1, and a pool that trusts it.
// The exporter uses the system's roots, so SSL_CERT_FILE points them at the certificate for the test (Go reads
// it when a TLS client first needs the system roots: no other test of this package does).
func selfSigned(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSL_CERT_FILE", path)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}
