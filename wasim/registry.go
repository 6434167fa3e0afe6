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

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
)

// The registry is guarded by Simulator.mu. Lock order: Simulator.mu, then a conn's
// own locks; nothing that holds a conn lock takes Simulator.mu.

// LID policy. Every account has a LID (WhatsApp's privacy identifier) and every device
// a device-qualified LID, sent in pair-success and again in <success> (they must be
// equal, or whatsmeow overwrites its stored LID). The simulator never reveals one
// account's LID to another: no sender_lid/participant_lid on messages, no <lid> in
// usync answers, no lid attribute on device notifications. So each client knows only
// its own PN↔LID mapping: it names its sessions with its own devices by LID (on both
// ends, consistently) and with everyone else by phone number. Revealing a contact's LID
// mid-conversation would make one side switch session names and force retry receipts.

// device is one linked device of an account (device 0, the phone, is not simulated as
// a Signal endpoint and never appears here).
type device struct {
	acct           *Account
	jid            types.JID // phone-number device JID, user:device@s.whatsapp.net
	lid            types.JID // LID device JID, lid:device@lid
	noiseKey       [32]byte
	identityKey    [32]byte
	registrationID uint32
	signedPreKey   signedPreKey
	preKeys        []preKey // one-time prekeys, handed out oldest first
	lowKeyNotified bool
	platform       string
	created        time.Time
	removed        bool
	available      bool // last presence the device sent
	phone          bool // the device a simulated phone acts through

	conn  *conn     // the logged-in connection, nil while offline
	queue []*queued // stanzas not yet acknowledged by the device

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

// deviceByJIDLocked finds a linked device by its phone-number or LID device JID.
func (s *Simulator) deviceByJIDLocked(jid types.JID) *device {
	a := s.accountByJIDLocked(jid)
	if a == nil || jid.Device == 0 {
		return nil
	}
	return a.devices[jid.Device]
}

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
func (s *Simulator) notifyDevicesChangedLocked(acct *Account, changed types.JID, added bool) {
	tag := "remove"
	if added {
		tag = "add"
	}
	hash := participantHash(acct.deviceJIDsLocked(types.DefaultUserServer))
	for _, other := range s.accounts {
		for _, d := range other.devices {
			if d.jid == changed {
				continue
			}
			node := waBinary.Node{
				Tag: "notification",
				Attrs: waBinary.Attrs{
					"from": acct.jid,
					"type": "devices",
					"id":   s.nextID(),
					"t":    time.Now().Unix(),
				},
				Content: []waBinary.Node{{
					Tag:     tag,
					Attrs:   waBinary.Attrs{"device_hash": hash},
					Content: []waBinary.Node{{Tag: "device", Attrs: waBinary.Attrs{"jid": changed}}},
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
	if d.removed {
		return
	}
	d.removed = true
	d.queue = nil
	delete(d.acct.devices, d.jid.Device)
	s.notifyDevicesChangedLocked(d.acct, d.jid, false)
	s.log.Info("device unlinked", "device", d.jid)
}
