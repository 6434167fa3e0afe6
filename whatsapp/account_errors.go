package whatsapp

import (
	"context"
	"errors"
	"fmt"

	"go.mau.fi/whatsmeow"

	"github.com/plugzapi/plugzapi/account"
)

// accountError says what failed while doing what, and maps whatsmeow's errors and WhatsApp's info-query errors
// to the account errors the API answers with, keeping WhatsApp's own words beside them. The IQ codes are read as
// the group (w:g2) and picture namespaces use them: 404 no such thing, 403 not a participant, 401 not allowed
// (an admin's right); any other IQ error is WhatsApp refusing the request as it was made.
func accountError(doing string, err error) error {
	if err == nil {
		return nil
	}
	var mapped error
	var iq *whatsmeow.IQError
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: %w", doing, err)
	case errors.Is(err, whatsmeow.ErrNotConnected), errors.Is(err, whatsmeow.ErrNotLoggedIn),
		errors.Is(err, whatsmeow.ErrIQDisconnected):
		mapped = account.ErrNotConnected
	case errors.Is(err, ErrNotOnWhatsApp):
		mapped = account.ErrNotOnWhatsApp
	case errors.Is(err, whatsmeow.ErrInvalidImageFormat):
		mapped = account.ErrBadPicture
	case errors.Is(err, whatsmeow.ErrGroupNotFound), errors.Is(err, whatsmeow.ErrInviteLinkInvalid),
		errors.Is(err, whatsmeow.ErrInviteLinkRevoked), errors.Is(err, whatsmeow.ErrIQNotFound):
		mapped = account.ErrNotFound
	case errors.Is(err, whatsmeow.ErrNotInGroup), errors.Is(err, whatsmeow.ErrIQForbidden):
		mapped = account.ErrNotParticipant
	case errors.Is(err, whatsmeow.ErrGroupInviteLinkUnauthorized), errors.Is(err, whatsmeow.ErrIQNotAuthorized):
		mapped = account.ErrNotAdmin
	case errors.As(err, &iq):
		mapped = account.ErrRefused
	default:
		return fmt.Errorf("%s: %w", doing, err)
	}
	return fmt.Errorf("%s: %w: %w", doing, mapped, err)
}
