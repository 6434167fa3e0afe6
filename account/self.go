package account

import "context"

// Self is what a Client answers about the account itself: its WhatsApp profile as its contacts see it.
type Self interface {
	// Self describes the account's own profile.
	Self(ctx context.Context) (SelfProfile, error)
}

// SelfProfile is the account's WhatsApp profile.
type SelfProfile struct {
	// Phone is the account's number (digits); LID its LID ("<digits>@lid"), when known.
	Phone, LID string
	// Name is the push name the account shows to others.
	Name string
	// About is the account's about (status) text.
	About string
	// Picture is the account's profile picture; its URL is empty when none is set.
	Picture Picture
	// Business is set for a WhatsApp Business account; BusinessName is its verified name.
	Business     bool
	BusinessName string
}
