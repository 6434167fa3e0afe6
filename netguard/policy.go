package netguard

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
)

// ErrInvalidURL is wrapped by every [Policy.CheckURL] rejection.
var ErrInvalidURL = errors.New("invalid URL")

// ErrRefusedAddress is wrapped by the dial guard's refusals (a [RefusedError]): the URL's host resolved to an
// address the policy refuses.
var ErrRefusedAddress = errors.New("connection refused by the address policy")

// MaxURLLen bounds a URL; longer ones are almost certainly a mistake or abuse.
const MaxURLLen = 2048

// Policy is which URLs the server may call. The zero value is the strictest: https only, public addresses only.
// Link-local and cloud-metadata addresses are refused whatever the policy.
type Policy struct {
	// AllowHTTP accepts http:// URLs besides https://.
	AllowHTTP bool
	// AllowPrivate accepts addresses that are not public: loopback, private ranges (10/8, 192.168/16, fc00::/7…),
	// shared and reserved ranges. A webhook receiver on the operator's own network is legitimate; a file
	// fetched from there and sent to a chat would leak what only the server can reach.
	AllowPrivate bool
}

// CheckURL accepts a URL to call: well-formed, absolute, http(s) as the policy allows, with a host, without
// user credentials, and not aimed at a refused address when the host is an IP address (names are checked when
// dialled). The error wraps [ErrInvalidURL] and says what is wrong, for the API to show.
func (p Policy) CheckURL(raw string) error {
	if raw == "" {
		return fmt.Errorf("%w: empty", ErrInvalidURL)
	}
	if len(raw) > MaxURLLen {
		return fmt.Errorf("%w: longer than %d characters", ErrInvalidURL, MaxURLLen)
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
		if !p.AllowHTTP {
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
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%w: bad port %q", ErrInvalidURL, port)
		}
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		if why := p.refuses(addr); why != "" {
			return fmt.Errorf("%w: %s is %s", ErrInvalidURL, host, why)
		}
	} else if name := strings.TrimSuffix(strings.ToLower(host), "."); !p.AllowPrivate &&
		(name == "localhost" || strings.HasSuffix(name, ".localhost")) {
		return fmt.Errorf("%w: %s is this machine", ErrInvalidURL, host)
	}
	return nil
}

// alwaysRefused are never dialled: link-local ranges (where cloud metadata services live) and the metadata
// endpoints outside them, and addresses that connect to the local host on some systems.
var alwaysRefused = []netip.Prefix{
	netip.MustParsePrefix("169.254.0.0/16"),     // IPv4 link-local, incl. 169.254.169.254 (AWS, GCP, Azure metadata)
	netip.MustParsePrefix("fe80::/10"),          // IPv6 link-local
	netip.MustParsePrefix("fd00:ec2::254/128"),  // AWS metadata over IPv6
	netip.MustParsePrefix("100.100.100.200/32"), // Alibaba Cloud metadata
	netip.MustParsePrefix("0.0.0.0/8"),          // "this network": connects to the local host on some systems
	netip.MustParsePrefix("::/128"),             // unspecified
}

// notPublic are the ranges besides loopback and RFC 1918/4193 that reach no public host: refused unless the
// policy allows private addresses.
var notPublic = []netip.Prefix{
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT, shared address space
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and the broadcast address
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64
	netip.MustParsePrefix("100::/64"),        // discard-only
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("ff00::/8"),        // multicast
	netip.MustParsePrefix("224.0.0.0/4"),     // multicast
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
}

// nat64, sixToFour, teredo and ipv4Compatible embed an IPv4 address in an IPv6 one: the IPv4 address is what is
// reached (for Teredo, the client's, stored inverted).
var (
	nat64          = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour      = netip.MustParsePrefix("2002::/16")
	teredo         = netip.MustParsePrefix("2001::/32")
	ipv4Compatible = netip.MustParsePrefix("::/96") // deprecated (RFC 4291), but some stacks still route it
)

// refuses says why the policy refuses to connect to a, or "" when it does not.
func (p Policy) refuses(a netip.Addr) string {
	// Prefix.Contains is false for any address with a zone ("fe80::1%eth0"): drop it first.
	a = a.Unmap().WithZone("")
	if inner, ok := embeddedIPv4(a); ok {
		a = inner
	}
	for _, pre := range alwaysRefused {
		if pre.Contains(a) {
			return "a link-local or metadata address"
		}
	}
	if p.AllowPrivate {
		return ""
	}
	if a.IsLoopback() || a.IsPrivate() {
		return "a loopback or private address"
	}
	for _, pre := range notPublic {
		if pre.Contains(a) {
			return "not a public address"
		}
	}
	return ""
}

// embeddedIPv4 is the IPv4 address a NAT64, 6to4, Teredo or IPv4-compatible address leads to.
func embeddedIPv4(a netip.Addr) (netip.Addr, bool) {
	b := a.As16()
	switch {
	case !a.Is6():
		return a, false
	case nat64.Contains(a):
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case sixToFour.Contains(a):
		return netip.AddrFrom4([4]byte(b[2:6])), true
	case teredo.Contains(a):
		return netip.AddrFrom4([4]byte{^b[12], ^b[13], ^b[14], ^b[15]}), true
	case ipv4Compatible.Contains(a) && b[12] != 0: // not ::1 nor ::, which are IPv6's own
		return netip.AddrFrom4([4]byte(b[12:16])), true
	}
	return a, false
}

// Control is a net.Dialer ControlContext function: it runs after name resolution, on the address actually being
// connected to, so DNS names pointing at refused addresses (or rebinding to them) are refused too.
func (p Policy) Control(_ context.Context, _, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &RefusedError{Address: address, Why: "not an IP address"}
	}
	if why := p.refuses(ap.Addr()); why != "" {
		return &RefusedError{Address: ap.Addr().String(), Why: why}
	}
	return nil
}

// RefusedError is the dial guard's refusal of an address; it wraps [ErrRefusedAddress].
type RefusedError struct {
	Address string
	Why     string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("%v: %s is %s", ErrRefusedAddress, e.Address, e.Why)
}

func (e *RefusedError) Unwrap() error { return ErrRefusedAddress }
