package webhooks

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCheckURL(t *testing.T) {
	tests := []struct {
		url      string
		insecure bool
		wantErr  string // "" for accepted
	}{
		{"https://example.com/hook", false, ""},
		{"https://example.com:8443/hook?x=1#frag", false, ""},
		{"https://[2001:db8::1]/hook", false, ""},
		{"https://10.0.0.5/internal", false, ""}, // private ranges are legitimate self-hosted targets
		{"http://example.com/hook", false, "only https"},
		{"http://example.com/hook", true, ""},
		{"http://127.0.0.1:9000/hook", true, ""},
		{"", false, "empty"},
		{"example.com/hook", false, "not an absolute URL"},
		{"/hook", false, "not an absolute URL"},
		{"ftp://example.com/hook", true, "scheme"},
		{"javascript:alert(1)", true, "scheme"},
		{"https:example.com", false, "not a hierarchical"},
		{"https:///path", false, "no host"},
		{"https://user:pass@example.com/hook", false, "credentials"},
		{"https://user@example.com/hook", false, "credentials"},
		{"https://example.com:0/hook", false, "bad port"},
		{"https://example.com:99999/hook", false, "port"},
		{"https://exa mple.com/hook", false, "whitespace"},
		{" https://example.com/hook", false, "whitespace"},
		{"https://example.com/hook\n", false, "whitespace"},
		{"https://169.254.169.254/latest/meta-data", true, "link-local"},
		{"http://169.254.1.1/", true, "link-local"},
		{"https://[fe80::1]/hook", true, "link-local"},
		{"https://[::ffff:169.254.169.254]/hook", true, "link-local"},
		{"https://[fe80::1%25eth0]/hook", true, "link-local"},
		{"https://100.100.100.200/", true, "metadata"},
		{"https://0.0.0.0/", true, "link-local"},
		{"https://" + strings.Repeat("a", 2100) + ".com/", false, "longer than"},
		{"https://%zz/", false, "invalid"},
	}
	for _, tt := range tests {
		err := CheckURL(tt.url, tt.insecure)
		if tt.wantErr == "" {
			if err != nil {
				t.Errorf("CheckURL(%q, %v) = %v, want nil", tt.url, tt.insecure, err)
			}
			continue
		}
		if err == nil || !errors.Is(err, ErrInvalidURL) || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("CheckURL(%q, %v) = %v, want ErrInvalidURL containing %q", tt.url, tt.insecure, err, tt.wantErr)
		}
	}
}

// TestDialGuard covers the resolved-address check: a DNS name that resolves (or rebinds) to a metadata
// address passes CheckURL but must not be connected to.
func TestDialGuard(t *testing.T) {
	for addr, blocked := range map[string]bool{
		"169.254.169.254:80":      true,
		"169.254.0.1:443":         true,
		"[fe80::1%25eth0]:443":    true,
		"[fe80::abcd]:443":        true,
		"[::ffff:169.254.1.1]:80": true,
		"[fd00:ec2::254]:80":      true,
		"100.100.100.200:80":      true,
		"0.0.0.0:80":              true,
		"127.0.0.1:8080":          false,
		"10.1.2.3:443":            false,
		"93.184.216.34:443":       false,
		"[2001:db8::1]:443":       false,
		"not an address":          true,
	} {
		err := guardDial(context.Background(), "tcp", strings.ReplaceAll(addr, "%25", "%"), nil)
		if got := err != nil; got != blocked {
			t.Errorf("guardDial(%s) = %v, want blocked=%v", addr, err, blocked)
		}
	}
}

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
