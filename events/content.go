package events

import (
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// A message's private fields (its content, and for a received one the names and pictures in it) live in the content vault,
// never in an event: the instance actor seals a message into the event's payload and the vault record, written
// in one transaction; whoever needs the whole message (the sender, the webhooks) unseals the two together. The
// vault record is the message itself with only its private fields set, in protobuf's encoding.

// Message is a message in the server's vocabulary: *messagesv1.Outbound or *messagesv1.Inbound.
type Message interface {
	*messagesv1.Outbound | *messagesv1.Inbound
	proto.Message
}

// private names each message type's private fields.
var private = map[protoreflect.FullName][]protoreflect.Name{
	(&messagesv1.Outbound{}).ProtoReflect().Descriptor().FullName(): {"content"},
	(&messagesv1.Inbound{}).ProtoReflect().Descriptor().FullName():  {"content", "sender_name", "chat_name", "external_ad", "photo", "sender_photo"},
}

// Seal splits m into the payload of its event (m without its private fields; m itself is not changed) and the
// vault record that holds them.
func Seal[M Message](m M) (public M, record []byte, err error) {
	public = proto.Clone(m).(M)
	pub := public.ProtoReflect()
	priv := pub.New()
	fields := pub.Descriptor().Fields()
	for _, name := range private[pub.Descriptor().FullName()] {
		f := fields.ByName(name)
		if pub.Has(f) {
			priv.Set(f, pub.Get(f))
			pub.Clear(f)
		}
	}
	record, err = proto.Marshal(priv.Interface())
	if err != nil {
		return public, nil, fmt.Errorf("seal message: %w", err)
	}
	return public, record, nil
}

// Unseal puts a message back together from its event's payload and its vault record.
func Unseal[M Message](public M, record []byte) (M, error) {
	m := proto.Clone(public).(M)
	if err := (proto.UnmarshalOptions{Merge: true}).Unmarshal(record, m); err != nil {
		return m, fmt.Errorf("unseal message %T: %w", m, err)
	}
	return m, nil
}

// InboundID tells received messages apart: the message ID, except for what arrives under the ID of another
// message — an edit (under the edited message's ID, as Z-API reports it) and the placeholder of a message that
// could not be decrypted yet (its content follows under the same ID) — which must be neither taken for a
// redelivery of that message nor share its vault record.
func InboundID(m *messagesv1.Inbound) string {
	switch {
	case m.GetEditId() != "":
		return m.GetMessageId() + "/edit/" + m.GetEditId()
	case m.GetWaitingMessage():
		return m.GetMessageId() + "/waiting"
	}
	return m.GetMessageId()
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

// ForwardVaultKey is the vault key of a message kept for forwarding (PLUGZAPI_FORWARD_WINDOW): WhatsApp's own
// encoding of the message, sent or received in the chat phone (as the API writes it). The chat is part of the
// key, so that a forward names the message's chat as well as its ID.
func ForwardVaultKey(instanceID, phone, messageID string) string {
	return instanceID + "/fwd/" + phone + "/" + messageID
}

// VaultPrefix is the prefix of every vault key of an instance, for store.Vault.DeletePrefix.
func VaultPrefix(instanceID string) string {
	return instanceID + "/"
}
