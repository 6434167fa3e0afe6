package wasim

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/util/keys"
)

// Account is a phone number registered on the simulated network, with its phone: the
// phone's identity key signs the devices it links (ScanQR, EnterCode), and the phone
// acts as a person through a whatsmeow device of its own (SendText, Messages,
// MarkRead, Typing…). Methods are safe for concurrent use.
type Account struct {
	s        *Simulator
	phone    string
	jid      types.JID
	lid      types.JID
	identity *keys.KeyPair // the account (phone) identity key
	advRawID uint32

	// Guarded by s.mu.
	name         string
	status       string // the "about" text
	picture      string // profile picture id, "" when not set
	available    bool   // presence as last told to subscribers
	lastSeen     time.Time
	subscribers  map[*conn]types.JID // connections subscribed to this account's presence, with the JID they named it by
	devices      map[uint16]*device
	nextDevice   uint16
	nextKeyIndex uint32
	// devicesChangedAt is when a device was last linked or unlinked: the time of its
	// key index list.
	devicesChangedAt time.Time
	held             bool
	privacy          map[string]string
	blocked          []types.JID
	appState         map[string]*appStateCollection // by collection name
	// lidChats is set once the account moved its chats to LIDs (MoveChatsToLID): its
	// devices then write to people by LID, and the groups it creates are LID-addressed.
	lidChats   bool
	lidChatsAt time.Time
	// statusPrivacy is who sees the account's status updates ("" is contacts) and
	// statusList the people it names (SetStatusPrivacy).
	statusPrivacy StatusPrivacy
	statusList    []types.JID
	// business is set on a WhatsApp Business account (SetBusiness): labels and a catalog are its alone.
	business bool
	// catalog is a business account's products, newest first (catalog.go).
	catalog []*catalogProduct
	engine  *engine
}

// validPhone reports whether phone is an international number as WhatsApp (and
// whatsmeow's PairPhone) accepts it: 7 to 15 digits, no leading zero.
func validPhone(phone string) bool {
	if len(phone) < 7 || len(phone) > 15 || phone[0] == '0' {
		return false
	}
	return digitsOnly(phone) == phone
}

// AddAccount registers a phone number with a display name and brings its phone
// online: an in-process whatsmeow device linked to the account through the
// simulator's own pairing path. It returns once that device is connected.
func (s *Simulator) AddAccount(ctx context.Context, phone, name string) (*Account, error) {
	if !validPhone(phone) {
		return nil, fmt.Errorf("add account %q: %w", phone, ErrInvalidPhone)
	}
	var raw [4]byte
	_, _ = rand.Read(raw[:])
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, fmt.Errorf("add account %s: %w", phone, ErrClosed)
	}
	if _, dup := s.accounts[phone]; dup {
		s.mu.Unlock()
		return nil, fmt.Errorf("add account %s: %w", phone, ErrAccountExists)
	}
	s.nextLID++
	a := &Account{
		s:            s,
		phone:        phone,
		jid:          types.NewJID(phone, types.DefaultUserServer),
		lid:          types.NewJID(strconv.FormatUint(s.nextLID, 10), types.HiddenUserServer),
		identity:     keys.NewKeyPair(),
		advRawID:     binary.BigEndian.Uint32(raw[:]),
		name:         name,
		devices:      make(map[uint16]*device),
		nextDevice:   1,
		nextKeyIndex: 1,
		privacy:      maps.Clone(defaultPrivacy),
		appState:     make(map[string]*appStateCollection),
		subscribers:  make(map[*conn]types.JID),
	}
	s.accounts[phone] = a
	s.byLID[a.lid.User] = a
	s.mu.Unlock()

	if err := a.startEngine(ctx); err != nil {
		s.mu.Lock()
		for _, d := range a.devices {
			s.removeDeviceLocked(d)
		}
		delete(s.accounts, phone)
		delete(s.byLID, a.lid.User)
		s.mu.Unlock()
		return nil, fmt.Errorf("add account %s: %w", phone, err)
	}
	s.log.Info("account added", "phone", phone, "name", name)
	return a, nil
}

// Account returns the account of a phone number.
func (s *Simulator) Account(phone string) (*Account, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[phone]
	return a, ok
}

// Accounts returns every account, ordered by phone number.
func (s *Simulator) Accounts() []*Account {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Collect(maps.Values(s.accounts))
	slices.SortFunc(out, func(a, b *Account) int { return strings.Compare(a.phone, b.phone) })
	return out
}

// Devices returns the devices of a phone number (phone-number device JIDs,
// user:device@s.whatsapp.net), ordered by device id: the phone (device 0, once it is
// logged in) and its linked devices; nil for unknown numbers.
func (s *Simulator) Devices(phone string) []types.JID {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accounts[phone]
	if a == nil {
		return nil
	}
	return a.deviceJIDsLocked(types.DefaultUserServer)
}

// DeviceInfo describes a linked device.
type DeviceInfo struct {
	JID      types.JID `json:"jid"`
	Platform string    `json:"platform"`
	Online   bool      `json:"online"`
	// Available is the last presence the device announced (available/unavailable).
	Available bool `json:"available"`
	// Phone is set on the phone itself: device 0.
	Phone bool `json:"phone"`
	// Queued is how many stanzas wait for the device to acknowledge them.
	Queued int `json:"queued"`
	// PreKeys is how many one-time prekeys the server holds for the device: each session another device
	// starts with it takes one.
	PreKeys int `json:"preKeys"`
	// Welcomed is set once the phone sent the linked device its app state key and its
	// history sync; WelcomeAcknowledged once the device sent every receipt it owes
	// for them (peer_msg for both, hist_sync for the history).
	Welcomed            bool `json:"welcomed"`
	WelcomeAcknowledged bool `json:"welcomeAcknowledged"`
	// AppStateSynced is set once the device fetched every app state collection, as
	// clients do once they have the app state key.
	AppStateSynced bool      `json:"appStateSynced"`
	Created        time.Time `json:"created"`
}

// DeviceInfos describes the account's devices, the phone (device 0) first.
func (a *Account) DeviceInfos() []DeviceInfo {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	jids := a.deviceJIDsLocked(types.DefaultUserServer)
	out := make([]DeviceInfo, len(jids))
	for i, j := range jids {
		d := a.devices[j.Device]
		out[i] = DeviceInfo{
			JID:                 j,
			Platform:            d.platform,
			Online:              d.conn != nil && d.conn.loggedIn,
			Available:           d.available,
			Phone:               d.primary(),
			Queued:              len(d.queue),
			PreKeys:             len(d.preKeys),
			Welcomed:            d.welcomed,
			WelcomeAcknowledged: d.welcomed && len(d.welcomeReceipts) == 0,
			AppStateSynced:      d.appStateSyncedLocked(),
			Created:             d.created,
		}
	}
	return out
}

// Phone returns the account's phone number.
func (a *Account) Phone() string { return a.phone }

// JID returns the account's user JID (phone@s.whatsapp.net).
func (a *Account) JID() types.JID { return a.jid }

// LID returns the account's LID user JID. Only the account's own devices learn it.
func (a *Account) LID() types.JID { return a.lid }

// Name returns the account's display (push) name.
func (a *Account) Name() string {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	return a.name
}

// PhoneDevice returns the JID of the account's phone: device 0, which is the
// account's user JID (phone@s.whatsapp.net).
func (a *Account) PhoneDevice() types.JID {
	return a.jid
}

// Devices returns the account's devices, as Simulator.Devices.
func (a *Account) Devices() []types.JID {
	return a.s.Devices(a.phone)
}
