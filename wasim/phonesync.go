package wasim

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto/rand"
	"fmt"
	"strconv"
	"time"

	"go.mau.fi/libsignal/ecc"
	"go.mau.fi/libsignal/keys/identity"
	"go.mau.fi/libsignal/keys/prekey"
	"go.mau.fi/libsignal/session"
	"go.mau.fi/libsignal/util/optional"
	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/appstate"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/proto/waHistorySync"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"
)

// What a phone sends a device it just linked, as WhatsApp's phones do, so the device
// is usable at once: the app state key (with which the device reads the account's
// synced settings, the push name among them, see appstate.go), then a history sync
// notification. The simulated phones carry no message history: theirs holds the
// account's push name, its phone number↔LID mapping and its chat list, inline.
// Clients wait for it (Baileys buffers every event until it arrives or 20 s pass). Both
// go as peer messages from device 0, whose notify attribute gives the device its own
// push name too.

// welcomeTimeout bounds one attempt to welcome a device; a failed attempt is retried
// at the device's or the phone's next login.
const welcomeTimeout = 30 * time.Second

// initAppState gives the phone an app state key and writes its push name into the
// account's app state, where the devices it links will read it.
func (e *engine) initAppState(ctx context.Context) error {
	keyID := make([]byte, 6)
	data := make([]byte, 32)
	_, _ = rand.Read(keyID)
	_, _ = rand.Read(data)
	fingerprint, err := proto.Marshal(e.appStateFingerprint())
	if err != nil {
		return fmt.Errorf("marshal app state key fingerprint: %w", err)
	}
	err = e.cli.Store.AppStateKeys.PutAppStateSyncKey(ctx, keyID, store.AppStateSyncKey{
		Data: data, Fingerprint: fingerprint, Timestamp: time.Now().UnixMilli(),
	})
	if err != nil {
		return fmt.Errorf("store app state key: %w", err)
	}
	e.mu.Lock()
	e.appStateKeyID = keyID
	e.mu.Unlock()
	if err := e.cli.SendAppState(ctx, appstate.BuildSettingPushName(e.a.Name())); err != nil {
		return fmt.Errorf("write push name to app state: %w", err)
	}
	return nil
}

func (e *engine) appStateFingerprint() *waE2E.AppStateSyncKeyFingerprint {
	return &waE2E.AppStateSyncKeyFingerprint{
		RawID:         proto.Uint32(e.a.advRawID),
		CurrentIndex:  proto.Uint32(0),
		DeviceIndexes: []uint32{0},
	}
}

// welcomeLocked has the phone welcome a linked device that it has not welcomed yet,
// in the background.
func (s *Simulator) welcomeLocked(d *device) {
	e := d.acct.engine
	if e == nil || d.primary() || d.removed || d.welcomed || d.welcoming {
		return
	}
	d.welcoming = true
	s.phoneWorkLocked(func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, welcomeTimeout)
		err := e.welcome(ctx, d)
		cancel()
		s.mu.Lock()
		d.welcoming = false
		d.welcomed = err == nil
		s.mu.Unlock()
		if err != nil && s.phoneCtx.Err() == nil {
			s.log.Warn("phone could not welcome its new device; it will try again at the next login", "device", d.jid, "err", err)
		}
	})
}

// welcome sends a newly linked device the app state key and the history sync.
func (e *engine) welcome(ctx context.Context, d *device) error {
	if err := e.waitConnected(ctx); err != nil {
		return err
	}
	if err := e.ensureSession(ctx, d.jid); err != nil {
		return err
	}
	e.mu.Lock()
	keyID := e.appStateKeyID
	e.mu.Unlock()
	key, err := e.cli.Store.AppStateKeys.GetAppStateSyncKey(ctx, keyID)
	if err != nil || key == nil {
		return fmt.Errorf("app state key: %w", err)
	}
	share := &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{
		Type: waE2E.ProtocolMessage_APP_STATE_SYNC_KEY_SHARE.Enum(),
		AppStateSyncKeyShare: &waE2E.AppStateSyncKeyShare{Keys: []*waE2E.AppStateSyncKey{{
			KeyID: &waE2E.AppStateSyncKeyId{KeyID: keyID},
			KeyData: &waE2E.AppStateSyncKeyData{
				KeyData:     key.Data,
				Fingerprint: e.appStateFingerprint(),
				Timestamp:   proto.Int64(key.Timestamp),
			},
		}}},
	}}
	// The ids are chosen first and the receipts the device owes for them noted, so that
	// a receipt quicker than the server's ack is not missed.
	shareID, historyID := e.cli.GenerateMessageID(), e.cli.GenerateMessageID()
	e.a.s.mu.Lock()
	d.welcomeReceipts = map[string]bool{shareID + "/peer_msg": true, historyID + "/peer_msg": true, historyID + "/hist_sync": true}
	e.a.s.mu.Unlock()
	if _, err := e.sendMessage(ctx, d.jid, share, whatsmeow.SendRequestExtra{Peer: true, ID: shareID}); err != nil {
		return fmt.Errorf("share app state key: %w", err)
	}
	history, err := e.initialHistory()
	if err != nil {
		return err
	}
	notification := &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{
		Type: waE2E.ProtocolMessage_HISTORY_SYNC_NOTIFICATION.Enum(),
		HistorySyncNotification: &waE2E.HistorySyncNotification{
			SyncType:                          waE2E.HistorySyncType_INITIAL_BOOTSTRAP.Enum(),
			ChunkOrder:                        proto.Uint32(1),
			Progress:                          proto.Uint32(100),
			InitialHistBootstrapInlinePayload: history,
		},
	}}
	if _, err := e.sendMessage(ctx, d.jid, notification, whatsmeow.SendRequestExtra{Peer: true, ID: historyID}); err != nil {
		return fmt.Errorf("send history sync notification: %w", err)
	}
	return e.sendPushNames(ctx, d)
}

// sendPushNames sends a linked device the push names the phone knows, of the people
// whose messages reached it, as WhatsApp's phones do in a history sync of their own
// (PUSH_NAME, uploaded as a file like every history sync but the initial bootstrap):
// the device can name people at once. A phone that knows nobody sends none.
func (e *engine) sendPushNames(ctx context.Context, d *device) error {
	known, err := e.cli.Store.Contacts.GetAllContacts(ctx)
	if err != nil {
		return fmt.Errorf("push names the phone knows: %w", err)
	}
	history := &waHistorySync.HistorySync{SyncType: waHistorySync.HistorySync_PUSH_NAME.Enum()}
	for jid, c := range known {
		if c.PushName == "" || jid.ToNonAD() == e.a.jid || jid.ToNonAD() == e.a.lid {
			continue
		}
		history.Pushnames = append(history.Pushnames, &waHistorySync.Pushname{
			ID: proto.String(jid.String()), Pushname: proto.String(c.PushName),
		})
		// With the phone number↔LID mappings the phone knows of these people, so that
		// the device knows a name under either is one person's.
		if jid.Server == types.DefaultUserServer {
			if lid, err := e.cli.Store.LIDs.GetLIDForPN(ctx, jid); err == nil && !lid.IsEmpty() {
				history.PhoneNumberToLidMappings = append(history.PhoneNumberToLidMappings, &waHistorySync.PhoneNumberToLIDMapping{
					PnJID: proto.String(jid.String()), LidJID: proto.String(lid.String()),
				})
			}
		}
	}
	if len(history.Pushnames) == 0 {
		return nil
	}
	data, err := compressHistory(history)
	if err != nil {
		return err
	}
	up, err := e.cli.Upload(ctx, data, whatsmeow.MediaHistory)
	if err != nil {
		return fmt.Errorf("upload push names: %w", err)
	}
	id := e.cli.GenerateMessageID()
	e.a.s.mu.Lock()
	d.welcomeReceipts[id+"/peer_msg"] = true
	d.welcomeReceipts[id+"/hist_sync"] = true
	e.a.s.mu.Unlock()
	notification := &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{
		Type: waE2E.ProtocolMessage_HISTORY_SYNC_NOTIFICATION.Enum(),
		HistorySyncNotification: &waE2E.HistorySyncNotification{
			SyncType:      waE2E.HistorySyncType_PUSH_NAME.Enum(),
			ChunkOrder:    proto.Uint32(1),
			Progress:      proto.Uint32(100),
			DirectPath:    proto.String(up.DirectPath),
			MediaKey:      up.MediaKey,
			FileSHA256:    up.FileSHA256,
			FileEncSHA256: up.FileEncSHA256,
			FileLength:    proto.Uint64(up.FileLength),
		},
	}}
	if _, err := e.sendMessage(ctx, d.jid, notification, whatsmeow.SendRequestExtra{Peer: true, ID: id}); err != nil {
		return fmt.Errorf("send push names: %w", err)
	}
	return nil
}

// initialHistory is the compressed initial bootstrap history of a phone: the account's
// push name, its phone number↔LID mapping and its chat list (phonechats.go), without
// the messages.
func (e *engine) initialHistory() ([]byte, error) {
	a := e.a
	history := &waHistorySync.HistorySync{
		SyncType:   waHistorySync.HistorySync_INITIAL_BOOTSTRAP.Enum(),
		ChunkOrder: proto.Uint32(1),
		Progress:   proto.Uint32(100),
		Pushnames:  []*waHistorySync.Pushname{{ID: proto.String(a.jid.String()), Pushname: proto.String(a.Name())}},
	}
	e.mu.Lock()
	history.Conversations = e.historyConversationsLocked()
	e.mu.Unlock()
	a.s.mu.Lock()
	if a.lidChats {
		// An account that moved its chats to LIDs tells its new device so, with the
		// mappings of its contacts.
		history.GlobalSettings = &waHistorySync.GlobalSettings{ChatDbLidMigrationTimestamp: proto.Int64(a.lidChatsAt.Unix())}
		for _, m := range a.s.lidMappingsLocked(a).GetPnToLidMappings() {
			history.PhoneNumberToLidMappings = append(history.PhoneNumberToLidMappings, &waHistorySync.PhoneNumberToLIDMapping{
				PnJID:  proto.String(types.NewJID(strconv.FormatUint(m.GetPn(), 10), types.DefaultUserServer).String()),
				LidJID: proto.String(types.NewJID(strconv.FormatUint(m.GetAssignedLid(), 10), types.HiddenUserServer).String()),
			})
		}
	} else {
		history.PhoneNumberToLidMappings = []*waHistorySync.PhoneNumberToLIDMapping{{
			PnJID: proto.String(a.jid.String()), LidJID: proto.String(a.lid.String()),
		}}
	}
	a.s.mu.Unlock()
	return compressHistory(history)
}

// compressHistory is a history sync as phones send it: marshalled and zlib-compressed.
func compressHistory(history *waHistorySync.HistorySync) ([]byte, error) {
	raw, err := proto.Marshal(history)
	if err != nil {
		return nil, fmt.Errorf("marshal history sync: %w", err)
	}
	var buf bytes.Buffer
	zw := zlib.NewWriter(&buf)
	if _, err := zw.Write(raw); err != nil {
		return nil, fmt.Errorf("compress history sync: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compress history sync: %w", err)
	}
	return buf.Bytes(), nil
}

// ensureSession gives the phone a Signal session with one of its linked devices, from
// the device's prekey bundle, as a phone fetches it before it first writes to the
// device. (whatsmeow's peer messages need an existing session.)
func (e *engine) ensureSession(ctx context.Context, dev types.JID) error {
	target := dev
	if lid, err := e.cli.Store.LIDs.GetLIDForPN(ctx, dev); err == nil && !lid.IsEmpty() {
		target = lid // whatsmeow names its sessions with its own devices by LID
	}
	if ok, err := e.cli.Store.ContainsSession(ctx, target.SignalAddress()); err != nil {
		return fmt.Errorf("look up session with %s: %w", target, err)
	} else if ok {
		return nil
	}
	bundle, err := e.a.s.preKeyBundle(dev)
	if err != nil {
		return err
	}
	builder := session.NewBuilderFromSignal(e.cli.Store, target.SignalAddress(), store.SignalProtobufSerializer)
	if err := builder.ProcessBundle(ctx, bundle); err != nil {
		return fmt.Errorf("start session with %s: %w", target, err)
	}
	return nil
}

// preKeyBundle hands out a device's prekey bundle, as the encrypt IQ does.
func (s *Simulator) preKeyBundle(jid types.JID) (*prekey.Bundle, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.deviceByJIDLocked(jid)
	if d == nil {
		return nil, fmt.Errorf("prekey bundle of %s: %w", jid, ErrUnknownDevice)
	}
	k := s.takeBundleLocked(d)
	var preKeyID *optional.Uint32
	var preKeyPub ecc.ECPublicKeyable
	if k.preKey != nil {
		preKeyID = optional.NewOptionalUint32(k.preKey.id)
		preKeyPub = ecc.NewDjbECPublicKey(k.preKey.pub)
	}
	return prekey.NewBundle(k.registrationID, uint32(jid.Device), preKeyID, k.signedPreKey.id,
		preKeyPub, ecc.NewDjbECPublicKey(k.signedPreKey.pub), k.signedPreKey.signature,
		identity.NewKey(ecc.NewDjbECPublicKey(k.identityKey))), nil
}
