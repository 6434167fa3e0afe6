package e2e

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"
)

// BenchmarkIdleInstances: the server's resident memory per connected, idle instance, with BENCH_IDLE_INSTANCES
// instances (1,000 by default) each linked to a phone of its own: VmRSS before the first is created, and after
// the last is linked and all have been idle for idleSettle. It also reports how long the linking took (link-s)
// and its rate (links/s), 8 at a time.
func BenchmarkIdleInstances(b *testing.B) {
	n := 1000
	if v := os.Getenv("BENCH_IDLE_INSTANCES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("BENCH_IDLE_INSTANCES=%q: want a positive number", v)
		}
	}
	b.Run(fmt.Sprintf("instances=%d", n), func(b *testing.B) {
		for range b.N {
			benchIdleInstances(b, n)
		}
	})
}

// idleSettle is how long the instances idle before the second measure: what linking left in flight (receipts,
// app state, webhooks) is done by then.
const idleSettle = 5 * time.Second

func benchIdleInstances(b *testing.B, n int) {
	sim := startSimulator(b)
	srv := startServer(b, sim)
	baseline := rssKiB(b, srv)
	start := time.Now()
	linkInstances(b, sim, []*server{srv}, n, nil, false)
	linking := time.Since(start)
	time.Sleep(idleSettle)
	idle := rssKiB(b, srv)
	b.ReportMetric(float64(idle-baseline)/float64(n), "KiB-RSS/instance")
	b.ReportMetric(linking.Seconds(), "link-s")
	b.ReportMetric(float64(n)/linking.Seconds(), "links/s")
}
