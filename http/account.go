package httpapi

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/plugzapi/plugzapi/account"
	"github.com/plugzapi/plugzapi/media"
)

// image reads a picture field as a file to send is read: a URL checked against the address policy now (fetched
// when used), or an image in base64 checked now.
func (in intake) image(field, value string) (account.Image, error) {
	m, err := in.file(field, value, media.Image)
	if err != nil {
		return account.Image{}, err
	}
	return account.Image{URL: m.GetUrl(), Data: m.GetData()}, nil
}

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
