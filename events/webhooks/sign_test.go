package webhooks

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSignAndVerify(t *testing.T) {
	body := []byte(`{"type":"ConnectedCallback"}`)
	now := time.Unix(1732450000, 0)
	sig := Sign("s3cret", now.Unix(), body)
	if !strings.HasPrefix(sig, "sha256=") || len(sig) != len("sha256=")+64 {
		t.Fatalf("Sign = %q", sig)
	}
	// A vector computed independently of this code:
	//   printf '1732450000.{"type":"ConnectedCallback"}' | openssl dgst -sha256 -hmac s3cret
	if want := "sha256=2b027dff878f4486456e9f8b3ae24873cfb656b92511ac308f8390b54d03b252"; sig != want {
		t.Fatalf("Sign = %s, want %s", sig, want)
	}
	ts := "1732450000"
	if err := Verify("s3cret", ts, sig, body, now.Add(time.Minute), 5*time.Minute); err != nil {
		t.Fatalf("Verify(valid) = %v", err)
	}
	for name, tc := range map[string]struct {
		secret, ts, sig string
		body            []byte
		now             time.Time
	}{
		"wrong secret":    {"other", ts, sig, body, now},
		"tampered body":   {"s3cret", ts, sig, []byte(`{"type":"DisconnectedCallback"}`), now},
		"other timestamp": {"s3cret", "1732450001", sig, body, now},
		"replayed later":  {"s3cret", ts, sig, body, now.Add(10 * time.Minute)},
		"from the future": {"s3cret", ts, sig, body, now.Add(-10 * time.Minute)},
		"bad timestamp":   {"s3cret", "yesterday", sig, body, now},
		"no prefix":       {"s3cret", ts, strings.TrimPrefix(sig, "sha256="), body, now},
		"empty signature": {"s3cret", ts, "", body, now},
	} {
		if err := Verify(tc.secret, tc.ts, tc.sig, tc.body, tc.now, 5*time.Minute); !errors.Is(err, ErrBadSignature) {
			t.Errorf("Verify(%s) = %v, want ErrBadSignature", name, err)
		}
	}
}
