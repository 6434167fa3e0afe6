package whatsapp

import (
	"go.mau.fi/whatsmeow/proto/waE2E"

	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// readText reads a plain conversation message or an extended text, with the card WhatsApp shows under it: a
// link's preview, or the ad the chat was started from.
func readText(msg *waE2E.Message) (*messagesv1.Content, *waE2E.ContextInfo, bool) {
	switch {
	case msg.Conversation != nil:
		return textContent(msg.GetConversation()), nil, true
	case msg.ExtendedTextMessage != nil:
		ext := msg.GetExtendedTextMessage()
		c := textContent(ext.GetText())
		c.GetText().Preview = textCard(ext)
		return c, ext.GetContextInfo(), true
	}
	return nil, nil, false
}

func textContent(body string) *messagesv1.Content {
	return &messagesv1.Content{Kind: &messagesv1.Content_Text{Text: &messagesv1.Text{Body: body}}}
}

// textCard is the card under a text: the ad it answers (PlugZapi's text.title, description, url and
// thumbnailUrl come from it), else its link preview; nil for neither.
func textCard(ext *waE2E.ExtendedTextMessage) *messagesv1.LinkPreview {
	if ad := ext.GetContextInfo().GetExternalAdReply(); ad != nil {
		p := &messagesv1.LinkPreview{Url: ad.GetSourceURL(), Title: ad.GetTitle(), Description: ad.GetBody()}
		if len(ad.GetThumbnail()) > 0 || ad.GetThumbnailURL() != "" {
			p.Image = &messagesv1.Media{Thumbnail: ad.GetThumbnail(), ThumbnailLink: ad.GetThumbnailURL()}
		}
		return p
	}
	if ext.GetMatchedText() == "" && ext.GetTitle() == "" && ext.GetDescription() == "" {
		return nil
	}
	p := &messagesv1.LinkPreview{Url: ext.GetMatchedText(), Title: ext.GetTitle(), Description: ext.GetDescription()}
	if len(ext.GetJPEGThumbnail()) > 0 {
		p.Image = &messagesv1.Media{Thumbnail: ext.GetJPEGThumbnail()}
	}
	return p
}
