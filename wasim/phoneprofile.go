package wasim

import (
	"context"
	"errors"
	"fmt"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"
)

// SetProfilePicture sets this account's profile picture from its phone (a JPEG; nil
// removes it) and returns the new picture id ("" when removed). Contacts see it
// through GetProfilePictureInfo and GetUserInfo.
func (a *Account) SetProfilePicture(ctx context.Context, jpeg []byte) (string, error) {
	if jpeg != nil && (!isJPEG(jpeg) || len(jpeg) > maxPictureSize) {
		return "", fmt.Errorf("set profile picture: %w: not a JPEG of at most %d bytes", ErrInvalidArgument, maxPictureSize)
	}
	e, err := a.ready(ctx)
	if err != nil {
		return "", fmt.Errorf("set profile picture: %w", err)
	}
	// whatsmeow has no call for one's own picture; its group photo call sends the
	// same IQ, with the account's own JID as the target.
	id, err := e.cli.SetGroupPhoto(ctx, a.jid, jpeg)
	switch {
	case errors.Is(err, whatsmeow.ErrInvalidImageFormat):
		return "", fmt.Errorf("set profile picture: %w: %v", ErrInvalidArgument, err)
	case err != nil:
		return "", fmt.Errorf("set profile picture: %w", err)
	case jpeg == nil:
		return "", nil
	}
	return id, nil
}

// SetPrivacy changes one of this account's privacy settings from its phone, e.g.
// "profile" to "none" hides its picture from everyone else.
func (a *Account) SetPrivacy(ctx context.Context, setting types.PrivacySettingType, value types.PrivacySetting) error {
	e, err := a.ready(ctx)
	if err != nil {
		return fmt.Errorf("set privacy: %w", err)
	}
	if _, err := e.cli.SetPrivacySetting(ctx, setting, value); err != nil {
		return fmt.Errorf("set privacy %s: %w", setting, err)
	}
	return nil
}

// SetStatus sets this account's "about" text from its phone.
func (a *Account) SetStatus(ctx context.Context, text string) error {
	e, err := a.ready(ctx)
	if err != nil {
		return fmt.Errorf("set status: %w", err)
	}
	if err := e.cli.SetStatusMessage(ctx, text); err != nil {
		return fmt.Errorf("set status: %w", err)
	}
	return nil
}

// SetPresence makes this account's phone announce itself available (online) or
// unavailable. Clients subscribed to the account's presence get events.Presence;
// while no device of the account is available, it shows its last-seen time. (The
// phone stays connected either way; SetOnline disconnects it.)
func (a *Account) SetPresence(ctx context.Context, available bool) error {
	e, err := a.ready(ctx)
	if err != nil {
		return fmt.Errorf("set presence: %w", err)
	}
	state := types.PresenceUnavailable
	if available {
		state = types.PresenceAvailable
	}
	e.setState(func() { e.away = !available })
	if err := e.cli.SendPresence(ctx, state); err != nil {
		return fmt.Errorf("set presence %s: %w", state, err)
	}
	return nil
}

// SubscribePresence makes this account's phone subscribe to the presence of a
// phone number: the phone is told at once whether it is online, then of every
// change, while its connection lasts (see Presences).
func (a *Account) SubscribePresence(ctx context.Context, phone string) error {
	jid, err := parseChat(phone)
	if err != nil || jid.Server != types.DefaultUserServer {
		return fmt.Errorf("subscribe presence: %w: %q is not a phone number", ErrInvalidArgument, phone)
	}
	e, err := a.ready(ctx)
	if err != nil {
		return fmt.Errorf("subscribe presence: %w", err)
	}
	if err := e.cli.SubscribePresence(ctx, jid); err != nil {
		return fmt.Errorf("subscribe presence of %s: %w", jid, err)
	}
	return nil
}

// Status returns the account's "about" text.
func (a *Account) Status() string {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	return a.status
}

// PictureID returns the id of the account's profile picture, "" when none is set.
func (a *Account) PictureID() string {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	return a.picture
}

// Available reports whether the account shows as online: one of its connected
// devices last announced itself available.
func (a *Account) Available() bool {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	return a.available
}

// SeenProfile is what an account's phone sees of another account's profile.
type SeenProfile struct {
	// PushName is the name the other account last showed beside a message to this one ("" before any).
	PushName string `json:"pushName"`
	// About is its "about" text.
	About string `json:"about"`
	// PictureID and PictureURL name its picture, empty when it has none or hides it from this account.
	PictureID  string `json:"pictureId"`
	PictureURL string `json:"pictureUrl"`
}

// SeenProfile has this account's phone look at another account's profile, as a person
// opens a contact's info: the push name its messages carried, and the about text and
// picture WhatsApp gives this account (GetUserInfo, GetProfilePictureInfo).
func (a *Account) SeenProfile(ctx context.Context, phone string) (SeenProfile, error) {
	jid, err := parseChat(phone)
	if err != nil || jid.Server != types.DefaultUserServer {
		return SeenProfile{}, fmt.Errorf("seen profile: %w: %q is not a phone number", ErrInvalidArgument, phone)
	}
	e, err := a.ready(ctx)
	if err != nil {
		return SeenProfile{}, fmt.Errorf("seen profile: %w", err)
	}
	var seen SeenProfile
	// GetAllContacts, not GetContact: this whatsmeow's GetContact copies its cache entry after unlocking it.
	if known, err := e.cli.Store.Contacts.GetAllContacts(ctx); err == nil {
		seen.PushName = known[jid].PushName
	}
	info, err := e.cli.GetUserInfo(ctx, []types.JID{jid})
	if err != nil {
		return SeenProfile{}, fmt.Errorf("seen profile of %s: %w", phone, err)
	}
	seen.About = info[jid].Status
	pic, err := e.cli.GetProfilePictureInfo(ctx, jid, &whatsmeow.GetProfilePictureParams{})
	switch {
	case errors.Is(err, whatsmeow.ErrProfilePictureNotSet), errors.Is(err, whatsmeow.ErrProfilePictureUnauthorized):
	case err != nil:
		return SeenProfile{}, fmt.Errorf("seen picture of %s: %w", phone, err)
	case pic != nil:
		seen.PictureID, seen.PictureURL = pic.ID, pic.URL
	}
	return seen, nil
}

// Blocked lists the phone numbers the account blocked, in the order it blocked them.
func (a *Account) Blocked() []string {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	out := make([]string, len(a.blocked))
	for i, j := range a.blocked {
		out[i] = j.User
	}
	return out
}
