package netguard

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// webhookPolicy is how webhooks use the policy: private receivers are legitimate.
var webhookPolicy = Policy{AllowPrivate: true}

func TestCheckURL(t *testing.T) {
	insecure := Policy{AllowHTTP: true, AllowPrivate: true}
	tests := []struct {
		url     string
		policy  Policy
		wantErr string // "" for accepted
	}{
		{"https://example.com/hook", webhookPolicy, ""},
		{"https://example.com:8443/hook?x=1#frag", webhookPolicy, ""},
		{"https://[2001:db8::1]/hook", webhookPolicy, ""},
		{"https://10.0.0.5/internal", webhookPolicy, ""}, // private ranges are legitimate self-hosted targets
		{"http://example.com/hook", webhookPolicy, "only https"},
		{"http://example.com/hook", insecure, ""},
		{"http://127.0.0.1:9000/hook", insecure, ""},
		{"", webhookPolicy, "empty"},
		{"example.com/hook", webhookPolicy, "not an absolute URL"},
		{"/hook", webhookPolicy, "not an absolute URL"},
		{"ftp://example.com/hook", insecure, "scheme"},
		{"javascript:alert(1)", insecure, "scheme"},
		{"https:example.com", webhookPolicy, "not a hierarchical"},
		{"https:///path", webhookPolicy, "no host"},
		{"https://user:pass@example.com/hook", webhookPolicy, "credentials"},
		{"https://user@example.com/hook", webhookPolicy, "credentials"},
		{"https://example.com:0/hook", webhookPolicy, "bad port"},
		{"https://example.com:99999/hook", webhookPolicy, "port"},
		{"https://exa mple.com/hook", webhookPolicy, "whitespace"},
		{" https://example.com/hook", webhookPolicy, "whitespace"},
		{"https://example.com/hook\n", webhookPolicy, "whitespace"},
		{"https://169.254.169.254/latest/meta-data", insecure, "link-local"},
		{"http://169.254.1.1/", insecure, "link-local"},
		{"https://[fe80::1]/hook", insecure, "link-local"},
		{"https://[::ffff:169.254.169.254]/hook", insecure, "link-local"},
		{"https://[fe80::1%25eth0]/hook", insecure, "link-local"},
		{"https://100.100.100.200/", insecure, "metadata"},
		{"https://0.0.0.0/", insecure, "link-local"},
		{"https://[64:ff9b::a9fe:a9fe]/", insecure, "link-local"}, // NAT64 of 169.254.169.254
		{"https://" + strings.Repeat("a", 2100) + ".com/", webhookPolicy, "longer than"},
		{"https://%zz/", webhookPolicy, "invalid"},

		// The strict policy (media): public addresses only.
		{"https://example.com/photo.jpg", Policy{}, ""},
		{"https://93.184.216.34/photo.jpg", Policy{}, ""},
		{"https://127.0.0.1/photo.jpg", Policy{}, "loopback or private"},
		{"https://[::1]/photo.jpg", Policy{}, "loopback or private"},
		{"https://10.0.0.5/photo.jpg", Policy{}, "loopback or private"},
		{"https://192.168.1.1/photo.jpg", Policy{}, "loopback or private"},
		{"https://172.16.0.1/photo.jpg", Policy{}, "loopback or private"},
		{"https://[fd12::1]/photo.jpg", Policy{}, "loopback or private"},
		{"https://100.64.0.1/photo.jpg", Policy{}, "not a public"},
		{"https://[2002:7f00:1::]/photo.jpg", Policy{}, "loopback or private"},                // 6to4 of 127.0.0.1
		{"https://[64:ff9b::a00:1]/photo.jpg", Policy{}, "loopback or private"},               // NAT64 of 10.0.0.1
		{"https://[64:ff9b::5db8:d822]/photo.jpg", Policy{}, ""},                              // NAT64 of 93.184.216.34
		{"https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/x", Policy{}, "loopback or private"}, // Teredo, client 127.0.0.1
		{"https://[2001:0:4136:e378:8000:63bf:a247:27dd]/x", Policy{}, ""},                    // Teredo, client 93.184.216.34
		{"https://[::ffff:192.168.1.1]/photo.jpg", Policy{}, "loopback or private"},           // IPv4-mapped
		{"https://[::127.0.0.1]/photo.jpg", Policy{}, "loopback or private"},                  // IPv4-compatible
		{"https://[fc00::1]/photo.jpg", Policy{}, "loopback or private"},                      // ULA
		{"https://[::1]/hook", insecure, ""},
		{"https://169.254.10.10/photo.jpg", Policy{}, "link-local"},
		{"https://100.127.255.254/photo.jpg", Policy{}, "not a public"}, // CGNAT's last
		{"https://localhost/photo.jpg", Policy{}, "this machine"},
		{"https://cdn.localhost/photo.jpg", Policy{}, "this machine"},
		{"https://LocalHost./photo.jpg", Policy{}, "this machine"},
		{"http://example.com/photo.jpg", Policy{}, "only https"},
	}
	for _, tt := range tests {
		err := tt.policy.CheckURL(tt.url)
		if tt.wantErr == "" {
			if err != nil {
				t.Errorf("%+v.CheckURL(%q) = %v, want nil", tt.policy, tt.url, err)
			}
			continue
		}
		if err == nil || !errors.Is(err, ErrInvalidURL) || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%+v.CheckURL(%q) = %v, want ErrInvalidURL containing %q", tt.policy, tt.url, err, tt.wantErr)
		}
	}
}

// TestDialGuard covers the resolved-address check: a DNS name that resolves (or rebinds) to a refused address
// passes CheckURL but must not be connected to.
func TestDialGuard(t *testing.T) {
	for addr, want := range map[string][2]bool{ // refused by {webhookPolicy, Policy{}}
		"169.254.169.254:80":      {true, true},
		"169.254.0.1:443":         {true, true},
		"[fe80::1%25eth0]:443":    {true, true},
		"[fe80::abcd]:443":        {true, true},
		"[::ffff:169.254.1.1]:80": {true, true},
		"[fd00:ec2::254]:80":      {true, true},
		"100.100.100.200:80":      {true, true},
		"0.0.0.0:80":              {true, true},
		"127.0.0.1:8080":          {false, true},
		"10.1.2.3:443":            {false, true},
		"[::1]:443":               {false, true},
		"93.184.216.34:443":       {false, false},
		"[2606:4700::1111]:443":   {false, false},
		"not an address":          {true, true},
	} {
		for i, p := range []Policy{webhookPolicy, {}} {
			err := p.Control(context.Background(), "tcp", strings.ReplaceAll(addr, "%25", "%"), nil)
			if got := err != nil; got != want[i] || (err != nil && !errors.Is(err, ErrRefusedAddress)) {
				t.Errorf("%+v.Control(%s) = %v, want refused=%v", p, addr, err, want[i])
			}
		}
	}
}
