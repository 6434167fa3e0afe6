package actors

import (
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	actorsv1 "github.com/plugzapi/plugzapi/proto/actors/v1"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// history is a plausible life of an instance.
func history() []*eventsv1.Event {
	var evs []*eventsv1.Event
	add := func(e *eventsv1.Event) {
		e.Seq, e.TimeMs = int64(len(evs)+1), int64(1000*(len(evs)+1))
		evs = append(evs, e)
	}
	queued := func(n int) *eventsv1.Event {
		return &eventsv1.Event{Payload: &eventsv1.Event_MessageQueued{MessageQueued: &messagesv1.Outbound{
			ZaapId: fmt.Sprint("Z", n), MessageId: fmt.Sprint("M", n), Phone: "5511999990001", DelayTypingS: int32(n), Size: 5}}}
	}
	add(&eventsv1.Event{Payload: &eventsv1.Event_InstanceCreated{InstanceCreated: &eventsv1.InstanceCreated{Name: "shop", SessionName: "Loja"}}})
	add(queued(1))
	add(queued(2))
	add(queued(3))
	add(&eventsv1.Event{Payload: &eventsv1.Event_Paired{Paired: &eventsv1.Paired{Jid: "5511999990000:2@s.whatsapp.net", Platform: "android"}}})
	add(&eventsv1.Event{Payload: &eventsv1.Event_Connected{Connected: &eventsv1.Connected{Phone: "5511999990000"}}})
	add(&eventsv1.Event{Payload: &eventsv1.Event_MessageSent{MessageSent: &eventsv1.MessageSent{ZaapId: "Z1", MessageId: "M1"}}})
	add(&eventsv1.Event{Payload: &eventsv1.Event_MessageCancelled{MessageCancelled: &eventsv1.MessageCancelled{ZaapId: "Z3", MessageId: "M3"}}})
	add(&eventsv1.Event{Payload: &eventsv1.Event_MessageReceived{MessageReceived: &messagesv1.Inbound{MessageId: "IN1"}}})
	add(&eventsv1.Event{Payload: &eventsv1.Event_Disconnected{Disconnected: &eventsv1.Disconnected{Reason: "connection lost"}}})
	add(queued(4))
	add(&eventsv1.Event{Payload: &eventsv1.Event_MessageFailed{MessageFailed: &eventsv1.MessageFailed{ZaapId: "Z2", MessageId: "M2"}}})
	return evs
}

func replay(evs []*eventsv1.Event) *state {
	s := newState()
	for _, e := range evs {
		s.apply(e)
	}
	return s
}

func TestStateReplay(t *testing.T) {
	s := replay(history())
	if s.seq != 12 || s.name != "shop" || s.sessionName != "Loja" || s.connected || s.phone != "5511999990000" ||
		s.deviceJID != "5511999990000:2@s.whatsapp.net" || s.platform != "android" {
		t.Errorf("state = %+v", s)
	}
	if len(s.queue) != 1 || s.head().GetZaapId() != "Z4" || s.queue[0].GetTimeMs() != 11000 || s.head().GetDelayTypingS() != 4 {
		t.Errorf("queue = %v, want only Z4 queued at 11000", s.queue)
	}
	if !s.received("IN1") || s.received("IN2") {
		t.Error("received messages are not remembered right")
	}

	s.apply(&eventsv1.Event{Seq: 13, Payload: &eventsv1.Event_LoggedOut{LoggedOut: &eventsv1.LoggedOut{}}})
	if s.deviceJID != "" || s.phone != "" || s.connected {
		t.Errorf("after logout: %+v", s)
	}
	s.apply(&eventsv1.Event{Seq: 14, Payload: &eventsv1.Event_InstanceDeleted{InstanceDeleted: &eventsv1.InstanceDeleted{}}})
	if !s.deleted || len(s.queue) != 0 {
		t.Errorf("after delete: %+v", s)
	}
}

// A snapshot taken at any point, plus the events after it, gives the same state as the whole history.
func TestSnapshotThenReplayEqualsReplay(t *testing.T) {
	evs := history()
	want := replay(evs).snapshot()
	for cut := range len(evs) + 1 {
		if got := snapshotThenReplay(t, evs, cut).snapshot(); !proto.Equal(want, got) {
			t.Errorf("snapshot at %d, then replay:\n%s\nwant\n%s", cut, prototext.Format(got), prototext.Format(want))
		}
	}
}

func TestRecentInboundIsBounded(t *testing.T) {
	s := newState()
	for i := range recentInboundLimit + 10 {
		s.remember(fmt.Sprint("ID", i))
	}
	if len(s.recent) != recentInboundLimit || len(s.recentSet) != recentInboundLimit {
		t.Fatalf("remembers %d/%d IDs, want %d", len(s.recent), len(s.recentSet), recentInboundLimit)
	}
	if s.received("ID0") || !s.received(fmt.Sprint("ID", recentInboundLimit+9)) {
		t.Error("the oldest IDs should be forgotten first")
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	bad := []func(*Config){
		func(c *Config) { c.SendDelayMin = -1 },
		func(c *Config) { c.SendDelayMin, c.SendDelayMax = 3e9, 1e9 },
		func(c *Config) { c.MaxQueueWhileDisconnected = 0 },
		func(c *Config) { c.SendTimeout = 0 },
		func(c *Config) { c.SnapshotEvery = 0 },
	}
	for i, mutate := range bad {
		c := DefaultConfig()
		mutate(&c)
		if c.Validate() == nil {
			t.Errorf("case %d: %+v accepted", i, c)
		}
	}
}

// pace: a message's own delayMessage wins; otherwise the pause is drawn from the configured range.
func TestPace(t *testing.T) {
	cfg := DefaultConfig()
	a := &instance{deps: &deps{cfg: cfg}}
	if got := a.pace(&messagesv1.Outbound{DelayMessageS: 7}); got != 7*time.Second {
		t.Errorf("delayMessage 7 gives %s", got)
	}
	seen := map[bool]bool{}
	for range 200 {
		got := a.pace(&messagesv1.Outbound{})
		if got < cfg.SendDelayMin || got >= cfg.SendDelayMax {
			t.Fatalf("default pause %s outside [%s, %s)", got, cfg.SendDelayMin, cfg.SendDelayMax)
		}
		seen[got < 2*time.Second] = true
	}
	if !seen[true] || !seen[false] {
		t.Error("200 default pauses all fell in one half of 1–3 s: not random")
	}
	a.deps.cfg.SendDelayMin, a.deps.cfg.SendDelayMax = 0, 0
	if got := a.pace(&messagesv1.Outbound{}); got != 0 {
		t.Errorf("pacing 0 gives %s", got)
	}
}

// snapshotThenReplay is the state recovered from a snapshot taken after evs[:cut] (through its encoding) and the
// events after it.
func snapshotThenReplay(t *testing.T, evs []*eventsv1.Event, cut int) *state {
	t.Helper()
	raw, err := proto.Marshal(replay(evs[:cut]).snapshot())
	if err != nil {
		t.Fatal(err)
	}
	var snap actorsv1.InstanceSnapshot
	if err := proto.Unmarshal(raw, &snap); err != nil {
		t.Fatal(err)
	}
	s := stateFromSnapshot(&snap)
	for _, e := range evs[cut:] {
		s.apply(e)
	}
	return s
}
