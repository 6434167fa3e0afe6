package wasim

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/encoding/protojson"
)

// The control API drives the simulator over HTTP (JSON): create accounts, act as
// their phones, inject faults. Paths are stable; scripts and the demo rely on them.

const (
	// controlTimeout bounds one control request (pairing waits for the client).
	controlTimeout = 60 * time.Second
	maxControlBody = 1 << 20
)

func (s *Simulator) mountControlAPI(r chi.Router) {
	r.Route("/v1", func(r chi.Router) {
		r.Post("/accounts", s.apiCreateAccount)
		r.Get("/accounts", s.apiListAccounts)
		r.Route("/accounts/{phone}", func(r chi.Router) {
			r.Get("/", s.withAccount(s.apiGetAccount))
			r.Post("/scan", s.withAccount(s.apiScan))
			r.Post("/link-code", s.withAccount(s.apiLinkCode))
			r.Post("/messages", s.withAccount(s.apiSendMessage))
			r.Get("/messages", s.withAccount(s.apiListMessages))
			r.Post("/read", s.withAccount(s.apiMark(false)))
			r.Post("/played", s.withAccount(s.apiMark(true)))
			r.Post("/typing", s.withAccount(s.apiTyping))
			r.Get("/chat-states", s.withAccount(s.apiChatStates))
			r.Get("/receipts", s.withAccount(s.apiReceipts))
			r.Get("/presences", s.withAccount(s.apiPresences))
			r.Post("/subscribe-presence", s.withAccount(s.apiSubscribePresence))
			r.Post("/addressing", s.withAccount(s.apiAccountAddressing))
			r.Post("/online", s.withAccount(s.apiOnline))
			r.Post("/hold", s.withAccount(s.apiHold))
			r.Get("/messages/{id}/media", s.withAccount(s.apiMessageMedia))
			r.Post("/groups", s.withAccount(s.apiCreateGroup))
			r.Get("/groups", s.withAccount(s.apiAccountGroups))
			r.Post("/join-group", s.withAccount(s.apiJoinGroup))
			r.Post("/profile", s.withAccount(s.apiProfile))
			r.Post("/presence", s.withAccount(s.apiPresence))
			r.Post("/contacts", s.withAccount(s.apiSaveContact))
			r.Post("/status-privacy", s.withAccount(s.apiStatusPrivacy))
		})
		r.Route("/groups/{id}", func(r chi.Router) {
			r.Get("/", s.apiGetGroup)
			r.Post("/participants", s.apiGroupParticipants)
			r.Post("/subject", s.apiGroupSubject)
			r.Post("/description", s.apiGroupDescription)
			r.Post("/leave", s.apiLeaveGroup)
			r.Post("/invite-link", s.apiGroupInviteLink)
			r.Post("/addressing", s.apiGroupAddressing)
		})
		r.Route("/devices/{jid}", func(r chi.Router) {
			r.Post("/drop", s.withDevice(s.apiDrop))
			r.Post("/unlink", s.withDevice(s.apiUnlink))
			r.Post("/stream-error", s.withDevice(s.apiStreamError))
			r.Post("/fail-next-login", s.withDevice(s.apiFailNextLogin))
			r.Post("/delay-acks", s.withDevice(s.apiDelayAcks))
		})
		r.Get("/messages/{id}/deliveries", s.apiDeliveries)
	})
}

type accountHandler func(w http.ResponseWriter, r *http.Request, a *Account)

func (s *Simulator) withAccount(h accountHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		phone := chi.URLParam(r, "phone")
		a, ok := s.Account(strings.TrimPrefix(phone, "+"))
		if !ok {
			writeError(w, http.StatusNotFound, fmt.Sprintf("unknown account %q", phone))
			return
		}
		h(w, r, a)
	}
}

type deviceHandler func(w http.ResponseWriter, r *http.Request, dev types.JID)

func (s *Simulator) withDevice(h deviceHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		raw, err := url.PathUnescape(chi.URLParam(r, "jid"))
		if err != nil {
			writeError(w, http.StatusBadRequest, "malformed device jid")
			return
		}
		dev, err := parseDeviceJID(raw)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		h(w, r, dev)
	}
}

// parseDeviceJID accepts "5511999990001:2@s.whatsapp.net" or "5511999990001:2".
func parseDeviceJID(raw string) (types.JID, error) {
	if !strings.Contains(raw, "@") {
		raw += "@" + types.DefaultUserServer
	}
	jid, err := types.ParseJID(raw)
	if err != nil || jid.User == "" || jid.Device == 0 {
		return types.EmptyJID, fmt.Errorf("%q is not a device jid (phone:device@s.whatsapp.net)", raw)
	}
	return jid, nil
}

type accountJSON struct {
	Phone string `json:"phone"`
	JID   string `json:"jid"`
	LID   string `json:"lid"`
	// Addressing is how the account's one-to-one chats name people: pn or lid.
	Addressing Addressing   `json:"addressing"`
	Name       string       `json:"name"`
	Online     bool         `json:"online"`
	Available  bool         `json:"available"`
	Status     string       `json:"status"`
	PictureID  string       `json:"pictureId,omitempty"`
	Devices    []DeviceInfo `json:"devices"`
}

func describeAccount(a *Account) accountJSON {
	return accountJSON{
		Phone:      a.Phone(),
		JID:        a.JID().String(),
		LID:        a.LID().String(),
		Addressing: a.Addressing(),
		Name:       a.Name(),
		Online:     a.Online(),
		Available:  a.Available(),
		Status:     a.Status(),
		PictureID:  a.PictureID(),
		Devices:    a.DeviceInfos(),
	}
}

func (s *Simulator) apiCreateAccount(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Phone string `json:"phone"`
		Name  string `json:"name"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), controlTimeout)
	defer cancel()
	a, err := s.AddAccount(ctx, strings.TrimPrefix(req.Phone, "+"), req.Name)
	if err != nil {
		writeFailure(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, describeAccount(a))
}

func (s *Simulator) apiListAccounts(w http.ResponseWriter, _ *http.Request) {
	out := []accountJSON{}
	for _, a := range s.Accounts() {
		out = append(out, describeAccount(a))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Simulator) apiGetAccount(w http.ResponseWriter, _ *http.Request, a *Account) {
	writeJSON(w, http.StatusOK, describeAccount(a))
}

func (s *Simulator) apiScan(w http.ResponseWriter, r *http.Request, a *Account) {
	var req struct {
		QR string `json:"qr"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), controlTimeout)
	defer cancel()
	dev, err := a.ScanQR(ctx, req.QR)
	if err != nil {
		writeFailure(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"device": dev.String()})
}

func (s *Simulator) apiLinkCode(w http.ResponseWriter, r *http.Request, a *Account) {
	var req struct {
		Code string `json:"code"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), controlTimeout)
	defer cancel()
	dev, err := a.EnterCode(ctx, req.Code)
	if err != nil {
		writeFailure(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"device": dev.String()})
}

// apiSendMessage sends a text, or with a media type, a media message (the file as
// base64 in mediaBase64).
func (s *Simulator) apiSendMessage(w http.ResponseWriter, r *http.Request, a *Account) {
	var req struct {
		To          string `json:"to"`
		Text        string `json:"text"`
		ReplyTo     string `json:"replyTo"`
		Type        string `json:"type"`
		MediaBase64 string `json:"mediaBase64"`
		MimeType    string `json:"mimeType"`
		Caption     string `json:"caption"`
		FileName    string `json:"fileName"`
		PTT         bool   `json:"ptt"`
		// Message is a whole message, in protobuf's JSON form of waE2E.Message, for type "message".
		Message json.RawMessage `json:"message"`
	}
	// Room for the largest upload, base64-encoded, and the rest of the request.
	limit := s.media.maxObject/3*4 + 4 + maxControlBody
	if !decodeBodyLimit(w, r, &req, limit) {
		return
	}
	if req.To == "" {
		writeError(w, http.StatusBadRequest, "to is required")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), controlTimeout)
	defer cancel()
	var id string
	var err error
	switch req.Type {
	case "", "text":
		if req.Text == "" {
			writeError(w, http.StatusBadRequest, "text is required")
			return
		}
		id, err = a.SendText(ctx, req.To, req.Text, req.ReplyTo)
	case string(MediaImage), string(MediaAudio), string(MediaVideo), string(MediaDocument), string(MediaSticker):
		data, derr := decodeBase64(req.MediaBase64)
		if derr != nil || len(data) == 0 {
			writeError(w, http.StatusBadRequest, "mediaBase64 is required and must be base64")
			return
		}
		caption := req.Caption
		if caption == "" {
			caption = req.Text
		}
		id, err = a.SendMedia(ctx, req.To, Media{
			Kind: MediaKind(req.Type), Data: data, MimeType: req.MimeType, Caption: caption,
			FileName: req.FileName, PTT: req.PTT, ReplyTo: req.ReplyTo,
		})
	case "message":
		var msg waE2E.Message
		if err := protojson.Unmarshal(req.Message, &msg); err != nil {
			writeError(w, http.StatusBadRequest, "message must be a waE2E.Message in protobuf JSON: "+err.Error())
			return
		}
		id, err = a.SendMessage(ctx, req.To, &msg)
	default:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("type %q is not text, image, audio, video, document, sticker or message", req.Type))
		return
	}
	if err != nil {
		writeFailure(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"id": id})
}

// decodeBase64 accepts standard base64 with or without padding, and base64url.
func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}

func (s *Simulator) apiListMessages(w http.ResponseWriter, r *http.Request, a *Account) {
	writeList(w, a.Messages(r.URL.Query().Get("since")))
}

func (s *Simulator) apiChatStates(w http.ResponseWriter, r *http.Request, a *Account) {
	writeList(w, a.ChatStates())
}

func (s *Simulator) apiReceipts(w http.ResponseWriter, r *http.Request, a *Account) {
	writeList(w, a.Receipts())
}

func (s *Simulator) apiPresences(w http.ResponseWriter, r *http.Request, a *Account) {
	writeList(w, a.Presences())
}

// writeList answers a JSON array, [] rather than null when it is empty.
func writeList[T any](w http.ResponseWriter, list []T) {
	if list == nil {
		list = []T{}
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *Simulator) apiMark(played bool) accountHandler {
	return func(w http.ResponseWriter, r *http.Request, a *Account) {
		var req struct {
			Chat string   `json:"chat"`
			IDs  []string `json:"ids"`
		}
		if !decodeBody(w, r, &req) {
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), controlTimeout)
		defer cancel()
		mark := a.MarkRead
		if played {
			mark = a.MarkPlayed
		}
		if err := mark(ctx, req.Chat, req.IDs...); err != nil {
			writeFailure(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	}
}

func (s *Simulator) apiTyping(w http.ResponseWriter, r *http.Request, a *Account) {
	var req struct {
		Chat  string `json:"chat"`
		State string `json:"state"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), controlTimeout)
	defer cancel()
	if err := a.Typing(ctx, req.Chat, req.State); err != nil {
		writeFailure(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

func (s *Simulator) apiOnline(w http.ResponseWriter, r *http.Request, a *Account) {
	var req struct {
		Online *bool `json:"online"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Online == nil {
		writeError(w, http.StatusBadRequest, "online is required")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), controlTimeout)
	defer cancel()
	if err := a.SetOnline(ctx, *req.Online); err != nil {
		writeFailure(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"online": *req.Online})
}

func (s *Simulator) apiHold(w http.ResponseWriter, r *http.Request, a *Account) {
	var req struct {
		Hold *bool `json:"hold"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Hold == nil {
		writeError(w, http.StatusBadRequest, "hold is required")
		return
	}
	if err := s.HoldDeliveries(a.Phone(), *req.Hold); err != nil {
		writeFailure(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"hold": *req.Hold})
}

func (s *Simulator) apiDrop(w http.ResponseWriter, r *http.Request, dev types.JID) {
	if !decodeOptionalBody(w, r) {
		return
	}
	writeResult(w, s.Drop(dev))
}

func (s *Simulator) apiUnlink(w http.ResponseWriter, r *http.Request, dev types.JID) {
	if !decodeOptionalBody(w, r) {
		return
	}
	writeResult(w, s.Unlink(dev))
}

func (s *Simulator) apiStreamError(w http.ResponseWriter, r *http.Request, dev types.JID) {
	var req struct {
		Code flexString `json:"code"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	writeResult(w, s.StreamError(dev, string(req.Code)))
}

func (s *Simulator) apiFailNextLogin(w http.ResponseWriter, r *http.Request, dev types.JID) {
	var req struct {
		Reason flexString `json:"reason"`
		Code   int        `json:"code"`
		Expire int        `json:"expire"` // seconds
	}
	if !decodeBody(w, r, &req) {
		return
	}
	reason, err := strconv.Atoi(string(req.Reason))
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("reason %q is not a number", req.Reason))
		return
	}
	writeResult(w, s.FailNextLogin(dev, LoginFailure{Reason: reason, BanCode: req.Code, Expire: time.Duration(req.Expire) * time.Second}))
}

func (s *Simulator) apiDelayAcks(w http.ResponseWriter, r *http.Request, dev types.JID) {
	var req struct {
		MS int64 `json:"ms"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	writeResult(w, s.DelayAcks(dev, time.Duration(req.MS)*time.Millisecond))
}

func (s *Simulator) apiDeliveries(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	per := s.DeliveriesByDevice(id)
	devices := make(map[string]int, len(per))
	most := 0
	for d, n := range per {
		devices[d.String()] = n
		most = max(most, n)
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "deliveries": most, "devices": devices})
}

// flexString accepts a JSON string or number ({"code":"503"} and {"code":503}).
type flexString string

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexString) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("want a string or a number: %w", err)
	}
	*f = flexString(n.String())
	return nil
}

// decodeBody decodes a JSON request body strictly; on failure it answers 400.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	return decodeBodyLimit(w, r, v, maxControlBody)
}

// decodeBodyLimit is decodeBody for bodies of up to limit bytes (413 beyond).
func decodeBodyLimit(w http.ResponseWriter, r *http.Request, v any, limit int64) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", tooLarge.Limit))
			return false
		}
		writeError(w, http.StatusBadRequest, fmt.Sprintf("malformed JSON body: %v", err))
		return false
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		writeError(w, http.StatusBadRequest, "malformed JSON body: more than one value")
		return false
	}
	return true
}

// decodeOptionalBody accepts an empty body or a JSON object, for endpoints without
// parameters.
func decodeOptionalBody(w http.ResponseWriter, r *http.Request) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxControlBody))
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("read body: %v", err))
		return false
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return true
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("malformed JSON body: %v", err))
		return false
	}
	return true
}

func writeResult(w http.ResponseWriter, err error) {
	if err != nil {
		writeFailure(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// writeFailure maps the simulator's errors to HTTP statuses, in this one place.
func writeFailure(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, ErrUnknownAccount), errors.Is(err, ErrUnknownDevice), errors.Is(err, ErrNoPendingPairing),
		errors.Is(err, ErrUnknownGroup), errors.Is(err, ErrUnknownMessage):
		status = http.StatusNotFound
	case errors.Is(err, ErrNotInGroup), errors.Is(err, ErrNotGroupAdmin):
		status = http.StatusForbidden
	case errors.Is(err, ErrMediaUnavailable):
		status = http.StatusGone
	case errors.Is(err, ErrInvalidPhone), errors.Is(err, ErrInvalidQR), errors.Is(err, ErrInvalidCode),
		errors.Is(err, ErrInvalidArgument), errors.Is(err, ErrWrongCode):
		status = http.StatusBadRequest
	case errors.Is(err, ErrAccountExists), errors.Is(err, ErrPairingInProgress), errors.Is(err, ErrPairingRejected),
		errors.Is(err, ErrAddressingIrreversible),
		errors.Is(err, ErrEngineOffline), errors.Is(err, ErrNotConnected):
		status = http.StatusConflict
	case errors.Is(err, context.DeadlineExceeded):
		status = http.StatusGatewayTimeout
	case errors.Is(err, ErrClosed):
		status = http.StatusServiceUnavailable
	}
	writeError(w, status, err.Error())
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
