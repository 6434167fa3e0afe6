package e2e

import (
	"fmt"
	"net"
	"net/http"
	"strings"
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
	return nodes
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

// TestClusterServesAnyInstanceFromAnyNode: three nodes, each a process; instances spread over them; a request
// about an instance reaches the node that runs it whichever node it is sent to; an instance linked through one
// node and sent through another works end to end.
func TestClusterServesAnyInstanceFromAnyNode(t *testing.T) {
	sim := startSimulator(t)
	business := addAccount(t, sim, businessPhone, "Business")
	alice := addAccount(t, sim, alicePhone, "Alice")
	hooks := newReceiver(t)
	nodes := startCluster(t, sim, 3)

	instances := make([]instance, 12)
	for i := range instances {
		instances[i] = createInstance(t, nodes[i%3], fmt.Sprintf("shop-%d", i), hooks)
	}
	runsOn := map[string]int{}
	for _, in := range instances {
		var first string
		eventually(t, 20*time.Second, "instance "+in.id+" placed", func() error {
			first = ""
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
			return nil
		})
		runsOn[first]++
	}
	if len(runsOn) < 2 {
		t.Errorf("12 instances all run on one node: %v", runsOn)
	}
	t.Logf("instances per node: %v", runsOn)

	// Linked through one node, sent through another, read through the third.
	in := instances[0]
	link(t, in.on(nodes[1]), business)
	hooks.waitFor(t, "connected", ofType("ConnectedCallback"))
	id := sendText(t, in.on(nodes[2]), alicePhone, "Olá do cluster")
	hooks.waitFor(t, "delivery", delivery(id))
	if got := waitMessage(t, alice, id); got.Text != "Olá do cluster" {
		t.Errorf("Alice received %+v", got)
	}

	// A forwarded request must carry the cluster's secret.
	res := nodes[0].call(t, "GET", in.path("status"), nil, "X-Plugzapi-Forwarded", "not-the-secret")
	res.wantError(t, http.StatusUnauthorized, "unauthorized")

	// SIGKILL the node running the instance while its messages are queued and being sent: another node takes
	// it over (once its lease expired), and every message reaches Alice once, in order, with its webhooks.
	owner := nodeRunning(t, in, nodes)
	var other *server
	for _, n := range nodes {
		if n != owner {
			other = n
			break
		}
	}
	const n = 20
	ids := []string{id}
	for i := range n {
		ids = append(ids, sendText(t, in.on(other), alicePhone, fmt.Sprintf("failover %02d", i)))
	}
	owner.kill()
	killed := time.Now()
	if got := len(alice.Messages("")); got == len(ids) {
		t.Fatalf("all %d messages were sent before the kill: the test proves nothing", len(ids))
	}
	eventually(t, 60*time.Second, "every message received after the failover", func() error {
		if got := len(alice.Messages("")); got < len(ids) {
			return fmt.Errorf("%d of %d received", got, len(ids))
		}
		return nil
	})
	t.Logf("the last message arrived %v after the kill", time.Since(killed).Round(100*time.Millisecond))
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
	for _, id := range ids {
		hooks.waitFor(t, "delivery of "+id, delivery(id))
	}
	if r := sim.Replacements(); r != 0 {
		t.Errorf("WhatsApp saw %d logins of a device whose connection was still open", r)
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
