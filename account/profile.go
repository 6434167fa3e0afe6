package account

import "context"

// Profile is what a Client answers about profile: the account's own name, picture and description.
type Profile interface {
	// SetProfileName sets the account's push name: the name its contacts see beside its messages.
	SetProfileName(ctx context.Context, name string) error
	// SetProfileDescription sets the account's "about" text.
	SetProfileDescription(ctx context.Context, text string) error
	// SetProfilePicture sets the account's picture: any image, made into the square JPEG WhatsApp takes.
	SetProfilePicture(ctx context.Context, picture Image) error
}
