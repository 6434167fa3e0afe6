package whatsapp

import (
	"strings"

	"go.mau.fi/whatsmeow/proto/waE2E"

	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// readContacts reads one contact card or several.
func readContacts(msg *waE2E.Message) (*messagesv1.Content, *waE2E.ContextInfo, bool) {
	if c := msg.GetContactMessage(); c != nil {
		cs := &messagesv1.Contacts{Contacts: []*messagesv1.Contact{receivedContact(c)}}
		return &messagesv1.Content{Kind: &messagesv1.Content_Contacts{Contacts: cs}}, c.GetContextInfo(), true
	}
	if a := msg.GetContactsArrayMessage(); a != nil {
		cs := &messagesv1.Contacts{}
		for _, c := range a.GetContacts() {
			cs.Contacts = append(cs.Contacts, receivedContact(c))
		}
		return &messagesv1.Content{Kind: &messagesv1.Content_Contacts{Contacts: cs}}, a.GetContextInfo(), true
	}
	return nil, nil, false
}

func receivedContact(c *waE2E.ContactMessage) *messagesv1.Contact {
	return &messagesv1.Contact{Name: c.GetDisplayName(), Vcard: c.GetVcard(), Phones: vcardPhones(c.GetVcard())}
}

// vcardPhones are the phone numbers of a vCard, as digits: the WhatsApp ID (waid) of a TEL line when it has
// one (the number as WhatsApp knows it), else the number's own digits.
func vcardPhones(vcard string) []string {
	var phones []string
	for _, line := range strings.Split(strings.ReplaceAll(vcard, "\r\n", "\n"), "\n") {
		name, value, ok := strings.Cut(line, ":")
		if !ok || !strings.HasPrefix(strings.ToUpper(name), "TEL") && !strings.Contains(strings.ToUpper(name), ".TEL") {
			continue
		}
		number := value
		for _, param := range strings.Split(name, ";") {
			if id, ok := strings.CutPrefix(strings.ToLower(param), "waid="); ok {
				number = id
			}
		}
		if digits := onlyDigits(number); digits != "" {
			phones = append(phones, digits)
		}
	}
	return phones
}

func onlyDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}
