package account

// Contacts is what a Client answers about contacts: who the account knows, whether a number is on WhatsApp, pictures and the blocklist.
type Contacts interface {
}
