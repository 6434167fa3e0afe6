package baileys_test

import (
	"context"
	"testing"
	"time"

	"github.com/plugzapi/plugzapi/wasim"
	"github.com/plugzapi/plugzapi/wasim/baileys"
)

// bCall is a call event as Baileys parses it (WACallEvent).
type bCall struct {
	ID      string `json:"id"`
	From    string `json:"from"`
	ChatID  string `json:"chatId"`
	Status  string `json:"status"`
	IsVideo bool   `json:"isVideo"`
	IsGroup bool   `json:"isGroup"`
}

// TestBaileysCalls checks wasim's calls against Baileys, the second client besides whatsmeow: a phone's video
// call rings on Baileys' linked device as an offer, Baileys' rejectCall rejects it (the caller sees the reject,
// made by that device), and a call the caller hangs up ends with a terminate.
//
//	go test -count=1 -v -run TestBaileysCalls ./wasim/baileys/
func TestBaileysCalls(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if _, err := baileys.Install(ctx); err != nil {
		t.Fatalf("install Baileys: %v", err)
	}
	sim, err := wasim.Start(ctx, wasim.Options{Logger: testLogger()})
	if err != nil {
		t.Fatalf("start simulator: %v", err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	callee, err := sim.AddAccount(ctx, "5511900000021", "Callee")
	if err != nil {
		t.Fatal(err)
	}
	caller, err := sim.AddAccount(ctx, "5511900000022", "Caller")
	if err != nil {
		t.Fatal(err)
	}
	c, err := baileys.Start(ctx, baileys.Options{SimAddr: sim.Addr(), AuthDir: t.TempDir(), Name: "calls-baileys"})
	if err != nil {
		t.Fatalf("start Baileys: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	dev, err := c.Link(ctx, callee)
	if err != nil {
		t.Fatal(err)
	}
	callEvent := func(from int, id, status string) bCall {
		t.Helper()
		var got bCall
		wait, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		_, err := c.WaitEventAfter(wait, from, "call", func(e baileys.Event) bool {
			var calls []bCall
			if e.Decode(&calls) != nil {
				return false
			}
			for _, call := range calls {
				if call.ID == id && call.Status == status {
					got = call
					return true
				}
			}
			return false
		})
		if err != nil {
			t.Fatalf("Baileys: call %s %s: %v", id, status, err)
		}
		return got
	}

	from := c.Mark()
	video, err := caller.Call(ctx, callee.Phone(), true)
	if err != nil {
		t.Fatal(err)
	}
	offer := callEvent(from, video, "offer")
	if !offer.IsVideo || offer.IsGroup || offer.From != caller.JID().String() {
		t.Errorf("Baileys parsed the offer as %+v", offer)
	}
	if err := c.Call(ctx, "rejectCall", map[string]any{"id": offer.ID, "from": offer.From}, nil); err != nil {
		t.Fatalf("rejectCall: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		calls := caller.Calls()
		if len(calls) == 1 && calls[0].State == wasim.CallRejected && calls[0].RejectedBy == dev {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the caller sees %+v, want the call rejected by %s", calls, dev)
		}
		time.Sleep(20 * time.Millisecond)
	}

	from = c.Mark()
	voice, err := caller.Call(ctx, callee.Phone(), false)
	if err != nil {
		t.Fatal(err)
	}
	if offer := callEvent(from, voice, "offer"); offer.IsVideo {
		t.Errorf("Baileys parsed a voice call as %+v", offer)
	}
	if err := caller.HangUp(ctx, voice); err != nil {
		t.Fatal(err)
	}
	callEvent(from, voice, "terminate")
}
