package wasim

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"time"

	"go.mau.fi/libsignal/ecc"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waAdv"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"
)

// The registry is guarded by Simulator.mu. Lock order: Simulator.mu, then a conn's
// own locks; nothing that holds a conn lock takes Simulator.mu.

// Every account has a LID (WhatsApp's privacy identifier) and every device a
// device-qualified LID, sent in pair-success and again in <success> (they must be equal,
// or whatsmeow overwrites its stored LID). Other accounts learn them as on WhatsApp
// today (see phonelid.go).

// device is one device of an account: the phone (device 0) or a linked device.
type device struct {
	acct           *Account
	jid            types.JID // phone-number device JID, user:device@s.whatsapp.net
	lid            types.JID // LID device JID, lid:device@lid
	noiseKey       [32]byte
	identityKey    [32]byte
	registrationID uint32
	signedPreKey   signedPreKey
	keyIndex       uint32   // the index the phone signed the device with (0 for the phone)
	preKeys        []preKey // one-time prekeys, handed out oldest first
	uploaded       bool     // the device uploaded its one-time prekeys at least once
	lowKeyNotified bool
	platform       string
	created        time.Time
	removed        bool
	available      bool // last presence the device sent
	// welcomed is set once the phone sent the linked device its app state key and
	// history (phonesync.go); welcoming while it tries. welcomeReceipts are the
	// receipts (message id/type) the device still owes for them.
	welcomed, welcoming bool
	welcomeReceipts     map[string]bool
	appStateFetched     map[string]bool // the app state collections the device fetched

	conn  *conn     // the logged-in connection, nil while offline
	queue []*queued // stanzas not yet acknowledged by the device
	// garbleNext spoils the ciphertext of the next message queued for the device (GarbleNextMessage).
	garbleNext bool

	failNextLogin *LoginFailure
	ackDelay      time.Duration
	muteKeepAlive bool
}

type signedPreKey struct {
	id        uint32
	pub       [32]byte
	signature [64]byte
}

type preKey struct {
	id  uint32
	pub [32]byte
}

// queued is a stanza held for a device until the device acknowledges it, like
// WhatsApp's offline queue: a stanza written to a connection that then dies is
// written again on the next login.
type queued struct {
	data   []byte
	tag    string    // message, receipt or notification
	id     string    // stanza id
	from   types.JID // stanza "from": the client's ack and receipt name it in "to"
	typ    string    // receipt type ("" for delivery)
	sentOn uint64    // id of the connection it was last written to
	writes int
}

// maxWrites bounds how often one stanza is written before it is given up on, so a
// stanza the client never acknowledges cannot be replayed forever.
const maxWrites = 20

func (a *Account) deviceJIDsLocked(server string) []types.JID {
	ids := make([]uint16, 0, len(a.devices))
	for id := range a.devices {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := make([]types.JID, len(ids))
	for i, id := range ids {
		if server == types.HiddenUserServer {
			out[i] = a.devices[id].lid
		} else {
			out[i] = a.devices[id].jid
		}
	}
	return out
}

// accountByJIDLocked finds the account of a phone-number or LID JID (any device).
func (s *Simulator) accountByJIDLocked(jid types.JID) *Account {
	switch jid.Server {
	case types.DefaultUserServer, types.LegacyUserServer:
		return s.accounts[jid.User]
	case types.HiddenUserServer:
		return s.byLID[jid.User]
	}
	return nil
}

// deviceByJIDLocked finds a device by its phone-number or LID device JID; a user JID
// names device 0, the phone.
func (s *Simulator) deviceByJIDLocked(jid types.JID) *device {
	a := s.accountByJIDLocked(jid)
	if a == nil {
		return nil
	}
	return a.devices[jid.Device]
}

// primary reports whether d is the phone: device 0, the account itself, which
// cannot be unlinked.
func (d *device) primary() bool { return d.jid.Device == 0 }

// jidLike returns d's JID on the same server as like (phone number or LID).
func (d *device) jidLike(like types.JID) types.JID {
	if like.Server == types.HiddenUserServer {
		return d.lid
	}
	return d.jid
}

// participantHash is whatsmeow's participantListHashV2: the hash of a device list
// that the server puts in message acks and device notifications, so a client can tell
// that its cached list is stale.
func participantHash(devices []types.JID) string {
	strs := make([]string, len(devices))
	for i, d := range devices {
		strs[i] = d.ADString()
	}
	sort.Strings(strs)
	sum := sha256.Sum256([]byte(strings.Join(strs, "")))
	return "2:" + base64.RawStdEncoding.EncodeToString(sum[:6])
}

// deliverLocked queues a stanza for a device and writes it if the device is online.
func (s *Simulator) deliverLocked(d *device, node waBinary.Node) error {
	if d.removed {
		return nil
	}
	if node.Tag == "message" && d.garbleNext {
		d.garbleNext = false
		node = garbled(node)
	}
	data, err := marshalNode(node)
	if err != nil {
		return fmt.Errorf("marshal <%s> for %s: %w", node.Tag, d.jid, err)
	}
	q := &queued{data: data, tag: node.Tag}
	q.id, _ = node.Attrs["id"].(string)
	q.from, _ = node.Attrs["from"].(types.JID)
	q.typ, _ = node.Attrs["type"].(string)
	if node.Tag == "message" {
		q.typ = ""
	}
	if len(d.queue) >= s.opts.MaxQueue {
		s.log.Warn("device queue full, dropping its oldest stanza", "device", d.jid, "max", s.opts.MaxQueue)
		d.queue = d.queue[1:]
	}
	d.queue = append(d.queue, q)
	if s.log.Enabled(s.ctx, slog.LevelDebug) {
		s.log.Debug("queue", "device", d.jid, "node", node.XMLString())
	}
	s.flushLocked(d)
	return nil
}

// flushLocked writes every queued stanza that the device's current connection has not
// seen yet. It returns how many it wrote.
func (s *Simulator) flushLocked(d *device) int {
	c := d.conn
	if c == nil || !c.loggedIn || d.acct.held || d.removed {
		return 0
	}
	n := 0
	kept := d.queue[:0]
	for _, q := range d.queue {
		if q.sentOn != c.id {
			if q.writes >= maxWrites {
				s.log.Warn("giving up on a stanza the device never acknowledged", "device", d.jid, "tag", q.tag, "id", q.id)
				continue
			}
			c.sendRaw(q.data)
			q.sentOn = c.id
			q.writes++
			n++
		}
		kept = append(kept, q)
	}
	clear(d.queue[len(kept):])
	d.queue = kept
	return n
}

// ackLocked removes the queued stanza a device acknowledged.
func (s *Simulator) ackLocked(d *device, tag, id string, from types.JID, typ string, matchFrom bool) bool {
	for i, q := range d.queue {
		if q.tag != tag || q.id != id || q.typ != typ {
			continue
		}
		if matchFrom && q.from != from {
			continue
		}
		d.queue = slices.Delete(d.queue, i, i+1)
		return true
	}
	return false
}

// notifyDevicesChangedLocked tells every device of every account that acct's device
// list changed, so clients that cached it (whatsmeow caches device lists forever)
// fan out to the new list. The changed device itself is not told.
func (s *Simulator) notifyDevicesChangedLocked(acct *Account, changed *device, added bool) {
	acct.devicesChangedAt = time.Now()
	tag := "remove"
	if added {
		tag = "add"
	}
	hash := participantHash(acct.deviceJIDsLocked(types.DefaultUserServer))
	lidHash := participantHash(acct.deviceJIDsLocked(types.HiddenUserServer))
	change := []waBinary.Node{deviceNode(changed, true)}
	if kil, ok := acct.keyIndexListLocked(); ok {
		change = append(change, kil)
	}
	for _, other := range s.accounts {
		for _, d := range other.devices {
			if d == changed {
				continue
			}
			node := waBinary.Node{
				Tag: "notification",
				Attrs: waBinary.Attrs{
					"from": acct.jid,
					"lid":  acct.lid,
					"type": "devices",
					"id":   s.nextID(),
					"t":    time.Now().Unix(),
				},
				Content: []waBinary.Node{{
					Tag:     tag,
					Attrs:   waBinary.Attrs{"device_hash": hash, "device_lid_hash": lidHash},
					Content: change,
				}},
			}
			if err := s.deliverLocked(d, node); err != nil {
				s.log.Error("cannot queue device notification", "device", d.jid, "err", err)
			}
		}
	}
}

// removeDeviceLocked unlinks a device: it disappears from device lists, its queue is
// dropped and its future logins fail with 401.
func (s *Simulator) removeDeviceLocked(d *device) {
	if d.removed || d.primary() {
		return
	}
	d.removed = true
	d.queue = nil
	delete(d.acct.devices, d.jid.Device)
	s.notifyDevicesChangedLocked(d.acct, d, false)
	s.log.Info("device unlinked", "device", d.jid)
}

// advKeyIndexListPrefix is the prefix of the account's signature over its key index
// list, after the device identity prefixes {6,0} and {6,1} (whatsmeow and Baileys
// do not verify this signature; WhatsApp's own clients do).
var advKeyIndexListPrefix = []byte{6, 2}

// deviceNode is a <device> of a device list or device notification: its id (or, in
// notifications, its JID) and, for a linked device, the key index the phone signed.
func deviceNode(d *device, withJID bool) waBinary.Node {
	attrs := waBinary.Attrs{"id": int(d.jid.Device)}
	if withJID {
		attrs = waBinary.Attrs{"jid": d.jid, "lid": d.lid}
	}
	if !d.primary() {
		attrs["key-index"] = int(d.keyIndex)
	}
	return waBinary.Node{Tag: "device", Attrs: attrs}
}

// keyIndexListLocked is the account's <key-index-list>: the key indexes of its linked
// devices, signed by the account identity, with the time the list last changed. An
// account without linked devices has none.
func (a *Account) keyIndexListLocked() (waBinary.Node, bool) {
	var valid []uint32
	for _, d := range a.devices {
		if !d.primary() {
			valid = append(valid, d.keyIndex)
		}
	}
	if len(valid) == 0 {
		return waBinary.Node{}, false
	}
	slices.Sort(valid)
	details, err := proto.Marshal(&waAdv.ADVKeyIndexList{
		RawID:        proto.Uint32(a.advRawID),
		Timestamp:    proto.Uint64(uint64(a.devicesChangedAt.Unix())),
		CurrentIndex: proto.Uint32(a.nextKeyIndex - 1),
		ValidIndexes: valid,
		AccountType:  waAdv.ADVEncryptionType_E2EE.Enum(),
	})
	if err != nil {
		return waBinary.Node{}, false
	}
	sig := ecc.CalculateSignature(ecc.NewDjbECPrivateKey(*a.identity.Priv), concat(advKeyIndexListPrefix, details))
	signed, err := proto.Marshal(&waAdv.ADVSignedKeyIndexList{Details: details, AccountSignature: sig[:]})
	if err != nil {
		return waBinary.Node{}, false
	}
	return waBinary.Node{
		Tag:     "key-index-list",
		Attrs:   waBinary.Attrs{"ts": a.devicesChangedAt.Unix()},
		Content: signed,
	}, true
}

// sortedDevicesLocked returns the account's devices ordered by device id, the phone
// first.
func (a *Account) sortedDevicesLocked() []*device {
	jids := a.deviceJIDsLocked(types.DefaultUserServer)
	out := make([]*device, len(jids))
	for i, j := range jids {
		out[i] = a.devices[j.Device]
	}
	return out
}

// setSender names who a stanza to device to comes from: the sender's device, by LID
// when the stanza was addressed to a LID and by phone number otherwise, and, for
// anyone but the sender's own devices, the sender's other identity beside it
// (sender_pn or sender_lid), as WhatsApp reveals it.
func setSender(attrs waBinary.Attrs, sender *device, addressed types.JID, to *device) {
	attrs["from"] = sender.jidLike(addressed)
	if to.acct == sender.acct {
		return
	}
	if addressed.Server == types.HiddenUserServer {
		attrs["sender_pn"] = sender.acct.jid
	} else {
		attrs["sender_lid"] = sender.acct.lid
	}
}
