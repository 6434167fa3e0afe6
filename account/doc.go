// Package account is the vocabulary of what a linked WhatsApp account holds and can be asked for beyond messages:
// its contacts, chats, groups, profile and business data. The HTTP API asks in these words and the whatsapp
// adapter answers in them, so neither knows the other: an instance's account is reached through its connection
// (actors.System.Account), and only package whatsapp knows how WhatsApp itself is asked.
//
// Phones are digits with country code, as the API writes them; groups are the API's group IDs
// ("120363019502650977-group"); LIDs are written with their "@lid" suffix where they stand beside a phone.
//
// It imports nothing of the module: it is a leaf, like proto and recipient.
package account
