package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Header names of webhook requests (see the package documentation).
const (
	HeaderWebhookID = "X-Plugzapi-Webhook-Id"
	HeaderEventID   = "X-Plugzapi-Event-Id"
	HeaderTimestamp = "X-Plugzapi-Timestamp"
	HeaderSignature = "X-Plugzapi-Signature"
)

const signaturePrefix = "sha256="

// Sign returns the X-Plugzapi-Signature value for a body sent at timestamp (Unix seconds):
// "sha256=" + hex(HMAC-SHA256(secret, "<timestamp>.<body>")).
func Sign(secret string, timestamp int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(timestamp, 10)))
	mac.Write([]byte("."))
	mac.Write(body)
	return signaturePrefix + hex.EncodeToString(mac.Sum(nil))
}

// ErrBadSignature is wrapped by every [Verify] rejection.
var ErrBadSignature = errors.New("webhook signature rejected")

// Verify checks a received webhook: the signature header must be [Sign] of the timestamp header and the body
// under secret (compared in constant time), and the timestamp within tolerance of now, which stops an old
// request from being replayed. It is what a receiver written in Go would call.
func Verify(secret, timestampHeader, signatureHeader string, body []byte, now time.Time, tolerance time.Duration) error {
	ts, err := strconv.ParseInt(timestampHeader, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: bad timestamp %q", ErrBadSignature, timestampHeader)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: timestamp %d is %v away from now", ErrBadSignature, ts, d.Round(time.Second))
	}
	if !strings.HasPrefix(signatureHeader, signaturePrefix) {
		return fmt.Errorf("%w: no %s prefix", ErrBadSignature, signaturePrefix)
	}
	if !hmac.Equal([]byte(Sign(secret, ts, body)), []byte(signatureHeader)) {
		return fmt.Errorf("%w: mismatch", ErrBadSignature)
	}
	return nil
}
