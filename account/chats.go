package account

// Chats is what a Client answers about chats: the account's conversations and what can be done to one (read, archive, mute, pin, delete).
type Chats interface {
}
