package whatsapp

import (
	"fmt"

	"go.mau.fi/whatsmeow/types"

	"github.com/plugzapi/plugzapi/recipient"
)

// ErrInvalidRecipient is returned for a recipient that is none of the forms package recipient knows.
var ErrInvalidRecipient = recipient.ErrInvalid

// recipientJID turns PlugZapi's `phone` field (see package recipient) into a WhatsApp JID.
func recipientJID(phone string) (types.JID, error) {
	r, err := recipient.Parse(phone)
	if err != nil {
		return types.JID{}, fmt.Errorf("recipient: %w", err)
	}
	switch r.Kind {
	case recipient.Status:
		return types.StatusBroadcastJID, nil
	case recipient.Group:
		return types.NewJID(r.ID, types.GroupServer), nil
	case recipient.LID:
		return types.NewJID(r.ID, types.HiddenUserServer), nil
	}
	return types.NewJID(r.ID, types.DefaultUserServer), nil
}

// phoneOf is the inverse of recipientJID: the `phone` value PlugZapi shows for a chat or a person. A person
// known only by LID shows as "<digits>@lid".
func phoneOf(jid types.JID) string {
	r := recipient.Recipient{Kind: recipient.Phone, ID: jid.User}
	switch {
	case jid == types.StatusBroadcastJID:
		r.Kind = recipient.Status
	case jid.Server == types.GroupServer:
		r.Kind = recipient.Group
	case jid.Server == types.HiddenUserServer:
		r.Kind = recipient.LID
	}
	return r.String()
}

// IsGroup reports whether jid is a group chat.
func isGroup(jid types.JID) bool { return jid.Server == types.GroupServer }

// phoneOfJID is phoneOf for a JID written out in a message ("5511999999999@s.whatsapp.net"), "" when there is
// none or it is not a JID.
func phoneOfJID(raw string) string {
	jid, err := types.ParseJID(raw)
	if raw == "" || err != nil || jid.User == "" {
		return ""
	}
	return phoneOf(jid.ToNonAD())
}
