package httpapi

import (
	"context"
	"net/netip"
	"time"
)

// The fake application's access policy: open, as a server without a Client-Token, allow-lists or cancellations.

func (f *fakeApp) SetClientToken(ctx context.Context, token string) error {
	return f.record(ctx, "SetClientToken", token)
}

func (f *fakeApp) RemoveClientToken(ctx context.Context) error { return f.record(ctx, "RemoveClientToken") }

func (f *fakeApp) ClientTokenSet() bool { return false }

func (f *fakeApp) CheckClientToken(string, bool) error { return nil }

func (f *fakeApp) SetAllowedIPs(ctx context.Context, id string, prefixes []netip.Prefix) error {
	return f.record(ctx, "SetAllowedIPs", id, prefixes)
}

func (f *fakeApp) AllowedIPs(ctx context.Context, id string) ([]netip.Prefix, error) {
	return nil, f.record(ctx, "AllowedIPs", id)
}

func (f *fakeApp) CheckIP(string, netip.Addr) error { return nil }

func (f *fakeApp) Subscribe(ctx context.Context, id string) error { return f.record(ctx, "Subscribe", id) }

func (f *fakeApp) Cancel(ctx context.Context, id string) (time.Time, error) {
	return time.Time{}, f.record(ctx, "Cancel", id)
}

func (f *fakeApp) Cancelled(string) (time.Time, bool) { return time.Time{}, false }
