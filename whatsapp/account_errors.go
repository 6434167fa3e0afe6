package whatsapp

import (
	"errors"
	"fmt"

	"go.mau.fi/whatsmeow"

	"github.com/plugzapi/plugzapi/account"
)

// accountError turns what whatsmeow answered to an account request into the account package's words (see
// account.Client), wrapped with what was being done. An error it does not know stays as it is; nil stays nil.
func accountError(doing string, err error) error {
	if err == nil {
		return nil
	}
	var known error
	var disconnected *whatsmeow.DisconnectedError
	switch {
	case errors.Is(err, whatsmeow.ErrNotConnected), errors.Is(err, whatsmeow.ErrNotLoggedIn), errors.As(err, &disconnected):
		known = account.ErrNotConnected
	case errors.Is(err, ErrNotOnWhatsApp):
		known = account.ErrNotOnWhatsApp
	case errors.Is(err, whatsmeow.ErrIQNotFound):
		known = account.ErrNotFound
	case errors.Is(err, whatsmeow.ErrIQBadRequest), errors.Is(err, whatsmeow.ErrIQNotAcceptable):
		known = account.ErrRefused
	default:
		return fmt.Errorf("%s: %w", doing, err)
	}
	return fmt.Errorf("%s: %w (%v)", doing, known, err)
}
