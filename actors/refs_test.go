package actors

import (
	"context"
	"errors"
	"testing"

	"github.com/plugzapi/plugzapi/events"
	"github.com/plugzapi/plugzapi/events/eventstest"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
	"github.com/plugzapi/plugzapi/store"
)

// Deleting one's own message before it went is taking it off the queue: nothing reaches WhatsApp, and the
// content leaves the vault. A delete of a message not in the queue, or of another's, is queued as a revoke.
func TestRevokeOfAWaitingMessageCancelsIt(t *testing.T) {
	db := eventstest.OpenDB(t, t.TempDir())
	log := eventstest.OpenLog(t, db, events.Config{})
	const id, phone = "INSTANCE1", "5511999990001"
	eventstest.Append(t, log, id, &eventsv1.Event{Payload: &eventsv1.Event_InstanceCreated{
		InstanceCreated: &eventsv1.InstanceCreated{Name: "shop"}}})
	cfg := DefaultConfig()
	ask := spawnInstance(t, id, testDeps(t, db, log, cfg))
	revoke := func(chat, messageID string, mine bool) *messagesv1.Outbound {
		return &messagesv1.Outbound{Phone: chat, Content: &messagesv1.Content{Kind: &messagesv1.Content_Revoke{Revoke: &messagesv1.Revoke{
			Target: &messagesv1.MessageRef{MessageId: messageID, FromMe: mine}}}}}
	}

	// The instance is not linked: what it queues waits.
	oops := ask(enqueue{msg: text(phone, "oops")}).value.(Queued)
	kept := ask(enqueue{msg: text(phone, "kept")}).value.(Queued)
	if r := ask(enqueue{msg: revoke(phone, oops.MessageID, true)}); r.err != nil || r.value.(Queued) != (Queued{}) {
		t.Fatalf("revoke of a waiting message: %+v", r)
	}
	// Not waiting (sent long ago), another chat's, or a member's: queued as revokes.
	for _, m := range []*messagesv1.Outbound{revoke(phone, "3EB0SENTBEFORE", true), revoke("5511999990002", kept.MessageID, true),
		revoke("120363000000000001-group", kept.MessageID, false)} {
		if r := ask(enqueue{msg: m}); r.err != nil || r.value.(Queued).MessageID == "" {
			t.Fatalf("revoke %v: %+v", m, r)
		}
	}
	var kinds []messagesv1.Kind
	var ids []string
	for _, e := range ask(listQueue{}).value.([]*eventsv1.Event) {
		kinds = append(kinds, e.GetMessageQueued().GetType())
		ids = append(ids, e.GetMessageQueued().GetMessageId())
	}
	if len(ids) != 4 || ids[0] != kept.MessageID || kinds[1] != messagesv1.Kind_KIND_REVOKE {
		t.Errorf("queue = %v %v, want the kept message then three revokes", ids, kinds)
	}
	if _, err := db.Vault().Get(context.Background(), events.OutboundVaultKey(id, oops.MessageID)); !errors.Is(err, store.ErrVaultNotFound) {
		t.Errorf("the cancelled message's content is still in the vault: %v", err)
	}
	cancelled := false
	if err := log.Load(context.Background(), id, 0, func(e *eventsv1.Event) error {
		cancelled = cancelled || e.GetMessageCancelled().GetMessageId() == oops.MessageID
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !cancelled {
		t.Error("no MessageCancelled for the deleted message")
	}
}
