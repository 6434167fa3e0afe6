package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/plugzapi/plugzapi/account"
	"github.com/plugzapi/plugzapi/media"
)

// The account's own profile, as its contacts see it (account.Profile). Each route takes {"value": …} and answers
// {"value": true}.

// WhatsApp's limits on a profile, in characters: its clients refuse longer names and descriptions.
const (
	maxProfileNameChars        = 25
	maxProfileDescriptionChars = 139
)

// mountProfileRoutes mounts the profile routes that take small bodies.
func (a *api) mountProfileRoutes(r chi.Router) {
	r.Put(instancePrefix+"/profile-name", a.profileText("profile-name", maxProfileNameChars,
		account.Client.SetProfileName))
	r.Put(instancePrefix+"/profile-description", a.profileText("profile-description", maxProfileDescriptionChars,
		account.Client.SetProfileDescription))
}

// mountProfilePictureRoute mounts PUT profile-picture, whose body may hold a picture in base64.
func (a *api) mountProfilePictureRoute(r chi.Router) {
	r.With(a.limitBodyTo(a.mediaBodyLimit(media.Image))).Put(instancePrefix+"/profile-picture", a.setProfilePicture)
}

// profileText is a route setting one text of the profile with set. WhatsApp's clients take neither a blank name
// nor a blank description.
func (a *api) profileText(route string, max int, set func(account.Client, context.Context, string) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req valueRequest
		if err := decodeJSON(r, &req); err != nil {
			a.respondError(w, r, err)
			return
		}
		switch {
		case req.Value == nil, strings.TrimSpace(*req.Value) == "":
			a.respondError(w, r, missingFields("value"))
			return
		case tooLong(*req.Value, max):
			a.respondError(w, r, badRequest(codeInvalidField, fmt.Sprintf("value must be at most %d characters", max), "value"))
			return
		}
		a.withAccount(w, r, func(c account.Client) error {
			if err := set(c, r.Context(), *req.Value); err != nil {
				return fmt.Errorf("%s: %w", route, err)
			}
			writeValueTrue(w)
			return nil
		})
	}
}

func (a *api) setProfilePicture(w http.ResponseWriter, r *http.Request) {
	var req valueRequest
	if err := decodeJSON(r, &req); err != nil {
		a.respondError(w, r, err)
		return
	}
	if req.Value == nil || *req.Value == "" {
		a.respondError(w, r, missingFields("value"))
		return
	}
	// As a file to send: a URL is checked against the address policy now and fetched when set, base64 is
	// checked for an image now.
	m, err := intake{a}.file("value", *req.Value, media.Image)
	if err != nil {
		a.respondError(w, r, err)
		return
	}
	pic := account.Image{URL: m.GetUrl(), Data: m.GetData()}
	a.withAccount(w, r, func(c account.Client) error {
		if err := c.SetProfilePicture(r.Context(), pic); err != nil {
			return fmt.Errorf("set profile picture: %w", err)
		}
		writeValueTrue(w)
		return nil
	})
}
