package whatsapp

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// received is the MessageReceived of a text message, as the cases below expect them.
func received(m *messagesv1.Inbound, body string) MessageReceived {
	m.Type, m.Content = messagesv1.Kind_KIND_TEXT, textContent(body)
	return MessageReceived{Message: m}
}

// other is the MessageReceived of a content the server does not render yet.
func other(m *messagesv1.Inbound, typ string) MessageReceived {
	m.Type, m.ContentType = messagesv1.Kind_KIND_OTHER, typ
	return MessageReceived{Message: m}
}

func receipt(status eventsv1.MessageStatus, phone string, ids ...string) ReceiptReceived {
	return ReceiptReceived{&eventsv1.MessageStatusChanged{MessageIds: ids, Status: status, Phone: phone}}
}

func presenceChanged(phone string, p eventsv1.ChatPresence, lastSeen time.Time) ChatPresence {
	return ChatPresence{&eventsv1.ChatPresenceChanged{Phone: phone, Presence: p, LastSeenMs: unixMilli(lastSeen)}}
}

// sameEvent compares Events, their protobuf payloads as protobuf does.
func sameEvent(got, want Event) bool {
	switch w := want.(type) {
	case MessageReceived:
		g, ok := got.(MessageReceived)
		return ok && proto.Equal(g.Message, w.Message)
	case ReceiptReceived:
		g, ok := got.(ReceiptReceived)
		return ok && proto.Equal(g.Receipt, w.Receipt)
	case ChatPresence:
		g, ok := got.(ChatPresence)
		return ok && proto.Equal(g.Presence, w.Presence)
	}
	return reflect.DeepEqual(got, want)
}

// TestGroupChanges: a change to a group is one notification per kind of change, from the group, with an ID that
// is the same when WhatsApp tells it again.
func TestGroupChanges(t *testing.T) {
	group := types.NewJID("120363000000000001", types.GroupServer)
	alice := types.NewJID("5511999990001", types.DefaultUserServer)
	bob := types.NewJID("5511999990002", types.DefaultUserServer)
	at := time.Unix(1_700_000_000, 0)
	codes := func(e Event) (out []string) {
		for _, m := range e.(GroupNotifications) {
			n := m.Message.GetContent().GetNotification()
			if m.Message.GetPhone() != "120363000000000001-group" || !m.Message.GetIsGroup() || m.Message.GetType() != messagesv1.Kind_KIND_NOTIFICATION {
				t.Errorf("notification %v", m.Message)
			}
			out = append(out, n.GetCode()+" "+strings.Join(n.GetParameters(), ","))
		}
		return out
	}
	tr := translator{}
	change := &events.GroupInfo{JID: group, Sender: &alice, Timestamp: at, Join: []types.JID{bob}, Name: &types.GroupName{Name: "Equipe"}}
	got, ok := tr.translate(change)
	if !ok || !slices.Equal(codes(got), []string{"GROUP_PARTICIPANT_ADD 5511999990002", "GROUP_CHANGE_SUBJECT Equipe"}) {
		t.Fatalf("join and rename: %v", got)
	}
	again, _ := tr.translate(change)
	first, second := got.(GroupNotifications), again.(GroupNotifications)
	if first[0].Message.GetMessageId() != second[0].Message.GetMessageId() || first[0].Message.GetMessageId() == first[1].Message.GetMessageId() {
		t.Errorf("IDs %s %s / %s", first[0].Message.GetMessageId(), first[1].Message.GetMessageId(), second[0].Message.GetMessageId())
	}
	if first[0].Message.GetParticipant() != "5511999990001" {
		t.Errorf("who changed it: %v", first[0].Message)
	}
	left, _ := tr.translate(&events.GroupInfo{JID: group, Sender: &bob, Timestamp: at, Leave: []types.JID{bob}})
	removed, _ := tr.translate(&events.GroupInfo{JID: group, Sender: &alice, Timestamp: at, Leave: []types.JID{bob}})
	if !slices.Equal(codes(left), []string{"GROUP_PARTICIPANT_LEAVE 5511999990002"}) ||
		!slices.Equal(codes(removed), []string{"GROUP_PARTICIPANT_REMOVE 5511999990002"}) {
		t.Errorf("leave %v, remove %v", codes(left), codes(removed))
	}
	if _, ok := tr.translate(&events.GroupInfo{JID: group, Timestamp: at}); ok {
		t.Error("a change of nothing reported")
	}
	created, ok := tr.translate(&events.JoinedGroup{Type: "new", Sender: &alice,
		GroupInfo: types.GroupInfo{JID: group, GroupName: types.GroupName{Name: "Nova"}, GroupCreated: at}})
	m := created.(MessageReceived).Message
	if !ok || m.GetContent().GetNotification().GetCode() != "GROUP_CREATE" || m.GetChatName() != "Nova" ||
		!slices.Equal(m.GetContent().GetNotification().GetParameters(), []string{"Nova"}) {
		t.Errorf("created: %v", m)
	}
}

// translate is pure: these cases pin what the server makes of each whatsmeow event.
func TestTranslate(t *testing.T) {
	alice := types.NewJID("5511999990001", types.DefaultUserServer)
	aliceDevice := types.NewADJID("5511999990001", 0, 1)
	group := types.NewJID("120363000000000001", types.GroupServer)
	at := time.Unix(1_700_000_000, 0)
	ms := at.UnixMilli()
	source := types.MessageSource{Chat: alice, Sender: aliceDevice}
	const (
		delivered = eventsv1.MessageStatus_MESSAGE_STATUS_RECEIVED
		read      = eventsv1.MessageStatus_MESSAGE_STATUS_READ
	)

	cases := []struct {
		name string
		in   any
		want Event
	}{
		{"plain text", &events.Message{
			Info:    types.MessageInfo{MessageSource: source, ID: "M1", PushName: "Alice", Timestamp: at},
			Message: &waE2E.Message{Conversation: proto.String("hi")},
		}, received(&messagesv1.Inbound{MessageId: "M1", Phone: "5511999990001", SenderName: "Alice", ChatName: "Alice", SentTimeMs: ms}, "hi")},
		{"reply in a group", &events.Message{
			Info: types.MessageInfo{MessageSource: types.MessageSource{Chat: group, Sender: aliceDevice, IsGroup: true}, ID: "M2", PushName: "Alice", Timestamp: at},
			Message: &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{
				Text: proto.String("yes"), ContextInfo: &waE2E.ContextInfo{StanzaID: proto.String("M1")}}},
		}, received(&messagesv1.Inbound{MessageId: "M2", Phone: "120363000000000001-group", Participant: "5511999990001",
			IsGroup: true, ReplyTo: "M1", SenderName: "Alice", SentTimeMs: ms}, "yes")},
		{"a kind not rendered yet, named", &events.Message{
			Info:    types.MessageInfo{MessageSource: source, ID: "M4", Timestamp: at},
			Message: &waE2E.Message{EventMessage: &waE2E.EventMessage{Name: proto.String("party")}},
		}, other(&messagesv1.Inbound{MessageId: "M4", Phone: "5511999990001", SentTimeMs: ms}, "event")},
		{"an image, with what downloading it takes", &events.Message{
			Info: types.MessageInfo{MessageSource: source, ID: "M4b", Timestamp: at},
			Message: &waE2E.Message{ImageMessage: &waE2E.ImageMessage{Caption: proto.String("look"),
				Mimetype: proto.String("image/jpeg"), DirectPath: proto.String("/v/1"), MediaKey: []byte{1},
				FileLength: proto.Uint64(3), JPEGThumbnail: []byte{9}, ViewOnce: proto.Bool(true)}},
		}, MessageReceived{Message: &messagesv1.Inbound{MessageId: "M4b", Phone: "5511999990001", SentTimeMs: ms,
			Type: messagesv1.Kind_KIND_IMAGE, Content: &messagesv1.Content{Kind: &messagesv1.Content_Image{Image: &messagesv1.Media{
				Caption: "look", MimeType: "image/jpeg", Size: 3, Thumbnail: []byte{9}, ViewOnce: true,
				File: &messagesv1.WhatsAppFile{DirectPath: "/v/1", MediaKey: []byte{1}, FileLength: 3, MediaType: "WhatsApp Image Keys"}}}}}}},
		{"a reaction to a message the contact sent", &events.Message{
			Info: types.MessageInfo{MessageSource: source, ID: "M5"},
			Message: &waE2E.Message{ReactionMessage: &waE2E.ReactionMessage{Text: proto.String("👍"), SenderTimestampMS: proto.Int64(7),
				Key: &waCommon.MessageKey{ID: proto.String("T1"), FromMe: proto.Bool(true), RemoteJID: proto.String("5511999990000@s.whatsapp.net")}}},
		}, MessageReceived{Message: &messagesv1.Inbound{MessageId: "M5", Phone: "5511999990001", Type: messagesv1.Kind_KIND_REACTION,
			Content: &messagesv1.Content{Kind: &messagesv1.Content_Reaction{Reaction: &messagesv1.Reaction{Emoji: "👍", TimeMs: 7,
				By: "5511999990001", Target: &messagesv1.MessageRef{MessageId: "T1", Phone: "5511999990001"}}}}}}},
		{"a reaction made on this account's phone is by this account, not by the chat", &events.Message{
			Info: types.MessageInfo{MessageSource: types.MessageSource{Chat: alice, Sender: types.NewADJID("5511999990000", 0, 0),
				IsFromMe: true}, ID: "M5b"},
			Message: &waE2E.Message{ReactionMessage: &waE2E.ReactionMessage{Text: proto.String("❤️"), SenderTimestampMS: proto.Int64(8),
				Key: &waCommon.MessageKey{ID: proto.String("T1b"), RemoteJID: proto.String("5511999990001@s.whatsapp.net")}}},
		}, MessageReceived{Message: &messagesv1.Inbound{MessageId: "M5b", Phone: "5511999990001", FromMe: true, Type: messagesv1.Kind_KIND_REACTION,
			Content: &messagesv1.Content{Kind: &messagesv1.Content_Reaction{Reaction: &messagesv1.Reaction{Emoji: "❤️", TimeMs: 8,
				By: "5511999990000", Target: &messagesv1.MessageRef{MessageId: "T1b", Phone: "5511999990001"}}}}}}},
		{"an edit, under the edited message's ID", &events.Message{
			Info: types.MessageInfo{MessageSource: source, ID: "M6"},
			Message: &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{Type: waE2E.ProtocolMessage_MESSAGE_EDIT.Enum(),
				Key: &waCommon.MessageKey{ID: proto.String("T2")}, EditedMessage: &waE2E.Message{Conversation: proto.String("fixed")}}},
		}, MessageReceived{Message: &messagesv1.Inbound{MessageId: "T2", EditId: "M6", IsEdit: true, Phone: "5511999990001",
			Type: messagesv1.Kind_KIND_TEXT, Content: &messagesv1.Content{Kind: &messagesv1.Content_Text{Text: &messagesv1.Text{Body: "fixed"}}}}}},
		{"forwarded, from a status, on a disappearing chat", &events.Message{
			Info: types.MessageInfo{MessageSource: source, ID: "M6b"},
			Message: &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{Text: proto.String("nice"),
				ContextInfo: &waE2E.ContextInfo{IsForwarded: proto.Bool(true), Expiration: proto.Uint32(86400),
					RemoteJID: proto.String("status@broadcast"), StanzaID: proto.String("S1")}}},
		}, MessageReceived{Message: &messagesv1.Inbound{MessageId: "M6b", Phone: "5511999990001", Type: messagesv1.Kind_KIND_TEXT,
			ReplyTo: "S1", Forwarded: true, ExpirationSeconds: 86400, StatusReply: true,
			Content: &messagesv1.Content{Kind: &messagesv1.Content_Text{Text: &messagesv1.Text{Body: "nice"}}}}}},
		{"a product with its picture, to download", &events.Message{
			Info: types.MessageInfo{MessageSource: source, ID: "M6p", Timestamp: at},
			Message: &waE2E.Message{ProductMessage: &waE2E.ProductMessage{BusinessOwnerJID: proto.String("5511999990009@s.whatsapp.net"),
				Product: &waE2E.ProductMessage_ProductSnapshot{ProductID: proto.String("P1"), Title: proto.String("Caneca"),
					PriceAmount1000: proto.Int64(39900), CurrencyCode: proto.String("BRL"),
					ProductImage: &waE2E.ImageMessage{Mimetype: proto.String("image/jpeg"), DirectPath: proto.String("/v/2"),
						MediaKey: []byte{2}, FileLength: proto.Uint64(5)}}}},
		}, MessageReceived{Message: &messagesv1.Inbound{MessageId: "M6p", Phone: "5511999990001", SentTimeMs: ms, Type: messagesv1.Kind_KIND_PRODUCT,
			Content: &messagesv1.Content{Kind: &messagesv1.Content_Product{Product: &messagesv1.Product{Id: "P1", Title: "Caneca",
				Price_1000: 39900, CurrencyCode: "BRL", BusinessOwner: "5511999990009",
				Image: &messagesv1.Media{MimeType: "image/jpeg", Size: 5, File: &messagesv1.WhatsAppFile{DirectPath: "/v/2",
					MediaKey: []byte{2}, FileLength: 5, MediaType: "WhatsApp Image Keys"}}}}}}}},
		{"a payment request, its amount as today's apps write it", &events.Message{
			Info: types.MessageInfo{MessageSource: source, ID: "M6q", Timestamp: at},
			Message: &waE2E.Message{RequestPaymentMessage: &waE2E.RequestPaymentMessage{RequestFrom: proto.String("5511999990000@s.whatsapp.net"),
				Amount: &waE2E.Money{Value: proto.Int64(123456), Offset: proto.Uint32(4), CurrencyCode: proto.String("BRL")}}},
		}, MessageReceived{Message: &messagesv1.Inbound{MessageId: "M6q", Phone: "5511999990001", SentTimeMs: ms, Type: messagesv1.Kind_KIND_PAYMENT_REQUEST,
			Content: &messagesv1.Content{Kind: &messagesv1.Content_PaymentRequest{PaymentRequest: &messagesv1.PaymentRequest{
				CurrencyCode: "BRL", Amount_1000: 12345, RequestFrom: "5511999990000"}}}}}},
		{"a contact's status update, from status@broadcast", &events.Message{
			Info: types.MessageInfo{MessageSource: types.MessageSource{Chat: types.StatusBroadcastJID, Sender: aliceDevice, IsGroup: true},
				ID: "M6s", PushName: "Alice", Timestamp: at},
			Message: &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{Text: proto.String("open"), BackgroundArgb: proto.Uint32(1)}},
		}, received(&messagesv1.Inbound{MessageId: "M6s", Phone: "status@broadcast", Participant: "5511999990001",
			Broadcast: true, SenderName: "Alice", SentTimeMs: ms}, "open")},
		{"a text from an ad", &events.Message{
			Info: types.MessageInfo{MessageSource: source, ID: "M6c"},
			Message: &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{Text: proto.String("hi"),
				ContextInfo: &waE2E.ContextInfo{ExternalAdReply: &waE2E.ContextInfo_ExternalAdReplyInfo{
					Title: proto.String("Sale"), Body: proto.String("50% off"), SourceURL: proto.String("https://ad"),
					ThumbnailURL: proto.String("https://thumb"), SourceType: proto.String("ad"), SourceID: proto.String("7")}}}},
		}, MessageReceived{Message: &messagesv1.Inbound{MessageId: "M6c", Phone: "5511999990001", Type: messagesv1.Kind_KIND_TEXT,
			Content: &messagesv1.Content{Kind: &messagesv1.Content_Text{Text: &messagesv1.Text{Body: "hi",
				Preview: &messagesv1.LinkPreview{Url: "https://ad", Title: "Sale", Description: "50% off",
					Image: &messagesv1.Media{ThumbnailLink: "https://thumb"}}}}},
			ExternalAd: &messagesv1.ExternalAd{Title: "Sale", Body: "50% off", SourceUrl: "https://ad", ThumbnailLink: "https://thumb",
				SourceType: "ad", SourceId: "7"}}}},
		{"a message not decrypted yet", &events.UndecryptableMessage{
			Info: types.MessageInfo{MessageSource: source, ID: "M6d", PushName: "Alice", Timestamp: at},
		}, MessageReceived{Message: &messagesv1.Inbound{MessageId: "M6d", Phone: "5511999990001", Type: messagesv1.Kind_KIND_NOTIFICATION,
			WaitingMessage: true, SentTimeMs: ms, SenderName: "Alice", ChatName: "Alice",
			Content: &messagesv1.Content{Kind: &messagesv1.Content_Notification{Notification: &messagesv1.Notification{Code: "CIPHERTEXT"}}}}}},
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
			receipt(delivered, "5511999990001", "A", "B")},
		{"inactive counts as delivered", &events.Receipt{MessageSource: source, MessageIDs: []string{"A"}, Type: types.ReceiptTypeInactive},
			receipt(delivered, "5511999990001", "A")},
		{"read", &events.Receipt{MessageSource: source, MessageIDs: []string{"A"}, Type: types.ReceiptTypeRead},
			receipt(read, "5511999990001", "A")},
		{"played", &events.Receipt{MessageSource: source, MessageIDs: []string{"A"}, Type: types.ReceiptTypePlayed},
			receipt(eventsv1.MessageStatus_MESSAGE_STATUS_PLAYED, "5511999990001", "A")},
		{"read by this account elsewhere", &events.Receipt{MessageSource: source, MessageIDs: []string{"A"}, Type: types.ReceiptTypeReadSelf},
			receipt(eventsv1.MessageStatus_MESSAGE_STATUS_READ_SELF, "5511999990001", "A")},
		{"read in a group, by a member", &events.Receipt{MessageSource: types.MessageSource{Chat: group, Sender: aliceDevice, IsGroup: true},
			MessageIDs: []string{"A"}, Type: types.ReceiptTypeRead},
			ReceiptReceived{&eventsv1.MessageStatusChanged{MessageIds: []string{"A"}, Status: read,
				Phone: "120363000000000001-group", Participant: "5511999990001"}}},
		{"retry receipts are whatsmeow's business", &events.Receipt{MessageSource: source, Type: types.ReceiptTypeRetry}, nil},
		{"typing", &events.ChatPresence{MessageSource: source, State: types.ChatPresenceComposing},
			presenceChanged("5511999990001", eventsv1.ChatPresence_CHAT_PRESENCE_COMPOSING, time.Time{})},
		{"recording", &events.ChatPresence{MessageSource: source, State: types.ChatPresenceComposing, Media: types.ChatPresenceMediaAudio},
			presenceChanged("5511999990001", eventsv1.ChatPresence_CHAT_PRESENCE_RECORDING, time.Time{})},
		{"stopped", &events.ChatPresence{MessageSource: source, State: types.ChatPresencePaused},
			presenceChanged("5511999990001", eventsv1.ChatPresence_CHAT_PRESENCE_PAUSED, time.Time{})},
		{"offline", &events.Presence{From: alice, Unavailable: true, LastSeen: at},
			presenceChanged("5511999990001", eventsv1.ChatPresence_CHAT_PRESENCE_UNAVAILABLE, at)},
		{"paired", &events.PairSuccess{ID: aliceDevice, Platform: "android", BusinessName: "Shop"},
			Paired{JID: "5511999990001:1@s.whatsapp.net", Platform: "android", BusinessName: "Shop"}},
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
			if !ok || !sameEvent(got, c.want) {
				t.Fatalf("translate = %v, %v\nwant %v", got, ok, c.want)
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
			received(&messagesv1.Inbound{MessageId: "1", Phone: "5511999990001", ChatLid: "101@lid", SenderLid: "101@lid"}, "hi")},
		{"a LID chat, the phone number from the store", &events.Message{Info: types.MessageInfo{ID: "2", MessageSource: types.MessageSource{
			Chat: bobLID, Sender: device(bobLID)}}, Message: text},
			received(&messagesv1.Inbound{MessageId: "2", Phone: "5511999990002", ChatLid: "102@lid", SenderLid: "102@lid"}, "hi")},
		{"a LID chat, no phone number known", &events.Message{Info: types.MessageInfo{ID: "3", MessageSource: types.MessageSource{
			Chat: stranger, Sender: device(stranger)}}, Message: text},
			received(&messagesv1.Inbound{MessageId: "3", Phone: "999@lid", ChatLid: "999@lid", SenderLid: "999@lid"}, "hi")},
		{"a phone-number chat, the LID beside", &events.Message{Info: types.MessageInfo{ID: "4", MessageSource: types.MessageSource{
			Chat: alice, Sender: device(alice), SenderAlt: aliceLID}}, Message: text},
			received(&messagesv1.Inbound{MessageId: "4", Phone: "5511999990001", ChatLid: "101@lid", SenderLid: "101@lid"}, "hi")},
		{"a LID group", &events.Message{Info: types.MessageInfo{ID: "5", MessageSource: types.MessageSource{
			Chat: group, IsGroup: true, Sender: device(aliceLID), SenderAlt: alice, AddressingMode: types.AddressingModeLID}}, Message: text},
			received(&messagesv1.Inbound{MessageId: "5", Phone: "120363000000000001-group", Participant: "5511999990001",
				SenderLid: "101@lid", IsGroup: true}, "hi")},
		{"sent by another device of this account to a LID", &events.Message{Info: types.MessageInfo{ID: "6", MessageSource: types.MessageSource{
			Chat: bobLID, Sender: device(me), IsFromMe: true, RecipientAlt: bob}}, Message: text},
			received(&messagesv1.Inbound{MessageId: "6", Phone: "5511999990002", ChatLid: "102@lid", FromMe: true}, "hi")},
		{"a receipt in a LID chat", &events.Receipt{MessageSource: types.MessageSource{Chat: aliceLID, Sender: device(aliceLID), SenderAlt: alice},
			MessageIDs: []string{"A"}, Type: types.ReceiptTypeRead},
			receipt(eventsv1.MessageStatus_MESSAGE_STATUS_READ, "5511999990001", "A")},
		{"typing in a LID chat", &events.ChatPresence{MessageSource: types.MessageSource{Chat: bobLID, Sender: bobLID}, State: types.ChatPresenceComposing},
			presenceChanged("5511999990002", eventsv1.ChatPresence_CHAT_PRESENCE_COMPOSING, time.Time{})},
		{"presence of a LID", &events.Presence{From: bobLID},
			presenceChanged("5511999990002", eventsv1.ChatPresence_CHAT_PRESENCE_AVAILABLE, time.Time{})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := tr.translate(c.in)
			if !ok || !sameEvent(got, c.want) {
				t.Fatalf("translate = %v, %v\nwant %v", got, ok, c.want)
			}
		})
	}
}
