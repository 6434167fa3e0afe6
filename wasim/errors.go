package wasim

import "errors"

// Errors returned by the simulator's Go API. The control API maps them to HTTP
// status codes (see control.go).
var (
	// ErrClosed: the simulator is closed.
	ErrClosed = errors.New("simulator closed")
	// ErrUnknownAccount: no account has this phone number.
	ErrUnknownAccount = errors.New("unknown account")
	// ErrAccountExists: AddAccount for a phone number that already has an account.
	ErrAccountExists = errors.New("account already exists")
	// ErrInvalidPhone: not a phone number in international format (digits only, 7–15
	// of them, no leading zero).
	ErrInvalidPhone = errors.New("invalid phone number")
	// ErrUnknownDevice: no linked device has this JID.
	ErrUnknownDevice = errors.New("unknown device")
	// ErrNotConnected: the fault needs the device to be connected, and it is not.
	ErrNotConnected = errors.New("device is not connected")
	// ErrInvalidQR: the string is not a WhatsApp pairing QR code of a connected client.
	ErrInvalidQR = errors.New("invalid QR code")
	// ErrInvalidCode: not an 8-character pairing code.
	ErrInvalidCode = errors.New("invalid pairing code")
	// ErrWrongCode: the code entered is not the one the client displays.
	ErrWrongCode = errors.New("wrong pairing code")
	// ErrNoPendingPairing: no connected client waits to be paired with this QR code
	// (or, for codes, with this account).
	ErrNoPendingPairing = errors.New("no pending pairing")
	// ErrPairingInProgress: a phone is already completing this client's pairing.
	ErrPairingInProgress = errors.New("pairing already in progress")
	// ErrPairingRejected: the client refused the pair-success (bad HMAC or signature).
	ErrPairingRejected = errors.New("client rejected the pairing")
	// ErrInvalidArgument: a malformed argument (recipient, chat state, stream error
	// code, login failure reason…).
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrEngineOffline: the account's simulated phone is offline (SetOnline(false)) or
	// was unlinked, so it cannot act.
	ErrEngineOffline = errors.New("simulated phone is offline")
	// ErrUnknownGroup: no group has this id.
	ErrUnknownGroup = errors.New("unknown group")
	// ErrNotInGroup: the account is not a member of the group.
	ErrNotInGroup = errors.New("not a member of the group")
	// ErrNotGroupAdmin: the change needs a group admin.
	ErrNotGroupAdmin = errors.New("not an admin of the group")
	// ErrUnknownMessage: the account's inbox has no message with this id (or it has
	// no media).
	ErrUnknownMessage = errors.New("unknown message")
	// ErrAddressingIrreversible: an account's chats or a group moved to LIDs, and
	// cannot move back to phone numbers.
	ErrAddressingIrreversible = errors.New("chats that moved to LIDs cannot move back to phone numbers")
	// ErrMediaUnavailable: the media of a message can no longer be downloaded (it
	// was evicted from the simulator's media store, see Options.MediaMemory).
	ErrMediaUnavailable = errors.New("media no longer available")
)
