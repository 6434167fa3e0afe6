package httpapi

import (
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/plugzapi/plugzapi/media"
	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// mediaRoutes are the send routes that take a file, with the kind of file each takes.
var mediaRoutes = []struct {
	path    string
	kind    media.Kind
	newBody func() mediaRequest
}{
	{"send-image", media.Image, func() mediaRequest { return &sendImageRequest{} }},
	{"send-sticker", media.Sticker, func() mediaRequest { return &sendStickerRequest{} }},
	{"send-gif", media.GIF, func() mediaRequest { return &sendGIFRequest{} }},
	{"send-audio", media.Audio, func() mediaRequest { return &sendAudioRequest{} }},
	{"send-video", media.Video, func() mediaRequest { return &sendVideoRequest{} }},
	{"send-document/{extension}", media.Document, func() mediaRequest { return &sendDocumentRequest{} }},
	// A link's preview picture is an image.
	{"send-link", media.Image, func() mediaRequest { return &sendLinkRequest{} }},
	// Buttons under a picture or a video (Z-API's buttonList.image and .video; an OTP's image).
	{"send-button-list", media.Video, func() mediaRequest { return &sendButtonListRequest{} }},
	{"send-button-otp", media.Image, func() mediaRequest { return &sendButtonOTPRequest{} }},
}

// mountMediaRoutes adds the send routes that take a file, each with a body limit that fits its kind's largest
// file in base64 beside the other fields.
func (a *api) mountMediaRoutes(r chi.Router) {
	for _, m := range mediaRoutes {
		r.With(a.limitBodyTo(a.mediaBodyLimit(m.kind))).Post(instancePrefix+"/"+m.path, func(w http.ResponseWriter, r *http.Request) {
			body := m.newBody()
			body.prepare(a, r)
			a.queueMessage(w, r, body, false)
		})
	}
}

// mediaBodyLimit is the body limit of a route sending a file of kind: the file in base64, and the usual body.
func (a *api) mediaBodyLimit(kind media.Kind) int64 {
	return (a.cfg.MediaLimits.Of(kind)+2)/3*4 + a.cfg.MaxBodyBytes
}

// mediaRequest is the body of a send route that takes a file.
type mediaRequest interface {
	sendBody
	// prepare gives the body what it needs beyond its JSON: the API's settings, the request's path.
	prepare(a *api, r *http.Request)
}

// intake checks the files of a send request as it arrives; every media request embeds it.
type intake struct{ a *api }

func (in *intake) prepare(a *api, _ *http.Request) { in.a = a }

// file reads a media field: a URL, checked against the address policy now and fetched when the message is sent,
// or the file in base64, checked now for its kind (bytes, type, size). Either way the answer is a 400 naming the
// field when the file cannot be sent.
func (in intake) file(field, value string, kind media.Kind) (*messagesv1.Media, error) {
	src, err := media.Parse(value)
	if err != nil {
		return nil, badRequest(codeInvalidMedia, field+" "+err.Error(), field)
	}
	if src.URL != "" {
		if err := in.a.cfg.MediaURLs.CheckURL(src.URL); err != nil {
			return nil, badRequest(codeInvalidMedia, fmt.Sprintf("%s is a URL the server will not fetch: %v", field, err), field)
		}
		return &messagesv1.Media{Source: &messagesv1.Media_Url{Url: src.URL}}, nil
	}
	f, err := in.a.cfg.MediaLimits.Check(kind, src.Data)
	if err != nil {
		return nil, badRequest(codeInvalidMedia, field+" "+err.Error(), field)
	}
	return &messagesv1.Media{Source: &messagesv1.Media_Data{Data: src.Data}, MimeType: f.MimeType, Size: uint64(len(src.Data))}, nil
}

// caption refuses a caption longer than a text may be; an absent one is fine.
func caption(field, s string) error {
	if tooLong(s, maxMessageChars) {
		return badRequest(codeInvalidField, fmt.Sprintf("%s must be at most %d characters", field, maxMessageChars), field)
	}
	return nil
}

// sendImageRequest is the body of POST send-image.
type sendImageRequest struct {
	envelope
	intake
	Image    string `json:"image"`
	Caption  string `json:"caption"`
	ViewOnce bool   `json:"viewOnce"`
}

func (req *sendImageRequest) missing() []string { return required("image", req.Image) }

func (req *sendImageRequest) content() (*messagesv1.Content, error) {
	if err := caption("caption", req.Caption); err != nil {
		return nil, err
	}
	m, err := req.file("image", req.Image, media.Image)
	if err != nil {
		return nil, err
	}
	m.Caption, m.ViewOnce = req.Caption, req.ViewOnce
	return &messagesv1.Content{Kind: &messagesv1.Content_Image{Image: m}}, nil
}

// sendStickerRequest is the body of POST send-sticker.
type sendStickerRequest struct {
	envelope
	intake
	Sticker string `json:"sticker"`
}

func (req *sendStickerRequest) missing() []string { return required("sticker", req.Sticker) }

func (req *sendStickerRequest) content() (*messagesv1.Content, error) {
	m, err := req.file("sticker", req.Sticker, media.Sticker)
	if err != nil {
		return nil, err
	}
	return &messagesv1.Content{Kind: &messagesv1.Content_Sticker{Sticker: m}}, nil
}

// sendGIFRequest is the body of POST send-gif: an MP4 that plays as a GIF.
type sendGIFRequest struct {
	envelope
	intake
	GIF     string `json:"gif"`
	Caption string `json:"caption"`
}

func (req *sendGIFRequest) missing() []string { return required("gif", req.GIF) }

func (req *sendGIFRequest) content() (*messagesv1.Content, error) {
	if err := caption("caption", req.Caption); err != nil {
		return nil, err
	}
	m, err := req.file("gif", req.GIF, media.GIF)
	if err != nil {
		return nil, err
	}
	m.Caption, m.Gif = req.Caption, true
	return &messagesv1.Content{Kind: &messagesv1.Content_Video{Video: m}}, nil
}

// sendAudioRequest is the body of POST send-audio: a voice note (when the file is Ogg/Opus, what WhatsApp
// records; any other recording goes as an audio file).
type sendAudioRequest struct {
	envelope
	intake
	Audio    string `json:"audio"`
	ViewOnce bool   `json:"viewOnce"`
}

func (req *sendAudioRequest) missing() []string { return required("audio", req.Audio) }

func (req *sendAudioRequest) content() (*messagesv1.Content, error) {
	m, err := req.file("audio", req.Audio, media.Audio)
	if err != nil {
		return nil, err
	}
	m.Voice, m.ViewOnce = true, req.ViewOnce
	return &messagesv1.Content{Kind: &messagesv1.Content_Audio{Audio: m}}, nil
}

// sendVideoRequest is the body of POST send-video.
type sendVideoRequest struct {
	envelope
	intake
	Video    string `json:"video"`
	Caption  string `json:"caption"`
	ViewOnce bool   `json:"viewOnce"`
}

func (req *sendVideoRequest) missing() []string { return required("video", req.Video) }

func (req *sendVideoRequest) content() (*messagesv1.Content, error) {
	if err := caption("caption", req.Caption); err != nil {
		return nil, err
	}
	m, err := req.file("video", req.Video, media.Video)
	if err != nil {
		return nil, err
	}
	m.Caption, m.ViewOnce = req.Caption, req.ViewOnce
	return &messagesv1.Content{Kind: &messagesv1.Content_Video{Video: m}}, nil
}

// maxExtensionLen bounds send-document's {extension}; maxFileNameChars a document's name.
const (
	maxExtensionLen  = 16
	maxFileNameChars = 255
)

// sendDocumentRequest is the body of POST send-document/{extension}.
type sendDocumentRequest struct {
	envelope
	intake
	extension string // from the path
	Document  string `json:"document"`
	FileName  string `json:"fileName"`
	Caption   string `json:"caption"`
}

func (req *sendDocumentRequest) prepare(a *api, r *http.Request) {
	req.intake.prepare(a, r)
	req.extension = chi.URLParam(r, "extension")
}

func (req *sendDocumentRequest) missing() []string { return required("document", req.Document) }

func (req *sendDocumentRequest) content() (*messagesv1.Content, error) {
	ext := strings.TrimPrefix(req.extension, ".")
	if !validExtension(ext) {
		return nil, badRequest(codeInvalidField,
			fmt.Sprintf("the path's extension must be 1 to %d letters or digits, such as pdf", maxExtensionLen), "extension")
	}
	if strings.ContainsAny(req.FileName, "/\\\x00") || tooLong(req.FileName, maxFileNameChars) {
		return nil, badRequest(codeInvalidField,
			fmt.Sprintf("fileName must be a name of at most %d characters, without / or \\", maxFileNameChars), "fileName")
	}
	if err := caption("caption", req.Caption); err != nil {
		return nil, err
	}
	m, err := req.file("document", req.Document, media.Document)
	if err != nil {
		return nil, err
	}
	m.Caption = req.Caption
	m.FileName = documentName(req.FileName, m.GetUrl(), ext)
	m.Title = m.FileName
	if data := m.GetData(); data != nil {
		m.MimeType = media.DocumentType(data, ext)
	}
	return &messagesv1.Content{Kind: &messagesv1.Content_Document{Document: m}}, nil
}

func validExtension(ext string) bool {
	if ext == "" || len(ext) > maxExtensionLen {
		return false
	}
	for _, c := range ext {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// documentName is the name a document shows: the name given, else the last segment of its URL's path, else
// "file"; it ends with the extension, so that the recipient's phone knows how to open it.
func documentName(given, rawURL, ext string) string {
	name := strings.TrimSpace(given)
	if name == "" && rawURL != "" {
		if u, err := url.Parse(rawURL); err == nil {
			if base := path.Base(u.Path); base != "." && base != "/" {
				name = base
			}
		}
	}
	if name == "" {
		name = "file"
	}
	if !strings.HasSuffix(strings.ToLower(name), "."+strings.ToLower(ext)) {
		name += "." + ext
	}
	return name
}

// linkTypes are send-link's linkType values: how large the preview shows.
var linkTypes = map[string]bool{"SMALL": true, "MEDIUM": true, "LARGE": true}

// sendLinkRequest is the body of POST send-link: a text ending with a link, and the link's preview.
type sendLinkRequest struct {
	envelope
	intake
	Message         string `json:"message"`
	LinkURL         string `json:"linkUrl"`
	Title           string `json:"title"`
	LinkDescription string `json:"linkDescription"`
	Image           string `json:"image"`
	LinkType        string `json:"linkType"`
}

func (req *sendLinkRequest) missing() []string {
	var m []string
	for _, f := range []struct{ name, value string }{
		{"message", req.Message}, {"image", req.Image}, {"linkUrl", req.LinkURL}, {"title", req.Title},
		{"linkDescription", req.LinkDescription},
	} {
		m = append(m, required(f.name, f.value)...)
	}
	return m
}

func (req *sendLinkRequest) content() (*messagesv1.Content, error) {
	if err := checkText("message", req.Message, maxMessageChars); err != nil {
		return nil, err
	}
	if u, err := url.Parse(req.LinkURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		len(req.LinkURL) > maxURLLen {
		return nil, badRequest(codeInvalidField, "linkUrl must be an http(s) URL", "linkUrl")
	}
	if !strings.HasSuffix(strings.TrimSpace(req.Message), req.LinkURL) {
		return nil, badRequest(codeInvalidField, "message must end with linkUrl (WhatsApp previews the link the text ends with)", "message")
	}
	for _, f := range []struct{ name, value string }{{"title", req.Title}, {"linkDescription", req.LinkDescription}} {
		if err := checkText(f.name, f.value, maxMessageChars); err != nil {
			return nil, err
		}
	}
	size := strings.ToUpper(req.LinkType)
	if size == "" {
		size = "SMALL"
	}
	if !linkTypes[size] {
		return nil, badRequest(codeInvalidField, "linkType must be SMALL, MEDIUM or LARGE", "linkType")
	}
	image, err := req.file("image", req.Image, media.Image)
	if err != nil {
		return nil, err
	}
	return &messagesv1.Content{Kind: &messagesv1.Content_Text{Text: &messagesv1.Text{
		Body: req.Message,
		Preview: &messagesv1.LinkPreview{
			Url: req.LinkURL, Title: req.Title, Description: req.LinkDescription, Image: image, Size: size,
		},
	}}}, nil
}
