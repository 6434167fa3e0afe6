package events

import (
	"encoding/json"
	"fmt"
)

// ReceivedContent is the vault record of an inbound message: what a MessageReceived event's vault_key points
// to. The instance actor writes it (store.Vault.Put with [ReceivedContent.Marshal]) in the transaction that
// appends the event; the webhook dispatcher reads it when it renders a ReceivedCallback and deletes it once every
// webhook that needs it was delivered (or right away when none does).
//
// The encoding is JSON with a version field, {"v":1,"text":"…","senderName":"…","chatName":"…"}; fields that do
// not apply are omitted. Media will add fields, never change these.
type ReceivedContent struct {
	// Text is the message's text (the conversation or extended-text body; for media, the caption).
	Text string `json:"text,omitempty"`
	// SenderName is the sender's WhatsApp push name.
	SenderName string `json:"senderName,omitempty"`
	// ChatName is the chat's name as the instance knows it (the contact's name, or the group's subject).
	ChatName string `json:"chatName,omitempty"`
}

const receivedContentVersion = 1

type receivedContentV struct {
	V int `json:"v"`
	ReceivedContent
}

// Marshal encodes the record for the vault.
func (c ReceivedContent) Marshal() ([]byte, error) {
	b, err := json.Marshal(receivedContentV{V: receivedContentVersion, ReceivedContent: c})
	if err != nil {
		return nil, fmt.Errorf("marshal received content: %w", err)
	}
	return b, nil
}

// UnmarshalReceivedContent decodes a vault record written by [ReceivedContent.Marshal].
func UnmarshalReceivedContent(b []byte) (ReceivedContent, error) {
	var v receivedContentV
	if err := json.Unmarshal(b, &v); err != nil {
		return ReceivedContent{}, fmt.Errorf("unmarshal received content: %w", err)
	}
	if v.V != receivedContentVersion {
		return ReceivedContent{}, fmt.Errorf("unmarshal received content: unknown version %d", v.V)
	}
	return v.ReceivedContent, nil
}

// InboundVaultKey is the vault key of an inbound message's content. Keys start with the instance ID so that
// deleting an instance can drop its content by prefix.
func InboundVaultKey(instanceID, messageID string) string {
	return instanceID + "/in/" + messageID
}

// OutboundVaultKey is the vault key of a queued message's content.
func OutboundVaultKey(instanceID, messageID string) string {
	return instanceID + "/out/" + messageID
}

// VaultPrefix is the prefix of every vault key of an instance, for store.Vault.DeletePrefix.
func VaultPrefix(instanceID string) string {
	return instanceID + "/"
}
