package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plugzapi/plugzapi/store/pgtest"
	"github.com/plugzapi/plugzapi/wasim"
)

// clusterSecret is the secret the test clusters' nodes share.
const clusterSecret = "e2e-cluster-secret-0123456789"

// startCluster starts n plugzapi nodes of one static cluster on one Postgres database (whatever the run's
// dialect: a cluster needs Postgres), each its own process.
func startCluster(t testing.TB, sim *wasim.Simulator, n int, opts ...serverOption) []*server {
	t.Helper()
	dir := t.TempDir() // shared: the vault key
	db := pgtest.DatabaseFor(t, dir)
	type ports struct{ http, cluster, membership int }
	all := make([]ports, n)
	peers := make([]string, n)
	for i := range all {
		all[i] = ports{freePort(t), freePort(t), freePort(t)}
		peers[i] = fmt.Sprintf("127.0.0.1:%d", all[i].membership)
	}
	nodes := make([]*server, n)
	for i, p := range all {
		nodeOpts := append([]serverOption{
			withEnv("PLUGZAPI_DATA", dir),
			withEnv("PLUGZAPI_DATABASE_URL", db),
			withEnv("PLUGZAPI_ADDR", fmt.Sprintf("127.0.0.1:%d", p.http)),
			withEnv("PLUGZAPI_CLUSTER_PROVIDER", "static"),
			withEnv("PLUGZAPI_CLUSTER_ADDR", fmt.Sprintf("127.0.0.1:%d", p.cluster)),
			withEnv("PLUGZAPI_CLUSTER_MEMBERSHIP_PORT", fmt.Sprint(p.membership)),
			withEnv("PLUGZAPI_CLUSTER_PEERS", strings.Join(peers, ",")),
			withEnv("PLUGZAPI_CLUSTER_URL", fmt.Sprintf("http://127.0.0.1:%d", p.http)),
			withEnv("PLUGZAPI_CLUSTER_SECRET", clusterSecret),
		}, opts...)
		nodes[i] = startServer(t, sim, nodeOpts...)
	}
	// Instances created before every node sees every other are placed by partial views and move once the
	// views agree (a link in progress would start over): wait for the membership to settle.
	members := fmt.Sprintf(`msg="Updated ClusterTopology" .* members=%d `, n)
	for _, node := range nodes {
		eventually(t, 30*time.Second, "node "+node.base+" sees the whole cluster", func() error {
			if !regexp.MustCompile(members).MatchString(readTail(node.logPath, 1<<20)) {
				return fmt.Errorf("not yet")
			}
			return nil
		})
	}
	return nodes
}

// onPostgres runs a single server on a Postgres database of its own (a run on SQLite otherwise).
func onPostgres(t testing.TB) []serverOption {
	dir := t.TempDir()
	return []serverOption{withEnv("PLUGZAPI_DATA", dir), withEnv("PLUGZAPI_DATABASE_URL", pgtest.DatabaseFor(t, dir))}
}

// freePort returns a TCP port nothing listens on now.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// on returns the instance's credentials as a client of another node.
func (in instance) on(s *server) instance {
	in.srv = s
	return in
}

// TestCluster runs three nodes, each a process, on one Postgres database, through one lifecycle:
//
//   - instances spread over the nodes, and a request about an instance reaches the node that runs it whichever
//     node it is sent to (linked through one node, sent through another);
//   - SIGKILL of the node running an instance with messages queued and being sent: another node takes it over
//     once its lease expired, every message reaches the contact once, in order, with its webhooks, and WhatsApp
//     never saw two connections of the device at once;
//   - SIGSTOP of the node running it, past its lease: another node takes over (its login replaces the paused
//     node's connection, once); resumed, the paused node stops the instance and neither connects nor sends;
//   - a rolling restart (SIGTERM) of every node while a client sends: every accepted message arrives once, in order.
func TestCluster(t *testing.T) {
	sim := startSimulator(t)
	business := addAccount(t, sim, businessPhone, "Business")
	alice := addAccount(t, sim, alicePhone, "Alice")
	hooks := newReceiver(t)
	nodes := startCluster(t, sim, 3)

	instances := make([]instance, 12)
	for i := range instances {
		instances[i] = createInstance(t, nodes[i%3], fmt.Sprintf("shop-%d", i), hooks)
	}
	placed := waitPlacement(t, nodes, instances, nil)
	runsOn := map[string]int{}
	for _, n := range placed {
		runsOn[n]++
	}
	if len(runsOn) < 2 {
		t.Errorf("12 instances all run on one node: %v", runsOn)
	}
	t.Logf("instances per node: %v", runsOn)

	// A forwarded request must carry the cluster's secret.
	in := instances[0]
	res := nodes[0].call(t, "GET", in.path("status"), nil, "X-Plugzapi-Forwarded", "not-the-secret")
	res.wantError(t, http.StatusUnauthorized, "unauthorized")

	// Linked through one node, sent through another.
	link(t, in.on(nodes[1]), business)
	hooks.waitFor(t, "connected", ofType("ConnectedCallback"))
	var sent []string // every message sent to Alice, in order
	sent = append(sent, sendText(t, in.on(nodes[2]), alicePhone, "Olá do cluster"))
	hooks.waitFor(t, "delivery", delivery(sent[0]))
	if got := waitMessage(t, alice, sent[0]); got.Text != "Olá do cluster" {
		t.Errorf("Alice received %+v", got)
	}
	if t.Failed() {
		return
	}

	t.Run("SIGKILL", func(t *testing.T) {
		owner := nodeRunning(t, in, nodes)
		other := otherNode(nodes, owner)
		before := len(sent)
		for i := range 20 {
			sent = append(sent, sendText(t, in.on(other), alicePhone, fmt.Sprintf("failover %02d", i)))
		}
		owner.kill()
		killed := time.Now()
		if got := len(alice.Messages("")); got == len(sent) {
			t.Fatalf("all %d messages were sent before the kill: the test proves nothing", len(sent)-before)
		}
		waitInbox(t, sim, alice, sent)
		t.Logf("the last message arrived %v after the kill", time.Since(killed).Round(100*time.Millisecond))
		for _, id := range sent {
			hooks.waitFor(t, "delivery of "+id, delivery(id))
		}
		if r := sim.Replacements(); r != 0 {
			t.Errorf("WhatsApp saw %d logins of a device whose connection was still open", r)
		}
		owner.start() // it rejoins, and takes its instances back (placement is by the members' addresses)
		waitPlacement(t, nodes, instances, placed)
	})
	if t.Failed() {
		return
	}

	t.Run("SIGSTOP", func(t *testing.T) {
		owner := nodeRunning(t, in, nodes)
		other := otherNode(nodes, owner)
		owner.pause()
		paused := true
		defer func() {
			if paused {
				owner.resume()
			}
		}()
		// Until the others see the node gone and its lease expire, the instance runs nowhere: 503, try again.
		for i := range 5 {
			sent = append(sent, sendUntilAccepted(t, other, in, fmt.Sprintf("while paused %02d", i)))
		}
		waitInbox(t, sim, alice, sent)
		// The new node's login replaces the paused node's connection, unless WhatsApp closed it already.
		replaced := sim.Replacements()
		if replaced > 1 {
			t.Errorf("WhatsApp saw %d replacing logins, want at most 1 (the new node's, of the paused node's connection)", replaced)
		}
		owner.resume()
		paused = false
		// Resumed, it finds an instance's lease taken over: it stops the instance and leaves (the membership does
		// not take back a member it counted out), to be started again as a new member.
		owner.waitExit(t, 30*time.Second)
		if log := readTail(owner.logPath, 1<<20); !strings.Contains(log, "the instance's lease was lost") {
			t.Errorf("the resumed node stopped without saying it lost a lease:\n%s", owner.logTail())
		}
		owner.start()
		waitPlacement(t, nodes, instances, placed)
		for i := range 5 {
			sent = append(sent, sendUntilAccepted(t, owner, in, fmt.Sprintf("after the pause %02d", i)))
		}
		waitInbox(t, sim, alice, sent)
		if r := sim.Replacements(); r != replaced {
			t.Errorf("after the paused node resumed WhatsApp saw %d replacing logins, want still %d", r, replaced)
		}
	})
	if t.Failed() {
		return
	}

	t.Run("rolling restart", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		client := &http.Client{Timeout: 10 * time.Second}
		var retries atomic.Int64
		var turn atomic.Int64
		var count atomic.Int64
		var slowest atomic.Value // the longest a send took (an instance moving between nodes waits)
		slowest.Store(time.Duration(0))
		// The nodes in turn, but not one that is restarting (the harness holds its lock meanwhile): the load goes
		// on through the others while one drains.
		pick := func() *server {
			for {
				n := nodes[int(turn.Add(1))%len(nodes)]
				if n.mu.TryLock() {
					n.mu.Unlock()
					return n
				}
			}
		}
		accepted := make(chan string, 1000)
		sending := make(chan error, 1)
		stop := make(chan struct{})
		go func() {
			defer close(accepted)
			for i := 0; ; i++ {
				select {
				case <-stop:
					sending <- nil
					return
				default:
				}
				start := time.Now()
				id, err := sendRetrying(ctx, client, pick, in, fmt.Sprintf("rolling-%04d", i), fmt.Sprintf("rolling %04d", i), false, &retries)
				if err != nil {
					sending <- err
					return
				}
				if took := time.Since(start); took > slowest.Load().(time.Duration) {
					slowest.Store(took)
				}
				accepted <- id
				count.Add(1)
				time.Sleep(50 * time.Millisecond)
			}
		}()
		for _, n := range nodes {
			// A client that goes on asking the draining node itself (as a load balancer may, until the node's
			// port closes) about every instance: it serves what it still runs and forwards the rest.
			finish := probe(n.base, instances)
			n.restart()
			if answered, failed := finish(); len(failed) > 0 || answered == 0 {
				t.Errorf("while %s drained it answered %d requests, and failed %d: %v", n.base, answered, len(failed), failed)
			} else {
				t.Logf("while %s drained it answered %d requests", n.base, answered)
			}
			// As an operator does (README, "Draining a node"): the next node drains once the cluster serves
			// again with this one back — every node answers for every instance — not merely once its API is up.
			eventually(t, time.Minute, "every node answers for every instance after "+n.base+" restarted", func() error {
				return servesAll(client, nodes, instances)
			})
		}
		close(stop)
		if err := <-sending; err != nil {
			t.Fatal(err)
		}
		for id := range accepted {
			sent = append(sent, id)
		}
		waitInbox(t, sim, alice, sent)
		// A drained node hands its instances over while it still serves, and a request waits for the instance
		// on its new node: none fails.
		if n := retries.Load(); n != 0 {
			t.Errorf("%d requests were retried during the rolling restart, want none", n)
		}
		t.Logf("%d messages sent during the rolling restart; the slowest send took %v", count.Load(), slowest.Load())
		if r := sim.Replacements(); r > 1 {
			t.Errorf("during the rolling restart WhatsApp saw replacing logins: %d in all since the pause's", r)
		}
	})
}

// servesAll asks every node about the status of every instance, and says which did not answer 200.
func servesAll(client *http.Client, nodes []*server, instances []instance) error {
	for _, n := range nodes {
		n.mu.Lock()
		base := n.base
		n.mu.Unlock()
		for _, in := range instances {
			res, err := client.Get(base + in.path("status"))
			if err != nil {
				return err
			}
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				return fmt.Errorf("%s about %s: %s", base, in.id, res.Status)
			}
		}
	}
	return nil
}

// probe asks the node at base about the status of each instance in turn, every 20 ms, until the node stops
// answering (its API closed) or finish is called; finish tells how many requests it answered after the first
// 100 ms (once a SIGTERM sent now reached it), and the answers that were not 200 OK.
func probe(base string, instances []instance) (finish func() (answered int, failed []string)) {
	stop, done := make(chan struct{}), make(chan struct{})
	var answered int
	var failed []string
	go func() {
		defer close(done)
		client := &http.Client{Timeout: 10 * time.Second}
		start := time.Now()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			res, err := client.Get(base + instances[i%len(instances)].path("status"))
			if err != nil {
				return // its API closed
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				failed = append(failed, fmt.Sprintf("%d %s", res.StatusCode, body))
			} else if time.Since(start) > 100*time.Millisecond {
				answered++
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return func() (int, []string) {
		close(stop)
		<-done
		return answered, failed
	}
}

// waitPlacement waits until every node agrees which node runs each instance — and, when want is given, that
// it is the node want names — and returns the node (its URL) of each instance.
func waitPlacement(t testing.TB, nodes []*server, instances []instance, want map[string]string) map[string]string {
	t.Helper()
	placed := map[string]string{}
	for _, in := range instances {
		eventually(t, 30*time.Second, "instance "+in.id+" placed", func() error {
			first := ""
			for _, n := range nodes {
				res := in.on(n).call(t, "GET", "status", nil)
				if res.status != http.StatusOK {
					return fmt.Errorf("status through %s: %s", n.base, res)
				}
				served := res.header.Get("X-Plugzapi-Node")
				if first == "" {
					first = served
				}
				if served == "" || served != first {
					return fmt.Errorf("served by %q and by %q", first, served)
				}
			}
			if want != nil && first != want[in.id] {
				return fmt.Errorf("runs on %s, want %s", first, want[in.id])
			}
			placed[in.id] = first
			return nil
		})
	}
	return placed
}

// sendUntilAccepted sends a text to Alice through node, again (with the same Idempotency-Key) while the
// cluster answers 503, and returns its messageId.
func sendUntilAccepted(t testing.TB, node *server, in instance, text string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var retries atomic.Int64
	id, err := sendRetrying(ctx, http.DefaultClient, func() *server { return node }, in, text, text, false, &retries)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// otherNode returns a node that is not n.
func otherNode(nodes []*server, n *server) *server {
	for _, o := range nodes {
		if o != n {
			return o
		}
	}
	return nil
}

// waitInbox waits until Alice has exactly the messages of ids, in that order, each delivered once.
func waitInbox(t testing.TB, sim *wasim.Simulator, alice *wasim.Account, ids []string) {
	t.Helper()
	eventually(t, 60*time.Second, "every message received", func() error {
		if got := len(alice.Messages("")); got < len(ids) {
			return fmt.Errorf("%d of %d received", got, len(ids))
		}
		return nil
	})
	inbox := alice.Messages("")
	if len(inbox) != len(ids) {
		t.Fatalf("Alice has %d messages, want exactly %d", len(inbox), len(ids))
	}
	for i, m := range inbox {
		if m.ID != ids[i] {
			t.Errorf("message %d is %s, want %s (in order)", i, m.ID, ids[i])
		}
		if d := sim.Deliveries(m.ID); d != 1 {
			t.Errorf("message %s was delivered %d times", m.ID, d)
		}
	}
}

// nodeRunning returns the node that runs an instance (the one that serves its requests).
func nodeRunning(t testing.TB, in instance, nodes []*server) *server {
	t.Helper()
	served := in.call(t, "GET", "status", nil).header.Get("X-Plugzapi-Node")
	for _, n := range nodes {
		if n.base == served {
			return n
		}
	}
	t.Fatalf("no node is %q", served)
	return nil
}
