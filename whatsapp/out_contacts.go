package whatsapp

import (
	"context"
	"fmt"
	"strings"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// buildContacts makes one contact card, or a message holding several.
func buildContacts(_ context.Context, _ *Conn, _ types.JID, c *messagesv1.Content, info *waE2E.ContextInfo) (*waE2E.Message, error) {
	cards := c.GetContacts().GetContacts()
	if len(cards) == 0 {
		return nil, fmt.Errorf("%w: a contacts message without contacts", ErrUnsendable)
	}
	msgs := make([]*waE2E.ContactMessage, len(cards))
	for i, card := range cards {
		v := card.GetVcard()
		if v == "" {
			v = vCard(card)
		}
		msgs[i] = &waE2E.ContactMessage{DisplayName: proto.String(card.GetName()), Vcard: proto.String(v)}
	}
	if len(msgs) == 1 {
		msgs[0].ContextInfo = info
		return &waE2E.Message{ContactMessage: msgs[0]}, nil
	}
	return &waE2E.Message{ContactsArrayMessage: &waE2E.ContactsArrayMessage{
		DisplayName: proto.String(fmt.Sprintf("%d contacts", len(msgs))), Contacts: msgs, ContextInfo: info,
	}}, nil
}

// vCard writes a contact card as WhatsApp's apps do: each number carries its WhatsApp ID (waid), so that the
// recipient can message it at once, and a business's description goes in WhatsApp's own field.
func vCard(c *messagesv1.Contact) string {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\r\n", args...) }
	line("BEGIN:VCARD")
	line("VERSION:3.0")
	line("N:;%s;;;", vCardText(c.GetName()))
	line("FN:%s", vCardText(c.GetName()))
	for i, phone := range c.GetPhones() {
		line("item%d.TEL;waid=%s:+%s", i+1, phone, phone)
		line("item%d.X-ABLabel:Celular", i+1)
	}
	if d := c.GetBusinessDescription(); d != "" {
		line("X-WA-BIZ-NAME:%s", vCardText(c.GetName()))
		line("X-WA-BIZ-DESCRIPTION:%s", vCardText(d))
	}
	line("END:VCARD")
	return b.String()
}

// vCardText escapes a value as vCard 3.0 requires: backslashes, commas, semicolons and line breaks.
var vCardText = strings.NewReplacer(`\`, `\\`, ",", `\,`, ";", `\;`, "\r\n", `\n`, "\n", `\n`, "\r", `\n`).Replace
