package wasim

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.mau.fi/libsignal/ecc"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waAdv"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/util/keys"
	"google.golang.org/protobuf/proto"
)

// Signature prefixes of the ADV (account-device verification) scheme, from whatsmeow's
// pair.go: the account key signs prefix||details||device identity, the device key
// signs prefix||details||device identity||account identity.
var (
	advAccountSignaturePrefix = []byte{6, 0}
	advDeviceSignaturePrefix  = []byte{6, 1}
)

const (
	// linkCodeIterations is the PBKDF2 work factor of the pairing code (2<<16).
	linkCodeIterations = 2 << 16
	linkCodeAlphabet   = "123456789ABCDEFGHJKLMNPQRSTVWXYZ"
	// pairingPlatform is what the simulated phones claim to be.
	pairingPlatform = "android"
)

// codePairing is a phone-number (link code) pairing a client started with
// link_code_companion_reg, waiting for the phone to enter the code.
type codePairing struct {
	conn     *conn
	acct     *Account
	ref      string
	wrapped  []byte // the companion's ephemeral key, wrapped with the code
	created  time.Time
	claimed  bool // a phone entered a code for it
	finishes chan codeFinish
}

// codeFinish is the client's companion_finish stage.
type codeFinish struct {
	wrappedBundle     []byte
	companionIdentity []byte
}

// registerPairing registers what a client may use before it logs in: the
// multi-device namespace (link-code pairing) and keepalive pings.
func (s *Simulator) registerPairing(r *routes) {
	r.preLoginIQ("md", s.handleMD)
	r.preLoginIQ("w:p", s.handleKeepAlive)
}

// ScanQR links the client that shows qr as a new device of this account, as the
// account's phone does when it scans a QR code: it signs the device identity with the
// account identity key, sends pair-success, checks the client's counter-signature and
// makes the client reconnect (stream error 515) to log in. It returns the new device's
// JID once the client accepted the pairing; the client's events.PairSuccess and then
// events.Connected follow.
func (a *Account) ScanQR(ctx context.Context, qr string) (types.JID, error) {
	return a.scanQR(ctx, qr, false)
}

// scanQR links the client showing qr as a linked device, or with primary as the
// account's phone (device 0), whose identity key is the account's.
func (a *Account) scanQR(ctx context.Context, qr string, primary bool) (types.JID, error) {
	ref, noisePub, identityPub, advSecret, err := parseQR(qr)
	if err != nil {
		return types.EmptyJID, fmt.Errorf("scan qr: %w", err)
	}

	s := a.s
	s.mu.Lock()
	c := s.pairRefs[ref]
	switch {
	case c == nil || c.reg == nil || c.isClosing():
		s.mu.Unlock()
		return types.EmptyJID, fmt.Errorf("scan qr: %w", ErrNoPendingPairing)
	case !bytes.Equal(c.clientStatic[:], noisePub):
		s.mu.Unlock()
		return types.EmptyJID, fmt.Errorf("scan qr: %w: noise key does not match the connection that showed it", ErrInvalidQR)
	case !bytes.Equal(c.reg.identityKey[:], identityPub):
		s.mu.Unlock()
		return types.EmptyJID, fmt.Errorf("scan qr: %w: identity key does not match the client's registration", ErrInvalidQR)
	case c.pairing:
		s.mu.Unlock()
		return types.EmptyJID, fmt.Errorf("scan qr: %w", ErrPairingInProgress)
	case primary && !bytes.Equal(identityPub, a.identity.Pub[:]):
		s.mu.Unlock()
		return types.EmptyJID, fmt.Errorf("scan qr: %w: the phone's identity is not the account's", ErrInvalidQR)
	}
	c.pairing = true
	s.mu.Unlock()

	jid, err := s.completePairing(ctx, a, c, [32]byte(identityPub), advSecret, primary)
	if err != nil {
		return types.EmptyJID, fmt.Errorf("scan qr: %w", err)
	}
	return jid, nil
}

// qrLinkPrefix starts the QR codes WhatsApp Web shows today: a link that opens the
// phone's linked-devices screen, with the pairing data in the fragment.
const qrLinkPrefix = "https://wa.me/settings/linked_devices#"

// parseQR reads a pairing QR code in either of its forms: whatsmeow's four fields
// (ref,noise,identity,adv) and WhatsApp Web's link with a fifth field, the companion
// platform id (a small number), as Baileys shows it.
func parseQR(qr string) (ref string, noisePub, identityPub, advSecret []byte, err error) {
	qr = strings.TrimSpace(qr)
	link := strings.HasPrefix(qr, qrLinkPrefix)
	parts := strings.Split(strings.TrimPrefix(qr, qrLinkPrefix), ",")
	switch {
	case link && len(parts) != 5:
		return "", nil, nil, nil, fmt.Errorf("%w: want 5 comma-separated fields after %s, got %d", ErrInvalidQR, qrLinkPrefix, len(parts))
	case !link && len(parts) != 4:
		return "", nil, nil, nil, fmt.Errorf("%w: want 4 comma-separated fields, got %d", ErrInvalidQR, len(parts))
	case parts[0] == "":
		return "", nil, nil, nil, fmt.Errorf("%w: empty ref", ErrInvalidQR)
	}
	if link {
		if _, err := strconv.ParseUint(parts[4], 10, 8); err != nil {
			return "", nil, nil, nil, fmt.Errorf("%w: platform %q is not a companion platform id", ErrInvalidQR, parts[4])
		}
	}
	var keys [3][]byte
	for i, f := range parts[1:4] {
		b, err := base64.StdEncoding.DecodeString(f)
		if err != nil || len(b) != 32 {
			return "", nil, nil, nil, fmt.Errorf("%w: field %d is not a 32-byte base64 key", ErrInvalidQR, i+2)
		}
		keys[i] = b
	}
	return parts[0], keys[0], keys[1], keys[2], nil
}

// EnterCode links the client that asked to pair with this account's phone number and
// displays code (whatsmeow's PairPhone), as the phone does when its user types the
// code: it runs the primary side of the link-code exchange, then the same signed
// pair-success as ScanQR. With several pending requests for the account, the newest
// is used. A wrong code fails with ErrWrongCode and ends that request.
func (a *Account) EnterCode(ctx context.Context, code string) (types.JID, error) {
	code = strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(code), "-", ""))
	if len(code) != 8 || strings.Trim(code, linkCodeAlphabet) != "" {
		return types.EmptyJID, fmt.Errorf("enter code: %w", ErrInvalidCode)
	}
	s := a.s
	s.mu.Lock()
	var p *codePairing
	for _, cand := range s.codePairings {
		if cand.acct != a || cand.claimed || cand.conn.pairing || cand.conn.isClosing() {
			continue
		}
		if p == nil || cand.created.After(p.created) {
			p = cand
		}
	}
	if p == nil {
		s.mu.Unlock()
		return types.EmptyJID, fmt.Errorf("enter code: %w", ErrNoPendingPairing)
	}
	p.claimed = true
	p.conn.pairing = true
	c := p.conn
	s.mu.Unlock()

	jid, err := a.enterCode(ctx, p, code)
	if err != nil {
		s.mu.Lock()
		delete(s.codePairings, p.ref)
		c.pairing = false
		s.mu.Unlock()
		return types.EmptyJID, fmt.Errorf("enter code: %w", err)
	}
	return jid, nil
}

func (a *Account) enterCode(ctx context.Context, p *codePairing, code string) (types.JID, error) {
	companionEphemeral, err := unwrapLinkCode(code, p.wrapped)
	if err != nil {
		return types.EmptyJID, err
	}
	primary := keys.NewKeyPair()
	wrappedPrimary, err := wrapLinkCode(code, primary.Pub[:])
	if err != nil {
		return types.EmptyJID, err
	}
	c := p.conn
	if err := c.send(waBinary.Node{
		Tag: "notification",
		Attrs: waBinary.Attrs{
			"from": types.ServerJID,
			"type": "link_code_companion_reg",
			"id":   a.s.nextID(),
			"t":    time.Now().Unix(),
		},
		Content: []waBinary.Node{{
			Tag:   "link_code_companion_reg",
			Attrs: waBinary.Attrs{"stage": "primary_hello"},
			Content: []waBinary.Node{
				{Tag: "link_code_pairing_ref", Content: []byte(p.ref)},
				{Tag: "link_code_pairing_wrapped_primary_ephemeral_pub", Content: wrappedPrimary},
				{Tag: "primary_identity_pub", Content: a.identity.Pub[:]},
			},
		}},
	}); err != nil {
		return types.EmptyJID, err
	}
	var fin codeFinish
	select {
	case fin = <-p.finishes:
	case <-ctx.Done():
		return types.EmptyJID, ctx.Err()
	case <-c.ctx.Done():
		return types.EmptyJID, errConnClosed
	}

	ephemeralSecret, err := x25519(primary.Priv[:], companionEphemeral)
	if err != nil {
		return types.EmptyJID, fmt.Errorf("%w: %v", ErrWrongCode, err)
	}
	bundle := fin.wrappedBundle
	if len(bundle) < 32+12+16 {
		return types.EmptyJID, fmt.Errorf("key bundle has %d bytes", len(bundle))
	}
	bundleKey, err := hkdf.Key(sha256.New, ephemeralSecret, bundle[:32], "link_code_pairing_key_bundle_encryption_key", 32)
	if err != nil {
		return types.EmptyJID, fmt.Errorf("derive key bundle key: %w", err)
	}
	block, err := aes.NewCipher(bundleKey)
	if err != nil {
		return types.EmptyJID, fmt.Errorf("key bundle cipher: %w", err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return types.EmptyJID, fmt.Errorf("key bundle cipher: %w", err)
	}
	plain, err := gcm.Open(nil, bundle[32:44], bundle[44:], nil)
	if err != nil {
		// Different codes on the two sides give different shared secrets.
		return types.EmptyJID, ErrWrongCode
	}
	if len(plain) != 96 {
		return types.EmptyJID, fmt.Errorf("key bundle has %d bytes of plaintext, want 96", len(plain))
	}
	companionIdentity, primaryIdentity, advRandom := plain[:32], plain[32:64], plain[64:]
	if !bytes.Equal(companionIdentity, fin.companionIdentity) {
		return types.EmptyJID, fmt.Errorf("key bundle names another companion identity")
	}
	if !bytes.Equal(primaryIdentity, a.identity.Pub[:]) {
		return types.EmptyJID, fmt.Errorf("key bundle names another primary identity")
	}
	a.s.mu.Lock()
	reg := c.reg
	a.s.mu.Unlock()
	if reg == nil || !bytes.Equal(reg.identityKey[:], companionIdentity) {
		return types.EmptyJID, fmt.Errorf("companion identity does not match the client's registration")
	}
	identitySecret, err := x25519(a.identity.Priv[:], companionIdentity)
	if err != nil {
		return types.EmptyJID, err
	}
	ikm := append(append(append([]byte{}, ephemeralSecret...), identitySecret...), advRandom...)
	advSecret, err := hkdf.Key(sha256.New, ikm, nil, "adv_secret", 32)
	if err != nil {
		return types.EmptyJID, fmt.Errorf("derive adv secret: %w", err)
	}
	return a.s.completePairing(ctx, a, c, [32]byte(companionIdentity), advSecret, false)
}

// completePairing is the phone's pair-success for a client that the caller claimed
// (c.pairing): sign the new device's identity, wait for the client's signature over
// it, register the device and send the client off to log in. With primary, the client
// becomes the account's phone: device 0, key index 0.
func (s *Simulator) completePairing(ctx context.Context, a *Account, c *conn, companionIdentity [32]byte, advSecret []byte, primary bool) (jid types.JID, err error) {
	defer func() {
		if err != nil {
			s.mu.Lock()
			c.pairing = false
			s.mu.Unlock()
		}
	}()
	s.mu.Lock()
	reg := c.reg
	if reg == nil {
		s.mu.Unlock()
		return types.EmptyJID, ErrNoPendingPairing
	}
	var deviceID uint16
	var keyIndex uint32
	switch {
	case primary:
		if a.devices[0] != nil {
			s.mu.Unlock()
			return types.EmptyJID, fmt.Errorf("%w: the account already has its phone", ErrPairingRejected)
		}
	case a.nextDevice == 0:
		s.mu.Unlock()
		return types.EmptyJID, fmt.Errorf("%w: the account has used up its device ids", ErrPairingRejected)
	default:
		deviceID = a.nextDevice
		a.nextDevice++ // wraps to 0 after the last id, which the check above catches
		keyIndex = a.nextKeyIndex
		a.nextKeyIndex++
	}
	s.mu.Unlock()

	jid = types.JID{User: a.phone, Device: deviceID, Server: types.DefaultUserServer}
	lid := types.JID{User: a.lid.User, Device: deviceID, Server: types.HiddenUserServer}
	now := time.Now()
	details, err := proto.Marshal(&waAdv.ADVDeviceIdentity{
		RawID:       proto.Uint32(a.advRawID),
		Timestamp:   proto.Uint64(uint64(now.Unix())),
		KeyIndex:    proto.Uint32(keyIndex),
		AccountType: waAdv.ADVEncryptionType_E2EE.Enum(),
		DeviceType:  waAdv.ADVEncryptionType_E2EE.Enum(),
	})
	if err != nil {
		return types.EmptyJID, fmt.Errorf("marshal device identity: %w", err)
	}
	accountSig := ecc.CalculateSignature(ecc.NewDjbECPrivateKey(*a.identity.Priv),
		concat(advAccountSignaturePrefix, details, companionIdentity[:]))
	signed, err := proto.Marshal(&waAdv.ADVSignedDeviceIdentity{
		Details:             details,
		AccountSignatureKey: a.identity.Pub[:],
		AccountSignature:    accountSig[:],
	})
	if err != nil {
		return types.EmptyJID, fmt.Errorf("marshal signed device identity: %w", err)
	}
	mac := hmac.New(sha256.New, advSecret)
	mac.Write(signed)
	container, err := proto.Marshal(&waAdv.ADVSignedDeviceIdentityHMAC{
		Details:     signed,
		HMAC:        mac.Sum(nil),
		AccountType: waAdv.ADVEncryptionType_E2EE.Enum(),
	})
	if err != nil {
		return types.EmptyJID, fmt.Errorf("marshal device identity container: %w", err)
	}
	success := []waBinary.Node{
		{Tag: "device-identity", Content: container},
		{Tag: "platform", Attrs: waBinary.Attrs{"name": pairingPlatform}},
		{Tag: "device", Attrs: waBinary.Attrs{"jid": jid, "lid": lid}},
	}
	if a.Business() {
		// A business account's device learns it is one from its link: labels and the catalog are for it.
		success = append(success, waBinary.Node{Tag: "biz", Attrs: waBinary.Attrs{"name": a.Name()}})
	}
	resp, err := c.request(ctx, waBinary.Node{
		Tag:     "iq",
		Attrs:   waBinary.Attrs{"from": types.ServerJID, "type": "set", "xmlns": "md"},
		Content: []waBinary.Node{{Tag: "pair-success", Content: success}},
	})
	if err != nil {
		return types.EmptyJID, fmt.Errorf("pair-success: %w", err)
	}
	if typ, _ := resp.Attrs["type"].(string); typ != "result" {
		errNode := resp.GetChildByTag("error")
		return types.EmptyJID, fmt.Errorf("%w: %s %s", ErrPairingRejected,
			errNode.AttrGetter().OptionalString("code"), errNode.AttrGetter().OptionalString("text"))
	}
	raw, ok := bytesContent(resp.GetChildByTag("pair-device-sign", "device-identity"))
	if !ok {
		return types.EmptyJID, fmt.Errorf("%w: answer has no device-identity", ErrPairingRejected)
	}
	var confirmed waAdv.ADVSignedDeviceIdentity
	if err := proto.Unmarshal(raw, &confirmed); err != nil {
		return types.EmptyJID, fmt.Errorf("%w: unmarshal device identity: %v", ErrPairingRejected, err)
	}
	if !bytes.Equal(confirmed.GetDetails(), details) || len(confirmed.GetDeviceSignature()) != 64 {
		return types.EmptyJID, fmt.Errorf("%w: device identity does not confirm the details sent", ErrPairingRejected)
	}
	msg := concat(advDeviceSignaturePrefix, details, companionIdentity[:], a.identity.Pub[:])
	if !ecc.VerifySignature(ecc.NewDjbECPublicKey(companionIdentity), msg, [64]byte(confirmed.GetDeviceSignature())) {
		return types.EmptyJID, fmt.Errorf("%w: device signature does not verify", ErrPairingRejected)
	}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return types.EmptyJID, ErrClosed
	}
	d := &device{
		acct:            a,
		jid:             jid,
		lid:             lid,
		noiseKey:        c.clientStatic,
		identityKey:     reg.identityKey,
		registrationID:  reg.registrationID,
		signedPreKey:    reg.signedPreKey,
		platform:        reg.platform,
		keyIndex:        keyIndex,
		created:         now,
		appStateFetched: make(map[string]bool),
	}
	if primary {
		d.platform = pairingPlatform // the phone, whatever client the simulator runs it with
	}
	a.devices[deviceID] = d
	c.reg = nil
	for ref, rc := range s.pairRefs {
		if rc == c {
			delete(s.pairRefs, ref)
		}
	}
	for ref, p := range s.codePairings {
		if p.conn == c {
			delete(s.codePairings, ref)
		}
	}
	if !primary {
		s.notifyDevicesChangedLocked(a, d, true)
	}
	s.mu.Unlock()

	s.log.Info("device linked", "device", jid, "platform", reg.platform)
	// 515 tells the client to reconnect and log in as the new device; it drops this
	// connection itself, the close is a fallback.
	c.sendAndClose(streamErrorNode("515"))
	return jid, nil
}

// handleMD answers the "md" (multi-device) namespace: link-code pairing stages and a
// device unlinking itself (Logout).
func (s *Simulator) handleMD(c *conn, iq *waBinary.Node) ([]waBinary.Node, error) {
	children := iq.GetChildren()
	if len(children) != 1 {
		return nil, errIQBadRequest
	}
	switch child := children[0]; child.Tag {
	case "link_code_companion_reg":
		return s.handleLinkCode(c, child)
	case "remove-companion-device":
		return s.handleRemoveCompanion(c, child)
	}
	return nil, errIQNotImplemented
}

func (s *Simulator) handleLinkCode(c *conn, node waBinary.Node) ([]waBinary.Node, error) {
	ag := node.AttrGetter()
	switch ag.OptionalString("stage") {
	case "companion_hello":
		target := ag.OptionalJIDOrEmpty("jid")
		wrapped, _ := bytesContent(node.GetChildByTag("link_code_pairing_wrapped_companion_ephemeral_pub"))
		noise, _ := bytesContent(node.GetChildByTag("companion_server_auth_key_pub"))
		if len(wrapped) != 80 || !bytes.Equal(noise, c.clientStatic[:]) {
			return nil, errIQBadRequest
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if c.reg == nil {
			return nil, errIQBadRequest // already a logged-in device
		}
		a := s.accountByJIDLocked(target)
		if a == nil {
			return nil, errIQNotFound
		}
		refBytes := make([]byte, 16)
		_, _ = rand.Read(refBytes)
		ref := base64.RawURLEncoding.EncodeToString(refBytes)
		s.codePairings[ref] = &codePairing{
			conn:     c,
			acct:     a,
			ref:      ref,
			wrapped:  wrapped,
			created:  time.Now(),
			finishes: make(chan codeFinish, 1),
		}
		return []waBinary.Node{{
			Tag:     "link_code_companion_reg",
			Content: []waBinary.Node{{Tag: "link_code_pairing_ref", Content: []byte(ref)}},
		}}, nil
	case "companion_finish":
		ref, _ := bytesContent(node.GetChildByTag("link_code_pairing_ref"))
		bundle, _ := bytesContent(node.GetChildByTag("link_code_pairing_wrapped_key_bundle"))
		identity, _ := bytesContent(node.GetChildByTag("companion_identity_public"))
		if len(identity) != 32 || len(bundle) == 0 {
			return nil, errIQBadRequest
		}
		s.mu.Lock()
		p := s.codePairings[string(ref)]
		s.mu.Unlock()
		if p == nil || p.conn != c || !p.claimed {
			return nil, errIQNotFound
		}
		select {
		case p.finishes <- codeFinish{wrappedBundle: bundle, companionIdentity: identity}:
		default:
			return nil, errIQBadRequest // a second finish for the same pairing
		}
		return nil, nil
	}
	return nil, errIQBadRequest
}

// handleRemoveCompanion unlinks a device of the caller's own account (whatsmeow's
// Logout names itself). The client disconnects and deletes its store on its own.
func (s *Simulator) handleRemoveCompanion(c *conn, node waBinary.Node) ([]waBinary.Node, error) {
	self := s.loggedInDevice(c)
	if self == nil {
		return nil, errIQNotAuthorized
	}
	target, ok := node.Attrs["jid"].(types.JID)
	if !ok {
		return nil, errIQBadRequest
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.deviceByJIDLocked(target)
	if d == nil {
		return nil, errIQNotFound
	}
	if d.acct != self.acct || d.primary() {
		return nil, errIQForbidden
	}
	other := d.conn
	s.removeDeviceLocked(d)
	if other != nil && other != c {
		other.sendAndClose(streamErrorNode("device_removed"))
	}
	return nil, nil
}

func (s *Simulator) handleKeepAlive(c *conn, _ *waBinary.Node) ([]waBinary.Node, error) {
	s.mu.Lock()
	mute := c.dev != nil && c.dev.muteKeepAlive
	s.mu.Unlock()
	if mute {
		return nil, errSilence
	}
	return nil, nil
}

func linkCodeKey(code string, salt []byte) ([]byte, error) {
	key, err := pbkdf2.Key(sha256.New, code, salt, linkCodeIterations, 32)
	if err != nil {
		return nil, fmt.Errorf("derive link code key: %w", err)
	}
	return key, nil
}

// unwrapLinkCode decrypts salt(32)||iv(16)||AES-CTR(pub) with the code-derived key.
func unwrapLinkCode(code string, wrapped []byte) ([]byte, error) {
	if len(wrapped) != 80 {
		return nil, fmt.Errorf("wrapped key has %d bytes, want 80", len(wrapped))
	}
	key, err := linkCodeKey(code, wrapped[:32])
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("link code cipher: %w", err)
	}
	out := make([]byte, 32)
	cipher.NewCTR(block, wrapped[32:48]).XORKeyStream(out, wrapped[48:80])
	return out, nil
}

// wrapLinkCode is unwrapLinkCode's inverse with a fresh salt and IV.
func wrapLinkCode(code string, pub []byte) ([]byte, error) {
	out := make([]byte, 80)
	if _, err := rand.Read(out[:48]); err != nil {
		return nil, fmt.Errorf("link code salt: %w", err)
	}
	key, err := linkCodeKey(code, out[:32])
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("link code cipher: %w", err)
	}
	cipher.NewCTR(block, out[32:48]).XORKeyStream(out[48:], pub)
	return out, nil
}

func concat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
