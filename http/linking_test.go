package httpapi

import (
	"bytes"
	"encoding/base64"
	"image/png"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/plugzapi/plugzapi/actors"
)

func TestQRCode(t *testing.T) {
	s := newTestServer(t, Config{})
	s.app.qr = "2@Xyz,abc==,def==,ghi=="
	var got stringValue
	wantJSON(t, s.do(t, req{method: http.MethodGet, path: base + "/qr-code"}), 200, &got)
	if got.Value != s.app.qr {
		t.Errorf("value = %q, want %q", got.Value, s.app.qr)
	}
}

func TestQRCodeImage(t *testing.T) {
	s := newTestServer(t, Config{})
	s.app.qr = "2@" + strings.Repeat("A", 200)
	var got stringValue
	wantJSON(t, s.do(t, req{method: http.MethodGet, path: base + "/qr-code/image"}), 200, &got)
	data, ok := strings.CutPrefix(got.Value, "data:image/png;base64,")
	if !ok {
		t.Fatalf("value = %.40q…, want a PNG data URI", got.Value)
	}
	raw, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		t.Fatalf("base64: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != qrImageSize || b.Dy() != qrImageSize {
		t.Errorf("image is %v, want %d×%d", b, qrImageSize, qrImageSize)
	}
}

func TestQRCodeTooLongToRenderIs500(t *testing.T) {
	s := newTestServer(t, Config{})
	s.app.qr = strings.Repeat("x", 5000) // beyond what a QR code holds
	wantError(t, s.do(t, req{method: http.MethodGet, path: base + "/qr-code/image"}), 500, codeInternal)
}

func TestQRCodeStates(t *testing.T) {
	for _, path := range []string{"/qr-code", "/qr-code/image"} {
		s := newTestServer(t, Config{})
		s.app.errs["QRCode"] = actors.ErrAlreadyConnected
		wantError(t, s.do(t, req{method: http.MethodGet, path: base + path}), http.StatusConflict, codeAlreadyConnected)

		s.app.errs["QRCode"] = actors.ErrQRNotReady
		w := s.do(t, req{method: http.MethodGet, path: base + path})
		wantError(t, w, http.StatusServiceUnavailable, codeQRNotReady)
		if w.Header().Get("Retry-After") != "1" {
			t.Errorf("Retry-After = %q, want 1", w.Header().Get("Retry-After"))
		}
	}
}

func TestPhoneCode(t *testing.T) {
	s := newTestServer(t, Config{})
	s.app.phoneCode = "ABCD-EFGH"
	var got phoneCodeResponse
	wantJSON(t, s.do(t, req{method: http.MethodGet, path: base + "/phone-code/5511999999999"}), 200, &got)
	if got.Code != "ABCD-EFGH" {
		t.Errorf("code = %q", got.Code)
	}
	if c := s.app.callsTo("PhoneCode"); len(c) != 1 || c[0].args[1] != "5511999999999" {
		t.Errorf("PhoneCode calls = %+v", c)
	}

	s.app.errs["PhoneCode"] = actors.ErrAlreadyConnected
	wantError(t, s.do(t, req{method: http.MethodGet, path: base + "/phone-code/5511999999999"}), 409, codeAlreadyConnected)
}

func TestPhoneCodeRejectsBadPhones(t *testing.T) {
	for _, phone := range []string{"abc", "1234567", "1234567890123456", "%2B5511999999999", "55%2011999999999",
		"120363019502650977-group", "55-11-99999-9999"} {
		s := newTestServer(t, Config{})
		wantError(t, s.do(t, req{method: http.MethodGet, path: base + "/phone-code/" + phone}), 400, codeInvalidPhone, "phone")
		wantNoAppCalls(t, s.app)
	}
}

func TestStatus(t *testing.T) {
	s := newTestServer(t, Config{})
	s.app.status = actors.Status{Connected: false, Session: true, SmartphoneConnected: false, Error: "You are not connected."}
	var got map[string]any
	wantJSON(t, s.do(t, req{method: http.MethodGet, path: base + "/status"}), 200, &got)
	want := map[string]any{"connected": false, "session": true, "smartphoneConnected": false, "error": "You are not connected."}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("status = %v, want %v", got, want)
	}
}

func TestSessionCommands(t *testing.T) {
	for _, c := range []struct{ path, method string }{
		{"/restart", "Restart"}, {"/disconnect", "Disconnect"}, {"/restore-session", "RestoreSession"},
	} {
		s := newTestServer(t, Config{})
		wantValueTrue(t, s.do(t, req{method: http.MethodGet, path: base + c.path}))
		if calls := s.app.callsTo(c.method); len(calls) != 1 || calls[0].args[0] != instID {
			t.Errorf("%s calls = %+v", c.method, calls)
		}
	}
	s := newTestServer(t, Config{})
	s.app.errs["RestoreSession"] = actors.ErrNotLinked
	wantError(t, s.do(t, req{method: http.MethodGet, path: base + "/restore-session"}), 409, codeNotLinked)
}

func TestDevice(t *testing.T) {
	s := newTestServer(t, Config{})
	s.app.device = actors.Device{Phone: "5511999999999", Name: "Ana", Platform: "android", BusinessName: "Ana's", SessionName: "Shop PC"}
	var got map[string]any
	wantJSON(t, s.do(t, req{method: http.MethodGet, path: base + "/device"}), 200, &got)
	want := map[string]any{
		"phone": "5511999999999", "imgUrl": nil, "name": "Ana", "about": "", "sessionName": "Shop PC", "platform": "android",
		"isBusiness": true, "businessName": "Ana's",
		"device": map[string]any{"sessionName": "Shop PC", "platform": "android"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("device = %v\nwant %v", got, want)
	}

	s.app.errs["Device"] = actors.ErrNotLinked
	wantError(t, s.do(t, req{method: http.MethodGet, path: base + "/device"}), 409, codeNotLinked)
}
