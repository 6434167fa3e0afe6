package wasim

import (
	"sync"

	waBinary "go.mau.fi/whatsmeow/binary"
)

// Interactive messages (buttons, lists, payment buttons) are end-to-end encrypted like any other, so WhatsApp's
// server cannot see them; what it sees is the <biz> node the sender's client adds to the stanza, naming the
// native flow. As measured on WhatsApp (whatsmeow pull request 1235): a <biz><interactive> without its
// <native_flow> is refused with 479; a message without any <biz> node is delivered and the recipients' apps show
// nothing. The simulator refuses the first, and remembers which messages declared a flow, so that a phone shows
// an interactive message without one as hidden.

// maxFlows bounds how many messages' flows the simulator remembers.
const maxFlows = 4096

// bizFlows are the native flows messages declared, by message ID; the zero value is ready.
type bizFlows struct {
	mu    sync.Mutex
	byID  map[string]string
	order []string
}

func (f *bizFlows) note(id, flow string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.byID == nil {
		f.byID = make(map[string]string)
	}
	if _, ok := f.byID[id]; !ok {
		f.order = append(f.order, id)
	}
	f.byID[id] = flow
	if len(f.order) > maxFlows {
		delete(f.byID, f.order[0])
		f.order = f.order[1:]
	}
}

func (f *bizFlows) flow(id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.byID[id]
}

// checkInteractive looks at a message stanza's <biz> node: it returns the error code WhatsApp refuses a
// malformed one with, or 0, and notes the flow a well-formed one declares.
func (s *Simulator) checkInteractive(id string, node *waBinary.Node) int {
	biz, ok := node.GetOptionalChildByTag("biz")
	if !ok {
		return 0
	}
	interactive, ok := biz.GetOptionalChildByTag("interactive")
	if !ok {
		return 0 // the <biz> of the old buttons and lists, which whatsmeow adds itself
	}
	flow, ok := interactive.GetOptionalChildByTag("native_flow")
	name, _ := flow.Attrs["name"].(string)
	if !ok || name == "" {
		return errSmaxInvalid
	}
	s.flows.note(id, name)
	return 0
}
