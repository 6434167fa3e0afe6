package whatsapp

import (
	"errors"
	"fmt"
	"strings"

	"go.mau.fi/whatsmeow/types"
)

// ErrInvalidRecipient is returned for a recipient that is neither a phone number nor a group ID.
var ErrInvalidRecipient = errors.New("invalid recipient")

// groupSuffix is how PlugZapi writes a group ID: "120363019502650977-group".
const groupSuffix = "-group"

// RecipientJID turns PlugZapi's `phone` field into a WhatsApp JID. It accepts a phone number as digits (country
// code first, 8 to 15 digits), a group ID in the current form ("<digits>-group") or the old form
// ("<creator phone>-<timestamp>").
func RecipientJID(phone string) (types.JID, error) {
	if digits, ok := strings.CutSuffix(phone, groupSuffix); ok {
		if !isDigits(digits, 1, 30) {
			return types.JID{}, fmt.Errorf("%w: group id %q", ErrInvalidRecipient, phone)
		}
		return types.NewJID(digits, types.GroupServer), nil
	}
	if creator, stamp, ok := strings.Cut(phone, "-"); ok {
		if !isDigits(creator, 8, 15) || !isDigits(stamp, 1, 20) {
			return types.JID{}, fmt.Errorf("%w: group id %q", ErrInvalidRecipient, phone)
		}
		return types.NewJID(phone, types.GroupServer), nil
	}
	if !IsPhoneNumber(phone) {
		return types.JID{}, fmt.Errorf("%w: %q is not a phone number", ErrInvalidRecipient, phone)
	}
	return types.NewJID(phone, types.DefaultUserServer), nil
}

// IsPhoneNumber reports whether s is a phone number as PlugZapi takes it: 8 to 15 digits, country code first, no
// leading zero.
func IsPhoneNumber(s string) bool {
	return isDigits(s, 8, 15) && s[0] != '0'
}

// PhoneOf is the inverse of RecipientJID: the `phone` value PlugZapi shows for a chat or a user.
func PhoneOf(jid types.JID) string {
	if jid.Server == types.GroupServer {
		if strings.Contains(jid.User, "-") {
			return jid.User
		}
		return jid.User + groupSuffix
	}
	return jid.User
}

func isDigits(s string, minLen, maxLen int) bool {
	if len(s) < minLen || len(s) > maxLen {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// JID is a WhatsApp address (user, group or device), re-exported so that callers need not import whatsmeow.
type JID = types.JID

// IsGroup reports whether jid is a group chat.
func IsGroup(jid JID) bool { return jid.Server == types.GroupServer }
