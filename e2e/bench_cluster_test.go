package e2e

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"
)

// BenchmarkClusterFailover: three nodes (processes) on Postgres run 12 linked instances; the node running the
// most is killed (SIGKILL), and the time until every instance it ran is connected again on the others is
// reported (failover-s): the lease TTL (9s by default), plus the membership noticing the node gone, plus the
// instances rebuilding and reconnecting. make bench runs it BENCH_COUNT times; benchstat prints the median.
func BenchmarkClusterFailover(b *testing.B) {
	for range b.N {
		benchClusterFailover(b)
	}
}

func benchClusterFailover(b *testing.B) {
	sim := startSimulator(b)
	nodes := startCluster(b, sim, 3)
	pairs := linkInstances(b, sim, nodes, 12, nil, false)
	instances := make([]instance, len(pairs))
	for i, p := range pairs {
		instances[i] = p.in
	}
	placed := waitPlacement(b, nodes, instances, nil)
	runs := map[string][]instance{}
	for _, in := range instances {
		runs[placed[in.id]] = append(runs[placed[in.id]], in)
	}
	victim, survivor := nodes[0], nodes[1]
	for _, n := range nodes {
		if len(runs[n.base]) > len(runs[victim.base]) {
			victim = n
		}
	}
	if survivor == victim {
		survivor = nodes[2]
	}
	moved := runs[victim.base]

	victim.kill()
	killed := time.Now()
	eventually(b, 2*time.Minute, "the killed node's instances connected on the others", func() error {
		for _, in := range moved {
			var st struct{ Connected bool }
			res := in.on(survivor).call(b, "GET", "status", nil)
			if res.status != http.StatusOK {
				return fmt.Errorf("%s: %s", in.id, res)
			}
			if res.decode(b, &st); !st.Connected {
				return fmt.Errorf("%s not connected yet", in.id)
			}
		}
		return nil
	})
	b.ReportMetric(time.Since(killed).Seconds(), "failover-s")
	b.ReportMetric(float64(len(moved)), "instances-moved")
}

// BenchmarkClusterIdleInstances: the resident memory per connected, idle instance on each node of a three-node
// cluster with BENCH_CLUSTER_IDLE_INSTANCES linked instances (1,000 by default), created and linked through the
// nodes in turn: each node's VmRSS growth from before the first instance to after all have idled for
// idleSettle, divided by the instances it runs. It reports the largest (KiB-RSS/instance-max) and the mean over
// the nodes, how unevenly they are spread (most-instances/node against the even share), and how long linking
// took.
func BenchmarkClusterIdleInstances(b *testing.B) {
	n := 1000
	if v := os.Getenv("BENCH_CLUSTER_IDLE_INSTANCES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("BENCH_CLUSTER_IDLE_INSTANCES=%q: want a positive number", v)
		}
	}
	b.Run(fmt.Sprintf("instances=%d", n), func(b *testing.B) {
		for range b.N {
			benchClusterIdle(b, n)
		}
	})
}

func benchClusterIdle(b *testing.B, n int) {
	sim := startSimulator(b)
	nodes := startCluster(b, sim, 3)
	baseline := map[string]int64{}
	for _, node := range nodes {
		baseline[node.base] = rssKiB(b, node)
	}
	start := time.Now()
	pairs := linkInstances(b, sim, nodes, n, nil, false)
	linking := time.Since(start)
	instances := make([]instance, len(pairs))
	for i, p := range pairs {
		instances[i] = p.in
	}
	placed := waitPlacement(b, nodes, instances, nil)
	time.Sleep(idleSettle)
	runs := map[string]int{}
	for _, node := range placed {
		runs[node]++
	}
	var worst, sum float64
	most := 0
	for _, node := range nodes {
		if runs[node.base] == 0 {
			b.Fatalf("node %s runs none of the %d instances", node.base, n)
		}
		perInstance := float64(rssKiB(b, node)-baseline[node.base]) / float64(runs[node.base])
		b.Logf("node %s: %d instances, %.0f KiB RSS each", node.base, runs[node.base], perInstance)
		worst, sum, most = max(worst, perInstance), sum+perInstance, max(most, runs[node.base])
	}
	b.ReportMetric(worst, "KiB-RSS/instance-max")
	b.ReportMetric(sum/float64(len(nodes)), "KiB-RSS/instance-mean")
	b.ReportMetric(float64(most)/(float64(n)/float64(len(nodes))), "most/even-share")
	b.ReportMetric(linking.Seconds(), "link-s")
}
