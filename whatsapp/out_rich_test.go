package whatsapp

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"

	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

var (
	contactChat = types.NewJID("5511999990001", types.DefaultUserServer)
	groupChat   = types.NewJID("120363019502650977", types.GroupServer)
)

func build(t *testing.T, to types.JID, c *messagesv1.Content) *waE2E.Message {
	t.Helper()
	msg, err := builders[messagesv1.KindOf(c)](context.Background(), nil, to, c, nil)
	if err != nil {
		t.Fatalf("build %v: %v", c, err)
	}
	return msg
}

func TestVCard(t *testing.T) {
	got := vCard(&messagesv1.Contact{Name: "Ana; B, C\nD", Phones: []string{"5511911112222", "5521955556666"}, BusinessDescription: "Bakery"})
	want := "BEGIN:VCARD\r\nVERSION:3.0\r\nN:;Ana\\; B\\, C\\nD;;;\r\nFN:Ana\\; B\\, C\\nD\r\n" +
		"item1.TEL;waid=5511911112222:+5511911112222\r\nitem1.X-ABLabel:Celular\r\n" +
		"item2.TEL;waid=5521955556666:+5521955556666\r\nitem2.X-ABLabel:Celular\r\n" +
		"X-WA-BIZ-NAME:Ana\\; B\\, C\\nD\r\nX-WA-BIZ-DESCRIPTION:Bakery\r\nEND:VCARD\r\n"
	if got != want {
		t.Errorf("vCard =\n%q\nwant\n%q", got, want)
	}
}

// TestMessageKeys: a reaction, an edit and a revoke name their message as WhatsApp's apps look it up.
func TestMessageKeys(t *testing.T) {
	ref := func(id string, fromMe bool, participant string) *messagesv1.MessageRef {
		return &messagesv1.MessageRef{MessageId: id, FromMe: fromMe, Participant: participant}
	}
	reaction := build(t, groupChat, &messagesv1.Content{Kind: &messagesv1.Content_Reaction{Reaction: &messagesv1.Reaction{
		Target: ref("M1", false, "5511999990002"), Emoji: "👍"}}}).GetReactionMessage()
	if k := reaction.GetKey(); k.GetID() != "M1" || k.GetFromMe() || k.GetRemoteJID() != groupChat.String() ||
		k.GetParticipant() != "5511999990002@s.whatsapp.net" || reaction.GetText() != "👍" || reaction.GetSenderTimestampMS() == 0 {
		t.Errorf("reaction %v", reaction)
	}
	// In a one-to-one chat the key names no participant.
	if k := build(t, contactChat, &messagesv1.Content{Kind: &messagesv1.Content_Reaction{Reaction: &messagesv1.Reaction{
		Target: ref("M2", false, "")}}}).GetReactionMessage().GetKey(); k.Participant != nil || k.GetRemoteJID() != contactChat.String() {
		t.Errorf("one-to-one reaction key %v", k)
	}
	revoke := build(t, groupChat, &messagesv1.Content{Kind: &messagesv1.Content_Revoke{Revoke: &messagesv1.Revoke{
		Target: ref("M3", false, "123456789012345@lid")}}}).GetProtocolMessage()
	if k := revoke.GetKey(); revoke.GetType() != waE2E.ProtocolMessage_REVOKE || k.GetParticipant() != "123456789012345@lid" || k.GetFromMe() {
		t.Errorf("admin revoke %v", revoke)
	}
	edit := build(t, contactChat, &messagesv1.Content{Kind: &messagesv1.Content_Edit{Edit: &messagesv1.Edit{
		Target: ref("M4", true, ""), Text: &messagesv1.Text{Body: "fixed"}}}}).GetEditedMessage().GetMessage().GetProtocolMessage()
	if edit.GetType() != waE2E.ProtocolMessage_MESSAGE_EDIT || !edit.GetKey().GetFromMe() || edit.GetKey().GetID() != "M4" ||
		edit.GetEditedMessage().GetConversation() != "fixed" {
		t.Errorf("edit %v", edit)
	}
}

func TestMentions(t *testing.T) {
	msg := build(t, groupChat, &messagesv1.Content{Kind: &messagesv1.Content_Text{Text: &messagesv1.Text{
		Body: "@5511999990002 see", Mentioned: []string{"5511999990002"},
		GroupMentions: []*messagesv1.GroupMention{{Phone: "120363000000000001-group", Subject: "Other"}}}}})
	ci := msg.GetExtendedTextMessage().GetContextInfo()
	if strings.Join(ci.GetMentionedJID(), ",") != "5511999990002@s.whatsapp.net" || len(ci.GetGroupMentions()) != 1 ||
		ci.GetGroupMentions()[0].GetGroupJID() != "120363000000000001@g.us" || ci.GetGroupMentions()[0].GetGroupSubject() != "Other" {
		t.Errorf("mentions %v", ci)
	}
}

func TestPollNeedsItsSecret(t *testing.T) {
	poll := &messagesv1.Poll{Question: "q", Options: []string{"a", "b"}, Selectable: 1}
	_, err := buildPoll(context.Background(), nil, contactChat, &messagesv1.Content{Kind: &messagesv1.Content_Poll{Poll: poll}}, nil)
	if !errors.Is(err, ErrUnsendable) {
		t.Errorf("a poll without its secret: %v", err)
	}
	poll.Secret = make([]byte, messagesv1.PollSecretLen)
	poll.Secret[0] = 7
	msg := build(t, contactChat, &messagesv1.Content{Kind: &messagesv1.Content_Poll{Poll: poll}})
	if msg.GetMessageContextInfo().GetMessageSecret()[0] != 7 || len(msg.GetPollCreationMessage().GetOptions()) != 2 ||
		msg.GetPollCreationMessage().GetSelectableOptionsCount() != 1 {
		t.Errorf("poll %v", msg)
	}
}

// TestInteractiveNodes: the <biz> node of each interactive kind, and none for other messages.
func TestInteractiveNodes(t *testing.T) {
	flowOf := func(msg *waE2E.Message) (string, bool) {
		nodes := interactiveNodes(msg)
		if nodes == nil {
			return "", false
		}
		biz := (*nodes)[0]
		interactive, _ := biz.GetOptionalChildByTag("interactive")
		flow, _ := interactive.GetOptionalChildByTag("native_flow")
		_, qc := biz.GetOptionalChildByTag("quality_control")
		name, _ := flow.Attrs["name"].(string)
		return name, qc
	}
	buttons := build(t, contactChat, &messagesv1.Content{Kind: &messagesv1.Content_Buttons{Buttons: &messagesv1.Buttons{
		Text: "t", Buttons: []*messagesv1.Button{{Label: "a", Action: messagesv1.Button_ACTION_REPLY}}}}})
	if name, qc := flowOf(buttons); name != "mixed" || !qc {
		t.Errorf("buttons: flow %q, quality control %v", name, qc)
	}
	pix := build(t, contactChat, &messagesv1.Content{Kind: &messagesv1.Content_Pix{Pix: &messagesv1.Pix{Key: "k", KeyType: "EVP", MerchantName: "M"}}})
	if name, qc := flowOf(pix); name != "payment_info" || qc {
		t.Errorf("pix: flow %q, quality control %v", name, qc)
	}
	if interactiveNodes(&waE2E.Message{Conversation: new("hi")}) != nil {
		t.Error("a text got a <biz> node")
	}
}
