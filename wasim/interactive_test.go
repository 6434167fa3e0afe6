package wasim_test

import (
	"errors"
	"strings"
	"testing"

	"go.mau.fi/whatsmeow"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"google.golang.org/protobuf/proto"

	"github.com/plugzapi/plugzapi/wasim"
)

// TestInteractiveFlows: an interactive message is refused with 479 when its <biz><interactive> lacks the native
// flow; delivered and shown with one; delivered and hidden without any <biz> node (WhatsApp's behaviour).
func TestInteractiveFlows(t *testing.T) {
	sim := startSim(t, wasim.Options{})
	alice := addAccount(t, sim, "Alice")
	bob := addAccount(t, sim, "Bob")
	c := newClient(t, sim)
	c.link(alice)
	ctx := testContext(t)
	buttons := &waE2E.Message{InteractiveMessage: &waE2E.InteractiveMessage{
		Body: &waE2E.InteractiveMessage_Body{Text: proto.String("Ok?")},
		InteractiveMessage: &waE2E.InteractiveMessage_NativeFlowMessage_{NativeFlowMessage: &waE2E.InteractiveMessage_NativeFlowMessage{
			Buttons: []*waE2E.InteractiveMessage_NativeFlowMessage_NativeFlowButton{{
				Name: proto.String("quick_reply"), ButtonParamsJSON: proto.String(`{"display_text":"Yes","id":"y"}`)}},
		}},
	}}
	biz := func(flow ...waBinary.Node) *[]waBinary.Node {
		return &[]waBinary.Node{{Tag: "biz", Content: []waBinary.Node{{
			Tag: "interactive", Attrs: waBinary.Attrs{"type": "native_flow", "v": "1"}, Content: flow}}}}
	}

	_, err := c.cli.SendMessage(ctx, bob.JID(), buttons, whatsmeow.SendRequestExtra{AdditionalNodes: biz()})
	if !errors.Is(err, whatsmeow.ErrServerReturnedError) || !containsCode(err, "479") {
		t.Errorf("a <biz><interactive> without its flow: %v, want a 479 refusal", err)
	}

	flow := waBinary.Node{Tag: "native_flow", Attrs: waBinary.Attrs{"v": "9", "name": "mixed"}}
	resp, err := c.cli.SendMessage(ctx, bob.JID(), buttons, whatsmeow.SendRequestExtra{AdditionalNodes: biz(flow)})
	if err != nil {
		t.Fatal(err)
	}
	got := waitInbox(t, bob, resp.ID)
	if in := got.Interactive; got.Type != "interactive" || got.Text != "Ok?" || in == nil || in.Hidden || in.Flow != "mixed" ||
		len(in.Buttons) != 1 || in.Buttons[0].Name != "quick_reply" || in.Buttons[0].Params["id"] != "y" {
		t.Errorf("with its flow, Bob's phone shows %+v (interactive %+v)", got, got.Interactive)
	}

	resp, err = c.cli.SendMessage(ctx, bob.JID(), buttons)
	if err != nil {
		t.Fatal(err)
	}
	if got := waitInbox(t, bob, resp.ID); got.Interactive == nil || !got.Interactive.Hidden {
		t.Errorf("without a <biz> node, Bob's phone shows %+v (interactive %+v), want it hidden", got, got.Interactive)
	}
}

func containsCode(err error, code string) bool {
	for ; err != nil; err = errors.Unwrap(err) {
		if strings.HasSuffix(err.Error(), code) {
			return true
		}
	}
	return false
}
