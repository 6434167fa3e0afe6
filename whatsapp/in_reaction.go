package whatsapp

import (
	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"

	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// readReaction reads an emoji put on a message, or taken off it (an empty emoji).
func readReaction(msg *waE2E.Message) (*messagesv1.Content, *waE2E.ContextInfo, bool) {
	r := msg.GetReactionMessage()
	if r == nil {
		return nil, nil, false
	}
	react := &messagesv1.Reaction{Target: messageRef(r.GetKey()), Emoji: r.GetText(), TimeMs: r.GetSenderTimestampMS()}
	return &messagesv1.Content{Kind: &messagesv1.Content_Reaction{Reaction: react}}, nil, true
}

// messageRef names the message a key points at. The participant and chat stay as WhatsApp wrote them (JIDs);
// the translator turns them into the API's phone numbers.
func messageRef(key *waCommon.MessageKey) *messagesv1.MessageRef {
	return &messagesv1.MessageRef{MessageId: key.GetID(), FromMe: key.GetFromMe(), Participant: key.GetParticipant(),
		Phone: key.GetRemoteJID()}
}
