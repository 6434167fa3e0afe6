package whatsapp

import (
	"context"
	"fmt"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"

	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// builder makes WhatsApp's message for one kind of content to the chat to, with info (what it quotes; nil for
// nothing) as its context; conn is the client sending it, for what building takes of it (uploading a file). Each kind has its own
// file, out_<kind>.go.
type builder func(ctx context.Context, conn *Conn, to types.JID, c *messagesv1.Content, info *waE2E.ContextInfo) (*waE2E.Message, error)

// builders are the kinds the server sends.
var builders = map[messagesv1.Kind]builder{
	messagesv1.Kind_KIND_TEXT:        buildText,
	messagesv1.Kind_KIND_IMAGE:       buildImage,
	messagesv1.Kind_KIND_AUDIO:       buildAudio,
	messagesv1.Kind_KIND_VIDEO:       buildVideo,
	messagesv1.Kind_KIND_DOCUMENT:    buildDocument,
	messagesv1.Kind_KIND_STICKER:     buildSticker,
	messagesv1.Kind_KIND_LOCATION:    buildLocation,
	messagesv1.Kind_KIND_CONTACTS:    buildContacts,
	messagesv1.Kind_KIND_REACTION:    buildReaction,
	messagesv1.Kind_KIND_POLL:        buildPoll,
	messagesv1.Kind_KIND_EDIT:        buildEdit,
	messagesv1.Kind_KIND_REVOKE:      buildRevoke,
	messagesv1.Kind_KIND_BUTTONS:     buildButtons,
	messagesv1.Kind_KIND_OPTION_LIST: buildOptionList,
	messagesv1.Kind_KIND_PIX:         buildPix,
	messagesv1.Kind_KIND_FORWARD:     buildForward,
}

// buildMessage makes WhatsApp's message for an accepted one.
func (c *Conn) buildMessage(ctx context.Context, to types.JID, m *messagesv1.Outbound) (*waE2E.Message, error) {
	kind := messagesv1.KindOf(m.GetContent())
	build, ok := builders[kind]
	if !ok {
		return nil, fmt.Errorf("%w: cannot send a message of kind %s", ErrUnsendable, kind)
	}
	return build(ctx, c, to, m.GetContent(), quoting(to, m.GetReplyTo()))
}

// quoting is the context of a message that quotes replyTo, or nil.
func quoting(to types.JID, replyTo string) *waE2E.ContextInfo {
	if replyTo == "" {
		return nil
	}
	info := &waE2E.ContextInfo{StanzaID: &replyTo}
	if to.Server != types.GroupServer {
		// In a one-to-one chat the quoted message is most often the contact's.
		info.Participant = new(to.ToNonAD().String())
	}
	return info
}
