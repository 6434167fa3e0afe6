package webhooks

import (
	"errors"

	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// receivedContent is the content object of a ReceivedCallback, as PlugZapi names it: exactly one is set.
type receivedContent struct {
	Text *textContent `json:"text,omitempty"`
	// A content the server does not render yet: PlugZapi's system-event fields, which consumers ignore when they
	// do not know the code, naming WhatsApp's type of the content.
	Notification           string   `json:"notification,omitempty"`
	NotificationParameters []string `json:"notificationParameters,omitempty"`
}

type textContent struct {
	Message string `json:"message"`
}

// notificationUnsupported is the notification of a received message whose content is not rendered yet.
const notificationUnsupported = "MESSAGE_TYPE_NOT_SUPPORTED"

// renderContent sets the content object of a received message.
func renderContent(out *receivedPayload, m *messagesv1.Inbound) error {
	switch c := m.GetContent().GetKind().(type) {
	case *messagesv1.Content_Text:
		out.Text = &textContent{Message: c.Text.GetBody()}
	case nil:
		if m.GetType() != messagesv1.Kind_KIND_OTHER {
			return errors.New("received message without its content")
		}
		out.Notification, out.NotificationParameters = notificationUnsupported, []string{m.GetContentType()}
	default:
		return errors.New("received message of a kind with no rendering")
	}
	return nil
}
