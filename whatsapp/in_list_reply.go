package whatsapp

import (
	"go.mau.fi/whatsmeow/proto/waE2E"

	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// readListReply reads the option a person chose from an option list.
func readListReply(msg *waE2E.Message) (*messagesv1.Content, *waE2E.ContextInfo, bool) {
	l := msg.GetListResponseMessage()
	if l == nil {
		return nil, nil, false
	}
	reply := &messagesv1.ListReply{OptionId: l.GetSingleSelectReply().GetSelectedRowID(), Title: l.GetTitle(),
		Description: l.GetDescription()}
	return &messagesv1.Content{Kind: &messagesv1.Content_ListReply{ListReply: reply}}, l.GetContextInfo(), true
}
