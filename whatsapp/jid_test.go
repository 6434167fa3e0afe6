package whatsapp

import (
	"errors"
	"testing"

	"go.mau.fi/whatsmeow/types"
)

func TestRecipientJID(t *testing.T) {
	cases := []struct {
		phone string
		want  string
		err   bool
	}{
		{"5511999990001", "5511999990001@s.whatsapp.net", false},
		{"14155550123", "14155550123@s.whatsapp.net", false},
		{"120363019502650977-group", "120363019502650977@g.us", false},
		{"5511999999999-1623281429", "5511999999999-1623281429@g.us", false},
		{"", "", true},
		{"0511999990001", "", true},
		{"1234567", "", true},
		{"1234567890123456", "", true},
		{"+5511999990001", "", true},
		{"5511 99999 0001", "", true},
		{"abc-group", "", true},
		{"-group", "", true},
		{"5511999999999-", "", true},
		{"12-1623281429", "", true},
		{"5511999990001@s.whatsapp.net", "", true},
		{"123456789012345@lid", "123456789012345@lid", false},
		{"12ab@lid", "", true},
	}
	for _, c := range cases {
		got, err := recipientJID(c.phone)
		if c.err {
			if !errors.Is(err, ErrInvalidRecipient) {
				t.Errorf("recipientJID(%q) = %v, %v; want ErrInvalidRecipient", c.phone, got, err)
			}
			continue
		}
		if err != nil || got.String() != c.want {
			t.Errorf("recipientJID(%q) = %v, %v; want %s", c.phone, got, err, c.want)
		}
		if back := phoneOf(got); back != c.phone {
			t.Errorf("phoneOf(recipientJID(%q)) = %q", c.phone, back)
		}
	}
}

func TestPhoneOfDevice(t *testing.T) {
	dev := types.NewADJID("5511999990001", 0, 3)
	if got := phoneOf(dev); got != "5511999990001" {
		t.Errorf("phoneOf(%s) = %q", dev, got)
	}
}
