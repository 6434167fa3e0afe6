package httpapi

import (
	"errors"
	"net/http/httptest"
	"net/url"
	"testing"
)

// TestGroupInputs: what the group routes take as a group, a list of people and an invite link, and the 400
// code of what they refuse.
func TestGroupInputs(t *testing.T) {
	code := func(err error) string {
		var ae *apiError
		if errors.As(err, &ae) {
			return ae.code
		}
		if err != nil {
			return "?"
		}
		return ""
	}
	for _, c := range []struct {
		group, want string
	}{
		{"120363019502650977-group", ""},
		{"5511999999999-1623281429", ""}, // an old group
		{"", codeMissingFields},
		{"5511999999999", codeInvalidPhone},
		{"123@lid", codeInvalidPhone},
		{"abc-group", codeInvalidPhone},
	} {
		if got := code(checkGroupID("groupId", c.group)); got != c.want {
			t.Errorf("groupId %q: %q, want %q", c.group, got, c.want)
		}
	}
	for _, c := range []struct {
		phones []string
		want   string
	}{
		{[]string{"5511999999999", "123456789012345@lid"}, ""},
		{nil, codeMissingFields},
		{[]string{"5511999999999", "12"}, codeInvalidPhone},
		{[]string{"120363019502650977-group"}, codeInvalidPhone},
		{make([]string, maxGroupPhones+1), codeInvalidField},
	} {
		if got := code(checkPhones(c.phones)); got != c.want {
			t.Errorf("phones %v: %q, want %q", c.phones, got, c.want)
		}
	}
	for _, c := range []struct {
		url, code, want string
	}{
		{"https://chat.whatsapp.com/C1adgkdEGki7554BWDdMkd", "C1adgkdEGki7554BWDdMkd", ""},
		{"http://chat.whatsapp.com/C1adgkdEGki7554BWDdMkd/", "C1adgkdEGki7554BWDdMkd", ""},
		{"", "", codeMissingFields},
		{"C1adgkdEGki7554BWDdMkd", "", codeInvalidQuery},
		{"https://example.com/C1adgkdEGki7554BWDdMkd", "", codeInvalidQuery},
		{"https://chat.whatsapp.com/", "", codeInvalidQuery},
		{"https://chat.whatsapp.com/abc/def", "", codeInvalidQuery},
	} {
		r := httptest.NewRequest("GET", "/?url="+url.QueryEscape(c.url), nil)
		got, err := inviteCodeParam(r)
		if got != c.code || code(err) != c.want {
			t.Errorf("url %q: %q, %q; want %q, %q", c.url, got, code(err), c.code, c.want)
		}
	}
}
