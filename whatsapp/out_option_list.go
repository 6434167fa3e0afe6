package whatsapp

import (
	"context"
	"strconv"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"

	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// buildOptionList makes a text with a button that opens a list of options (a native flow single select; see
// out_buttons.go). The list's title heads its one section.
func buildOptionList(_ context.Context, _ *Conn, _ types.JID, c *messagesv1.Content, info *waE2E.ContextInfo) (*waE2E.Message, error) {
	l := c.GetOptionList()
	type row struct {
		ID          string `json:"id"`
		Title       string `json:"title"`
		Description string `json:"description,omitempty"`
	}
	rows := make([]row, len(l.GetOptions()))
	for i, o := range l.GetOptions() {
		id := o.GetId()
		if id == "" {
			id = strconv.Itoa(i + 1)
		}
		rows[i] = row{ID: id, Title: o.GetTitle(), Description: o.GetDescription()}
	}
	type section struct {
		Title string `json:"title"`
		Rows  []row  `json:"rows"`
	}
	button, err := flowButton(flowSelect, struct {
		Title    string    `json:"title"`
		Sections []section `json:"sections"`
	}{l.GetButtonLabel(), []section{{l.GetTitle(), rows}}})
	if err != nil {
		return nil, err
	}
	return nativeFlow(l.GetText(), nil, "", []*waE2E.InteractiveMessage_NativeFlowMessage_NativeFlowButton{button}, info), nil
}
