package access

import (
	"errors"
	"net/netip"
	"testing"
)

func TestParsePrefixes(t *testing.T) {
	tests := []struct {
		in      []string
		want    []string
		wantErr bool
	}{
		{in: []string{"203.0.113.7"}, want: []string{"203.0.113.7/32"}},
		{in: []string{" 10.1.2.3/8 ", "2001:db8::1"}, want: []string{"10.0.0.0/8", "2001:db8::1/128"}},
		{in: []string{"::ffff:192.0.2.1"}, want: []string{"192.0.2.1/32"}},
		{in: []string{"10.0.0.0/33"}, wantErr: true},
		{in: []string{"example.com"}, wantErr: true},
		{in: []string{""}, wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParsePrefixes(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParsePrefixes(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		for i, p := range got {
			if p.String() != tt.want[i] {
				t.Errorf("ParsePrefixes(%q)[%d] = %s, want %s", tt.in, i, p, tt.want[i])
			}
		}
	}
}

func TestChecks(t *testing.T) {
	h := hash("0123456789abcdef")
	c := &Control{clientToken: h[:], allowed: map[string][]netip.Prefix{
		"A": {netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")},
	}}
	for _, tt := range []struct {
		header string
		sent   bool
		want   error
	}{
		{"0123456789abcdef", true, nil},
		{"", false, ErrClientTokenMissing},
		{"", true, ErrClientTokenMissing},
		{"0123456789abcdeF", true, ErrClientTokenInvalid},
		{"0123456789abcdef ", true, ErrClientTokenInvalid},
	} {
		if err := c.CheckClientToken(tt.header, tt.sent); !errors.Is(err, tt.want) {
			t.Errorf("CheckClientToken(%q, %v) = %v, want %v", tt.header, tt.sent, err, tt.want)
		}
	}
	if err := (&Control{}).CheckClientToken("", false); err != nil {
		t.Errorf("without a token set: %v", err)
	}
	for _, tt := range []struct {
		id, ip string
		ok     bool
	}{
		{"A", "10.9.8.7", true},
		{"A", "::ffff:10.9.8.7", true},
		{"A", "2001:db8::5", true},
		{"A", "11.0.0.1", false},
		{"B", "11.0.0.1", true}, // no list: open
	} {
		err := c.CheckIP(tt.id, netip.MustParseAddr(tt.ip))
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrIPNotAllowed)) {
			t.Errorf("CheckIP(%s, %s) = %v, want ok %v", tt.id, tt.ip, err, tt.ok)
		}
	}
	if err := c.CheckIP("A", netip.Addr{}); err == nil {
		t.Error("an unknown client address passed an allow-list")
	}
}
