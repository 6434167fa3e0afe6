package e2e

import (
	"fmt"
	"net/http"
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
	pairs := linkInstances(b, sim, nodes[0], 12, nil, false)
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
