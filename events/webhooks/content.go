package webhooks

import (
	"errors"
	"strings"

	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// receivedContent is the content object of a ReceivedCallback, as PlugZapi (and Z-API, where PlugZapi documents
// none) names it: exactly one is set.
type receivedContent struct {
	Text                   *textContent        `json:"text,omitempty"`
	Image                  *imageContent       `json:"image,omitempty"`
	Audio                  *audioContent       `json:"audio,omitempty"`
	Video                  *videoContent       `json:"video,omitempty"`
	Document               *documentContent    `json:"document,omitempty"`
	Sticker                *stickerContent     `json:"sticker,omitempty"`
	Location               *locationContent    `json:"location,omitempty"`
	Contact                *contactContent     `json:"contact,omitempty"`
	Contacts               []contactContent    `json:"contacts,omitempty"`
	Reaction               *reactionContent    `json:"reaction,omitempty"`
	Poll                   *pollContent        `json:"poll,omitempty"`
	PollVote               *pollVoteContent    `json:"pollVote,omitempty"`
	ButtonsResponseMessage *buttonReplyContent `json:"buttonsResponseMessage,omitempty"`
	ListResponseMessage    *listReplyContent   `json:"listResponseMessage,omitempty"`
	Product                *productContent     `json:"product,omitempty"`
	RequestPayment         *paymentRequest     `json:"requestPayment,omitempty"`
	// System events (group changes, deletions, messages waiting to be decrypted) and a content the server does
	// not render yet: PlugZapi's notification fields, which consumers ignore when they do not know the code. The
	// parameters are an array whenever there is a notification ([] when none: clients iterate it), absent otherwise.
	Notification           string   `json:"notification,omitempty"`
	NotificationParameters []string `json:"notificationParameters,omitzero"`
	// CallID names the call of a CALL_* notification, as Z-API does.
	CallID string `json:"callId,omitempty"`
}

// textContent: the ad fields come from the card under the text (an ad's, or a link preview's).
type textContent struct {
	Message      string `json:"message"`
	Description  string `json:"description,omitempty"`
	Title        string `json:"title,omitempty"`
	URL          string `json:"url,omitempty"`
	ThumbnailURL string `json:"thumbnailUrl,omitempty"`
}

type imageContent struct {
	MimeType      string `json:"mimeType"`
	ImageURL      string `json:"imageUrl"`
	ThumbnailURL  string `json:"thumbnailUrl"`
	Caption       string `json:"caption"`
	Width         uint32 `json:"width,omitempty"`
	Height        uint32 `json:"height,omitempty"`
	ViewOnce      bool   `json:"viewOnce"`
	DownloadError bool   `json:"downloadError,omitempty"`
}

type audioContent struct {
	PTT           bool   `json:"ptt"`
	Seconds       uint32 `json:"seconds"`
	AudioURL      string `json:"audioUrl"`
	MimeType      string `json:"mimeType"`
	ViewOnce      bool   `json:"viewOnce"`
	DownloadError bool   `json:"downloadError,omitempty"`
}

type videoContent struct {
	VideoURL      string `json:"videoUrl"`
	Caption       string `json:"caption"`
	MimeType      string `json:"mimeType"`
	Seconds       uint32 `json:"seconds"`
	ViewOnce      bool   `json:"viewOnce"`
	IsGif         bool   `json:"isGif,omitempty"`
	DownloadError bool   `json:"downloadError,omitempty"`
}

type documentContent struct {
	DocumentURL   string `json:"documentUrl"`
	MimeType      string `json:"mimeType"`
	Title         string `json:"title"`
	PageCount     uint32 `json:"pageCount"`
	FileName      string `json:"fileName"`
	Caption       string `json:"caption,omitempty"`
	ThumbnailURL  string `json:"thumbnailUrl,omitempty"`
	DownloadError bool   `json:"downloadError,omitempty"`
}

type stickerContent struct {
	StickerURL    string `json:"stickerUrl"`
	MimeType      string `json:"mimeType"`
	DownloadError bool   `json:"downloadError,omitempty"`
}

type locationContent struct {
	Longitude    float64 `json:"longitude"`
	Latitude     float64 `json:"latitude"`
	Address      string  `json:"address"`
	URL          string  `json:"url"`
	Name         string  `json:"name"`
	ThumbnailURL string  `json:"thumbnailUrl,omitempty"`
	IsLive       bool    `json:"isLive,omitempty"`
}

type contactContent struct {
	DisplayName string   `json:"displayName"`
	VCard       string   `json:"vCard"`
	Phones      []string `json:"phones"`
}

type reactionContent struct {
	Value             string         `json:"value"`
	Time              int64          `json:"time"`
	ReactionBy        string         `json:"reactionBy"`
	ReferencedMessage referenceValue `json:"referencedMessage"`
}

type referenceValue struct {
	MessageID   string  `json:"messageId"`
	FromMe      bool    `json:"fromMe"`
	Phone       string  `json:"phone"`
	Participant *string `json:"participant"`
}

type pollContent struct {
	Question       string       `json:"question"`
	PollMaxOptions uint32       `json:"pollMaxOptions"`
	Options        []pollOption `json:"options"`
}

type pollOption struct {
	Name string `json:"name"`
}

type pollVoteContent struct {
	PollMessageID string       `json:"pollMessageId"`
	Options       []pollOption `json:"options"`
}

type buttonReplyContent struct {
	ButtonID string `json:"buttonId"`
	Message  string `json:"message"`
}

type listReplyContent struct {
	Message       string `json:"message"`
	Title         string `json:"title"`
	SelectedRowID string `json:"selectedRowId"`
}

// productContent: price in the currency's unit (WhatsApp gives thousandths); productImage is the picture's URL
// on the server.
type productContent struct {
	ProductImage      string  `json:"productImage"`
	BusinessOwnerJid  string  `json:"businessOwnerJid"`
	CurrencyCode      string  `json:"currencyCode"`
	ProductID         string  `json:"productId"`
	Description       string  `json:"description"`
	ProductImageCount uint32  `json:"productImageCount"`
	Price             float64 `json:"price"`
	URL               string  `json:"url"`
	RetailerID        string  `json:"retailerId"`
	FirstImageID      string  `json:"firstImageId"`
	Title             string  `json:"title"`
}

// paymentRequest: value in the currency's unit; expiration in ms. (PlugZapi's paymentInfo, the state of the
// payment, is kept by WhatsApp's servers and never reaches a linked device in the message: it is left out.)
type paymentRequest struct {
	Value        float64 `json:"value"`
	CurrencyCode string  `json:"currencyCode"`
	Expiration   int64   `json:"expiration,omitempty"`
	RequestPhone string  `json:"requestPhone"`
	Message      string  `json:"message,omitempty"`
}

// externalAdReply is the envelope's card of the ad a message came from.
type externalAdReply struct {
	Title                 string `json:"title"`
	Body                  string `json:"body"`
	MediaType             int32  `json:"mediaType"`
	ThumbnailURL          string `json:"thumbnailUrl"`
	SourceType            string `json:"sourceType"`
	SourceID              string `json:"sourceId"`
	SourceURL             string `json:"sourceUrl"`
	ContainsAutoReply     bool   `json:"containsAutoReply"`
	RenderLargerThumbnail bool   `json:"renderLargerThumbnail"`
	ShowAdAttribution     bool   `json:"showAdAttribution"`
}

// Notification codes the server gives of its own.
const (
	// notificationUnsupported is the notification of a received message whose content is not rendered yet.
	notificationUnsupported = "MESSAGE_TYPE_NOT_SUPPORTED"
	// notificationRevoke: the sender deleted a message for everyone; the parameter is its ID.
	notificationRevoke = "REVOKE"
	// notificationContentGone is the notification of a received message sent again (a dead letter redelivered,
	// an event replayed) after its content was deleted — once its webhooks were done, as the server keeps no
	// messages. The parameter is the message's type ("text", "image"…).
	notificationContentGone = "MESSAGE_CONTENT_UNAVAILABLE"
)

// contentGone reports whether ev is a received message whose content is no longer kept: its delivery was queued
// again without the content's vault key, which its event names (see Webhooks.RedeliverWebhooks and
// Webhooks.ReplayWebhooks).
func contentGone(deliveryVaultKey string, ev *eventsv1.Event) bool {
	return deliveryVaultKey == "" && ev.GetMessageReceived().GetVaultKey() != ""
}

// kindName names a received message's type in lower case, as WhatsApp's content names go: "text", "image",
// "poll_vote"…; for a content the server does not render, WhatsApp's own name of it.
func kindName(m *messagesv1.Inbound) string {
	if m.GetType() == messagesv1.Kind_KIND_OTHER && m.GetContentType() != "" {
		return m.GetContentType()
	}
	return strings.ToLower(strings.TrimPrefix(m.GetType().String(), "KIND_"))
}

// renderContent sets the content object of a received message.
func renderContent(out *receivedPayload, m *messagesv1.Inbound) error {
	switch c := m.GetContent().GetKind().(type) {
	case *messagesv1.Content_Text:
		t := &textContent{Message: c.Text.GetBody()}
		if p := c.Text.GetPreview(); p != nil {
			t.Description, t.Title, t.URL = p.GetDescription(), p.GetTitle(), p.GetUrl()
			t.ThumbnailURL = p.GetImage().GetThumbnailLink()
		}
		out.Text = t
	case *messagesv1.Content_Image:
		f := c.Image
		out.Image = &imageContent{MimeType: f.GetMimeType(), ImageURL: f.GetLink(), ThumbnailURL: f.GetThumbnailLink(),
			Caption: f.GetCaption(), Width: f.GetWidth(), Height: f.GetHeight(), ViewOnce: f.GetViewOnce(),
			DownloadError: f.GetDownloadFailed()}
	case *messagesv1.Content_Audio:
		f := c.Audio
		out.Audio = &audioContent{PTT: f.GetVoice(), Seconds: f.GetSeconds(), AudioURL: f.GetLink(),
			MimeType: f.GetMimeType(), ViewOnce: f.GetViewOnce(), DownloadError: f.GetDownloadFailed()}
	case *messagesv1.Content_Video:
		f := c.Video
		out.Video = &videoContent{VideoURL: f.GetLink(), Caption: f.GetCaption(), MimeType: f.GetMimeType(),
			Seconds: f.GetSeconds(), ViewOnce: f.GetViewOnce(), IsGif: f.GetGif(), DownloadError: f.GetDownloadFailed()}
	case *messagesv1.Content_Document:
		f := c.Document
		out.Document = &documentContent{DocumentURL: f.GetLink(), MimeType: f.GetMimeType(), Title: f.GetTitle(),
			PageCount: f.GetPageCount(), FileName: f.GetFileName(), Caption: f.GetCaption(),
			ThumbnailURL: f.GetThumbnailLink(), DownloadError: f.GetDownloadFailed()}
	case *messagesv1.Content_Sticker:
		out.Sticker = &stickerContent{StickerURL: c.Sticker.GetLink(), MimeType: c.Sticker.GetMimeType(),
			DownloadError: c.Sticker.GetDownloadFailed()}
	case *messagesv1.Content_Location:
		l := c.Location
		out.Location = &locationContent{Longitude: l.GetLongitude(), Latitude: l.GetLatitude(), Address: l.GetAddress(),
			URL: l.GetUrl(), Name: l.GetName(), ThumbnailURL: l.GetThumbnailLink(), IsLive: l.GetLive()}
	case *messagesv1.Content_Contacts:
		cards := c.Contacts.GetContacts()
		if len(cards) == 0 {
			return errors.New("received contacts without a card")
		}
		if len(cards) == 1 {
			out.Contact = new(contactOf(cards[0]))
			break
		}
		for _, card := range cards {
			out.Contacts = append(out.Contacts, contactOf(card))
		}
	case *messagesv1.Content_Reaction:
		r := c.Reaction
		by := r.GetBy()
		if by == "" {
			// Recorded before reactions named who made them: the other party, or the group's member.
			by = m.GetPhone()
			if m.GetParticipant() != "" {
				by = m.GetParticipant()
			}
		}
		out.Reaction = &reactionContent{Value: r.GetEmoji(), Time: r.GetTimeMs(), ReactionBy: by,
			ReferencedMessage: reference(r.GetTarget())}
	case *messagesv1.Content_Poll:
		p := &pollContent{Question: c.Poll.GetQuestion(), PollMaxOptions: c.Poll.GetSelectable(), Options: []pollOption{}}
		for _, o := range c.Poll.GetOptions() {
			p.Options = append(p.Options, pollOption{Name: o})
		}
		out.Poll = p
	case *messagesv1.Content_PollVote:
		v := &pollVoteContent{PollMessageID: c.PollVote.GetPoll().GetMessageId(), Options: []pollOption{}}
		for _, o := range c.PollVote.GetOptions() {
			v.Options = append(v.Options, pollOption{Name: o})
		}
		out.PollVote = v
	case *messagesv1.Content_ButtonReply:
		out.ButtonsResponseMessage = &buttonReplyContent{ButtonID: c.ButtonReply.GetButtonId(), Message: c.ButtonReply.GetText()}
	case *messagesv1.Content_ListReply:
		l := c.ListReply
		out.ListResponseMessage = &listReplyContent{Message: l.GetDescription(), Title: l.GetTitle(), SelectedRowID: l.GetOptionId()}
	case *messagesv1.Content_Product:
		p := c.Product
		out.Product = &productContent{ProductImage: p.GetImage().GetLink(), BusinessOwnerJid: p.GetBusinessOwner(),
			CurrencyCode: p.GetCurrencyCode(), ProductID: p.GetId(), Description: p.GetDescription(),
			ProductImageCount: p.GetImageCount(), Price: float64(p.GetPrice_1000()) / 1000, URL: p.GetUrl(),
			RetailerID: p.GetRetailerId(), FirstImageID: p.GetFirstImageId(), Title: p.GetTitle()}
	case *messagesv1.Content_PaymentRequest:
		r := c.PaymentRequest
		out.RequestPayment = &paymentRequest{Value: float64(r.GetAmount_1000()) / 1000, CurrencyCode: r.GetCurrencyCode(),
			Expiration: r.GetExpiresMs(), RequestPhone: r.GetRequestFrom(), Message: r.GetNote()}
	case *messagesv1.Content_Revoke:
		out.Notification, out.NotificationParameters = notificationRevoke, []string{c.Revoke.GetTarget().GetMessageId()}
	case *messagesv1.Content_Notification:
		out.Notification = c.Notification.GetCode()
		out.NotificationParameters = append([]string{}, c.Notification.GetParameters()...)
		out.CallID = c.Notification.GetCallId()
	case nil:
		if m.GetType() != messagesv1.Kind_KIND_OTHER {
			return errors.New("received message without its content")
		}
		out.Notification, out.NotificationParameters = notificationUnsupported, []string{m.GetContentType()}
	default:
		return errors.New("received message of a kind with no rendering")
	}
	if ad := m.GetExternalAd(); ad != nil {
		out.ExternalAdReply = &externalAdReply{Title: ad.GetTitle(), Body: ad.GetBody(), MediaType: ad.GetMediaType(),
			ThumbnailURL: ad.GetThumbnailLink(), SourceType: ad.GetSourceType(), SourceID: ad.GetSourceId(),
			SourceURL: ad.GetSourceUrl(), ContainsAutoReply: ad.GetContainsAutoReply(),
			RenderLargerThumbnail: ad.GetRenderLargerThumbnail(), ShowAdAttribution: ad.GetShowAdAttribution()}
	}
	return nil
}

func contactOf(c *messagesv1.Contact) contactContent {
	return contactContent{DisplayName: c.GetName(), VCard: c.GetVcard(), Phones: append([]string{}, c.GetPhones()...)}
}

func reference(r *messagesv1.MessageRef) referenceValue {
	v := referenceValue{MessageID: r.GetMessageId(), FromMe: r.GetFromMe(), Phone: r.GetPhone()}
	if r.GetParticipant() != "" {
		v.Participant = new(r.GetParticipant())
	}
	return v
}
