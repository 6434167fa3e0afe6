package events

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	"github.com/plugzapi/plugzapi/store"
)

// Origin is what an instance's log says of where a message came from: who wrote it and in which chat. Content is
// never in the log; this is all that remains of a message once it is sent or delivered.
type Origin struct {
	// FromMe: the instance queued it, or another device of its account sent it.
	FromMe bool
	// Phone is the chat, in the API's grammar.
	Phone string
	// Participant is, for a message received in a group, the member who sent it.
	Participant string
}

// FindOrigin looks a message up in an instance's log by its WhatsApp ID: the message the instance queued, or the
// one it received, with that ID. ok is false when the log has neither (an ID it never saw, or forgotten with a
// deleted instance's history).
func FindOrigin(ctx context.Context, q store.Querier, instanceID, messageID string) (o Origin, ok bool, err error) {
	// The first such event by seq, found through instance_events_message (see QueuedTime on ORDER BY).
	var payload []byte
	err = q.QueryRowContext(ctx, `SELECT payload FROM instance_events WHERE instance_id = ? AND seq = (
		SELECT MIN(seq) FROM instance_events WHERE instance_id = ? AND message_id = ?
		AND type IN ('message_queued', 'message_received'))`, instanceID, instanceID, messageID).Scan(&payload)
	if errors.Is(err, sql.ErrNoRows) {
		return Origin{}, false, nil
	}
	if err != nil {
		return Origin{}, false, fmt.Errorf("events: origin of %s/%s: %w", instanceID, messageID, err)
	}
	var ev eventsv1.Event
	if err := proto.Unmarshal(payload, &ev); err != nil {
		return Origin{}, false, fmt.Errorf("events: origin of %s/%s: %w", instanceID, messageID, err)
	}
	switch p := ev.GetPayload().(type) {
	case *eventsv1.Event_MessageQueued:
		return Origin{FromMe: true, Phone: p.MessageQueued.GetPhone()}, true, nil
	case *eventsv1.Event_MessageReceived:
		in := p.MessageReceived
		return Origin{FromMe: in.GetFromMe(), Phone: in.GetPhone(), Participant: in.GetParticipant()}, true, nil
	}
	return Origin{}, false, nil
}
