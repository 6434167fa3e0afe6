package whatsapp

import (
	"context"
	"errors"
	"fmt"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"

	"github.com/plugzapi/plugzapi/account"
)

// Self describes the account's own WhatsApp profile: the push name it shows, its about text, its picture, and
// whether it is a business account (WhatsApp answers its verified name).
func (c *Conn) Self(ctx context.Context) (account.SelfProfile, error) {
	id := c.cli.Store.ID
	if id == nil || !c.cli.IsLoggedIn() {
		return account.SelfProfile{}, account.ErrNotConnected
	}
	own := id.ToNonAD()
	p := account.SelfProfile{Phone: own.User, Name: c.cli.Store.PushName, BusinessName: c.cli.Store.BusinessName}
	p.LID = lidOf(c.cli.Store.GetLID().ToNonAD())
	infos, err := c.cli.GetUserInfo(ctx, []types.JID{own})
	if err != nil {
		return account.SelfProfile{}, fmt.Errorf("own profile: %w", err)
	}
	p.About = infos[own].Status
	// whatsmeow keeps the verified business name the answer carried in its contact store, not in the UserInfo.
	// It never forgets one, so an account that stopped being a business still shows as one.
	if known, err := c.knownContacts(ctx); err == nil && known[own].BusinessName != "" {
		p.Business, p.BusinessName = true, known[own].BusinessName
	}
	pic, err := c.cli.GetProfilePictureInfo(ctx, own, &whatsmeow.GetProfilePictureParams{})
	switch {
	case errors.Is(err, whatsmeow.ErrProfilePictureNotSet):
	case err != nil:
		return account.SelfProfile{}, fmt.Errorf("own profile picture: %w", err)
	case pic != nil:
		p.Picture = account.Picture{URL: pic.URL, ID: pic.ID}
	}
	return p, nil
}
