package account

import "context"

// Chats is what a Client answers about chats: the account's conversations and what can be done to one (read,
// archive, mute, pin, delete). The chat list itself is a read model kept from events (what WhatsApp told the
// account), not a Client question; the names of the chats are not in events, and come from here.
type Chats interface {
	// ChatNames names the chats phones (as ModifyChat takes them) as the account knows them: a contact's name
	// (saved, business or push name), a group's subject. A chat without a known name is not in the map. It
	// answers from what the WhatsApp client stored, asking WhatsApp only for a group subject it never saw.
	ChatNames(ctx context.Context, phones []string) (map[string]string, error)
	// ModifyChat does action to the chat phone (a phone number, a group ID or "<digits>@lid"), as the account's
	// own apps do: it is written to the account's synced app state, so that the phone and every other device of
	// the account apply it too.
	ModifyChat(ctx context.Context, phone string, action ChatAction) error
}

// ChatAction is what ModifyChat does to a chat: PlugZapi's actions and Z-API's additions.
type ChatAction string

// The chat actions. Delete removes the chat from the account's chat list (it comes back with its next message);
// Clear deletes its messages and keeps the chat.
const (
	ChatRead      ChatAction = "read"
	ChatUnread    ChatAction = "unread"
	ChatArchive   ChatAction = "archive"
	ChatUnarchive ChatAction = "unarchive"
	ChatDelete    ChatAction = "delete"
	ChatClear     ChatAction = "clear"
	ChatMute      ChatAction = "mute"
	ChatUnmute    ChatAction = "unmute"
	ChatPin       ChatAction = "pin"
	ChatUnpin     ChatAction = "unpin"
)

// ChatActions lists every ChatAction, in the order the API documents them.
var ChatActions = []ChatAction{ChatRead, ChatUnread, ChatArchive, ChatUnarchive, ChatDelete, ChatClear, ChatMute,
	ChatUnmute, ChatPin, ChatUnpin}
