package whatsapp

import (
	"go.mau.fi/whatsmeow/proto/waE2E"

	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// readPoll reads a poll, in any of its three versions.
func readPoll(msg *waE2E.Message) (*messagesv1.Content, *waE2E.ContextInfo, bool) {
	p := msg.GetPollCreationMessage()
	if p == nil {
		p = msg.GetPollCreationMessageV2()
	}
	if p == nil {
		p = msg.GetPollCreationMessageV3()
	}
	if p == nil {
		return nil, nil, false
	}
	poll := &messagesv1.Poll{Question: p.GetName(), Selectable: p.GetSelectableOptionsCount()}
	for _, o := range p.GetOptions() {
		poll.Options = append(poll.Options, o.GetOptionName())
	}
	return &messagesv1.Content{Kind: &messagesv1.Content_Poll{Poll: poll}}, p.GetContextInfo(), true
}
