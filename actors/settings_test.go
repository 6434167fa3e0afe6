package actors

import (
	"context"
	"maps"
	"testing"

	"google.golang.org/protobuf/proto"

	actorsv1 "github.com/plugzapi/plugzapi/proto/actors/v1"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
)

type fixedTargets map[eventsv1.WebhookKind]string

func (f fixedTargets) Targets(context.Context, string) (map[eventsv1.WebhookKind]string, error) {
	return maps.Clone(f), nil
}

// Settings and webhook targets are state: events change them, a snapshot keeps them, and a snapshot written
// before they were in snapshots takes the webhook targets from their read model.
func TestSettingsAreKeptInSnapshots(t *testing.T) {
	const received, receivedDelivery = eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED, eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED_DELIVERY
	st := newState()
	settings := &eventsv1.Settings{AutoReadMessage: true, CallRejectAuto: true, CallRejectMessage: "busy"}
	for i, e := range []*eventsv1.Event{
		{Payload: &eventsv1.Event_WebhookConfigured{WebhookConfigured: &eventsv1.WebhookConfigured{Kind: received, Url: "https://a"}}},
		{Payload: &eventsv1.Event_WebhookConfigured{WebhookConfigured: &eventsv1.WebhookConfigured{Kind: receivedDelivery, Url: "https://b"}}},
		{Payload: &eventsv1.Event_WebhookConfigured{WebhookConfigured: &eventsv1.WebhookConfigured{Kind: received}}},
		{Payload: &eventsv1.Event_InstanceRenamed{InstanceRenamed: &eventsv1.InstanceRenamed{Name: "Loja"}}},
		{Payload: &eventsv1.Event_SettingsChanged{SettingsChanged: &eventsv1.SettingsChanged{Settings: settings}}},
	} {
		e.Seq = int64(i + 1)
		st.apply(e)
	}
	want := map[eventsv1.WebhookKind]string{receivedDelivery: "https://b"}
	raw, err := proto.Marshal(st.snapshot())
	if err != nil {
		t.Fatal(err)
	}
	var snap actorsv1.InstanceSnapshot
	if err := proto.Unmarshal(raw, &snap); err != nil {
		t.Fatal(err)
	}
	back := stateFromSnapshot(&snap)
	if back.name != "Loja" || !proto.Equal(back.settings, settings) || !maps.Equal(back.webhooks, want) {
		t.Errorf("from the snapshot: name %q, settings %v, webhooks %v", back.name, back.settings, back.webhooks)
	}

	old := &actorsv1.InstanceSnapshot{Seq: 7, Name: "old", Format: snapshotFormatWithoutWebhooks}
	a := &instance{id: "I1", deps: &deps{targets: fixedTargets(want)}}
	upgraded, err := a.upgradeSnapshot(context.Background(), old)
	if err != nil {
		t.Fatal(err)
	}
	if upgraded.seq != 7 || !maps.Equal(upgraded.webhooks, want) || !proto.Equal(upgraded.settings, &eventsv1.Settings{}) {
		t.Errorf("an old snapshot upgraded: seq %d, webhooks %v, settings %v", upgraded.seq, upgraded.webhooks, upgraded.settings)
	}
}
