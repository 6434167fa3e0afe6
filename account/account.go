package account

import "errors"

// Client is a linked account, reached through its instance's WhatsApp connection. Its methods go to WhatsApp (or
// its local store of what WhatsApp told it) and may block on the network; the context bounds them.
type Client interface {
	Contacts
	Chats
	Groups
	Profile
	Business
	Catalog
	Self
}

// Errors a Client answers with, besides the caller's context ending. The HTTP API maps each to a status in one
// place; anything else is a failure of the server or of WhatsApp.
var (
	// ErrNotConnected: the instance is not connected to WhatsApp now.
	ErrNotConnected = errors.New("instance is not connected")
	// ErrNotFound: WhatsApp knows no such group, contact, invite or label.
	ErrNotFound = errors.New("not found")
	// ErrNotOnWhatsApp: the phone number has no WhatsApp account.
	ErrNotOnWhatsApp = errors.New("phone number does not exist on WhatsApp")
	// ErrNotParticipant: the account is not a participant of the group.
	ErrNotParticipant = errors.New("the instance's number is not a participant of the group")
	// ErrNotAdmin: the change needs a group admin and the account is not one.
	ErrNotAdmin = errors.New("the instance's number is not an admin of the group")
	// ErrRefused: WhatsApp refused the request as it was made (a name too long, an image it cannot take…);
	// wrapped with WhatsApp's reason.
	ErrRefused = errors.New("WhatsApp refused the request")
	// ErrUnsupported: WhatsApp offers this only to accounts of another kind (a business feature on a personal
	// account), or a linked device cannot do it.
	ErrUnsupported = errors.New("not supported for this account")
)

// ErrBadPicture: a new profile or group picture that cannot be read as an image.
var ErrBadPicture = errors.New("the picture is not an image WhatsApp can take")

// Picture is a person's or a group's picture as WhatsApp serves it.
type Picture struct {
	// URL is where WhatsApp serves the picture for a few days; empty when there is none or it is hidden from this
	// account by the owner's privacy settings.
	URL string
	// ID changes whenever the picture does.
	ID string
}

// Image is a picture to set or upload, as the API took it: a URL the server fetches (already checked against its
// address policy) or the file's bytes.
type Image struct {
	URL  string
	Data []byte
}
