package wasim

import (
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
)

// Message is a message a simulated account received, as its phone decrypted it.
type Message struct {
	// ID is the WhatsApp message id the sender chose.
	ID string `json:"id"`
	// Chat is the conversation: the other party's phone number for a 1:1 chat, the
	// group JID (…@g.us) for a group.
	Chat string `json:"chat"`
	// From is the sender's phone number.
	From string `json:"from"`
	// FromMe is set on copies of messages another device of this account sent.
	FromMe bool `json:"fromMe"`
	// Type is text, image, video, audio, ptt, document, sticker, reaction, location,
	// contact, poll, revoke, edit or unknown.
	Type string `json:"type"`
	// Text is the text, caption, reaction emoji, or new text of an edit.
	Text string `json:"text"`
	// QuotedID is the id of the message this one replies to, reacts to, revokes or
	// edits.
	QuotedID string `json:"quotedId,omitempty"`
	// Time is the server timestamp of the message.
	Time time.Time `json:"time"`

	// The fields below are set on media messages (image, video, audio, ptt,
	// document, sticker).

	// Caption is the caption of an image, video or document.
	Caption string `json:"caption,omitempty"`
	// MimeType is the media's MIME type, as the sender declared it.
	MimeType string `json:"mimeType,omitempty"`
	// FileName is a document's file name.
	FileName string `json:"fileName,omitempty"`
	// MediaSHA256 is the hex SHA-256 of the media as the phone downloaded and
	// decrypted it (whatsmeow checked it against the sender's hash and MAC), and
	// MediaSize its length in bytes.
	MediaSHA256 string `json:"mediaSha256,omitempty"`
	MediaSize   int64  `json:"mediaSize,omitempty"`
	// MediaError says why the media could not be downloaded or decrypted; the
	// other media fields describe what the sender declared.
	MediaError string `json:"mediaError,omitempty"`
}

// inboxMessage describes a received message, or reports false for messages without
// anything a person would see (sender key distribution, app-state keys…).
// ChatState is a chat state a phone saw: someone typing, recording or stopping in a chat.
type ChatState struct {
	// Chat is the chat: the other person's phone number, or a group id (<digits>-group).
	Chat string `json:"chat"`
	// From is the phone number of who shows the state.
	From string `json:"from"`
	// State is composing, recording or paused.
	State string `json:"state"`
	// Time is when the phone saw it.
	Time time.Time `json:"time"`
}

// ChatStates returns the chat states the account's phone saw, oldest first (the latest 1000).
func (a *Account) ChatStates() []ChatState {
	e := a.runningEngine()
	if e == nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]ChatState(nil), e.states...)
}

func inboxMessage(evt *events.Message) (Message, bool) {
	typ, text, quoted := describeMessage(evt.Message)
	if typ == "" {
		return Message{}, false
	}
	return Message{
		ID:       evt.Info.ID,
		Chat:     chatName(evt.Info.Chat),
		From:     evt.Info.Sender.User,
		FromMe:   evt.Info.IsFromMe,
		Type:     typ,
		Text:     text,
		QuotedID: quoted,
		Time:     evt.Info.Timestamp,
	}, true
}

// mediaOf returns the downloadable part of a media message with its declared MIME
// type, file name and caption, or nil for other messages.
func mediaOf(m *waE2E.Message) (dl whatsmeow.DownloadableMessage, mimeType, fileName, caption string) {
	switch {
	case m.GetImageMessage() != nil:
		im := m.GetImageMessage()
		return im, im.GetMimetype(), "", im.GetCaption()
	case m.GetVideoMessage() != nil:
		vm := m.GetVideoMessage()
		return vm, vm.GetMimetype(), "", vm.GetCaption()
	case m.GetAudioMessage() != nil:
		am := m.GetAudioMessage()
		return am, am.GetMimetype(), "", ""
	case m.GetDocumentMessage() != nil:
		doc := m.GetDocumentMessage()
		return doc, doc.GetMimetype(), doc.GetFileName(), doc.GetCaption()
	case m.GetStickerMessage() != nil:
		st := m.GetStickerMessage()
		return st, st.GetMimetype(), "", ""
	}
	return nil, "", "", ""
}

// chatName is a chat's name in the control API: phone number for people, full JID
// for anything else.
func chatName(chat types.JID) string {
	if chat.Server == types.DefaultUserServer {
		return chat.User
	}
	return chat.String()
}

func describeMessage(m *waE2E.Message) (typ, text, quoted string) {
	switch {
	case m == nil:
		return "", "", ""
	case m.Conversation != nil:
		return "text", m.GetConversation(), ""
	case m.ExtendedTextMessage != nil:
		return "text", m.GetExtendedTextMessage().GetText(), m.GetExtendedTextMessage().GetContextInfo().GetStanzaID()
	case m.ImageMessage != nil:
		return "image", m.GetImageMessage().GetCaption(), m.GetImageMessage().GetContextInfo().GetStanzaID()
	case m.VideoMessage != nil:
		return "video", m.GetVideoMessage().GetCaption(), m.GetVideoMessage().GetContextInfo().GetStanzaID()
	case m.AudioMessage != nil:
		typ = "audio"
		if m.GetAudioMessage().GetPTT() {
			typ = "ptt"
		}
		return typ, "", m.GetAudioMessage().GetContextInfo().GetStanzaID()
	case m.DocumentMessage != nil:
		doc := m.GetDocumentMessage()
		text = doc.GetCaption()
		if text == "" {
			text = doc.GetFileName()
		}
		return "document", text, doc.GetContextInfo().GetStanzaID()
	case m.StickerMessage != nil:
		return "sticker", "", m.GetStickerMessage().GetContextInfo().GetStanzaID()
	case m.ReactionMessage != nil:
		return "reaction", m.GetReactionMessage().GetText(), m.GetReactionMessage().GetKey().GetID()
	case m.LocationMessage != nil:
		return "location", m.GetLocationMessage().GetName(), m.GetLocationMessage().GetContextInfo().GetStanzaID()
	case m.ContactMessage != nil:
		return "contact", m.GetContactMessage().GetDisplayName(), m.GetContactMessage().GetContextInfo().GetStanzaID()
	case m.PollCreationMessage != nil, m.PollCreationMessageV2 != nil, m.PollCreationMessageV3 != nil:
		poll := m.GetPollCreationMessage()
		if poll == nil {
			poll = m.GetPollCreationMessageV2()
		}
		if poll == nil {
			poll = m.GetPollCreationMessageV3()
		}
		return "poll", poll.GetName(), ""
	case m.ProtocolMessage != nil:
		pm := m.GetProtocolMessage()
		switch pm.GetType() {
		case waE2E.ProtocolMessage_REVOKE:
			return "revoke", "", pm.GetKey().GetID()
		case waE2E.ProtocolMessage_MESSAGE_EDIT:
			_, text, _ := describeMessage(pm.GetEditedMessage())
			return "edit", text, pm.GetKey().GetID()
		}
		return "", "", ""
	case m.SenderKeyDistributionMessage != nil:
		// Group sends carry the sender key in a message of its own.
		return "", "", ""
	}
	return "unknown", "", ""
}
