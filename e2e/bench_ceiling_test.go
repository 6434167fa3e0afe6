package e2e

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/oklog/ulid"
	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/appstate"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/store/sqlstore"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	waLog "go.mau.fi/whatsmeow/util/log"
	"google.golang.org/protobuf/proto"

	"github.com/plugzapi/plugzapi/store"
	"github.com/plugzapi/plugzapi/wasim"
	"github.com/plugzapi/plugzapi/wasim/simclient"
)

// The ceilings are what the benchmarks compare the server with, measured in the same run on the same machine:
// a bare HTTP handler (what intake could reach if queueing cost nothing) and a bare whatsmeow client sending
// back-to-back (what one WhatsApp session can deliver: whatsmeow holds its send lock until the server's ack).
// Each runs in a process of its own, as the server does, so that it competes for the CPU like the server: this
// test binary, started again with ceilingModeEnv set, becomes that process instead of running tests. The
// parent and the ceiling talk in "key=value" lines: the ceiling writes them on stdout, the parent answers on
// stdin, and closing stdin ends the ceiling.

const (
	ceilingModeEnv = "PLUGZAPI_BENCH_CEILING" // "handler" or "sender"
	ceilingSimEnv  = "PLUGZAPI_BENCH_SIMULATOR"
	ceilingToEnv   = "PLUGZAPI_BENCH_TO"
	ceilingForEnv  = "PLUGZAPI_BENCH_FOR"
	ceilingDirEnv  = "PLUGZAPI_BENCH_DIR"
)

// benchText is the text every benchmark sends.
const benchText = "Olá! Seu pedido #12345 foi enviado e chega amanhã."

// textBody is the send-text body the intake benchmarks post, to the server and to the bare handler alike.
func textBody(phone string) string {
	raw, _ := json.Marshal(map[string]string{"phone": phone, "message": benchText})
	return string(raw)
}

func init() {
	if mode := os.Getenv(ceilingModeEnv); mode != "" {
		os.Exit(ceilingMain(mode))
	}
}

func ceilingMain(mode string) int {
	var err error
	switch mode {
	case "handler":
		err = serveBareHandler()
	case "sender":
		err = sendBackToBack()
	default:
		err = fmt.Errorf("unknown mode %q", mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ceiling:", err)
		return 1
	}
	return 0
}

// bareTextRequest has the shape of the server's send-text body, so that decoding costs the same.
type bareTextRequest struct {
	Phone          string   `json:"phone"`
	MessageID      string   `json:"messageId"`
	DelayMessage   *int     `json:"delayMessage"`
	DelayTyping    *int     `json:"delayTyping"`
	Message        string   `json:"message"`
	Mentioned      []string `json:"mentioned"`
	GroupMentioned []struct {
		Phone   string `json:"phone"`
		Subject string `json:"subject"`
	} `json:"groupMentioned"`
	EditMessageID string `json:"editMessageId"`
}

// serveBareHandler serves send-text on the server's route with a chi handler that decodes the body and answers
// a fresh ID as the server does, and nothing else: no queue, no disk, no authentication.
func serveBareHandler() error {
	r := chi.NewRouter()
	r.Post("/instances/{id}/token/{token}/send-text", func(w http.ResponseWriter, r *http.Request) {
		var req bareTextRequest
		raw, err := io.ReadAll(r.Body)
		if err == nil {
			err = json.Unmarshal(raw, &req)
		}
		if err != nil || req.Phone == "" || req.Message == "" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		id := whatsmeow.GenerateMessageID()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"zaapId": ulid.MustNew(ulid.Now(), rand.Reader).String(), "messageId": id, "id": id})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	fmt.Printf("addr=%s\n", ln.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin)
	return srv.Close()
}

// sendBackToBack links a whatsmeow client (its store on SQLite with the server's settings), shows its QR code
// for the parent's phone to scan, waits for the parent's go, then sends texts to one phone one after the other
// for the given time and reports how many the server acknowledged.
func sendBackToBack() error {
	ctx := context.Background()
	d, err := time.ParseDuration(os.Getenv(ceilingForEnv))
	if err != nil {
		return fmt.Errorf("%s: %w", ceilingForEnv, err)
	}
	path := filepath.Join(os.Getenv(ceilingDirEnv), "sender.db")
	container, err := sqlstore.New(ctx, store.DriverName, store.DSN(path, store.Config{}), waLog.Noop)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer container.Close()
	cli := whatsmeow.NewClient(container.NewDevice(), waLog.Noop)
	simclient.Configure(cli, os.Getenv(ceilingSimEnv))
	// Linked means what link waits for on the server's side: the history sync and every app state collection.
	pending := map[string]bool{"history": true}
	for _, name := range appstate.AllPatchNames {
		pending[string(name)] = true
	}
	settled := make(chan string, 2*len(pending))
	cli.AddEventHandler(func(evt any) {
		switch e := evt.(type) {
		case *events.HistorySync:
			settled <- "history"
		case *events.AppStateSyncComplete:
			settled <- string(e.Name)
		}
	})
	qr, err := cli.GetQRChannel(ctx)
	if err != nil {
		return fmt.Errorf("QR channel: %w", err)
	}
	if err := cli.Connect(); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer cli.Disconnect()
	timeout := time.After(time.Minute)
	select {
	case item := <-qr:
		if item.Event != whatsmeow.QRChannelEventCode {
			return fmt.Errorf("first QR channel item %q", item.Event)
		}
		fmt.Printf("qr=%s\n", item.Code)
	case <-timeout:
		return errors.New("no QR code within a minute")
	}
	for len(pending) > 0 {
		select {
		case name := <-settled:
			delete(pending, name)
		case <-timeout:
			return fmt.Errorf("not settled within a minute: waiting for %v", pending)
		}
	}
	// Available, as the server's instances announce themselves by default.
	if err := cli.SendPresence(ctx, types.PresenceAvailable); err != nil {
		return fmt.Errorf("presence: %w", err)
	}
	fmt.Println("ready=1")
	stdin := bufio.NewScanner(os.Stdin)
	if !stdin.Scan() {
		return errors.New("no go from the parent")
	}
	to := types.NewJID(os.Getenv(ceilingToEnv), types.DefaultUserServer)
	sent := 0
	start := time.Now()
	for time.Since(start) < d {
		if _, err := cli.SendMessage(ctx, to, &waE2E.Message{Conversation: proto.String(benchText)}); err != nil {
			return fmt.Errorf("send: %w", err)
		}
		sent++
	}
	fmt.Printf("seconds=%g\nsent=%d\n", time.Since(start).Seconds(), sent)
	for stdin.Scan() {
	}
	return nil
}

// ceilingProcess is a running ceiling, as seen by the benchmark that started it.
type ceilingProcess struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	lines   chan string
	logPath string
	exited  chan struct{}
}

// startCeiling starts this test binary as the ceiling of that mode; it ends with the benchmark.
func startCeiling(b *testing.B, mode string, env ...string) *ceilingProcess {
	b.Helper()
	self, err := os.Executable()
	if err != nil {
		b.Fatalf("find the test binary: %v", err)
	}
	dir := b.TempDir()
	c := &ceilingProcess{lines: make(chan string, 16), logPath: filepath.Join(dir, "ceiling.log"), exited: make(chan struct{})}
	c.cmd = exec.Command(self)
	c.cmd.Env = append(os.Environ(), append(env, ceilingModeEnv+"="+mode, ceilingDirEnv+"="+dir)...)
	logFile, err := os.Create(c.logPath)
	if err != nil {
		b.Fatalf("ceiling log: %v", err)
	}
	c.cmd.Stderr = logFile
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		b.Fatalf("ceiling stdout: %v", err)
	}
	if c.stdin, err = c.cmd.StdinPipe(); err != nil {
		b.Fatalf("ceiling stdin: %v", err)
	}
	if err := c.cmd.Start(); err != nil {
		b.Fatalf("start the %s ceiling: %v", mode, err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
	}()
	go func() { _ = c.cmd.Wait(); logFile.Close(); close(c.exited) }()
	b.Cleanup(c.stop)
	return c
}

// expect waits for the ceiling's next line, which must be key=value, and returns the value.
func (c *ceilingProcess) expect(b *testing.B, key string, timeout time.Duration) string {
	b.Helper()
	select {
	case line, ok := <-c.lines:
		if !ok {
			<-c.exited
			b.Fatalf("the ceiling ended before saying %s: %s\n%s", key, c.cmd.ProcessState, c.logTail())
		}
		value, found := strings.CutPrefix(line, key+"=")
		if !found {
			b.Fatalf("the ceiling said %q, want %s=…", line, key)
		}
		return value
	case <-time.After(timeout):
		b.Fatalf("the ceiling did not say %s within %s:\n%s", key, timeout, c.logTail())
	}
	return ""
}

func (c *ceilingProcess) expectFloat(b *testing.B, key string, timeout time.Duration) float64 {
	b.Helper()
	v, err := strconv.ParseFloat(c.expect(b, key, timeout), 64)
	if err != nil {
		b.Fatalf("the ceiling's %s: %v", key, err)
	}
	return v
}

// stop closes the ceiling's stdin, which ends it, and waits; its log goes to the benchmark's when it failed.
func (c *ceilingProcess) stop() {
	_ = c.stdin.Close()
	select {
	case <-c.exited:
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.exited
	}
}

func (c *ceilingProcess) logTail() string { return readTail(c.logPath, 40) }

// handlerCeiling runs the same load as the server gets against the bare handler.
func handlerCeiling(b *testing.B, body string, clients int, d time.Duration) loadResult {
	b.Helper()
	c := startCeiling(b, "handler")
	addr := c.expect(b, "addr", time.Minute)
	load := hammer(b, []string{"http://" + addr + "/instances/ceiling/token/ceiling/send-text"}, body, clients, d)
	c.stop()
	if load.failures > 0 {
		b.Fatalf("%d requests to the bare handler failed:\n%s", load.failures, c.logTail())
	}
	return load
}

// sendRate is what a run of back-to-back sends measured.
type sendRate struct {
	perSecond float64
	// cpuPerSend is the CPU time the sending process used per send; machinePerSend the whole machine's busy
	// CPU time per send (the simulator and the contact's phone included), and machineShare that time's share of
	// all the cores' time.
	cpuPerSend, machinePerSend time.Duration
	machineShare               float64
}

// senderCeiling links a bare whatsmeow client to phone, lets it send to contact back-to-back for d, and returns
// its sends per second once contact received every one of them, with the CPU it took. during, when set, runs
// while it sends.
func senderCeiling(b *testing.B, sim *wasim.Simulator, phone, contact *wasim.Account, d time.Duration, during func()) sendRate {
	b.Helper()
	c := startCeiling(b, "sender",
		ceilingSimEnv+"="+sim.Addr(), ceilingToEnv+"="+contact.Phone(), ceilingForEnv+"="+d.String())
	qr := c.expect(b, "qr", time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dev, err := phone.ScanQR(ctx, qr)
	if err != nil {
		b.Fatalf("scan the bare client's QR code: %v", err)
	}
	c.expect(b, "ready", time.Minute)
	eventually(b, 30*time.Second, "the bare client settles after linking", func() error {
		for _, info := range phone.DeviceInfos() {
			if info.JID == dev && info.WelcomeAcknowledged && info.AppStateSynced && info.Available && info.Queued == 0 {
				return nil
			}
		}
		return fmt.Errorf("devices %+v", phone.DeviceInfos())
	})
	inbox := &inboxCounter{phone: contact}
	before := inbox.count()
	cpuBefore := processCPU(b, c.cmd.Process.Pid)
	machine := startMachineCPU(b)
	if _, err := io.WriteString(c.stdin, "go\n"); err != nil {
		b.Fatalf("start the bare client: %v", err)
	}
	if during != nil {
		during()
	}
	seconds := c.expectFloat(b, "seconds", d+time.Minute)
	sent := int(c.expectFloat(b, "sent", time.Minute))
	cpu := processCPU(b, c.cmd.Process.Pid) - cpuBefore
	busy, share := machine.since(b)
	eventually(b, 2*time.Minute, "the contact receives every text the bare client sent", func() error {
		if n := inbox.count() - before; n < sent {
			return fmt.Errorf("%d of %d", n, sent)
		}
		return nil
	})
	c.stop()
	n := time.Duration(max(sent, 1))
	return sendRate{perSecond: float64(sent) / seconds, cpuPerSend: cpu / n, machinePerSend: busy / n, machineShare: share}
}
