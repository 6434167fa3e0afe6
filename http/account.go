package httpapi

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/plugzapi/plugzapi/account"
)

// withAccount runs fn with the instance's linked account, answering the error itself when the instance cannot be
// reached (not linked, not connected) or fn fails.
func (a *api) withAccount(w http.ResponseWriter, r *http.Request, fn func(account.Client) error) {
	c, err := a.deps.Accounts.Account(r.Context(), chi.URLParam(r, "id"))
	if err == nil {
		err = fn(c)
	}
	if err != nil {
		a.respondError(w, r, err)
	}
}
