package webhooks

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/plugzapi/plugzapi/events"
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

// mediaURL starts the URLs of received files in the golden files; pictureURL those of profile pictures.
const (
	mediaURL   = "https://plugzapi.example.com/media/"
	pictureURL = "https://pps.whatsapp.net/v/t61.24694-24/"
)

// received is a message a contact sent in a one-to-one chat, with the given content.
func received(id string, c *messagesv1.Content) *eventsv1.Event {
	return ev(&messagesv1.Inbound{MessageId: id, Phone: "5511999990002", Type: messagesv1.KindOf(c),
		SentTimeMs: 1732449999000, VaultKey: "k", Content: c, SenderName: "Ana", ChatName: "Ana"})
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
		Content: text("Olá <b>&</b> \"tchau\""), SenderName: "Ana", ChatName: "Ana Souza",
		Photo: pictureURL + "ana.jpg?oe=6750A1B2", SenderPhoto: pictureURL + "ana.jpg?oe=6750A1B2"})},
	{"received_group_reply", ReceivedCallback, ev(&messagesv1.Inbound{
		MessageId: "ABCDEF0123456790", Phone: "120363019502650977-group", Participant: "5511999990003", IsGroup: true,
		Type: messagesv1.Kind_KIND_TEXT, SentTimeMs: 1732449999000, ReplyTo: "3EB0C767D26A1D2B7A5E", VaultKey: "k",
		Content: text("concordo"), SenderName: "Bruno", ChatName: "Equipe",
		Photo: pictureURL + "equipe.jpg?oe=6750A1B2", SenderPhoto: pictureURL + "bruno.jpg?oe=6750A1B2"})},
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
	// Every received type of PlugZapi's §5.4 (and Z-API's where PlugZapi documents none).
	{"received_product", ReceivedCallback, received("PRD1", &messagesv1.Content{Kind: &messagesv1.Content_Product{Product: &messagesv1.Product{
		Id: "7012345678901234", Title: "Camiseta", Description: "Algodão", CurrencyCode: "BRL", Price_1000: 59900,
		RetailerId: "SKU-1", Url: "https://loja.example/camiseta", ImageCount: 2, FirstImageId: "img1",
		BusinessOwner: "5511999990009", Image: &messagesv1.Media{MimeType: "image/jpeg", Link: mediaURL + "tok9.jpeg"}}}})},
	{"received_request_payment", ReceivedCallback, received("PAY1", &messagesv1.Content{Kind: &messagesv1.Content_PaymentRequest{
		PaymentRequest: &messagesv1.PaymentRequest{CurrencyCode: "BRL", Amount_1000: 12500, RequestFrom: "5511999990000",
			ExpiresMs: 1733054799000, Note: "o almoço"}}})},
	{"received_image", ReceivedCallback, received("IMG1", &messagesv1.Content{Kind: &messagesv1.Content_Image{Image: &messagesv1.Media{
		MimeType: "image/jpeg", Link: mediaURL + "tok1.jpeg", ThumbnailLink: mediaURL + "tok2.jpeg", Caption: "a cat",
		Width: 640, Height: 480}}})},
	{"received_image_view_once_download_error", ReceivedCallback, received("IMG2", &messagesv1.Content{Kind: &messagesv1.Content_Image{Image: &messagesv1.Media{
		MimeType: "image/jpeg", ViewOnce: true, DownloadFailed: true}}})},
	{"received_audio_voice", ReceivedCallback, received("AUD1", &messagesv1.Content{Kind: &messagesv1.Content_Audio{Audio: &messagesv1.Media{
		MimeType: "audio/ogg; codecs=opus", Link: mediaURL + "tok3.ogg", Voice: true, Seconds: 4}}})},
	{"received_video", ReceivedCallback, received("VID1", &messagesv1.Content{Kind: &messagesv1.Content_Video{Video: &messagesv1.Media{
		MimeType: "video/mp4", Link: mediaURL + "tok4.mp4", Caption: "look", Seconds: 13}}})},
	{"received_gif", ReceivedCallback, received("GIF1", &messagesv1.Content{Kind: &messagesv1.Content_Video{Video: &messagesv1.Media{
		MimeType: "video/mp4", Link: mediaURL + "tok5.mp4", Gif: true, Seconds: 2}}})},
	{"received_document", ReceivedCallback, received("DOC1", &messagesv1.Content{Kind: &messagesv1.Content_Document{Document: &messagesv1.Media{
		MimeType: "application/pdf", Link: mediaURL + "tok6.pdf", Title: "nome", PageCount: 1, FileName: "nome.pdf"}}})},
	{"received_sticker", ReceivedCallback, received("STK1", &messagesv1.Content{Kind: &messagesv1.Content_Sticker{Sticker: &messagesv1.Media{
		MimeType: "image/webp", Link: mediaURL + "tok7.webp"}}})},
	{"received_location", ReceivedCallback, received("LOC1", &messagesv1.Content{Kind: &messagesv1.Content_Location{Location: &messagesv1.Location{
		Latitude: -23.5489, Longitude: -46.6388, Name: "Praça da Sé", Address: "São Paulo", Url: "https://maps.example/x"}}})},
	{"received_live_location", ReceivedCallback, received("LOC2", &messagesv1.Content{Kind: &messagesv1.Content_Location{Location: &messagesv1.Location{
		Latitude: -23.5, Longitude: -46.6, Live: true, ThumbnailLink: mediaURL + "tok8.jpeg"}}})},
	{"received_contact", ReceivedCallback, received("CON1", &messagesv1.Content{Kind: &messagesv1.Content_Contacts{Contacts: &messagesv1.Contacts{
		Contacts: []*messagesv1.Contact{{Name: "Cesar", Phones: []string{"5544999999999"},
			Vcard: "BEGIN:VCARD\nVERSION:3.0\nFN:Cesar\nTEL;type=CELL;waid=5544999999999:+55 44 99999-9999\nEND:VCARD"}}}}})},
	{"received_contacts", ReceivedCallback, received("CON2", &messagesv1.Content{Kind: &messagesv1.Content_Contacts{Contacts: &messagesv1.Contacts{
		Contacts: []*messagesv1.Contact{{Name: "A", Phones: []string{"551100000001"}, Vcard: "BEGIN:VCARD\nEND:VCARD"},
			{Name: "B", Phones: []string{}, Vcard: "BEGIN:VCARD\nEND:VCARD"}}}}})},
	{"received_reaction", ReceivedCallback, received("REA1", &messagesv1.Content{Kind: &messagesv1.Content_Reaction{Reaction: &messagesv1.Reaction{
		Emoji: "❤️", TimeMs: 1651878681150, Target: &messagesv1.MessageRef{MessageId: "3EB0796DC6B777C0C7CD", FromMe: true, Phone: "5511999990002"}}}})},
	{"received_reaction_removed", ReceivedCallback, received("REA2", &messagesv1.Content{Kind: &messagesv1.Content_Reaction{Reaction: &messagesv1.Reaction{
		TimeMs: 1651878682150, Target: &messagesv1.MessageRef{MessageId: "3EB0796DC6B777C0C7CD", FromMe: true, Phone: "5511999990002"}}}})},
	{"received_poll", ReceivedCallback, received("POL1", &messagesv1.Content{Kind: &messagesv1.Content_Poll{Poll: &messagesv1.Poll{
		Question: "Best API?", Options: []string{"PlugZapi", "Others"}, Selectable: 1}}})},
	{"received_poll_vote", ReceivedCallback, received("VOT1", &messagesv1.Content{Kind: &messagesv1.Content_PollVote{PollVote: &messagesv1.PollVote{
		Poll: &messagesv1.MessageRef{MessageId: "POL1"}, Options: []string{"PlugZapi"}}}})},
	{"received_button_reply", ReceivedCallback, received("BTN1", &messagesv1.Content{Kind: &messagesv1.Content_ButtonReply{ButtonReply: &messagesv1.ButtonReply{
		ButtonId: "1", Text: "Ótimo"}}})},
	{"received_list_reply", ReceivedCallback, received("LST1", &messagesv1.Content{Kind: &messagesv1.Content_ListReply{ListReply: &messagesv1.ListReply{
		OptionId: "1", Title: "PlugZapi", Description: "Mais software, menos esforço"}}})},
	{"received_revoke", ReceivedCallback, received("REV1", &messagesv1.Content{Kind: &messagesv1.Content_Revoke{Revoke: &messagesv1.Revoke{
		Target: &messagesv1.MessageRef{MessageId: "ABCDEF0123456789", Phone: "5511999990002"}}}})},
	{"received_group_participant_add", ReceivedCallback, ev(&messagesv1.Inbound{
		MessageId: "NOTIF0123456789ABCDEF", Phone: "120363019502650977-group", Participant: "5511999990003", IsGroup: true,
		Type: messagesv1.Kind_KIND_NOTIFICATION, SentTimeMs: 1732449999000, VaultKey: "k", ChatName: "Equipe",
		Content: &messagesv1.Content{Kind: &messagesv1.Content_Notification{Notification: &messagesv1.Notification{
			Code: "GROUP_PARTICIPANT_ADD", Parameters: []string{"5511999990004"}}}}})},
	{"received_call_missed", ReceivedCallback, ev(&messagesv1.Inbound{
		MessageId: "CALL0123456789ABCDEF", Phone: "5511999990002", SenderLid: "81896604192873@lid", ChatLid: "81896604192873@lid",
		Type: messagesv1.Kind_KIND_NOTIFICATION, SentTimeMs: 1732449999000, VaultKey: "k",
		Content: &messagesv1.Content{Kind: &messagesv1.Content_Notification{Notification: &messagesv1.Notification{
			Code: "CALL_MISSED_VOICE", CallId: "F44E0E2011E7C784BB9A4AC11749C436"}}}})},
	{"received_edit", ReceivedCallback, ev(&messagesv1.Inbound{
		MessageId: "ABCDEF0123456789", EditId: "ABCDEF0123456799", IsEdit: true, Phone: "5511999990002", Type: messagesv1.Kind_KIND_TEXT,
		SentTimeMs: 1732449999000, VaultKey: "k", Content: text("corrected"), SenderName: "Ana", ChatName: "Ana"})},
	{"received_waiting", ReceivedCallback, ev(&messagesv1.Inbound{
		MessageId: "ABCDEF0123456780", WaitingMessage: true, Phone: "5511999990002", Type: messagesv1.Kind_KIND_NOTIFICATION,
		SentTimeMs: 1732449999000, VaultKey: "k", SenderName: "Ana", ChatName: "Ana",
		Content: &messagesv1.Content{Kind: &messagesv1.Content_Notification{Notification: &messagesv1.Notification{Code: "CIPHERTEXT"}}}})},
	{"received_status_reply_forwarded", ReceivedCallback, ev(&messagesv1.Inbound{
		MessageId: "ABCDEF0123456781", StatusReply: true, Forwarded: true, ExpirationSeconds: 86400, Phone: "5511999990002",
		Type: messagesv1.Kind_KIND_TEXT, SentTimeMs: 1732449999000, VaultKey: "k", Content: text("nice status"), ChatName: "Ana"})},
	{"received_broadcast", ReceivedCallback, ev(&messagesv1.Inbound{
		MessageId: "ABCDEF0123456782", Broadcast: true, Phone: "5511999990002", Type: messagesv1.Kind_KIND_TEXT,
		SentTimeMs: 1732449999000, VaultKey: "k", Content: text("to my list"), ChatName: "Ana"})},
	{"received_text_from_ad", ReceivedCallback, ev(&messagesv1.Inbound{
		MessageId: "ABCDEF0123456783", Phone: "5511999990002", Type: messagesv1.Kind_KIND_TEXT, SentTimeMs: 1732449999000, VaultKey: "k",
		Content: &messagesv1.Content{Kind: &messagesv1.Content_Text{Text: &messagesv1.Text{Body: "mensagem recebida",
			Preview: &messagesv1.LinkPreview{Url: "https://ad.example", Title: "Titulo", Description: "texto do anuncio",
				Image: &messagesv1.Media{ThumbnailLink: mediaURL + "tok9.jpeg"}}}}},
		ExternalAd: &messagesv1.ExternalAd{Title: "Titulo", Body: "texto do anuncio", MediaType: 1, ThumbnailLink: mediaURL + "tok9.jpeg",
			SourceType: "ad", SourceId: "23722824350495506", SourceUrl: "https://ad.example", RenderLargerThumbnail: true, ShowAdAttribution: true},
		ChatName: "Ana", SenderName: "Ana"})},
	// A reaction made on the account's own phone is the account's, not the chat's.
	{"received_reaction_from_me", ReceivedCallback, ev(&messagesv1.Inbound{
		MessageId: "REA3", Phone: "5511999990002", FromMe: true, Type: messagesv1.Kind_KIND_REACTION, SentTimeMs: 1732449999000,
		VaultKey: "k", Content: &messagesv1.Content{Kind: &messagesv1.Content_Reaction{Reaction: &messagesv1.Reaction{
			Emoji: "👍", TimeMs: 1651878683150, By: "5511999990000",
			Target: &messagesv1.MessageRef{MessageId: "ABCDEF0123456789", Phone: "5511999990002"}}}}})},
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

// TestRenderWithoutContent: a received message sent again after its content was deleted carries what its event
// says (the envelope) and the notification MESSAGE_CONTENT_UNAVAILABLE naming its type: no text, names or
// pictures.
func TestRenderWithoutContent(t *testing.T) {
	whole := &messagesv1.Inbound{MessageId: "ABCDEF0123456795", Phone: "120363025246125486-group", IsGroup: true,
		Participant: "5511999990003", SenderLid: "123456789012345@lid", Type: messagesv1.Kind_KIND_IMAGE,
		SentTimeMs: 1732449999000, ReplyTo: "ABCDEF0123456700", Forwarded: true, VaultKey: "k",
		Content:    &messagesv1.Content{Kind: &messagesv1.Content_Image{Image: &messagesv1.Media{Caption: "private caption"}}},
		SenderName: "Ana", ChatName: "Family", Photo: pictureURL + "chat.jpg", SenderPhoto: pictureURL + "ana.jpg"}
	public, _, err := events.Seal(whole)
	if err != nil {
		t.Fatal(err)
	}
	event := ev(public)
	if !contentGone("", event) || contentGone("k", event) {
		t.Fatal("contentGone does not follow the delivery's vault key")
	}
	got, err := render(ReceivedCallback, event, true)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "received_content_unavailable.json")
	if *update {
		var pretty bytes.Buffer
		_ = json.Indent(&pretty, got, "", "  ")
		if err := os.WriteFile(path, append(pretty.Bytes(), '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update to create): %v", err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, want); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, compact.Bytes()) {
		t.Fatalf("got\n%s\nwant (%s)\n%s", got, path, want)
	}
	for _, private := range []string{"private caption", "Ana", "Family", pictureURL} {
		if bytes.Contains(got, []byte(private)) {
			t.Fatalf("%q in a webhook without content: %s", private, got)
		}
	}
}
