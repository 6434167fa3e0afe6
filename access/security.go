package access

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// SetClientToken sets the account's Client-Token: from then on every instance route requires it in the
// Client-Token header. Only its hash is kept.
func (c *Control) SetClientToken(ctx context.Context, token string) error {
	if len(token) < MinClientTokenLen {
		return fmt.Errorf("access: a client token needs at least %d characters", MinClientTokenLen)
	}
	h := hash(token)
	_, err := c.db.ExecContext(ctx, `INSERT INTO access_client_token (id, token_hash) VALUES (1, ?)
		ON CONFLICT (id) DO UPDATE SET token_hash = excluded.token_hash`, h[:])
	if err != nil {
		return fmt.Errorf("access: set the client token: %w", err)
	}
	c.mu.Lock()
	c.clientToken = h[:]
	c.mu.Unlock()
	return nil
}

// RemoveClientToken turns the Client-Token requirement off.
func (c *Control) RemoveClientToken(ctx context.Context) error {
	if _, err := c.db.ExecContext(ctx, `DELETE FROM access_client_token`); err != nil {
		return fmt.Errorf("access: remove the client token: %w", err)
	}
	c.mu.Lock()
	c.clientToken = nil
	c.mu.Unlock()
	return nil
}

// ClientTokenSet reports whether the account has a Client-Token (the token itself cannot be shown: only its hash
// is kept).
func (c *Control) ClientTokenSet() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.clientToken != nil
}

// CheckClientToken checks a request's Client-Token header (sent tells whether it had one): nil when the account
// has no Client-Token or the header matches, ErrClientTokenMissing or ErrClientTokenInvalid otherwise.
func (c *Control) CheckClientToken(header string, sent bool) error {
	c.mu.RLock()
	want := c.clientToken
	c.mu.RUnlock()
	switch {
	case want == nil:
		return nil
	case !sent || header == "":
		return ErrClientTokenMissing
	}
	got := hash(header)
	if subtle.ConstantTimeCompare(got[:], want) != 1 {
		return ErrClientTokenInvalid
	}
	return nil
}

// ParsePrefixes reads an allow-list: IP addresses ("203.0.113.7", "2001:db8::1") and CIDR prefixes
// ("10.0.0.0/8"). An address is a prefix of its full length.
func ParsePrefixes(list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		s = strings.TrimSpace(s)
		if addr, err := netip.ParseAddr(s); err == nil {
			addr = addr.Unmap()
			out = append(out, netip.PrefixFrom(addr, addr.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not an IP address or a CIDR prefix", s)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// SetAllowedIPs sets the addresses an instance's routes may be called from; an empty list lets every address
// in again.
func (c *Control) SetAllowedIPs(ctx context.Context, id string, prefixes []netip.Prefix) error {
	if err := c.exists(ctx, id); err != nil {
		return err
	}
	var err error
	if len(prefixes) == 0 {
		_, err = c.db.ExecContext(ctx, `DELETE FROM access_allowed_ips WHERE instance_id = ?`, id)
	} else {
		list := make([]string, len(prefixes))
		for i, p := range prefixes {
			list[i] = p.String()
		}
		_, err = c.db.ExecContext(ctx, `INSERT INTO access_allowed_ips (instance_id, prefixes) VALUES (?, ?)
			ON CONFLICT (instance_id) DO UPDATE SET prefixes = excluded.prefixes`, id, strings.Join(list, ","))
	}
	if err != nil {
		return fmt.Errorf("access: set the IP allow-list of %s: %w", id, err)
	}
	c.mu.Lock()
	if len(prefixes) == 0 {
		delete(c.allowed, id)
	} else {
		c.allowed[id] = slices.Clone(prefixes)
	}
	c.mu.Unlock()
	return nil
}

// AllowedIPs returns an instance's allow-list; empty means every address may call it.
func (c *Control) AllowedIPs(ctx context.Context, id string) ([]netip.Prefix, error) {
	if err := c.exists(ctx, id); err != nil {
		return nil, err
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return slices.Clone(c.allowed[id]), nil
}

// CheckIP refuses (with an *IPNotAllowedError) a client address not on the instance's allow-list, when it has
// one.
func (c *Control) CheckIP(id string, ip netip.Addr) error {
	c.mu.RLock()
	list := c.allowed[id]
	c.mu.RUnlock()
	if len(list) == 0 {
		return nil
	}
	ip = ip.Unmap().WithZone("")
	for _, p := range list {
		if p.Contains(ip) {
			return nil
		}
	}
	return &IPNotAllowedError{IP: ip}
}
