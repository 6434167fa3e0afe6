package account

import "context"

// Labels is what a Client does with the labels (tags) of a WhatsApp Business account. A personal account has no
// labels: its calls answer ErrUnsupported. The labels themselves are a read model kept from events.
type Labels interface {
	// LabelChat puts the label labelID on the chat phone (labeled) or takes it off. ErrNotFound when the account
	// has no such label.
	LabelChat(ctx context.Context, phone, labelID string, labeled bool) error
}
