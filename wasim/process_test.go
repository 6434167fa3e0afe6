package wasim_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/store/sqlstore"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	waLog "go.mau.fi/whatsmeow/util/log"

	"github.com/plugzapi/plugzapi/wasim"
	"github.com/plugzapi/plugzapi/wasim/simclient"
)

const (
	helperDBEnv   = "WASIM_HELPER_DB"
	helperAddrEnv = "WASIM_HELPER_ADDR"
	helperJIDEnv  = "WASIM_HELPER_JID"
)

// helperClientMain runs a whatsmeow client from an existing store until it is
// killed, printing "connected" once it is logged in.
func helperClientMain() int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	jid, err := types.ParseJID(os.Getenv(helperJIDEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 2
	}
	container, err := sqlstore.New(ctx, "sqlite", storeDSN(os.Getenv(helperDBEnv)), waLog.Noop)
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 2
	}
	dev, err := container.GetDevice(ctx, jid)
	if err != nil || dev == nil {
		fmt.Fprintln(os.Stderr, "helper: no device", jid, err)
		return 2
	}
	simclient.TrustRoot()
	cli := whatsmeow.NewClient(dev, waLog.Noop)
	simclient.Configure(cli, os.Getenv(helperAddrEnv))
	cli.AddEventHandler(func(evt any) {
		if _, ok := evt.(*events.Connected); ok {
			fmt.Println("connected")
		}
	})
	if err := cli.Connect(); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 2
	}
	<-ctx.Done() // the test kills this process long before
	return 1
}

// The server's crash tests SIGKILL a process holding a connection and start it again:
// the simulator must notice the vanished peer, keep its messages, and let the device
// log in again.
func TestKilledClientProcessLogsInAgain(t *testing.T) {
	sim := startSim(t, wasim.Options{})
	alice := addAccount(t, sim, "Alice")
	bob := addAccount(t, sim, "Bob")
	c := newClient(t, sim)
	dev := c.link(alice)
	c.cli.Disconnect()

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperDBEnv+"="+c.dbPath, helperAddrEnv+"="+sim.Addr(), helperJIDEnv+"="+dev.String())
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.TrimSpace(sc.Text()) == "connected" {
				lines <- "connected"
				return
			}
		}
	}()
	select {
	case <-lines:
	case <-time.After(waitTimeout):
		t.Fatal("client process never connected")
	}
	eventually(t, "the process's device is online", func() bool { return sim.Online(dev) })

	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	eventually(t, "the killed process's connection is cleaned up", func() bool { return !sim.Online(dev) })

	ctx := testContext(t)
	id, err := bob.SendText(ctx, alice.Phone(), "sent while you were down", "")
	if err != nil {
		t.Fatal(err)
	}
	restarted := reopen(t, sim, c)
	if err := restarted.cli.Connect(); err != nil {
		t.Fatal(err)
	}
	waitEvent[*events.Connected](restarted, 0, nil)
	got := waitEvent[*events.Message](restarted, 0, isMessage(id))
	if messageText(got) != "sent while you were down" {
		t.Errorf("restarted client got %q", messageText(got))
	}
}
