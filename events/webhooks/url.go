package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
)

// ErrInvalidURL is wrapped by every [CheckURL] rejection.
var ErrInvalidURL = errors.New("invalid webhook URL")

// maxURLLen bounds a target URL; longer ones are almost certainly a mistake or abuse.
const maxURLLen = 2048

// CheckURL accepts a webhook target: a well-formed absolute https URL (or http when allowInsecure) with a
// host, without user credentials, and not aimed at a link-local or cloud-metadata address. The error wraps
// [ErrInvalidURL] and says what is wrong, for the API to show.
func CheckURL(raw string, allowInsecure bool) error {
	if raw == "" {
		return fmt.Errorf("%w: empty", ErrInvalidURL)
	}
	if len(raw) > maxURLLen {
		return fmt.Errorf("%w: longer than %d characters", ErrInvalidURL, maxURLLen)
	}
	if strings.TrimSpace(raw) != raw || strings.ContainsAny(raw, " \t\r\n") {
		return fmt.Errorf("%w: contains whitespace", ErrInvalidURL)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidURL, err)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !allowInsecure {
			return fmt.Errorf("%w: only https URLs are accepted", ErrInvalidURL)
		}
	case "":
		return fmt.Errorf("%w: not an absolute URL", ErrInvalidURL)
	default:
		return fmt.Errorf("%w: scheme %q is not http(s)", ErrInvalidURL, u.Scheme)
	}
	if u.Opaque != "" {
		return fmt.Errorf("%w: not a hierarchical URL", ErrInvalidURL)
	}
	if u.User != nil {
		return fmt.Errorf("%w: must not contain user credentials", ErrInvalidURL)
	}
	host := u.Hostname()
	if host == "" {
		return fmt.Errorf("%w: no host", ErrInvalidURL)
	}
	if p := u.Port(); p != "" {
		var n int
		if _, err := fmt.Sscanf(p, "%d", &n); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%w: bad port %q", ErrInvalidURL, p)
		}
	}
	if addr, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil && blockedAddr(addr) {
		return fmt.Errorf("%w: %s is a link-local or metadata address", ErrInvalidURL, host)
	}
	return nil
}

// blockedPrefixes are never dialled: link-local ranges (where cloud metadata services live) and the
// metadata endpoints outside them.
var blockedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("169.254.0.0/16"),     // IPv4 link-local, incl. 169.254.169.254 (AWS, GCP, Azure metadata)
	netip.MustParsePrefix("fe80::/10"),          // IPv6 link-local
	netip.MustParsePrefix("fd00:ec2::254/128"),  // AWS metadata over IPv6
	netip.MustParsePrefix("100.100.100.200/32"), // Alibaba Cloud metadata
	netip.MustParsePrefix("0.0.0.0/8"),          // "this network": connects to the local host on some systems
	netip.MustParsePrefix("::/128"),             // unspecified
}

func blockedAddr(a netip.Addr) bool {
	// Prefix.Contains is false for any address with a zone ("fe80::1%eth0"): drop it first.
	a = a.Unmap().WithZone("")
	for _, p := range blockedPrefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// errBlockedAddress is returned by the dialer guard.
var errBlockedAddress = errors.New("connection to a link-local or metadata address refused")

// guardDial is a net.Dialer Control function: it runs after name resolution, on the address actually being
// connected to, so DNS names pointing at blocked addresses (or rebinding to them) are refused too.
func guardDial(_ context.Context, network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: unparsable address %q", errBlockedAddress, address)
	}
	if blockedAddr(ap.Addr()) {
		return fmt.Errorf("%w: %s", errBlockedAddress, address)
	}
	return nil
}
