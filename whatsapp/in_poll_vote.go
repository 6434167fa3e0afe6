package whatsapp

import (
	"go.mau.fi/whatsmeow/proto/waE2E"

	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// readPollVote reads which poll a vote is on. The vote itself is encrypted with the poll's secret: the
// translator decrypts it (see translator.pollVote) and names the options chosen.
func readPollVote(msg *waE2E.Message) (*messagesv1.Content, *waE2E.ContextInfo, bool) {
	u := msg.GetPollUpdateMessage()
	if u == nil {
		return nil, nil, false
	}
	vote := &messagesv1.PollVote{Poll: messageRef(u.GetPollCreationMessageKey())}
	return &messagesv1.Content{Kind: &messagesv1.Content_PollVote{PollVote: vote}}, nil, true
}
