package recipient

import (
	"errors"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Recipient
	}{
		{"5511999999999", Recipient{Phone, "5511999999999"}},
		{"14155550123", Recipient{Phone, "14155550123"}},
		{"12345678", Recipient{Phone, "12345678"}},
		{"123456789012345", Recipient{Phone, "123456789012345"}},
		{"120363019502650977-group", Recipient{Group, "120363019502650977"}},
		{"5511999999999-1600000000", Recipient{Group, "5511999999999-1600000000"}},
		{"123456789012345@lid", Recipient{LID, "123456789012345"}},
		{"status@broadcast", Recipient{Kind: Status}},
	} {
		got, err := Parse(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			continue
		}
		if got.String() != tc.in {
			t.Errorf("Parse(%q).String() = %q", tc.in, got.String())
		}
	}
	for _, in := range []string{
		"", "0123456789", "1234567", "1234567890123456", "+5511999999999", "(55) 11 99999-9999",
		"55119999abcd", "5511999999999@s.whatsapp.net", "-group", "12ab-group", "1234-group",
		"５５１１９９９９９９９９", "0511999999999-1600000000", "5511999999999-", "5511999999999-16x",
		"@lid", "12ab@lid", "1234@lid", "123456789012345678901@lid", "Status@broadcast",
		"status@broadcast ", "1234@broadcast",
	} {
		if got, err := Parse(in); !errors.Is(err, ErrInvalid) {
			t.Errorf("Parse(%q) = %+v, %v; want ErrInvalid", in, got, err)
		}
	}
}
