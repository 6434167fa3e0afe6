package whatsapp

import (
	"reflect"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"
)

// translate is pure: these cases pin what the server makes of each whatsmeow event.
func TestTranslate(t *testing.T) {
	alice := types.NewJID("5511999990001", types.DefaultUserServer)
	aliceDevice := types.NewADJID("5511999990001", 0, 1)
	group := types.NewJID("120363000000000001", types.GroupServer)
	at := time.Unix(1_700_000_000, 0)
	source := types.MessageSource{Chat: alice, Sender: aliceDevice}

	cases := []struct {
		name string
		in   any
		want Event
	}{
		{"plain text", &events.Message{
			Info:    types.MessageInfo{MessageSource: source, ID: "M1", PushName: "Alice", Timestamp: at},
			Message: &waE2E.Message{Conversation: proto.String("hi")},
		}, MessageReceived{ID: "M1", Chat: alice, Sender: alice, SenderName: "Alice", Text: "hi", Time: at}},
		{"reply in a group", &events.Message{
			Info: types.MessageInfo{MessageSource: types.MessageSource{Chat: group, Sender: aliceDevice, IsGroup: true}, ID: "M2", Timestamp: at},
			Message: &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{
				Text: proto.String("yes"), ContextInfo: &waE2E.ContextInfo{StanzaID: proto.String("M1")}}},
		}, MessageReceived{ID: "M2", Chat: group, Sender: alice, IsGroup: true, Text: "yes", ReplyTo: "M1", Time: at}},
		{"sender key distribution only", &events.Message{
			Info:    types.MessageInfo{MessageSource: source, ID: "M3"},
			Message: &waE2E.Message{SenderKeyDistributionMessage: &waE2E.SenderKeyDistributionMessage{}},
		}, nil},
		{"delivered", &events.Receipt{MessageSource: source, MessageIDs: []string{"A", "B"}, Type: types.ReceiptTypeDelivered, Timestamp: at},
			ReceiptReceived{IDs: []string{"A", "B"}, Chat: alice, Sender: alice, Status: StatusReceived, Time: at}},
		{"inactive counts as delivered", &events.Receipt{MessageSource: source, MessageIDs: []string{"A"}, Type: types.ReceiptTypeInactive},
			ReceiptReceived{IDs: []string{"A"}, Chat: alice, Sender: alice, Status: StatusReceived}},
		{"read", &events.Receipt{MessageSource: source, MessageIDs: []string{"A"}, Type: types.ReceiptTypeRead},
			ReceiptReceived{IDs: []string{"A"}, Chat: alice, Sender: alice, Status: StatusRead}},
		{"played", &events.Receipt{MessageSource: source, MessageIDs: []string{"A"}, Type: types.ReceiptTypePlayed},
			ReceiptReceived{IDs: []string{"A"}, Chat: alice, Sender: alice, Status: StatusPlayed}},
		{"read by this account elsewhere", &events.Receipt{MessageSource: source, MessageIDs: []string{"A"}, Type: types.ReceiptTypeReadSelf},
			ReceiptReceived{IDs: []string{"A"}, Chat: alice, Sender: alice, Status: StatusReadSelf}},
		{"retry receipts are whatsmeow's business", &events.Receipt{MessageSource: source, Type: types.ReceiptTypeRetry}, nil},
		{"typing", &events.ChatPresence{MessageSource: source, State: types.ChatPresenceComposing}, ChatPresence{Chat: alice, State: ChatComposing}},
		{"recording", &events.ChatPresence{MessageSource: source, State: types.ChatPresenceComposing, Media: types.ChatPresenceMediaAudio},
			ChatPresence{Chat: alice, State: ChatRecording}},
		{"stopped", &events.ChatPresence{MessageSource: source, State: types.ChatPresencePaused}, ChatPresence{Chat: alice, State: ChatPaused}},
		{"offline", &events.Presence{From: alice, Unavailable: true, LastSeen: at}, ChatPresence{Chat: alice, State: ChatUnavailable, LastSeen: at}},
		{"paired", &events.PairSuccess{ID: aliceDevice, Platform: "android", BusinessName: "Shop"}, Paired{JID: aliceDevice, Platform: "android", BusinessName: "Shop"}},
		{"connected", &events.Connected{}, Connected{}},
		{"connection lost", &events.Disconnected{}, Disconnected{Reason: "connection lost", Reconnecting: true}},
		{"replaced", &events.StreamReplaced{}, Disconnected{Reason: "another client connected with this device"}},
		{"removed", &events.LoggedOut{Reason: events.ConnectFailureLoggedOut}, LoggedOut{Reason: "the device was removed (401: logged out from another device)"}},
		{"keepalive is not a state change", &events.KeepAliveTimeout{}, nil},
		{"unrelated", &events.HistorySync{}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := translate(c.in)
			if c.want == nil {
				if ok {
					t.Fatalf("translate = %#v, want nothing", got)
				}
				return
			}
			if !ok || !reflect.DeepEqual(got, c.want) {
				t.Fatalf("translate = %#v, %v\nwant %#v", got, ok, c.want)
			}
		})
	}
}
