package e2e

import (
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plugzapi/plugzapi/wasim"
)

// The benchmarks measure whole scenarios against the real binary; each reports its figures with ReportMetric
// and is meant to be run once per sample: go test -run '^$' -bench . -benchtime 1x -count 5 ./e2e/ (make bench).

// BenchmarkSendTextAccepted: how many send-text requests per second the server accepts into durable queues
// (HTTP → actor → event log + vault, fsync'd), with 32 concurrent clients, spread over one or 32 instances.
// The instances are not linked, so no sending competes for the CPU.
func BenchmarkSendTextAccepted(b *testing.B) {
	for _, instances := range []int{1, 32} {
		b.Run(fmt.Sprintf("instances=%d", instances), func(b *testing.B) {
			for range b.N {
				benchAccepted(b, instances, 32, 5*time.Second)
			}
		})
	}
}

func benchAccepted(b *testing.B, instances, clients int, d time.Duration) {
	sim := startSimulator(b)
	srv := startServer(b, sim, withEnv("PLUGZAPI_MAX_QUEUE_OFFLINE", "100000000"))
	ins := make([]instance, instances)
	for i := range ins {
		ins[i] = createInstance(b, srv, fmt.Sprint("bench-", i), nil)
	}
	body := `{"phone":"5511999990001","message":"Olá! Seu pedido #12345 foi enviado e chega amanhã."}`
	var mu sync.Mutex
	var latencies []time.Duration
	var failures atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			var mine []time.Duration
			for i := 0; time.Now().Before(deadline); i++ {
				in := ins[(c+i)%len(ins)]
				start := time.Now()
				res, err := client.Post(srv.base+in.path("send-text"), "application/json", strings.NewReader(body))
				if err != nil || res.StatusCode != http.StatusOK {
					failures.Add(1)
				} else {
					mine = append(mine, time.Since(start))
				}
				if res != nil {
					res.Body.Close()
				}
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	if n := failures.Load(); n > 0 {
		b.Fatalf("%d requests failed", n)
	}
	slices.Sort(latencies)
	b.ReportMetric(float64(len(latencies))/d.Seconds(), "accepted/s")
	b.ReportMetric(ms(percentile(latencies, 0.50)), "p50-ms")
	b.ReportMetric(ms(percentile(latencies, 0.99)), "p99-ms")
}

// BenchmarkEndToEnd: messages per second from the API to the contacts' phones and back as RECEIVED status
// webhooks, with every instance sending to its own contact at once, pacing 0. It also reports the server's
// resident memory per connected, idle instance (measured before the sending starts).
func BenchmarkEndToEnd(b *testing.B) {
	for _, instances := range []int{10, 100} {
		b.Run(fmt.Sprintf("instances=%d", instances), func(b *testing.B) {
			for range b.N {
				benchEndToEnd(b, instances, 20)
			}
		})
	}
}

func benchEndToEnd(b *testing.B, instances, perInstance int) {
	sim := startSimulator(b)
	hooks := newReceiver(b)
	srv := startServer(b, sim)
	baseline := rssKiB(b, srv)

	type pair struct {
		in      instance
		contact *wasim.Account
	}
	pairs := make([]pair, instances)
	work := make(chan int)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range work {
				phone := fmt.Sprintf("55119%08d", 2*i)
				business := addAccount(b, sim, phone, "Business "+strconv.Itoa(i))
				contact := addAccount(b, sim, fmt.Sprintf("55119%08d", 2*i+1), "Contact "+strconv.Itoa(i))
				in := createInstance(b, srv, "e2e-"+strconv.Itoa(i), hooks)
				link(b, in, business)
				pairs[i] = pair{in: in, contact: contact}
			}
		})
	}
	for i := range instances {
		work <- i
	}
	close(work)
	wg.Wait()
	idle := rssKiB(b, srv)

	start := time.Now()
	var sendWG sync.WaitGroup
	for _, p := range pairs {
		sendWG.Go(func() {
			for j := range perInstance {
				sendText(b, p.in, p.contact.Phone(), fmt.Sprintf("message %d of the benchmark", j))
			}
		})
	}
	sendWG.Wait()
	total := instances * perInstance
	eventually(b, 10*time.Minute, "every message received", func() error {
		n := 0
		for _, h := range hooks.hooks() {
			if h.Type == "MessageStatusCallback" && h.str("status") == "RECEIVED" {
				n += len(h.ids())
			}
		}
		if n < total {
			return fmt.Errorf("%d of %d", n, total)
		}
		return nil
	})
	elapsed := time.Since(start)
	b.ReportMetric(float64(total)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(idle-baseline)/float64(instances), "KiB-RSS/instance")
}

// rssKiB reads the server process's resident set size.
func rssKiB(b testing.TB, s *server) int64 {
	s.mu.Lock()
	pid := s.cmd.Process.Pid
	s.mu.Unlock()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatalf("read RSS: %v", err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kib, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				b.Fatalf("parse RSS %q: %v", line, err)
			}
			return kib
		}
	}
	b.Fatal("no VmRSS in /proc status")
	return 0
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(float64(len(sorted))*p))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
