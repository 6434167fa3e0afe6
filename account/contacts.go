package account

import "context"

// Contacts is what a Client answers about contacts: who the account knows, whether a number is on WhatsApp, pictures and the blocklist.
//
// People are named by phone number; a person WhatsApp gave only by LID is "<digits>@lid".
type Contacts interface {
	// PhonesExist asks WhatsApp which of the phones have an account, answering in the order asked.
	PhonesExist(ctx context.Context, phones []string) ([]PhoneExists, error)
	// ContactList is every person the account knows a name of: the contacts saved on its phone, the people whose
	// push names reached it, the business names it saw. Ordered by phone.
	ContactList(ctx context.Context) ([]Contact, error)
	// Contact is what the account knows of one person; ErrNotOnWhatsApp when the phone has no account.
	Contact(ctx context.Context, phone string) (Contact, error)
	// ContactPicture is a person's profile picture as the account may see it: an empty Picture when there is none
	// or its owner hides it.
	ContactPicture(ctx context.Context, phone string) (Picture, error)
	// SetBlocked blocks or unblocks a person: WhatsApp delivers no message of a blocked person to the account.
	SetBlocked(ctx context.Context, phone string, blocked bool) error
}

// PhoneExists is WhatsApp's answer about one phone number.
type PhoneExists struct {
	// Phone is the number as asked.
	Phone  string
	Exists bool
	// Account is the number of the account WhatsApp knows it as (Brazil's ninth digit may differ from Phone), and
	// LID its LID when WhatsApp gave it; both empty when it does not exist.
	Account, LID string
}

// Contact is a person the account knows, with the names it knows them by ("" when unknown).
type Contact struct {
	Phone string
	// LID is the person's LID when known.
	LID string
	// Name is the full name the account's phone saved the person under, Short the first name.
	Name, Short string
	// Notify is the push name: the name the person gave themself on WhatsApp.
	Notify string
	// VName is the verified name of a business account.
	VName string
}
