package whatsapp

import (
	"context"
	"fmt"

	"go.mau.fi/whatsmeow/appstate"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/plugzapi/plugzapi/account"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
)

// Labels (tags) belong to WhatsApp Business accounts. They live in the account's app state like chat settings:
// the business app creates and edits them there (label edit) and puts them on chats (label association), and
// every device applies the same mutations. WhatsApp tells a business account so when it is linked (the business
// name of pair-success, kept in whatsmeow's store).

// LabelsChanged says labels were created, edited or deleted.
type LabelsChanged struct{ Labels *eventsv1.LabelsChanged }

// ChatLabeled says a label was put on a chat or taken off it.
type ChatLabeled struct{ Labeled *eventsv1.ChatLabeled }

func (LabelsChanged) isEvent() {}
func (ChatLabeled) isEvent()   {}

// LabelChat puts the label labelID on the chat phone, or takes it off. A personal account has no labels
// (account.ErrUnsupported). As ModifyChat, the change is stored as an event before LabelChat returns.
func (c *Conn) LabelChat(ctx context.Context, phone, labelID string, labeled bool) error {
	doing := fmt.Sprintf("label chat %s with %s", phone, labelID)
	if !labeled {
		doing = fmt.Sprintf("take label %s off chat %s", labelID, phone)
	}
	if !c.cli.IsLoggedIn() {
		return accountError(doing, account.ErrNotConnected)
	}
	if c.cli.Store.BusinessName == "" {
		return fmt.Errorf("%s: labels are for WhatsApp Business accounts: %w", doing, account.ErrUnsupported)
	}
	chat, name, err := c.appStateChat(ctx, phone)
	if err != nil {
		return fmt.Errorf("%s: %w", doing, err)
	}
	return c.writeAppState(ctx, doing, appstate.BuildLabelChat(chat, labelID, labeled), labelChatKey(labelID, chat),
		ChatLabeled{&eventsv1.ChatLabeled{Phone: name, LabelId: labelID, Labeled: labeled}})
}

// labelChange translates the app state's label mutations, false for anything else.
func (tr translator) labelChange(evt any) (Event, bool) {
	switch e := evt.(type) {
	case *events.LabelEdit:
		a := e.Action
		return LabelsChanged{&eventsv1.LabelsChanged{Labels: []*eventsv1.Label{{
			Id: e.LabelID, Name: a.GetName(), Color: a.GetColor(), Deleted: a.GetDeleted()}}}}, true
	case *events.LabelAssociationChat:
		chat, _ := tr.person(e.JID, types.EmptyJID)
		return ChatLabeled{&eventsv1.ChatLabeled{Phone: phoneOf(chat), LabelId: e.LabelID,
			Labeled: e.Action.GetLabeled()}}, true
	}
	return nil, false
}
