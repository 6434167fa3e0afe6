package e2e

import (
	"testing"
	"time"

	"github.com/plugzapi/plugzapi/wasim"
)

// BenchmarkLinkedIntake: send-text on one linked instance, 32 concurrent clients, pacing 0, durable commits, for
// 5 s, against ceilings measured in the same run (see bench_ceiling_test.go and bench_storage_test.go):
//
//   - intake: accepted/s, p50-ms and p99-ms of the server and of the bare handler (ceiling-…), and the ratios
//     accepted/ceiling and p99/ceiling-p99;
//   - storage: how many texts the disk path alone makes durable per second (storage-ceiling-accepted/s, and its
//     p50 and p99; see storageCeiling), as a share of the bare handler (storage-ceiling/ceiling, and
//     storage-ceiling-p99/ceiling-p99: what durable intake could reach at best on this machine) and the
//     server's intake as a share of it (accepted/storage-ceiling);
//   - sending: the texts the contact's phone received during the load (delivered/s), the bare whatsmeow client's
//     back-to-back sends/s to a contact of its own (ceiling-sends/s) and its process's CPU time per send
//     (ceiling-cpu-ms/send, to read against EndToEnd's server CPU per delivered message), their ratio delivered/ceiling, the backlog
//     left when the load stopped (backlog-msgs) and the rate at which it drained (drain-msgs/s, until the
//     contact had every accepted text, or over drainLimit when it had not by then);
//   - the bare whatsmeow loop once more while the bare handler takes the same intake load
//     (ceiling-sends-busy/s), what it keeps of its rate (ceiling-sends-busy/ceiling-sends) — what the cores
//     being busy with intake, by anyone, costs sending on this machine — and the server's sending during its
//     load as a share of it (delivered/ceiling-sends-busy);
//   - the machine: how busy all its cores were (…machine-busy, 1 = every core busy all the time) and its CPU
//     time per request or message (…machine-cpu-…), for each load, the bare loop and the drain (and the
//     server's own CPU per drained message, drain-server-cpu-ms/msg). A rate whose machine-busy is near 1 was
//     bounded by the cores: another rate on the same machine can then only be higher by costing less CPU.
func BenchmarkLinkedIntake(b *testing.B) {
	for range b.N {
		benchLinkedIntake(b, 32, 5*time.Second)
	}
}

// drainLimit bounds the wait for the backlog: a slow drain is measured over this long instead of to its end.
const drainLimit = 3 * time.Minute

func benchLinkedIntake(b *testing.B, clients int, d time.Duration) {
	sim := startSimulator(b)
	business := addAccount(b, sim, "5511970000001", "Business")
	contact := addAccount(b, sim, "5511970000002", "Contact")
	bareBusiness := addAccount(b, sim, "5511970000003", "Bare business")
	bareContact := addAccount(b, sim, "5511970000004", "Bare contact")
	busyBusiness := addAccount(b, sim, "5511970000005", "Bare business, busy machine")
	busyContact := addAccount(b, sim, "5511970000006", "Bare contact, busy machine")
	body := textBody(contact.Phone())

	// The ceilings first, each alone on the machine, as the server will be.
	ceiling := handlerCeiling(b, body, clients, d)
	ceilingSends := senderCeiling(b, sim, bareBusiness, bareContact, d, nil)
	ceilingStorage := storageCeiling(b, clients, d)
	// The bare loop again while the bare handler takes the same load as the server will: what sending keeps of
	// its rate when the cores are busy with intake, whoever does the intake.
	handler := startCeiling(b, "handler")
	handlerAddr := handler.expect(b, "addr", time.Minute)
	ceilingSendsBusy := senderCeiling(b, sim, busyBusiness, busyContact, d, func() {
		hammer(b, []string{"http://" + handlerAddr + "/instances/ceiling/token/ceiling/send-text"}, body, clients, d)
	})
	handler.stop()

	hooks := newReceiver(b)
	srv := startServer(b, sim)
	in := createInstance(b, srv, "intake", hooks)
	link(b, in, business)
	inbox := &inboxCounter{phone: contact}
	received := inbox.count // texts the contact's phone has received so far
	before := received()
	load := hammer(b, []string{srv.base + in.path("send-text")}, body, clients, d)
	loadEnd := received()
	if load.failures > 0 {
		b.Fatalf("%d requests failed", load.failures)
	}
	accepted := len(load.latencies)
	delivered := loadEnd - before

	drainStart := time.Now()
	drainMachine, drainServer := startMachineCPU(b), cpuTime(b, srv)
	for received()-before < accepted && time.Since(drainStart) < drainLimit {
		time.Sleep(100 * time.Millisecond)
	}
	drainEnd := received()
	drainTime := time.Since(drainStart)
	drainBusy, drainShare := drainMachine.since(b)
	drainServerCPU := cpuTime(b, srv) - drainServer
	if left := accepted - (drainEnd - before); left > 0 {
		b.Logf("%d of %d accepted texts still queued after %s: the drain rate is measured over that time", left, accepted, drainLimit)
	}
	if drainEnd-before > accepted {
		b.Fatalf("the contact received %d texts, %d accepted", drainEnd-before, accepted)
	}
	srv.stop()

	load.report(b, "")
	ceiling.report(b, "ceiling-")
	b.ReportMetric(load.perSecond()/ceiling.perSecond(), "accepted/ceiling")
	b.ReportMetric(load.p99()/ceiling.p99(), "p99/ceiling-p99")
	ceilingStorage.report(b, "storage-ceiling-")
	b.ReportMetric(ceilingStorage.perSecond()/ceiling.perSecond(), "storage-ceiling/ceiling")
	b.ReportMetric(ceilingStorage.p99()/ceiling.p99(), "storage-ceiling-p99/ceiling-p99")
	b.ReportMetric(load.perSecond()/ceilingStorage.perSecond(), "accepted/storage-ceiling")
	deliveredPerSecond := float64(delivered) / d.Seconds()
	b.ReportMetric(deliveredPerSecond, "delivered/s")
	b.ReportMetric(ceilingSends.perSecond, "ceiling-sends/s")
	b.ReportMetric(ms(ceilingSends.cpuPerSend), "ceiling-cpu-ms/send")
	b.ReportMetric(ms(ceilingSends.machinePerSend), "ceiling-sends-machine-cpu-ms/send")
	b.ReportMetric(ceilingSends.machineShare, "ceiling-sends-machine-busy")
	b.ReportMetric(deliveredPerSecond/ceilingSends.perSecond, "delivered/ceiling")
	b.ReportMetric(ceilingSendsBusy.perSecond, "ceiling-sends-busy/s")
	b.ReportMetric(ceilingSendsBusy.perSecond/ceilingSends.perSecond, "ceiling-sends-busy/ceiling-sends")
	b.ReportMetric(deliveredPerSecond/ceilingSendsBusy.perSecond, "delivered/ceiling-sends-busy")
	b.ReportMetric(float64(accepted-delivered), "backlog-msgs")
	drained := drainEnd - loadEnd
	b.ReportMetric(float64(drained)/drainTime.Seconds(), "drain-msgs/s")
	b.ReportMetric(ms(drainBusy/time.Duration(max(drained, 1))), "drain-machine-cpu-ms/msg")
	b.ReportMetric(drainShare, "drain-machine-busy")
	b.ReportMetric(ms(drainServerCPU/time.Duration(max(drained, 1))), "drain-server-cpu-ms/msg")
}

// inboxCounter counts the messages a phone received, cheaply enough to poll under load: it asks only for those
// after the last one it saw.
type inboxCounter struct {
	phone *wasim.Account
	last  string
	n     int
}

func (c *inboxCounter) count() int {
	if news := c.phone.Messages(c.last); len(news) > 0 {
		c.last = news[len(news)-1].ID
		c.n += len(news)
	}
	return c.n
}
