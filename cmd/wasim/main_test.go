package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the logger and the test to share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestRunServesControlAPI(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var logs syncBuffer
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--accounts", "5511999990001=Alice"}, &logs, func(addr string) { ready <- addr })
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("run ended early: %v\n%s", err, logs.String())
	case <-ctx.Done():
		t.Fatal("simulator never became ready")
	}
	if !strings.Contains(logs.String(), "TESTS AND DEMOS ONLY") {
		t.Error("no warning about the public trust root in the log")
	}

	resp, err := http.Post("http://"+addr+"/v1/accounts", "application/json", strings.NewReader(`{"phone":"5511999990002","name":"Bob"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create account: status %d", resp.StatusCode)
	}
	resp, err = http.Get("http://" + addr + "/v1/accounts")
	if err != nil {
		t.Fatal(err)
	}
	var accounts []struct {
		Phone string `json:"phone"`
		Name  string `json:"name"`
	}
	err = json.NewDecoder(resp.Body).Decode(&accounts)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(accounts) != 2 || accounts[0].Name != "Alice" || accounts[1].Name != "Bob" {
		t.Errorf("accounts %+v, want the seeded Alice and the created Bob", accounts)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return after its context ended")
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--no-such-flag"},
		{"--log-level", "loud"},
		{"--accounts", "5511999990001"},
		{"extra"},
		{"--addr", "256.0.0.1:bad"},
		{"--media-memory-mb", "0"},
	} {
		var logs syncBuffer
		if err := run(context.Background(), args, &logs, nil); err == nil {
			t.Errorf("run %q: no error", args)
		}
	}
}

func TestHelpDescribesTheControlAPI(t *testing.T) {
	var out syncBuffer
	err := run(context.Background(), []string{"--help"}, &out, nil)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("run --help: %v, want flag.ErrHelp", err)
	}
	for _, want := range []string{"tests and demos", "/v1/accounts/{phone}/messages", "mediaBase64", "/v1/groups/{id}/participants",
		"/v1/accounts/{phone}/profile", "/v1/accounts/{phone}/presence", "/v1/accounts/{phone}/contacts",
		"/v1/accounts/{phone}/status-privacy", "-media-memory-mb"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q:\n%s", want, out.String())
		}
	}
}
