package whatsapp

import (
	"context"
	"fmt"

	"go.mau.fi/libsignal/ecc"
	"go.mau.fi/libsignal/keys/identity"
	"go.mau.fi/libsignal/keys/prekey"
	"go.mau.fi/libsignal/session"
	signalopt "go.mau.fi/libsignal/util/optional"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
)

// ensureSelfSession gives the device a Signal session with itself, once. WhatsApp lists the sending device among
// its account's devices, and the pinned whatsmeow fetches a prekey bundle for every listed device it has no
// session with before each message — its own included, though it never encrypts for itself. That is one more
// round trip to WhatsApp per message sent, and one of the device's own one-time prekeys spent each time. With a
// session in place, whatsmeow finds one and asks nothing. (Upstream whatsmeow stopped listing its own device
// for prekeys in mid-2026; this goes when the pin moves past that.)
func ensureSelfSession(ctx context.Context, dev *store.Device) error {
	if dev.ID == nil || dev.IdentityKey == nil || dev.SignedPreKey == nil {
		return nil
	}
	for _, own := range []types.JID{*dev.ID, dev.GetLID()} {
		if own.IsEmpty() {
			continue
		}
		addr := own.SignalAddress()
		if has, err := dev.ContainsSession(ctx, addr); err != nil || has {
			if err != nil {
				return fmt.Errorf("look up the session with %s: %w", own, err)
			}
			continue
		}
		spk := dev.SignedPreKey
		bundle := prekey.NewBundle(dev.RegistrationID, uint32(own.Device), signalopt.NewEmptyUint32(), spk.KeyID,
			nil, ecc.NewDjbECPublicKey(*spk.Pub), *spk.Signature, identity.NewKey(ecc.NewDjbECPublicKey(*dev.IdentityKey.Pub)))
		if err := session.NewBuilderFromSignal(dev, addr, store.SignalProtobufSerializer).ProcessBundle(ctx, bundle); err != nil {
			return fmt.Errorf("start a session with %s: %w", own, err)
		}
	}
	return nil
}
