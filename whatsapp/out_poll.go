package whatsapp

import (
	"context"
	"fmt"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// buildPoll makes a poll with its message secret: voters' devices encrypt their votes with a key derived from
// it, and whatsmeow keeps it when the poll is sent, to decrypt the votes that come back.
func buildPoll(_ context.Context, _ *Conn, _ types.JID, c *messagesv1.Content, info *waE2E.ContextInfo) (*waE2E.Message, error) {
	p := c.GetPoll()
	if len(p.GetSecret()) != messagesv1.PollSecretLen {
		return nil, fmt.Errorf("%w: a poll without its %d-byte secret", ErrUnsendable, messagesv1.PollSecretLen)
	}
	options := make([]*waE2E.PollCreationMessage_Option, len(p.GetOptions()))
	for i, name := range p.GetOptions() {
		options[i] = &waE2E.PollCreationMessage_Option{OptionName: proto.String(name)}
	}
	return &waE2E.Message{
		PollCreationMessage: &waE2E.PollCreationMessage{
			Name: proto.String(p.GetQuestion()), Options: options,
			SelectableOptionsCount: proto.Uint32(p.GetSelectable()), ContextInfo: info,
		},
		MessageContextInfo: &waE2E.MessageContextInfo{MessageSecret: p.GetSecret()},
	}, nil
}
