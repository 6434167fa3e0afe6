package httpapi

import (
	"context"
	"fmt"
	"net/http"

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
		value, err := decodeValue(r, false)
		if err == nil && tooLong(value, max) {
			err = badRequest(codeInvalidField, fmt.Sprintf("value must be at most %d characters", max), "value")
		}
		if err != nil {
			a.respondError(w, r, err)
			return
		}
		a.withAccount(w, r, func(c account.Client) error {
			if err := set(c, r.Context(), value); err != nil {
				return fmt.Errorf("%s: %w", route, err)
			}
			writeValueTrue(w)
			return nil
		})
	}
}

func (a *api) setProfilePicture(w http.ResponseWriter, r *http.Request) {
	value, err := decodeValue(r, false)
	if err != nil {
		a.respondError(w, r, err)
		return
	}
	pic, err := intake{a}.image("value", value)
	if err != nil {
		a.respondError(w, r, err)
		return
	}
	a.withAccount(w, r, func(c account.Client) error {
		if err := c.SetProfilePicture(r.Context(), pic); err != nil {
			return fmt.Errorf("set profile picture: %w", err)
		}
		writeValueTrue(w)
		return nil
	})
}
