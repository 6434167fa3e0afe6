package wasim

import (
	"context"
	"net/http"
)

// apiSaveContact saves a number in the account's address book, as its phone does: {"phone","name"}.
func (s *Simulator) apiSaveContact(w http.ResponseWriter, r *http.Request, a *Account) {
	var req struct {
		Phone string `json:"phone"`
		Name  string `json:"name"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), controlTimeout)
	defer cancel()
	if err := a.SaveContact(ctx, req.Phone, req.Name); err != nil {
		writeFailure(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"phone": req.Phone, "name": req.Name})
}

// apiStatusPrivacy sets who sees the account's status updates: {"type":"contacts|blacklist|whitelist",
// "phones":[…]}.
func (s *Simulator) apiStatusPrivacy(w http.ResponseWriter, r *http.Request, a *Account) {
	var req struct {
		Type   StatusPrivacy `json:"type"`
		Phones []string      `json:"phones"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if err := a.SetStatusPrivacy(req.Type, req.Phones...); err != nil {
		writeFailure(w, err)
		return
	}
	writeJSON(w, http.StatusOK, req)
}
