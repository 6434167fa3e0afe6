package whatsapp

import (
	"context"
	"errors"
	"fmt"

	"go.mau.fi/whatsmeow/appstate"
	"go.mau.fi/whatsmeow/types"

	"github.com/plugzapi/plugzapi/account"
	"github.com/plugzapi/plugzapi/media"
	"github.com/plugzapi/plugzapi/netguard"
)

var _ account.Profile = (*Conn)(nil)

// pictureSide is the side of the square pictures WhatsApp's clients upload.
const pictureSide = 640

// SetProfileName writes the push name into the account's app state, where the phone and the other linked devices
// read it (whatsmeow reads it back at once, and keeps it in its store), then announces it in a presence: WhatsApp
// takes the name its contacts see beside the account's messages from the latest presence, so without one they
// would keep seeing the old name.
func (c *Conn) SetProfileName(ctx context.Context, name string) error {
	if err := c.cli.SendAppState(ctx, appstate.BuildSettingPushName(name)); err != nil {
		return accountError("set the profile name", err)
	}
	c.p.mu.Lock()
	c.p.pushName = name
	online := c.p.online
	c.p.mu.Unlock()
	// The presence the device shows already, with the new name: announcing a name must not make it available.
	state := types.PresenceUnavailable
	if online {
		state = types.PresenceAvailable
	}
	if err := c.cli.SendPresence(ctx, state); err != nil {
		return accountError("announce the profile name", err)
	}
	return nil
}

// SetProfileDescription sets the "about" text.
func (c *Conn) SetProfileDescription(ctx context.Context, text string) error {
	if err := c.cli.SetStatusMessage(ctx, text); err != nil {
		return accountError("set the profile description", err)
	}
	return nil
}

// SetProfilePicture sets the account's picture. whatsmeow has no call of its own for it: its group picture call,
// with the account's own JID as the target, sends the w:profile:picture IQ that sets it (WhatsApp Web sends the
// same IQ without a target).
func (c *Conn) SetProfilePicture(ctx context.Context, picture account.Image) error {
	data, err := c.imageData(ctx, picture)
	if err != nil {
		return err
	}
	jpeg, err := media.SquareJPEG(data, pictureSide)
	if err != nil {
		return fmt.Errorf("%w: %v", account.ErrBadPicture, err)
	}
	own := c.cli.Store.ID
	if own == nil {
		return account.ErrNotConnected
	}
	if _, err := c.cli.SetGroupPhoto(ctx, own.ToNonAD(), jpeg); err != nil {
		return accountError("set the profile picture", err)
	}
	// The webhooks of what the account sends show its new picture from now on.
	c.photos.forget(own.ToNonAD(), c.cli.Store.GetLID())
	return nil
}

// imageData is a picture's bytes, fetched from its URL under the server's address policy when it was given by
// one; account.ErrBadPicture when it cannot be had.
func (c *Conn) imageData(ctx context.Context, img account.Image) ([]byte, error) {
	if img.URL == "" {
		return img.Data, nil
	}
	fetched, err := c.files.Fetcher.Fetch(ctx, img.URL, c.files.Limits.Of(media.Image))
	var failed *netguard.FetchError
	if errors.As(err, &failed) {
		return nil, fmt.Errorf("%w: %s", account.ErrBadPicture, failed.Reason)
	}
	if err != nil {
		return nil, fmt.Errorf("fetch the picture: %w", err)
	}
	return fetched.Data, nil
}
