package e2e

import (
	"context"
	"slices"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"google.golang.org/protobuf/proto"
)

// TestReceivedContentIsNeverDropped: a message whose content the server does not render yet (an event, a
// payment) is still reported, with a ReceivedCallback naming its type, instead of being acknowledged to WhatsApp and
// lost without a word.
func TestReceivedContentIsNeverDropped(t *testing.T) {
	sim := startSimulator(t)
	business := addAccount(t, sim, businessPhone, "Business")
	alice := addAccount(t, sim, alicePhone, "Alice")
	hooks := newReceiver(t)
	srv := startServer(t, sim)
	in := createInstance(t, srv, "types", hooks)
	link(t, in, business)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, m := range []struct {
		msg  *waE2E.Message
		want string
	}{
		{&waE2E.Message{EventMessage: &waE2E.EventMessage{Name: proto.String("Festa"), StartTime: proto.Int64(1900000000)}}, "event"},
		{&waE2E.Message{SendPaymentMessage: &waE2E.SendPaymentMessage{NoteMessage: &waE2E.Message{
			Conversation: proto.String("pago")}}}, "sendPayment"},
	} {
		id, err := alice.SendMessage(ctx, businessPhone, m.msg)
		if err != nil {
			t.Fatal(err)
		}
		h := hooks.waitFor(t, m.want+" reported", func(h hook) bool { return h.Type == "ReceivedCallback" && h.str("messageId") == id })
		params, _ := h.Body["notificationParameters"].([]any)
		if h.str("notification") != "MESSAGE_TYPE_NOT_SUPPORTED" || !slices.Equal(params, []any{m.want}) ||
			h.str("phone") != alicePhone || h.Body["text"] != nil {
			t.Errorf("%s: %s", m.want, h.Raw)
		}
	}
}
