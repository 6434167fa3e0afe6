// Package recipient is the one grammar of PlugZapi's `phone` field: who a message goes to, and how the server
// names a chat in what it reports. The HTTP API uses it to refuse a bad value with a 400 and the WhatsApp adapter
// to address a message, so the two cannot disagree about what is valid. It imports nothing of the server.
//
// The forms:
//
//	5511999999999               a phone number: 8 to 15 digits, country code first, no leading zero
//	120363019502650977-group    a group, as PlugZapi writes it
//	5511999999999-1600000000    a group of the old kind (its creator's number and a timestamp)
//	123456789012345@lid         a person by LID, WhatsApp's privacy identifier, when no phone number is known
//	status@broadcast            the account's status (stories), seen by its contacts as its status privacy allows
package recipient

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid is returned for a value that is none of the forms.
var ErrInvalid = errors.New("invalid recipient")

// Kind is what a recipient is.
type Kind uint8

// The kinds of recipient.
const (
	Phone Kind = iota + 1
	LID
	Group
	Status
)

// Recipient is a parsed `phone` value.
type Recipient struct {
	Kind Kind
	// ID is the phone number's digits, the LID's digits, or the group's ID (digits, or creator-timestamp for an
	// old group).
	ID string
}

const (
	groupSuffix = "-group"
	lidSuffix   = "@lid"
	// StatusBroadcast is the account's status: what is sent there is a status update.
	StatusBroadcast = "status@broadcast"
)

// Parse reads a `phone` value in any of the package's forms.
func Parse(s string) (Recipient, error) {
	if s == StatusBroadcast {
		return Recipient{Kind: Status}, nil
	}
	if digits, ok := strings.CutSuffix(s, groupSuffix); ok {
		if !isDigits(digits, 5, 30) {
			return Recipient{}, fmt.Errorf("%w: %q is not a group ID (<digits>-group)", ErrInvalid, s)
		}
		return Recipient{Kind: Group, ID: digits}, nil
	}
	if digits, ok := strings.CutSuffix(s, lidSuffix); ok {
		if !isDigits(digits, 5, 20) {
			return Recipient{}, fmt.Errorf("%w: %q is not a LID (<digits>@lid)", ErrInvalid, s)
		}
		return Recipient{Kind: LID, ID: digits}, nil
	}
	if creator, stamp, ok := strings.Cut(s, "-"); ok {
		if !IsPhoneNumber(creator) || !isDigits(stamp, 1, 20) {
			return Recipient{}, fmt.Errorf("%w: %q is not a group ID (<creator phone>-<timestamp>)", ErrInvalid, s)
		}
		return Recipient{Kind: Group, ID: s}, nil
	}
	if !IsPhoneNumber(s) {
		return Recipient{}, fmt.Errorf("%w: %q is not a phone number (8 to 15 digits, country code first)", ErrInvalid, s)
	}
	return Recipient{Kind: Phone, ID: s}, nil
}

// String writes the recipient as the API takes and reports it.
func (r Recipient) String() string {
	switch r.Kind {
	case Status:
		return StatusBroadcast
	case LID:
		return r.ID + lidSuffix
	case Group:
		if strings.Contains(r.ID, "-") {
			return r.ID // an old group's ID is written bare
		}
		return r.ID + groupSuffix
	}
	return r.ID
}

// IsPhoneNumber reports whether s is a phone number as the API takes it: 8 to 15 digits (E.164 allows at most 15),
// country code first, so no leading zero.
func IsPhoneNumber(s string) bool {
	return isDigits(s, 8, 15) && s[0] != '0'
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
