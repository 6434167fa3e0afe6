package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/plugzapi/plugzapi/account"
)

// fakeContacts answers the contact calls of account.Client; any other call panics.
type fakeContacts struct {
	account.Client
	contacts []account.Contact
	asked    []string
}

func (f *fakeContacts) ContactList(context.Context) ([]account.Contact, error) {
	return f.contacts, nil
}

func (f *fakeContacts) PhonesExist(_ context.Context, phones []string) ([]account.PhoneExists, error) {
	f.asked = phones
	out := make([]account.PhoneExists, len(phones))
	for i, p := range phones {
		out[i] = account.PhoneExists{Phone: p}
		if strings.HasPrefix(p, "55") {
			out[i] = account.PhoneExists{Phone: p, Exists: true, Account: p, LID: "1234@lid"}
		}
	}
	return out, nil
}

// The answers' shapes, the pages of the contact list, and what is refused before WhatsApp is asked.
func TestContactRoutes(t *testing.T) {
	s := newTestServer(t, Config{})
	fake := &fakeContacts{contacts: []account.Contact{
		{Phone: "5511900000001", Notify: "Ana"}, {Phone: "5511900000002", Name: "Bia Souza", Short: "Bia"}, {Phone: "5511900000003", VName: "Loja"},
	}}
	s.app.account = fake
	get := func(path string) *httptest.ResponseRecorder {
		return s.do(t, req{method: http.MethodGet, path: base + path})
	}
	for _, c := range []struct{ path, want string }{
		{"/phone-exists/5511900000001", `[{"exists":true,"phone":"5511900000001","lid":"1234@lid"}]`},
		{"/phone-exists/4411900000001", `[{"exists":false,"phone":"4411900000001","lid":null}]`},
		{"/contacts?page=2&pageSize=2", `[{"name":null,"short":null,"notify":null,"vname":"Loja","phone":"5511900000003"}]`},
		{"/contacts?page=3&pageSize=2", `[]`},
		{"/contacts?pageSize=1", `[{"name":null,"short":null,"notify":"Ana","vname":null,"phone":"5511900000001"}]`},
	} {
		w := get(c.path)
		if w.Code != http.StatusOK || strings.TrimSpace(w.Body.String()) != c.want {
			t.Errorf("GET %s: %d %s, want %s", c.path, w.Code, w.Body, c.want)
		}
	}
	if w := get("/contacts"); w.Code != http.StatusOK || strings.Count(w.Body.String(), `"phone"`) != 3 {
		t.Errorf("GET contacts without a page: %d %s, want all three", w.Code, w.Body)
	}
	w := s.do(t, req{method: http.MethodPost, path: base + "/phone-exists-batch", body: `{"phones":["5511900000001","4411900000001"]}`})
	want := `[{"exists":true,"inputPhone":"5511900000001","outputPhone":"5511900000001","lid":"1234@lid"},{"exists":false,"inputPhone":"4411900000001","outputPhone":"4411900000001","lid":null}]`
	if w.Code != http.StatusOK || strings.TrimSpace(w.Body.String()) != want {
		t.Errorf("phone-exists-batch: %d %s, want %s", w.Code, w.Body, want)
	}

	fake.asked = nil
	wantError(t, get("/contacts?page=0"), http.StatusBadRequest, codeInvalidQuery, "page")
	wantError(t, get("/contacts?pageSize=1001"), http.StatusBadRequest, codeInvalidQuery, "pageSize")
	wantError(t, get("/phone-exists/0511"), http.StatusBadRequest, codeInvalidPhone, "phone")
	wantError(t, get("/profile-picture?phone=abc"), http.StatusBadRequest, codeInvalidPhone, "phone")
	wantError(t, s.do(t, req{method: http.MethodPost, path: base + "/phone-exists-batch", body: `{"phones":"5511900000001"}`}),
		http.StatusBadRequest, codeInvalidField, "phones")
	wantError(t, s.do(t, req{method: http.MethodPost, path: base + "/phone-exists-batch", body: `{"phones":["5511900000001","x"]}`}),
		http.StatusBadRequest, codeInvalidPhone, "phones[1]")
	wantError(t, s.do(t, req{method: http.MethodPost, path: base + "/contacts/modify-blocked", body: `{"phone":"5511900000001","action":"ban"}`}),
		http.StatusBadRequest, codeInvalidField, "action")
	if fake.asked != nil {
		t.Errorf("WhatsApp was asked about %v for a refused request", fake.asked)
	}

	s.app.account = nil // not connected
	wantError(t, get("/contacts"), http.StatusConflict, codeNotConnected)
}
