package wasim

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/proto/waLidMigrationSyncPayload"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"
)

// LIDs as WhatsApp uses them today: every account has a LID, and the server reveals it
// to anyone who asks (usync), beside the phone number on every stanza naming a person
// (sender_lid/sender_pn, participant_lid/participant_pn, peer_recipient_lid/_pn,
// phone_number/lid on group participants, lid on device notifications). How a chat is
// addressed is the sender's choice: an account starts with its one-to-one chats
// addressed by phone number, and moves them to LIDs once (MoveChatsToLID), as accounts
// migrate on WhatsApp; from then on its devices write to people by LID, so its
// messages arrive from its LID. A group is addressed by phone number or by LID
// (groups an account with LID chats creates are LID-addressed; SetGroupAddressing moves
// a group to LIDs).

// Addressing is how chats name people: by phone number or by LID.
type Addressing string

// The addressing modes.
const (
	AddressingPN  Addressing = "pn"
	AddressingLID Addressing = "lid"
)

// ParseAddressing reads "pn" or "lid".
func ParseAddressing(s string) (Addressing, error) {
	switch a := Addressing(s); a {
	case AddressingPN, AddressingLID:
		return a, nil
	}
	return "", fmt.Errorf("%w: addressing %q is not pn or lid", ErrInvalidArgument, s)
}

// Addressing reports how the account's one-to-one chats are addressed.
func (a *Account) Addressing() Addressing {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	if a.lidChats {
		return AddressingLID
	}
	return AddressingPN
}

// SetAddressing moves the account's chats to LIDs (AddressingLID, see MoveChatsToLID).
// Asking for phone numbers is a no-op for an account that never moved, and
// ErrAddressingIrreversible for one that did.
func (a *Account) SetAddressing(ctx context.Context, mode Addressing) error {
	switch {
	case mode == AddressingLID:
		return a.MoveChatsToLID(ctx)
	case a.Addressing() == AddressingLID:
		return fmt.Errorf("set addressing of %s: %w", a.phone, ErrAddressingIrreversible)
	}
	return nil
}

// MoveChatsToLID moves the account's one-to-one chats to LIDs, as WhatsApp migrates an
// account: its phone records the migration and sends each of its linked devices the
// phone number↔LID mappings of its contacts with the migration time (a
// LIDMigrationMappingSync peer message), after which they too write to people by LID
// (whatsmeow renames its Signal sessions from the phone number to the LID). Devices
// linked later learn it from their history sync. A move cannot be undone; moving again
// does nothing.
func (a *Account) MoveChatsToLID(ctx context.Context) error {
	e, err := a.ready(ctx)
	if err != nil {
		return fmt.Errorf("move chats to LID: %w", err)
	}
	s := a.s
	s.mu.Lock()
	if a.lidChats {
		s.mu.Unlock()
		return nil
	}
	a.lidChats = true
	a.lidChatsAt = time.Now()
	e.moveChatsToLIDLocked()
	payload := s.lidMappingsLocked(a)
	linked := a.sortedDevicesLocked()[1:] // the phone is device 0
	s.mu.Unlock()

	raw, err := proto.Marshal(payload)
	if err != nil {
		return fmt.Errorf("move chats to LID: %w", err)
	}
	// The phone itself first, through whatsmeow's own handling of the message.
	e.cli.DangerousInternals().StoreLIDSyncMessage(ctx, raw)
	msg := &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{
		Type:                           waE2E.ProtocolMessage_LID_MIGRATION_MAPPING_SYNC.Enum(),
		LidMigrationMappingSyncMessage: &waE2E.LIDMigrationMappingSyncMessage{EncodedMappingPayload: raw},
	}}
	for _, d := range linked {
		if err := e.ensureSession(ctx, d.jid); err != nil {
			return fmt.Errorf("move chats to LID: %w", err)
		}
		if _, err := e.sendMessage(ctx, d.jid, msg, whatsmeow.SendRequestExtra{Peer: true}); err != nil {
			return fmt.Errorf("move chats to LID: tell %s: %w", d.jid, err)
		}
	}
	s.log.Info("account moved its chats to LIDs", "phone", a.phone, "devices", len(linked))
	return nil
}

// lidMappingsLocked is what a phone tells its devices when its chats move to LIDs: the
// phone number↔LID mapping of every account it may write to (in a simulated network,
// every account) and the time of the move.
func (s *Simulator) lidMappingsLocked(a *Account) *waLidMigrationSyncPayload.LIDMigrationMappingSyncPayload {
	payload := &waLidMigrationSyncPayload.LIDMigrationMappingSyncPayload{
		ChatDbMigrationTimestamp: proto.Uint64(uint64(a.lidChatsAt.Unix())),
	}
	for _, other := range s.accounts {
		pn, err1 := strconv.ParseUint(other.phone, 10, 64)
		lid, err2 := strconv.ParseUint(other.lid.User, 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		payload.PnToLidMappings = append(payload.PnToLidMappings, &waLidMigrationSyncPayload.LIDMigrationMapping{
			Pn: proto.Uint64(pn), AssignedLid: proto.Uint64(lid),
		})
	}
	return payload
}

// SetGroupAddressing moves a group to LID addressing (mode lid), as WhatsApp migrates
// groups; a LID-addressed group cannot go back. Members' clients learn it the next
// time they look the group up: a sender whose cached member list is in the old form
// gets a participant hash it does not expect and drops its cache.
func (s *Simulator) SetGroupAddressing(id string, mode Addressing) error {
	jid, err := parseGroupID(id)
	if err != nil {
		return fmt.Errorf("set group addressing: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[jid.User]
	switch {
	case g == nil:
		return fmt.Errorf("set group addressing of %s: %w", id, ErrUnknownGroup)
	case mode == AddressingPN && g.addressing == types.AddressingModeLID:
		return fmt.Errorf("set group addressing of %s: %w", id, ErrAddressingIrreversible)
	case mode == AddressingLID:
		g.addressing = types.AddressingModeLID
	}
	return nil
}
