package httpapi

import (
	"net/http"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/plugzapi/plugzapi/actors"
	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

func TestSendRich(t *testing.T) {
	cases := []struct {
		name, path string
		body       string
		want       *messagesv1.Content
		replyTo    string
	}{
		{"location with string coordinates, quoting", "send-location",
			body(map[string]any{"title": "Shop", "address": "Main St 1", "latitude": "-23.5614", "longitude": "-46.6559", "messageId": "Q1"}),
			&messagesv1.Content{Kind: &messagesv1.Content_Location{Location: &messagesv1.Location{
				Latitude: -23.5614, Longitude: -46.6559, Name: "Shop", Address: "Main St 1"}}}, "Q1"},
		{"location with number coordinates", "send-location",
			body(map[string]any{"title": "Pole", "address": "North", "latitude": 90, "longitude": -180}),
			&messagesv1.Content{Kind: &messagesv1.Content_Location{Location: &messagesv1.Location{
				Latitude: 90, Longitude: -180, Name: "Pole", Address: "North"}}}, ""},
		{"contact", "send-contact",
			body(map[string]any{"contactName": "Ana", "contactPhone": "5511911112222", "contactBusinessDescription": "Bakery"}),
			&messagesv1.Content{Kind: &messagesv1.Content_Contacts{Contacts: &messagesv1.Contacts{Contacts: []*messagesv1.Contact{
				{Name: "Ana", Phones: []string{"5511911112222"}, BusinessDescription: "Bakery"}}}}}, ""},
		{"contacts", "send-contacts",
			body(map[string]any{"contacts": []map[string]any{{"name": "Ana", "phones": []string{"5511911112222"}},
				{"name": "Caio", "phones": []string{"5511933334444", "5521955556666"}, "businessDescription": "Tools"}}}),
			&messagesv1.Content{Kind: &messagesv1.Content_Contacts{Contacts: &messagesv1.Contacts{Contacts: []*messagesv1.Contact{
				{Name: "Ana", Phones: []string{"5511911112222"}},
				{Name: "Caio", Phones: []string{"5511933334444", "5521955556666"}, BusinessDescription: "Tools"}}}}}, ""},
		{"reaction: messageId is the target, not a quote", "send-reaction",
			body(map[string]any{"reaction": "👍🏽", "messageId": "M1"}),
			&messagesv1.Content{Kind: &messagesv1.Content_Reaction{Reaction: &messagesv1.Reaction{
				Target: &messagesv1.MessageRef{MessageId: "M1"}, Emoji: "👍🏽"}}}, ""},
		{"reaction removal", "send-remove-reaction", body(map[string]any{"messageId": "M1"}),
			&messagesv1.Content{Kind: &messagesv1.Content_Reaction{Reaction: &messagesv1.Reaction{
				Target: &messagesv1.MessageRef{MessageId: "M1"}}}}, ""},
		{"button list", "send-button-list",
			body(map[string]any{"message": "Ok?", "buttonList": map[string]any{"buttons": []map[string]string{{"id": "y", "label": "Yes"}, {"label": "No"}}}}),
			&messagesv1.Content{Kind: &messagesv1.Content_Buttons{Buttons: &messagesv1.Buttons{Text: "Ok?", Buttons: []*messagesv1.Button{
				{Id: "y", Label: "Yes", Action: messagesv1.Button_ACTION_REPLY}, {Label: "No", Action: messagesv1.Button_ACTION_REPLY}}}}}, ""},
		{"button list under a picture", "send-button-list",
			body(map[string]any{"message": "Ok?", "buttonList": map[string]any{"image": "https://cdn.example.com/p.jpg",
				"buttons": []map[string]string{{"label": "Yes"}}}}),
			&messagesv1.Content{Kind: &messagesv1.Content_Buttons{Buttons: &messagesv1.Buttons{Text: "Ok?",
				Header:  &messagesv1.Media{Source: &messagesv1.Media_Url{Url: "https://cdn.example.com/p.jpg"}},
				Buttons: []*messagesv1.Button{{Label: "Yes", Action: messagesv1.Button_ACTION_REPLY}}}}}, ""},
		{"button list under a video", "send-button-list",
			body(map[string]any{"message": "Ok?", "buttonList": map[string]any{"video": "https://cdn.example.com/v.mp4",
				"buttons": []map[string]string{{"label": "Yes"}}}}),
			&messagesv1.Content{Kind: &messagesv1.Content_Buttons{Buttons: &messagesv1.Buttons{Text: "Ok?",
				Header: &messagesv1.Media{Source: &messagesv1.Media_Url{Url: "https://cdn.example.com/v.mp4"}}, HeaderVideo: true,
				Buttons: []*messagesv1.Button{{Label: "Yes", Action: messagesv1.Button_ACTION_REPLY}}}}}, ""},
		{"a code to copy under a picture", "send-button-otp",
			body(map[string]any{"message": "Seu código", "code": "123456", "image": "https://cdn.example.com/logo.png"}),
			&messagesv1.Content{Kind: &messagesv1.Content_Buttons{Buttons: &messagesv1.Buttons{Text: "Seu código",
				Header:  &messagesv1.Media{Source: &messagesv1.Media_Url{Url: "https://cdn.example.com/logo.png"}},
				Buttons: []*messagesv1.Button{{Label: "Copiar código", Action: messagesv1.Button_ACTION_COPY, Code: "123456"}}}}}, ""},
		{"button actions", "send-button-actions",
			body(map[string]any{"message": "Hi", "title": "T", "footer": "F", "buttonActions": []map[string]string{
				{"type": "url", "url": "https://a.example/", "label": "Site"}, {"type": "CALL", "phone": "551130000000", "label": "Call"}}}),
			&messagesv1.Content{Kind: &messagesv1.Content_Buttons{Buttons: &messagesv1.Buttons{Text: "Hi", Title: "T", Footer: "F", Buttons: []*messagesv1.Button{
				{Label: "Site", Action: messagesv1.Button_ACTION_URL, Url: "https://a.example/"},
				{Label: "Call", Action: messagesv1.Button_ACTION_CALL, Phone: "551130000000"}}}}}, ""},
		{"option list", "send-option-list",
			body(map[string]any{"message": "Pick", "optionList": map[string]any{"title": "Flavours", "buttonLabel": "Open",
				"options": []map[string]string{{"id": "1", "title": "Lime", "description": "sour"}}}}),
			&messagesv1.Content{Kind: &messagesv1.Content_OptionList{OptionList: &messagesv1.OptionList{Text: "Pick", Title: "Flavours",
				ButtonLabel: "Open", Options: []*messagesv1.Option{{Id: "1", Title: "Lime", Description: "sour"}}}}}, ""},
		{"pix with the default merchant name", "send-button-pix", body(map[string]any{"pixKey": "12345678901", "type": "cpf"}),
			&messagesv1.Content{Kind: &messagesv1.Content_Pix{Pix: &messagesv1.Pix{Key: "12345678901", KeyType: "CPF", MerchantName: "Pix"}}}, ""},
		{"otp", "send-button-otp", body(map[string]any{"message": "Your code", "code": "123456"}),
			&messagesv1.Content{Kind: &messagesv1.Content_Buttons{Buttons: &messagesv1.Buttons{Text: "Your code", Buttons: []*messagesv1.Button{
				{Label: "Copiar código", Action: messagesv1.Button_ACTION_COPY, Code: "123456"}}}}}, ""},
		{"text with mentions", "send-text",
			body(map[string]any{"message": "hi @5511911112222", "mentioned": []string{"5511911112222"},
				"groupMentioned": []map[string]string{{"phone": "120363019502650977-group", "subject": "Shop"}}}),
			&messagesv1.Content{Kind: &messagesv1.Content_Text{Text: &messagesv1.Text{Body: "hi @5511911112222", Mentioned: []string{"5511911112222"},
				GroupMentions: []*messagesv1.GroupMention{{Phone: "120363019502650977-group", Subject: "Shop"}}}}}, ""},
		{"an edit", "send-text", body(map[string]any{"message": "fixed", "editMessageId": "E1"}),
			&messagesv1.Content{Kind: &messagesv1.Content_Edit{Edit: &messagesv1.Edit{
				Target: &messagesv1.MessageRef{MessageId: "E1", FromMe: true}, Text: &messagesv1.Text{Body: "fixed"}}}}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newTestServer(t, Config{})
			var got sendResponse
			wantJSON(t, s.do(t, req{method: http.MethodPost, path: base + "/" + c.path, body: c.body}), 200, &got)
			m := sent(t, s)
			if m.GetPhone() != phone || m.GetReplyTo() != c.replyTo || !proto.Equal(m.GetContent(), c.want) {
				t.Errorf("queued %v (reply to %q)\nwant %v (reply to %q)", m.GetContent(), m.GetReplyTo(), c.want, c.replyTo)
			}
		})
	}
}

// TestSendPoll: the options in order, the choice count, and a fresh 32-byte secret for each poll.
func TestSendPoll(t *testing.T) {
	s := newTestServer(t, Config{})
	poll := body(map[string]any{"message": "Day?", "poll": []map[string]string{{"name": "Mon"}, {"name": "Tue"}}, "pollMaxOptions": 1})
	for range 2 {
		wantJSON(t, s.do(t, req{method: http.MethodPost, path: base + "/send-poll", body: poll}), 200, &sendResponse{})
	}
	calls := s.app.callsTo("Send")
	if len(calls) != 2 {
		t.Fatalf("Send calls = %d", len(calls))
	}
	var secrets []string
	for _, c := range calls {
		p := c.args[1].(*messagesv1.Outbound).GetContent().GetPoll()
		if p.GetQuestion() != "Day?" || strings.Join(p.GetOptions(), ",") != "Mon,Tue" || p.GetSelectable() != 1 ||
			len(p.GetSecret()) != messagesv1.PollSecretLen {
			t.Errorf("queued poll %v", p)
		}
		secrets = append(secrets, string(p.GetSecret()))
	}
	if secrets[0] == secrets[1] {
		t.Error("two polls share a secret")
	}
}

func TestSendRichRejects(t *testing.T) {
	options := func(n int) []map[string]string {
		var o []map[string]string
		for i := range n {
			o = append(o, map[string]string{"name": strings.Repeat("x", i+1), "title": strings.Repeat("x", i+1), "label": "b"})
		}
		return o
	}
	loc := func(lat, lon any) string {
		return body(map[string]any{"title": "t", "address": "a", "latitude": lat, "longitude": lon})
	}
	cases := []struct {
		name, path, body string
		code, field      string
		says             string
	}{
		{"location without fields", "send-location", body(map[string]any{"title": "t"}), codeMissingFields, "latitude", "address, latitude, longitude"},
		{"empty coordinates", "send-location", loc("", " "), codeMissingFields, "latitude,longitude", "latitude, longitude"},
		{"latitude out of range", "send-location", loc("91", "0"), codeInvalidField, "latitude", "-90 to 90"},
		{"longitude out of range", "send-location", loc("0", -180.5), codeInvalidField, "longitude", "-180 to 180"},
		{"latitude not a number", "send-location", loc("north", "0"), codeInvalidField, "latitude", "number of degrees"},
		{"latitude NaN", "send-location", loc("NaN", "0"), codeInvalidField, "latitude", "number of degrees"},
		{"blank title", "send-location", body(map[string]any{"title": " ", "address": "a", "latitude": "1", "longitude": "1"}), codeInvalidField, "title", "blank"},
		{"contact without a phone", "send-contact", body(map[string]any{"contactName": "Ana"}), codeMissingFields, "contactPhone", "missing"},
		{"contact with a blank name", "send-contact", body(map[string]any{"contactName": " ", "contactPhone": "5511911112222"}), codeInvalidField, "contactName", "blank"},
		{"contact with a bad phone", "send-contact", body(map[string]any{"contactName": "Ana", "contactPhone": "+55 11 9"}), codeInvalidPhone, "contactPhone", "digits"},
		{"no contacts", "send-contacts", body(map[string]any{"contacts": []any{}}), codeMissingFields, "contacts", "missing"},
		{"a contact without phones", "send-contacts", body(map[string]any{"contacts": []map[string]any{{"name": "Ana"}}}), codeInvalidField, "contacts[].phones", "at least one"},
		{"a contact without a name", "send-contacts", body(map[string]any{"contacts": []map[string]any{{"phones": []string{"5511911112222"}}}}), codeInvalidField, "contacts[].name", "blank"},
		{"reaction without a target", "send-reaction", body(map[string]any{"reaction": "👍"}), codeMissingFields, "messageId", "missing"},
		{"reaction that is a word", "send-reaction", body(map[string]any{"reaction": "like", "messageId": "M"}), codeInvalidField, "reaction", "one emoji"},
		{"reaction that is a sentence of emoji", "send-reaction", body(map[string]any{"reaction": strings.Repeat("👍", 17), "messageId": "M"}), codeInvalidField, "reaction", "one emoji"},
		{"remove-reaction without a target", "send-remove-reaction", body(map[string]any{}), codeMissingFields, "messageId", "missing"},
		{"empty poll", "send-poll", body(map[string]any{"message": "q", "poll": []any{}}), codeMissingFields, "poll", "missing"},
		{"a poll of one option", "send-poll", body(map[string]any{"message": "q", "poll": options(1)}), codeInvalidField, "poll", "2 to 12 options"},
		{"too many options", "send-poll", body(map[string]any{"message": "q", "poll": options(13)}), codeInvalidField, "poll", "2 to 12 options"},
		{"the same option twice", "send-poll", body(map[string]any{"message": "q", "poll": []map[string]string{{"name": "a"}, {"name": "a"}}}), codeInvalidField, "poll", "twice"},
		{"a blank option", "send-poll", body(map[string]any{"message": "q", "poll": []map[string]string{{"name": "a"}, {"name": ""}}}), codeInvalidField, "poll[].name", "blank"},
		{"more choices than options", "send-poll", body(map[string]any{"message": "q", "poll": options(2), "pollMaxOptions": 3}), codeInvalidField, "pollMaxOptions", "number of options"},
		{"no buttons", "send-button-list", body(map[string]any{"message": "m"}), codeMissingFields, "buttonList.buttons", "missing"},
		{"a picture and a video", "send-button-list", body(map[string]any{"message": "m", "buttonList": map[string]any{
			"buttons": options(1), "image": "https://cdn.example.com/p.jpg", "video": "https://cdn.example.com/v.mp4"}}),
			codeInvalidField, "buttonList.image", "not both"},
		{"a header that is no picture", "send-button-list", body(map[string]any{"message": "m", "buttonList": map[string]any{
			"buttons": options(1), "image": "data:image/png;base64,bm90IGEgcGljdHVyZQ=="}}), codeInvalidMedia, "buttonList.image", "picture"},
		{"too many buttons", "send-button-list", body(map[string]any{"message": "m", "buttonList": map[string]any{"buttons": options(4)}}), codeInvalidField, "buttonList.buttons", "1 to 3"},
		{"a button without a label", "send-button-list", body(map[string]any{"message": "m", "buttonList": map[string]any{"buttons": []map[string]string{{"id": "1"}}}}), codeInvalidField, "label", "blank"},
		{"an action of no type", "send-button-actions", body(map[string]any{"message": "m", "buttonActions": []map[string]string{{"type": "SMS", "label": "x"}}}), codeInvalidField, "type", "CALL, URL or REPLY"},
		{"a URL button without a URL", "send-button-actions", body(map[string]any{"message": "m", "buttonActions": []map[string]string{{"type": "URL", "label": "x"}}}), codeInvalidField, "url", "http(s) URL"},
		{"a CALL button with a bad number", "send-button-actions", body(map[string]any{"message": "m", "buttonActions": []map[string]string{{"type": "CALL", "label": "x", "phone": "12"}}}), codeInvalidPhone, "phone", "digits"},
		{"a list without its fields", "send-option-list", body(map[string]any{"message": "m", "optionList": map[string]any{}}), codeMissingFields, "optionList.buttonLabel", "optionList.title, optionList.buttonLabel, optionList.options"},
		{"a list too long", "send-option-list", body(map[string]any{"message": "m", "optionList": map[string]any{"title": "t", "buttonLabel": "b", "options": options(11)}}), codeInvalidField, "optionList.options", "1 to 10"},
		{"pix of an unknown type", "send-button-pix", body(map[string]any{"pixKey": "k", "type": "IBAN"}), codeInvalidField, "type", "CPF, CNPJ, PHONE, EMAIL or EVP"},
		{"a CPF that is not one", "send-button-pix", body(map[string]any{"pixKey": "123", "type": "CPF"}), codeInvalidField, "pixKey", "CPF: 11 digits"},
		{"a random key that is not a UUID", "send-button-pix", body(map[string]any{"pixKey": "abc", "type": "EVP"}), codeInvalidField, "pixKey", "EVP: a UUID"},
		{"otp without a code", "send-button-otp", body(map[string]any{"message": "m"}), codeMissingFields, "code", "missing"},
		{"a mention of a group", "send-text", body(map[string]any{"message": "m", "mentioned": []string{"120363019502650977-group"}}), codeInvalidPhone, "mentioned", "phone numbers"},
		{"a group mention of a person", "send-text", body(map[string]any{"message": "m", "groupMentioned": []map[string]string{{"phone": "5511911112222"}}}), codeInvalidPhone, "groupMentioned", "group ID"},
		{"an edit that quotes", "send-text", body(map[string]any{"message": "m", "editMessageId": "E", "messageId": "Q"}), codeInvalidField, "editMessageId", "not both"},
		{"an edit of no message", "send-text", body(map[string]any{"message": "m", "editMessageId": "has space"}), codeInvalidField, "editMessageId", "WhatsApp message ID"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newTestServer(t, Config{})
			e := wantError(t, s.do(t, req{method: http.MethodPost, path: base + "/" + c.path, body: c.body}), http.StatusBadRequest, c.code)
			if !strings.Contains(e.Error, c.says) || !strings.Contains(strings.Join(e.Fields, ","), c.field) {
				t.Errorf("error %q fields %v, want one saying %q naming %s", e.Error, e.Fields, c.says, c.field)
			}
			wantNoAppCalls(t, s.app)
		})
	}
}

func TestDeleteMessage(t *testing.T) {
	s := newTestServer(t, Config{})
	w := s.do(t, req{method: http.MethodDelete, path: base + "/messages?messageId=M1&phone=120363019502650977-group&owner=false"})
	if w.Code != http.StatusNoContent || w.Body.Len() != 0 {
		t.Fatalf("DELETE /messages = %d %q", w.Code, w.Body)
	}
	want := &messagesv1.Content{Kind: &messagesv1.Content_Revoke{Revoke: &messagesv1.Revoke{Target: &messagesv1.MessageRef{MessageId: "M1"}}}}
	if m := sent(t, s); m.GetPhone() != "120363019502650977-group" || !proto.Equal(m.GetContent(), want) {
		t.Errorf("queued %v", m)
	}
	// The singular path of PlugZapi's JSON example, one's own message.
	s = newTestServer(t, Config{})
	w = s.do(t, req{method: http.MethodDelete, path: base + "/message?messageId=M2&phone=" + phone + "&owner=true"})
	if w.Code != http.StatusNoContent {
		t.Fatalf("DELETE /message = %d %q", w.Code, w.Body)
	}
	if m := sent(t, s); !m.GetContent().GetRevoke().GetTarget().GetFromMe() {
		t.Errorf("queued %v", m)
	}

	for _, c := range []struct{ query, code, field string }{
		{"phone=" + phone + "&owner=true", codeMissingFields, "messageId"},
		{"messageId=M&phone=" + phone, codeMissingFields, "owner"},
		{"messageId=M&phone=12&owner=true", codeInvalidPhone, "phone"},
		{"messageId=M&phone=" + phone + "&owner=maybe", codeInvalidField, "owner"},
		// Only an admin deletes another's message, and only in a group.
		{"messageId=M&phone=" + phone + "&owner=false", codeInvalidField, "owner"},
	} {
		s := newTestServer(t, Config{})
		wantError(t, s.do(t, req{method: http.MethodDelete, path: base + "/messages?" + c.query}), http.StatusBadRequest, c.code, c.field)
		wantNoAppCalls(t, s.app)
	}
	// A member's message the instance never saw cannot be deleted as admin: the server cannot name its sender.
	s = newTestServer(t, Config{})
	s.app.errs["Send"] = actors.ErrMessageNotFound
	w = s.do(t, req{method: http.MethodDelete, path: base + "/messages?messageId=M&phone=120363019502650977-group&owner=false"})
	wantError(t, w, http.StatusNotFound, codeMessageNotFound)
}

func TestReadMessage(t *testing.T) {
	s := newTestServer(t, Config{})
	w := s.do(t, req{method: http.MethodPost, path: base + "/read-message", body: body(map[string]any{"messageId": "M1"})})
	if w.Code != http.StatusNoContent || w.Body.Len() != 0 {
		t.Fatalf("read-message = %d %q", w.Code, w.Body)
	}
	if calls := s.app.callsTo("MarkRead"); len(calls) != 1 || calls[0].args[1] != phone || calls[0].args[2] != "M1" {
		t.Errorf("MarkRead calls %v", calls)
	}
	for _, c := range []struct{ body, code, field string }{
		{`{"phone":"` + phone + `"}`, codeMissingFields, "messageId"},
		{`{"phone":"abc","messageId":"M"}`, codeInvalidPhone, "phone"},
		{`{"phone":"` + phone + `","messageId":"a b"}`, codeInvalidField, "messageId"},
	} {
		s := newTestServer(t, Config{})
		wantError(t, s.do(t, req{method: http.MethodPost, path: base + "/read-message", body: c.body}), http.StatusBadRequest, c.code, c.field)
		wantNoAppCalls(t, s.app)
	}
	s = newTestServer(t, Config{})
	s.app.errs["MarkRead"] = actors.ErrNotConnected
	wantError(t, s.do(t, req{method: http.MethodPost, path: base + "/read-message", body: body(map[string]any{"messageId": "M1"})}),
		http.StatusConflict, codeNotConnected)
}

// TestForwardMessage: a forward is queued as a Forward naming the message and its chat, and the instance's
// refusals are a 422 (forwarding off) and a 404 (not kept).
func TestForwardMessage(t *testing.T) {
	s := newTestServer(t, Config{})
	w := s.do(t, req{method: http.MethodPost, path: base + "/forward-message",
		body: body(map[string]any{"messageId": "M1", "messagePhone": "5511911112222", "delayMessage": 5})})
	if w.Code != http.StatusOK {
		t.Fatalf("forward-message = %d %s", w.Code, w.Body)
	}
	m := s.app.callsTo("Send")[0].args[1].(*messagesv1.Outbound)
	if src := m.GetContent().GetForward().GetSource(); src.GetMessageId() != "M1" || src.GetPhone() != "5511911112222" ||
		m.GetPhone() != phone || m.GetReplyTo() != "" || m.GetDelayMessageS() != 5 {
		t.Errorf("queued %v", m)
	}
	for err, want := range map[error]struct {
		status int
		code   string
	}{actors.ErrForwardingOff: {http.StatusUnprocessableEntity, codeCannotForward}, actors.ErrNotKept: {http.StatusNotFound, codeMessageNotFound}} {
		s := newTestServer(t, Config{})
		s.app.errs["Send"] = err
		wantError(t, s.do(t, req{method: http.MethodPost, path: base + "/forward-message",
			body: body(map[string]any{"messageId": "M1", "messagePhone": "5511911112222"})}), want.status, want.code)
	}
	s = newTestServer(t, Config{})
	w = s.do(t, req{method: http.MethodPost, path: base + "/forward-message", body: body(map[string]any{})})
	if e := wantError(t, w, http.StatusBadRequest, codeMissingFields); strings.Join(e.Fields, ",") != "messageId,messagePhone" {
		t.Errorf("fields %v", e.Fields)
	}
	w = s.do(t, req{method: http.MethodPost, path: base + "/forward-message", body: body(map[string]any{"messageId": "M1", "messagePhone": "x"})})
	wantError(t, w, http.StatusBadRequest, codeInvalidPhone, "messagePhone")
	wantNoAppCalls(t, s.app)
}

// TestQueuedTextOfRichKinds: GET /queue shows what a queued message of each kind says.
func TestQueuedTextOfRichKinds(t *testing.T) {
	for _, c := range []struct {
		content *messagesv1.Content
		want    string
	}{
		{&messagesv1.Content{Kind: &messagesv1.Content_Edit{Edit: &messagesv1.Edit{Text: &messagesv1.Text{Body: "new"}}}}, "new"},
		{&messagesv1.Content{Kind: &messagesv1.Content_Location{Location: &messagesv1.Location{Name: "Shop"}}}, "Shop"},
		{&messagesv1.Content{Kind: &messagesv1.Content_Poll{Poll: &messagesv1.Poll{Question: "Day?"}}}, "Day?"},
		{&messagesv1.Content{Kind: &messagesv1.Content_Buttons{Buttons: &messagesv1.Buttons{Text: "Ok?"}}}, "Ok?"},
		{&messagesv1.Content{Kind: &messagesv1.Content_OptionList{OptionList: &messagesv1.OptionList{Text: "Pick"}}}, "Pick"},
		{&messagesv1.Content{Kind: &messagesv1.Content_Reaction{Reaction: &messagesv1.Reaction{Emoji: "👍"}}}, "👍"},
		{&messagesv1.Content{Kind: &messagesv1.Content_Revoke{Revoke: &messagesv1.Revoke{}}}, ""},
	} {
		if got := queuedText(c.content); got != c.want {
			t.Errorf("queuedText(%v) = %q, want %q", c.content, got, c.want)
		}
	}
}
