package whatsapp

import (
	"context"
	"fmt"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	"github.com/plugzapi/plugzapi/media"
	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// buildText makes a plain conversation message, or an extended text when it quotes or shows a link preview.
func buildText(ctx context.Context, conn *Conn, _ types.JID, c *messagesv1.Content, info *waE2E.ContextInfo) (*waE2E.Message, error) {
	body := c.GetText().GetBody()
	preview := c.GetText().GetPreview()
	info, err := mentioning(info, c.GetText())
	if err != nil {
		return nil, err
	}
	if info == nil && preview == nil {
		return &waE2E.Message{Conversation: &body}, nil
	}
	ext := &waE2E.ExtendedTextMessage{Text: &body, ContextInfo: info}
	if preview != nil {
		if err := conn.addPreview(ctx, ext, preview); err != nil {
			return nil, err
		}
	}
	return &waE2E.Message{ExtendedTextMessage: ext}, nil
}

// mentioning adds to a text's context the people and groups it mentions: WhatsApp shows each "@<number>" of
// the text as the person's name, and each group as its subject, only when the context names them.
func mentioning(info *waE2E.ContextInfo, t *messagesv1.Text) (*waE2E.ContextInfo, error) {
	if len(t.GetMentioned()) == 0 && len(t.GetGroupMentions()) == 0 {
		return info, nil
	}
	if info == nil {
		info = &waE2E.ContextInfo{}
	}
	for _, phone := range t.GetMentioned() {
		jid, err := recipientJID(phone)
		if err != nil {
			return nil, fmt.Errorf("%w: mention: %v", ErrUnsendable, err)
		}
		info.MentionedJID = append(info.MentionedJID, jid.String())
	}
	for _, g := range t.GetGroupMentions() {
		jid, err := recipientJID(g.GetPhone())
		if err != nil {
			return nil, fmt.Errorf("%w: group mention: %v", ErrUnsendable, err)
		}
		info.GroupMentions = append(info.GroupMentions, &waE2E.GroupMention{
			GroupJID: proto.String(jid.String()), GroupSubject: proto.String(g.GetSubject())})
	}
	return info, nil
}

// Link previews by size (send-link's linkType): every preview carries a thumbnail in the message, which
// WhatsApp shows beside the title (SMALL); MEDIUM and LARGE also upload the picture as the preview's
// high-quality image, which WhatsApp shows above the title, the width of the bubble: at most
// mediumPreviewSide pixels for MEDIUM, as given for LARGE.
const (
	previewThumbnailSide = 160
	mediumPreviewSide    = 640
)

// addPreview fills a text's link preview: the link, its title and description, and its picture.
func (c *Conn) addPreview(ctx context.Context, ext *waE2E.ExtendedTextMessage, p *messagesv1.LinkPreview) error {
	f, err := c.file(ctx, media.Image, p.GetImage())
	if err != nil {
		return err
	}
	thumb, width, height, err := media.Thumbnail(f.Data, previewThumbnailSide)
	if err != nil {
		return &MediaError{Reason: "the preview's picture cannot be decoded"}
	}
	ext.MatchedText = proto.String(p.GetUrl())
	ext.Title = proto.String(p.GetTitle())
	ext.Description = optional(p.GetDescription())
	ext.PreviewType = waE2E.ExtendedTextMessage_NONE.Enum()
	ext.JPEGThumbnail = thumb
	if p.GetSize() == "SMALL" || p.GetSize() == "" {
		return nil
	}
	large, side := f.Data, max(width, height)
	if p.GetSize() == "MEDIUM" {
		side = min(side, mediumPreviewSide)
	}
	if f.MimeType != "image/jpeg" || side < max(width, height) {
		if large, _, _, err = media.Thumbnail(f.Data, side); err != nil {
			return &MediaError{Reason: "the preview's picture cannot be decoded"}
		}
		width, height = media.Fit(width, height, side)
	}
	up, err := c.upload(ctx, large, whatsmeow.MediaLinkThumbnail)
	if err != nil {
		return err
	}
	ext.ThumbnailDirectPath = proto.String(up.DirectPath)
	ext.ThumbnailSHA256, ext.ThumbnailEncSHA256, ext.MediaKey = up.FileSHA256, up.FileEncSHA256, up.MediaKey
	ext.MediaKeyTimestamp = proto.Int64(time.Now().Unix())
	ext.ThumbnailWidth, ext.ThumbnailHeight = dimension(width), dimension(height)
	return nil
}
