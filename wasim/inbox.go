package wasim

import (
	"context"
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
	// Chat is the conversation: the other party's phone number for a 1:1 chat (by
	// phone number or by LID, see Addressing), the group JID (…@g.us) for a group.
	Chat string `json:"chat"`
	// From is the sender's phone number.
	From string `json:"from"`
	// FromMe is set on copies of messages another device of this account sent.
	FromMe bool `json:"fromMe"`
	// Type is text, image, video, audio, ptt, document, sticker, reaction, location,
	// contact, contacts, poll, interactive, revoke, edit or unknown.
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
	// ViewOnce is set on media the recipient can open once.
	ViewOnce bool `json:"viewOnce,omitempty"`
	// GIF is set on a video that plays as a GIF.
	GIF bool `json:"gif,omitempty"`
	// Seconds is the declared length of audio or video.
	Seconds uint32 `json:"seconds,omitempty"`
	// Waveform is the bars a voice note shows, as its sender drew them.
	Waveform []byte `json:"waveform,omitempty"`
	// Width and Height are the declared size of a picture, sticker or video.
	Width  uint32 `json:"width,omitempty"`
	Height uint32 `json:"height,omitempty"`
	// ThumbnailSize is the length of the JPEG thumbnail carried in the message.
	ThumbnailSize int `json:"thumbnailSize,omitempty"`

	// Link is the link preview of a text. Its high-quality picture, when the
	// sender uploaded one, is the message's media (MediaSHA256, MediaSize).
	Link *LinkPreview `json:"link,omitempty"`

	// The fields below describe the other kinds of message (see phonerich.go).

	// Location is a location's pin.
	Location *Location `json:"location,omitempty"`
	// Contacts are the cards of a contact or contacts message.
	Contacts []Contact `json:"contacts,omitempty"`
	// Poll is a poll's question and options.
	Poll *Poll `json:"poll,omitempty"`
	// Interactive is the text and buttons of an interactive message.
	Interactive *Interactive `json:"interactive,omitempty"`
	// Mentioned are the phone numbers (or JIDs) of the people a text mentions, GroupMentioned the groups.
	Mentioned      []string `json:"mentioned,omitempty"`
	GroupMentioned []string `json:"groupMentioned,omitempty"`
	// Edited is set once the sender edited the message: Text is the new text.
	Edited bool `json:"edited,omitempty"`
	// Revoked is set once the message was deleted for everyone: its content is gone, as the phone shows
	// "This message was deleted".
	Revoked bool `json:"revoked,omitempty"`
	// Forwarded is set on a message its sender forwarded (the apps show "Forwarded"); ForwardingScore counts
	// the forwards it went through ("Forwarded many times" from 4).
	Forwarded       bool   `json:"forwarded,omitempty"`
	ForwardingScore uint32 `json:"forwardingScore,omitempty"`

	// Addressing is how the message named the chat's people: pn, or lid when it came
	// from a LID (the sender's account moved its chats to LIDs, or a LID group).
	Addressing Addressing `json:"addressing"`

	// chat and sender are the chat and the sender as the message named them (phone
	// number or LID): where the phone's receipts for it go.
	chat, sender types.JID
}

// LinkPreview is the preview a text shows of a link it holds.
type LinkPreview struct {
	URL         string `json:"url"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
}

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

// Receipt is a receipt the account's phone got for messages it sent.
type Receipt struct {
	// Chat is the chat the messages are in: a phone number, or a group JID.
	Chat string `json:"chat"`
	// From is the phone number of who sent the receipt.
	From string `json:"from"`
	// IDs are the messages the receipt is about.
	IDs []string `json:"ids"`
	// Type is delivered, inactive (delivered to a device that was not in use), read,
	// played, sender (delivered to another device of this account), read-self,
	// played-self or retry.
	Type string `json:"type"`
	// Time is the receipt's timestamp.
	Time time.Time `json:"time"`
}

// Presence is a presence update the account's phone got for an account it
// subscribed to (SubscribePresence).
type Presence struct {
	// From is the phone number of the account whose presence this is.
	From      string    `json:"from"`
	Available bool      `json:"available"`
	LastSeen  time.Time `json:"lastSeen,omitzero"`
	// Time is when the phone saw it.
	Time time.Time `json:"time"`
}

// ChatStates returns the chat states the account's phone saw, oldest first (the latest 1000).
func (a *Account) ChatStates() []ChatState {
	return seen(a, func(e *engine) []ChatState { return e.states })
}

// Receipts returns the receipts the account's phone got, oldest first (the latest 1000).
func (a *Account) Receipts() []Receipt {
	return seen(a, func(e *engine) []Receipt { return e.receipts })
}

// Presences returns the presence updates the account's phone got, oldest first (the latest 1000).
func (a *Account) Presences() []Presence {
	return seen(a, func(e *engine) []Presence { return e.presences })
}

// seen copies one of the lists of what the phone saw, under its lock.
func seen[T any](a *Account, list func(*engine) []T) []T {
	e := a.runningEngine()
	if e == nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]T(nil), list(e)...)
}

// inboxMessage describes a received message, or reports false for messages without
// anything a person would see (sender key distribution, app-state keys…).
func (s *Simulator) inboxMessage(evt *events.Message) (Message, bool) {
	typ, text, quoted := describeMessage(evt.Message)
	if typ == "" {
		return Message{}, false
	}
	addressing := AddressingPN
	if evt.Info.Sender.Server == types.HiddenUserServer {
		addressing = AddressingLID
	}
	return Message{
		ID:         evt.Info.ID,
		chat:       evt.Info.Chat,
		sender:     evt.Info.Sender.ToNonAD(),
		Addressing: addressing,
		Chat:       s.chatName(evt.Info.Chat),
		From:       s.chatName(evt.Info.Sender.ToNonAD()),
		FromMe:     evt.Info.IsFromMe,
		Type:       typ,
		Text:       text,
		QuotedID:   quoted,
		Time:       evt.Info.Timestamp,
	}, true
}

// download gets and decrypts a received message's media with the phone's client.
type download func(ctx context.Context, cli *whatsmeow.Client) ([]byte, error)

// mediaOf describes the media of a message, with how to download it (nil for a
// message without media).
func mediaOf(m *waE2E.Message, viewOnce bool) (dl download, media Message) {
	media.ViewOnce = viewOnce
	switch {
	case m.GetImageMessage() != nil:
		im := m.GetImageMessage()
		media.MimeType, media.Caption, media.Width, media.Height = im.GetMimetype(), im.GetCaption(), im.GetWidth(), im.GetHeight()
		media.ThumbnailSize = len(im.GetJPEGThumbnail())
		return downloadMedia(im), media
	case m.GetVideoMessage() != nil:
		vm := m.GetVideoMessage()
		media.MimeType, media.Caption, media.Width, media.Height = vm.GetMimetype(), vm.GetCaption(), vm.GetWidth(), vm.GetHeight()
		media.GIF, media.Seconds, media.ThumbnailSize = vm.GetGifPlayback(), vm.GetSeconds(), len(vm.GetJPEGThumbnail())
		return downloadMedia(vm), media
	case m.GetAudioMessage() != nil:
		am := m.GetAudioMessage()
		media.MimeType, media.Seconds, media.Waveform = am.GetMimetype(), am.GetSeconds(), am.GetWaveform()
		return downloadMedia(am), media
	case m.GetDocumentMessage() != nil:
		doc := m.GetDocumentMessage()
		media.MimeType, media.FileName, media.Caption = doc.GetMimetype(), doc.GetFileName(), doc.GetCaption()
		media.ThumbnailSize = len(doc.GetJPEGThumbnail())
		return downloadMedia(doc), media
	case m.GetStickerMessage() != nil:
		st := m.GetStickerMessage()
		media.MimeType, media.Width, media.Height = st.GetMimetype(), st.GetWidth(), st.GetHeight()
		return downloadMedia(st), media
	case m.GetExtendedTextMessage().GetMatchedText() != "":
		ext := m.GetExtendedTextMessage()
		media.Link = &LinkPreview{URL: ext.GetMatchedText(), Title: ext.GetTitle(), Description: ext.GetDescription()}
		media.ThumbnailSize = len(ext.GetJPEGThumbnail())
		media.Width, media.Height = ext.GetThumbnailWidth(), ext.GetThumbnailHeight()
		if ext.GetThumbnailDirectPath() != "" {
			// A preview's high-quality picture, uploaded with the link thumbnail keys.
			return func(ctx context.Context, cli *whatsmeow.Client) ([]byte, error) {
				return cli.DownloadThumbnail(ctx, ext)
			}, media
		}
	}
	return nil, media
}

func downloadMedia(msg whatsmeow.DownloadableMessage) download {
	return func(ctx context.Context, cli *whatsmeow.Client) ([]byte, error) { return cli.Download(ctx, msg) }
}

// chatName is a chat's name in the control API: the phone number for a person, named
// by phone number or by LID, the full JID for anything else.
func (s *Simulator) chatName(chat types.JID) string {
	switch chat.Server {
	case types.DefaultUserServer:
		return chat.User
	case types.HiddenUserServer:
		s.mu.Lock()
		defer s.mu.Unlock()
		if a := s.byLID[chat.User]; a != nil {
			return a.phone
		}
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
	case m.ContactsArrayMessage != nil:
		return "contacts", m.GetContactsArrayMessage().GetDisplayName(), m.GetContactsArrayMessage().GetContextInfo().GetStanzaID()
	case m.InteractiveMessage != nil:
		return "interactive", m.GetInteractiveMessage().GetBody().GetText(), m.GetInteractiveMessage().GetContextInfo().GetStanzaID()
	case m.PollCreationMessage != nil, m.PollCreationMessageV2 != nil, m.PollCreationMessageV3 != nil:
		poll := m.GetPollCreationMessage()
		if poll == nil {
			poll = m.GetPollCreationMessageV2()
		}
		if poll == nil {
			poll = m.GetPollCreationMessageV3()
		}
		return "poll", poll.GetName(), poll.GetContextInfo().GetStanzaID()
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
