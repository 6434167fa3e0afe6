package webhooks

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const (
	goldenInstance = "3B6F1E2A9C4D5E6F708192A3B4C5D6E7"
	goldenTime     = int64(1732450000123)
)

// text is a text content.
func text(body string) *messagesv1.Content {
	return &messagesv1.Content{Kind: &messagesv1.Content_Text{Text: &messagesv1.Text{Body: body}}}
}

func ev(p any) *eventsv1.Event {
	e := &eventsv1.Event{Id: "01JDH5Q0000000000000000000", InstanceId: goldenInstance, Seq: 7, TimeMs: goldenTime}
	switch p := p.(type) {
	case *eventsv1.MessageSent:
		e.Payload = &eventsv1.Event_MessageSent{MessageSent: p}
	case *eventsv1.MessageFailed:
		e.Payload = &eventsv1.Event_MessageFailed{MessageFailed: p}
	case *eventsv1.MessageStatusChanged:
		e.Payload = &eventsv1.Event_MessageStatusChanged{MessageStatusChanged: p}
	case *messagesv1.Inbound:
		e.Payload = &eventsv1.Event_MessageReceived{MessageReceived: p}
	case *eventsv1.Connected:
		e.Payload = &eventsv1.Event_Connected{Connected: p}
	case *eventsv1.Disconnected:
		e.Payload = &eventsv1.Event_Disconnected{Disconnected: p}
	case *eventsv1.LoggedOut:
		e.Payload = &eventsv1.Event_LoggedOut{LoggedOut: p}
	case *eventsv1.ChatPresenceChanged:
		e.Payload = &eventsv1.Event_ChatPresenceChanged{ChatPresenceChanged: p}
	default:
		panic("unknown payload in test")
	}
	return e
}

var goldenCases = []struct {
	name     string
	callback string
	event    *eventsv1.Event
}{
	{"delivery_sent", DeliveryCallback, ev(&eventsv1.MessageSent{
		ZaapId: "01JDH5ZAAP", MessageId: "3EB0C767D26A1D2B7A5E", Phone: "5511999990001", ServerTimeMs: 1732450001000})},
	{"delivery_failed", DeliveryCallback, ev(&eventsv1.MessageFailed{
		ZaapId: "01JDH5ZAAP", MessageId: "3EB0C767D26A1D2B7A5E", Phone: "5511999990001", Error: "Phone number does not exist"})},
	{"status_sent", MessageStatusCallback, ev(&eventsv1.MessageSent{
		ZaapId: "01JDH5ZAAP", MessageId: "3EB0C767D26A1D2B7A5E", Phone: "5511999990001", ServerTimeMs: 1732450001000})},
	{"status_received", MessageStatusCallback, ev(&eventsv1.MessageStatusChanged{
		MessageIds: []string{"3EB0C767D26A1D2B7A5E", "3EB0C767D26A1D2B7A5F"}, Status: eventsv1.MessageStatus_MESSAGE_STATUS_RECEIVED, Phone: "5511999990001"})},
	{"status_read", MessageStatusCallback, ev(&eventsv1.MessageStatusChanged{
		MessageIds: []string{"3EB0C767D26A1D2B7A5E"}, Status: eventsv1.MessageStatus_MESSAGE_STATUS_READ, Phone: "5511999990001"})},
	{"status_played", MessageStatusCallback, ev(&eventsv1.MessageStatusChanged{
		MessageIds: []string{"3EB0C767D26A1D2B7A5E"}, Status: eventsv1.MessageStatus_MESSAGE_STATUS_PLAYED, Phone: "5511999990001"})},
	{"status_read_self", MessageStatusCallback, ev(&eventsv1.MessageStatusChanged{
		MessageIds: []string{"3EB0C767D26A1D2B7A5E"}, Status: eventsv1.MessageStatus_MESSAGE_STATUS_READ_SELF, Phone: "5511999990001"})},
	{"received_text", ReceivedCallback, ev(&messagesv1.Inbound{
		MessageId: "ABCDEF0123456789", Phone: "5511999990002", Type: messagesv1.Kind_KIND_TEXT,
		SentTimeMs: 1732449999000, VaultKey: "k", Size: 9,
		Content: text("Olá <b>&</b> \"tchau\""), SenderName: "Ana", ChatName: "Ana Souza"})},
	{"received_group_reply", ReceivedCallback, ev(&messagesv1.Inbound{
		MessageId: "ABCDEF0123456790", Phone: "120363019502650977-group", Participant: "5511999990003", IsGroup: true,
		Type: messagesv1.Kind_KIND_TEXT, SentTimeMs: 1732449999000, ReplyTo: "3EB0C767D26A1D2B7A5E", VaultKey: "k",
		Content: text("concordo"), SenderName: "Bruno", ChatName: "Equipe"})},
	{"received_from_me", ReceivedCallback, ev(&messagesv1.Inbound{
		MessageId: "ABCDEF0123456791", Phone: "5511999990002", FromMe: true, Type: messagesv1.Kind_KIND_TEXT,
		SentTimeMs: 1732449999000, VaultKey: "k",
		Content: text("typed on the phone"), SenderName: "Me"})},
	{"connected", ConnectedCallback, ev(&eventsv1.Connected{Phone: "5511999990000"})},
	{"disconnected", DisconnectedCallback, ev(&eventsv1.Disconnected{})},
	{"disconnected_reason", DisconnectedCallback, ev(&eventsv1.Disconnected{Reason: "stream replaced"})},
	{"logged_out", DisconnectedCallback, ev(&eventsv1.LoggedOut{Reason: "Device has been logged out", ByApi: true})},
	{"presence_composing", PresenceChatCallback, ev(&eventsv1.ChatPresenceChanged{
		Phone: "5511999990002", Presence: eventsv1.ChatPresence_CHAT_PRESENCE_COMPOSING})},
	{"presence_unavailable_last_seen", PresenceChatCallback, ev(&eventsv1.ChatPresenceChanged{
		Phone: "5511999990002", Presence: eventsv1.ChatPresence_CHAT_PRESENCE_UNAVAILABLE, LastSeenMs: 1732449000000})},
	// A contact who writes by LID: the phone number WhatsApp gave beside it, and the LID in Z-API's fields.
	{"received_lid_chat", ReceivedCallback, ev(&messagesv1.Inbound{
		MessageId: "ABCDEF0123456792", Phone: "5511999990002", Type: messagesv1.Kind_KIND_TEXT,
		SentTimeMs: 1732449999000, VaultKey: "k", ChatLid: "123456789012345@lid", SenderLid: "123456789012345@lid",
		Content: text("oi"), SenderName: "Ana", ChatName: "Ana"})},
	// A LID-addressed group whose member's phone number is not known: the LID in its place.
	{"received_lid_group", ReceivedCallback, ev(&messagesv1.Inbound{
		MessageId: "ABCDEF0123456793", Phone: "120363019502650977-group", Participant: "987654321012345@lid", IsGroup: true,
		Type: messagesv1.Kind_KIND_TEXT, SentTimeMs: 1732449999000, VaultKey: "k", SenderLid: "987654321012345@lid",
		Content: text("olá"), SenderName: "Caio"})},
	// A content not rendered yet still makes a webhook, naming the type.
	{"received_not_supported", ReceivedCallback, ev(&messagesv1.Inbound{
		MessageId: "ABCDEF0123456794", Phone: "5511999990002", Type: messagesv1.Kind_KIND_OTHER,
		ContentType: "image", SentTimeMs: 1732449999000, VaultKey: "k",
		SenderName: "Ana", ChatName: "Ana"})},
}

func TestRenderGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Render(tc.callback, tc.event)
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(got) {
				t.Fatalf("invalid JSON: %s", got)
			}
			// Indent for readable golden files; the comparison is on the compact bytes.
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, got, "", "  "); err != nil {
				t.Fatal(err)
			}
			pretty.WriteByte('\n')
			path := filepath.Join("testdata", tc.name+".json")
			if *update {
				if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read golden (run with -update to create): %v", err)
			}
			var compact bytes.Buffer
			if err := json.Compact(&compact, want); err != nil {
				t.Fatalf("golden %s: %v", path, err)
			}
			if !bytes.Equal(got, compact.Bytes()) {
				t.Fatalf("Render(%s) =\n%s\nwant (%s)\n%s", tc.callback, pretty.Bytes(), path, want)
			}
			// The documented fields: "type" names the callback and "instanceId" is present in every payload.
			var m map[string]any
			if err := json.Unmarshal(got, &m); err != nil {
				t.Fatal(err)
			}
			if m["type"] != tc.callback || m["instanceId"] != goldenInstance {
				t.Fatalf("type = %v, instanceId = %v", m["type"], m["instanceId"])
			}
		})
	}
}

func TestRenderRefusesMismatches(t *testing.T) {
	sent := goldenCases[0].event
	if _, err := Render(ConnectedCallback, sent); err == nil {
		t.Fatal("rendered a MessageSent as ConnectedCallback")
	}
	sealed := proto.Clone(goldenCases[7].event).(*eventsv1.Event)
	sealed.GetMessageReceived().Content = nil
	if _, err := Render(ReceivedCallback, sealed); err == nil {
		t.Fatal("rendered a ReceivedCallback without its content")
	}
	if _, err := Render(MessageStatusCallback, ev(&eventsv1.MessageStatusChanged{MessageIds: []string{"x"}})); err == nil {
		t.Fatal("rendered a status change without a status")
	}
}

func TestRoutes(t *testing.T) {
	type want = []route
	k := func(kind eventsv1.WebhookKind, cb string) route { return route{kind, cb} }
	tests := []struct {
		name  string
		event *eventsv1.Event
		want  want
	}{
		{"sent", goldenCases[0].event, want{
			k(eventsv1.WebhookKind_WEBHOOK_KIND_DELIVERY, DeliveryCallback),
			k(eventsv1.WebhookKind_WEBHOOK_KIND_MESSAGE_STATUS, MessageStatusCallback)}},
		{"failed", goldenCases[1].event, want{k(eventsv1.WebhookKind_WEBHOOK_KIND_DELIVERY, DeliveryCallback)}},
		{"status", goldenCases[3].event, want{k(eventsv1.WebhookKind_WEBHOOK_KIND_MESSAGE_STATUS, MessageStatusCallback)}},
		{"status without ids", ev(&eventsv1.MessageStatusChanged{Status: eventsv1.MessageStatus_MESSAGE_STATUS_READ}), nil},
		{"received", goldenCases[7].event, want{
			k(eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED, ReceivedCallback),
			k(eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED_DELIVERY, ReceivedCallback)}},
		{"from me", goldenCases[9].event, want{k(eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED_DELIVERY, ReceivedCallback)}},
		{"received, type unspecified", ev(&messagesv1.Inbound{MessageId: "x"}), nil},
		{"received, not rendered yet", goldenCases[len(goldenCases)-1].event, want{
			k(eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED, ReceivedCallback),
			k(eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED_DELIVERY, ReceivedCallback)}},
		{"connected", goldenCases[10].event, want{k(eventsv1.WebhookKind_WEBHOOK_KIND_CONNECTED, ConnectedCallback)}},
		{"logged out", goldenCases[13].event, want{k(eventsv1.WebhookKind_WEBHOOK_KIND_DISCONNECTED, DisconnectedCallback)}},
		{"presence", goldenCases[14].event, want{k(eventsv1.WebhookKind_WEBHOOK_KIND_CHAT_PRESENCE, PresenceChatCallback)}},
		{"presence unspecified", ev(&eventsv1.ChatPresenceChanged{Phone: "1"}), nil},
		{"queued", &eventsv1.Event{Payload: &eventsv1.Event_MessageQueued{MessageQueued: &messagesv1.Outbound{}}}, nil},
	}
	for _, tt := range tests {
		got := routes(tt.event)
		if len(got) != len(tt.want) {
			t.Errorf("%s: routes = %v, want %v", tt.name, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%s: routes = %v, want %v", tt.name, got, tt.want)
			}
		}
	}
}
