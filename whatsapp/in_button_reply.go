package whatsapp

import (
	"go.mau.fi/whatsmeow/proto/waE2E"

	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// readButtonReply reads the button a person pressed: under a message with buttons, or a template's quick reply.
func readButtonReply(msg *waE2E.Message) (*messagesv1.Content, *waE2E.ContextInfo, bool) {
	if b := msg.GetButtonsResponseMessage(); b != nil {
		reply := &messagesv1.ButtonReply{ButtonId: b.GetSelectedButtonID(), Text: b.GetSelectedDisplayText()}
		return &messagesv1.Content{Kind: &messagesv1.Content_ButtonReply{ButtonReply: reply}}, b.GetContextInfo(), true
	}
	if t := msg.GetTemplateButtonReplyMessage(); t != nil {
		reply := &messagesv1.ButtonReply{ButtonId: t.GetSelectedID(), Text: t.GetSelectedDisplayText()}
		return &messagesv1.Content{Kind: &messagesv1.Content_ButtonReply{ButtonReply: reply}}, t.GetContextInfo(), true
	}
	return nil, nil, false
}
