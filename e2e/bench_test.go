package e2e

import (
	"fmt"
	"io"
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
// (HTTP → actor → event log + vault, committed durably), with 32 concurrent clients, spread over one or 32
// instances, on each storage dialect in the same run: the embedded SQLite file, then Postgres (the cluster's
// database, run by the tests on this machine; pg/sqlite is their ratio). The instances are not linked, so no
// sending competes for the CPU.
func BenchmarkSendTextAccepted(b *testing.B) {
	for _, instances := range []int{1, 32} {
		b.Run(fmt.Sprintf("instances=%d", instances), func(b *testing.B) {
			for range b.N {
				sqlite := benchAccepted(b, instances, 32, 5*time.Second)
				pg := benchAccepted(b, instances, 32, 5*time.Second, onPostgres(b)...)
				sqlite.report(b, "")
				pg.report(b, "pg-")
				b.ReportMetric(pg.perSecond()/sqlite.perSecond(), "pg/sqlite")
			}
		})
	}
}

func benchAccepted(b *testing.B, instances, clients int, d time.Duration, opts ...serverOption) loadResult {
	sim := startSimulator(b)
	srv := startServer(b, sim, append(opts, withEnv("PLUGZAPI_MAX_QUEUE_OFFLINE", "100000000"))...)
	defer srv.stop()
	ins := make([]instance, instances)
	for i := range ins {
		ins[i] = createInstance(b, srv, fmt.Sprint("bench-", i), nil)
	}
	paths := make([]string, len(ins))
	for i, in := range ins {
		paths[i] = srv.base + in.path("send-text")
	}
	load := hammer(b, paths, textBody("5511999990001"), clients, d)
	if load.failures > 0 {
		b.Fatalf("%d requests failed", load.failures)
	}
	return load
}

// loadResult is what a load run measured: the latency of every accepted request, sorted, over d.
type loadResult struct {
	latencies []time.Duration
	failures  int64
	d         time.Duration
	// machineBusy is the CPU time the whole machine was busy meanwhile, and machineShare that time's share of
	// all its cores' time.
	machineBusy  time.Duration
	machineShare float64
}

func (r loadResult) perSecond() float64 { return float64(len(r.latencies)) / r.d.Seconds() }
func (r loadResult) p50() float64       { return ms(percentile(r.latencies, 0.50)) }
func (r loadResult) p99() float64       { return ms(percentile(r.latencies, 0.99)) }

// machinePerRequest is the machine's busy CPU time per accepted request, in µs.
func (r loadResult) machinePerRequest() float64 {
	return float64(r.machineBusy.Microseconds()) / float64(max(len(r.latencies), 1))
}

// report reports accepted/s, p50-ms, p99-ms, the machine's busy share and its CPU time per accepted request,
// their units prefixed with prefix.
func (r loadResult) report(b *testing.B, prefix string) {
	b.ReportMetric(r.perSecond(), prefix+"accepted/s")
	b.ReportMetric(r.p50(), prefix+"p50-ms")
	b.ReportMetric(r.p99(), prefix+"p99-ms")
	b.ReportMetric(r.machineShare, prefix+"machine-busy")
	b.ReportMetric(r.machinePerRequest(), prefix+"machine-cpu-us/req")
}

// hammer posts body for d from clients goroutines, each with its own keep-alive connection, going round urls.
// A request counts as accepted when it is answered 200.
func hammer(b testing.TB, urls []string, body string, clients int, d time.Duration) loadResult {
	var mu sync.Mutex
	var latencies []time.Duration
	var failures atomic.Int64
	deadline := time.Now().Add(d)
	machine := startMachineCPU(b)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			defer client.CloseIdleConnections()
			var mine []time.Duration
			for i := 0; time.Now().Before(deadline); i++ {
				start := time.Now()
				res, err := client.Post(urls[(c+i)%len(urls)], "application/json", strings.NewReader(body))
				if err != nil || res.StatusCode != http.StatusOK {
					failures.Add(1)
				} else {
					mine = append(mine, time.Since(start))
				}
				if res != nil {
					// Drained, so that the connection is reused.
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
				}
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(latencies)
	r := loadResult{latencies: latencies, failures: failures.Load(), d: d}
	r.machineBusy, r.machineShare = machine.since(b)
	return r
}

// BenchmarkEndToEnd: messages per second from the API to the contacts' phones and back as RECEIVED status
// webhooks, with every instance sending to its own contact at once, pacing 0, and the server's CPU time per
// delivered message over the same span. It also reports the server's resident memory per connected, idle
// instance (measured before the sending starts; BenchmarkIdleInstances measures it at scale).
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

	pairs := linkInstances(b, sim, []*server{srv}, instances, hooks, true)
	idle := rssKiB(b, srv)

	cpuBefore := cpuTime(b, srv)
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
	cpu := cpuTime(b, srv) - cpuBefore
	b.ReportMetric(float64(total)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(ms(cpu)/float64(total), "cpu-ms/msg")
	b.ReportMetric(float64(idle-baseline)/float64(instances), "KiB-RSS/instance")
}

// linked is an instance linked to its own phone, and the contact it sends to (nil when it has none).
type linked struct {
	in      instance
	contact *wasim.Account
}

// linkInstances creates n instances through the servers in turn, each with its webhooks going to hooks (when not
// nil), and links each to a phone of its own, 8 at a time; with contacts, each also gets a contact account to send
// to. A link that fails fails the benchmark (the helpers end their goroutine); the other workers then stop taking
// work.
func linkInstances(b *testing.B, sim *wasim.Simulator, srvs []*server, n int, hooks *receiver, contacts bool) []linked {
	b.Helper()
	pairs := make([]linked, n)
	work := make(chan int, n)
	for i := range n {
		work <- i
	}
	close(work)
	start := time.Now()
	var done atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range work {
				if b.Failed() {
					return
				}
				business := addAccount(b, sim, fmt.Sprintf("55119%08d", 2*i), "Business "+strconv.Itoa(i))
				if contacts {
					pairs[i].contact = addAccount(b, sim, fmt.Sprintf("55119%08d", 2*i+1), "Contact "+strconv.Itoa(i))
				}
				pairs[i].in = createInstance(b, srvs[i%len(srvs)], "bench-"+strconv.Itoa(i), hooks)
				link(b, pairs[i].in, business)
				// Progress, in the log of a benchmark that fails: how far linking got, and how fast.
				if k := done.Add(1); k%100 == 0 {
					b.Logf("%d of %d instances linked after %s", k, n, time.Since(start).Round(time.Second))
				}
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	return pairs
}

// rssKiB reads the server process's resident set size.
func rssKiB(b testing.TB, s *server) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.pid()))
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

// clockTicksPerSecond is the unit of the CPU times in /proc/<pid>/stat: sysconf(_SC_CLK_TCK), which is 100 on
// every Linux architecture Go supports (the kernel's USER_HZ, fixed by its ABI).
const clockTicksPerSecond = 100

// cpuTime reads the CPU time (user and system) the server process has used so far, from /proc/<pid>/stat.
func cpuTime(b testing.TB, s *server) time.Duration {
	return processCPU(b, s.pid())
}

func processCPU(b testing.TB, pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatalf("read CPU time: %v", err)
	}
	// The command name, in parentheses, may hold spaces and parentheses: the fields are counted after the last ")".
	end := strings.LastIndexByte(string(raw), ')')
	if end < 0 {
		b.Fatalf("no command name in /proc/%d/stat: %q", pid, raw)
	}
	// The fields after it start at field 3 (state); utime and stime are fields 14 and 15.
	fields := strings.Fields(string(raw[end+1:]))
	if len(fields) < 13 {
		b.Fatalf("short /proc/%d/stat: %q", pid, raw)
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			b.Fatalf("parse /proc/%d/stat field %q: %v", pid, f, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicksPerSecond
}

// pid is the running server process's id.
func (s *server) pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd.Process.Pid
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(float64(len(sorted))*p))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// machineCPU is the whole machine's CPU use over an interval, from /proc/stat: every process's, the load
// generator, the simulator and the webhook receiver included. It tells whether a measure was bounded by the
// cores being busy (a share near 1) or by waiting.
type machineCPU struct {
	busy, all int64 // clock ticks summed over all cores, at the start
	start     time.Time
}

func startMachineCPU(b testing.TB) machineCPU {
	busy, all := machineTicks(b)
	return machineCPU{busy: busy, all: all, start: time.Now()}
}

// since returns the CPU time the machine spent busy since m started, and the busy share of all its cores' time.
func (m machineCPU) since(b testing.TB) (busy time.Duration, share float64) {
	nowBusy, nowAll := machineTicks(b)
	if nowAll == m.all {
		return 0, 0
	}
	return time.Duration(nowBusy-m.busy) * time.Second / clockTicksPerSecond, float64(nowBusy-m.busy) / float64(nowAll-m.all)
}

// machineTicks reads the first line of /proc/stat ("cpu user nice system idle iowait irq softirq steal …"):
// busy is everything but idle and iowait; all is the sum.
func machineTicks(b testing.TB) (busy, all int64) {
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		b.Fatalf("read /proc/stat: %v", err)
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	fields := strings.Fields(line)
	if len(fields) < 6 || fields[0] != "cpu" {
		b.Fatalf("unexpected /proc/stat: %q", line)
	}
	// The first eight: guest and guest_nice, after them, are already counted in user and nice.
	for i, f := range fields[1:min(len(fields), 9)] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			b.Fatalf("parse /proc/stat field %q: %v", f, err)
		}
		all += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, all
}
