package whatsapp

import (
	"context"
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
		}, MessageReceived{Kind: "text", ID: "M1", Chat: alice, Sender: alice, SenderName: "Alice", Text: "hi", Time: at}},
		{"reply in a group", &events.Message{
			Info: types.MessageInfo{MessageSource: types.MessageSource{Chat: group, Sender: aliceDevice, IsGroup: true}, ID: "M2", Timestamp: at},
			Message: &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{
				Text: proto.String("yes"), ContextInfo: &waE2E.ContextInfo{StanzaID: proto.String("M1")}}},
		}, MessageReceived{Kind: "text", ID: "M2", Chat: group, Sender: alice, IsGroup: true, Text: "yes", ReplyTo: "M1", Time: at}},
		{"an image, not rendered yet, named", &events.Message{
			Info:    types.MessageInfo{MessageSource: source, ID: "M4", Timestamp: at},
			Message: &waE2E.Message{ImageMessage: &waE2E.ImageMessage{Caption: proto.String("look")}},
		}, MessageReceived{Kind: "image", ID: "M4", Chat: alice, Sender: alice, Time: at}},
		{"a reaction, named", &events.Message{
			Info:    types.MessageInfo{MessageSource: source, ID: "M5"},
			Message: &waE2E.Message{ReactionMessage: &waE2E.ReactionMessage{Text: proto.String("👍")}},
		}, MessageReceived{Kind: "reaction", ID: "M5", Chat: alice, Sender: alice}},
		{"a revoke, named", &events.Message{
			Info: types.MessageInfo{MessageSource: source, ID: "M6"},
			Message: &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{Type: waE2E.ProtocolMessage_REVOKE.Enum()},
				MessageContextInfo: &waE2E.MessageContextInfo{}},
		}, MessageReceived{Kind: "revoke", ID: "M6", Chat: alice, Sender: alice}},
		{"the phone's app state keys are no content", &events.Message{
			Info: types.MessageInfo{MessageSource: source, ID: "M7"},
			Message: &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{
				Type: waE2E.ProtocolMessage_APP_STATE_SYNC_KEY_SHARE.Enum()}},
		}, nil},
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
			got, ok := translator{}.translate(c.in)
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

// fakeLIDs is a store of phone number ↔ LID mappings.
type fakeLIDs map[types.JID]types.JID // LID → phone number

func (f fakeLIDs) GetPNForLID(_ context.Context, lid types.JID) (types.JID, error) {
	return f[lid], nil
}

func (f fakeLIDs) GetLIDForPN(_ context.Context, pn types.JID) (types.JID, error) {
	for lid, p := range f {
		if p == pn {
			return lid, nil
		}
	}
	return types.EmptyJID, nil
}

// People are reported by phone number wherever it is known — from the stanza's alternate address or from the
// mappings whatsmeow learned — and by LID only when it is not, with their LID beside.
func TestTranslateNamesPeopleByPhoneNumber(t *testing.T) {
	alice := types.NewJID("5511999990001", types.DefaultUserServer)
	aliceLID := types.NewJID("101", types.HiddenUserServer)
	bob := types.NewJID("5511999990002", types.DefaultUserServer)
	bobLID := types.NewJID("102", types.HiddenUserServer)
	stranger := types.NewJID("999", types.HiddenUserServer)
	me := types.NewJID("5511999990000", types.DefaultUserServer)
	group := types.NewJID("120363000000000001", types.GroupServer)
	device := func(j types.JID) types.JID { j.Device = 1; return j }
	tr := translator{lids: fakeLIDs{bobLID: bob}}
	text := &waE2E.Message{Conversation: proto.String("hi")}

	cases := []struct {
		name string
		in   any
		want Event
	}{
		{"a LID chat, the phone number beside", &events.Message{Info: types.MessageInfo{ID: "1", MessageSource: types.MessageSource{
			Chat: aliceLID, Sender: device(aliceLID), SenderAlt: alice}}, Message: text},
			MessageReceived{Kind: "text", ID: "1", Chat: alice, ChatLID: aliceLID, Sender: alice, SenderLID: aliceLID, Text: "hi"}},
		{"a LID chat, the phone number from the store", &events.Message{Info: types.MessageInfo{ID: "2", MessageSource: types.MessageSource{
			Chat: bobLID, Sender: device(bobLID)}}, Message: text},
			MessageReceived{Kind: "text", ID: "2", Chat: bob, ChatLID: bobLID, Sender: bob, SenderLID: bobLID, Text: "hi"}},
		{"a LID chat, no phone number known", &events.Message{Info: types.MessageInfo{ID: "3", MessageSource: types.MessageSource{
			Chat: stranger, Sender: device(stranger)}}, Message: text},
			MessageReceived{Kind: "text", ID: "3", Chat: stranger, ChatLID: stranger, Sender: stranger, SenderLID: stranger, Text: "hi"}},
		{"a phone-number chat, the LID beside", &events.Message{Info: types.MessageInfo{ID: "4", MessageSource: types.MessageSource{
			Chat: alice, Sender: device(alice), SenderAlt: aliceLID}}, Message: text},
			MessageReceived{Kind: "text", ID: "4", Chat: alice, ChatLID: aliceLID, Sender: alice, SenderLID: aliceLID, Text: "hi"}},
		{"a LID group", &events.Message{Info: types.MessageInfo{ID: "5", MessageSource: types.MessageSource{
			Chat: group, IsGroup: true, Sender: device(aliceLID), SenderAlt: alice, AddressingMode: types.AddressingModeLID}}, Message: text},
			MessageReceived{Kind: "text", ID: "5", Chat: group, Sender: alice, SenderLID: aliceLID, IsGroup: true, Text: "hi"}},
		{"sent by another device of this account to a LID", &events.Message{Info: types.MessageInfo{ID: "6", MessageSource: types.MessageSource{
			Chat: bobLID, Sender: device(me), IsFromMe: true, RecipientAlt: bob}}, Message: text},
			MessageReceived{Kind: "text", ID: "6", Chat: bob, ChatLID: bobLID, Sender: me, FromMe: true, Text: "hi"}},
		{"a receipt in a LID chat", &events.Receipt{MessageSource: types.MessageSource{Chat: aliceLID, Sender: device(aliceLID), SenderAlt: alice},
			MessageIDs: []string{"A"}, Type: types.ReceiptTypeRead},
			ReceiptReceived{IDs: []string{"A"}, Chat: alice, Sender: alice, Status: StatusRead}},
		{"typing in a LID chat", &events.ChatPresence{MessageSource: types.MessageSource{Chat: bobLID, Sender: bobLID}, State: types.ChatPresenceComposing},
			ChatPresence{Chat: bob, State: ChatComposing}},
		{"presence of a LID", &events.Presence{From: bobLID}, ChatPresence{Chat: bob, State: ChatAvailable}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := tr.translate(c.in)
			if !ok || !reflect.DeepEqual(got, c.want) {
				t.Fatalf("translate = %#v, %v\nwant %#v", got, ok, c.want)
			}
		})
	}
}
