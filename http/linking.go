package httpapi

import (
	"encoding/base64"
	"fmt"
	"net/http"

	"github.com/go-chi/chi/v5"
	qrcode "github.com/skip2/go-qrcode"

	"github.com/plugzapi/plugzapi/recipient"
)

// qrImageSize is the side of the QR code PNG in pixels: large enough for a phone camera on any screen.
const qrImageSize = 256

// stringValue is PlugZapi's {"value": "<string>"} answer.
type stringValue struct {
	Value string `json:"value"`
}

func (a *api) qrCode(w http.ResponseWriter, r *http.Request) {
	qr, err := a.deps.Pairing.QRCode(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		a.respondError(w, r, fmt.Errorf("get qr code: %w", err))
		return
	}
	writeJSON(w, http.StatusOK, stringValue{Value: qr})
}

func (a *api) qrCodeImage(w http.ResponseWriter, r *http.Request) {
	qr, err := a.deps.Pairing.QRCode(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		a.respondError(w, r, fmt.Errorf("get qr code: %w", err))
		return
	}
	png, err := qrcode.Encode(qr, qrcode.Medium, qrImageSize)
	if err != nil {
		a.respondError(w, r, fmt.Errorf("render qr code: %w", err))
		return
	}
	writeJSON(w, http.StatusOK, stringValue{Value: "data:image/png;base64," + base64.StdEncoding.EncodeToString(png)})
}

type phoneCodeResponse struct {
	Code string `json:"code"`
}

func (a *api) phoneCode(w http.ResponseWriter, r *http.Request) {
	phone := chi.URLParam(r, "phone")
	if !recipient.IsPhoneNumber(phone) {
		a.respondError(w, r, invalidPhone("phone", false))
		return
	}
	code, err := a.deps.Pairing.PhoneCode(r.Context(), chi.URLParam(r, "id"), phone)
	if err != nil {
		a.respondError(w, r, fmt.Errorf("get phone code: %w", err))
		return
	}
	writeJSON(w, http.StatusOK, phoneCodeResponse{Code: code})
}

// statusResponse is PlugZapi's GET /status answer.
type statusResponse struct {
	Connected           bool   `json:"connected"`
	Session             bool   `json:"session"`
	Error               string `json:"error"`
	SmartphoneConnected bool   `json:"smartphoneConnected"`
}

func (a *api) status(w http.ResponseWriter, r *http.Request) {
	st, err := a.deps.Connection.Status(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		a.respondError(w, r, fmt.Errorf("get status: %w", err))
		return
	}
	writeJSON(w, http.StatusOK, statusResponse{
		Connected:           st.Connected,
		Session:             st.Session,
		Error:               st.Error,
		SmartphoneConnected: st.SmartphoneConnected,
	})
}

func (a *api) restart(w http.ResponseWriter, r *http.Request) {
	if err := a.deps.Session.Restart(r.Context(), chi.URLParam(r, "id")); err != nil {
		a.respondError(w, r, fmt.Errorf("restart: %w", err))
		return
	}
	writeValueTrue(w)
}

func (a *api) disconnect(w http.ResponseWriter, r *http.Request) {
	if err := a.deps.Session.Disconnect(r.Context(), chi.URLParam(r, "id")); err != nil {
		a.respondError(w, r, fmt.Errorf("disconnect: %w", err))
		return
	}
	writeValueTrue(w)
}

func (a *api) restoreSession(w http.ResponseWriter, r *http.Request) {
	if err := a.deps.Session.RestoreSession(r.Context(), chi.URLParam(r, "id")); err != nil {
		a.respondError(w, r, fmt.Errorf("restore session: %w", err))
		return
	}
	writeValueTrue(w)
}
