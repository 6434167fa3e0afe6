package wasim

import (
	"fmt"
	"runtime/debug"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
)

// stanzaHandler handles one top-level stanza (by tag) from a client connection. It
// runs on the connection's reader, so stanzas of one connection are handled in order;
// it must not block on the network.
type stanzaHandler func(c *conn, node *waBinary.Node)

// iqHandler answers one IQ namespace. It returns the children of the result, or an
// error: an *iqError becomes that error answer, anything else a 500. The router always
// answers, so a client never waits for an IQ the simulator forgot.
type iqHandler func(c *conn, iq *waBinary.Node) ([]waBinary.Node, error)

type iqRoute struct {
	handle iqHandler
	// preLogin allows the namespace before the client logged in (keepalive, pairing).
	preLogin bool
}

// messageRoute routes a <message> whose destination is on one server (users, groups…).
// It must acknowledge the message to the sender (see ackMessage).
type messageRoute func(c *conn, sender *device, msg *waBinary.Node, to types.JID)

// receiptRoute relays a <receipt> whose destination is on one server.
type receiptRoute func(sender *device, receipt *waBinary.Node, to types.JID)

// chatstateRoute relays a <chatstate> (typing) whose destination is on one server.
type chatstateRoute func(sender *device, state *waBinary.Node, to types.JID)

// routes is the dispatch table. Every feature registers its handlers in its own
// register function, called from newRoutes; it is read-only once Start returns.
type routes struct {
	stanzas    map[string]stanzaHandler
	iqs        map[string]iqRoute // by xmlns
	messages   map[string]messageRoute
	receipts   map[string]receiptRoute
	chatstates map[string]chatstateRoute
	usync      map[string]usyncQuery // by query child tag
}

func (s *Simulator) newRoutes() *routes {
	r := &routes{
		stanzas:    make(map[string]stanzaHandler),
		iqs:        make(map[string]iqRoute),
		messages:   make(map[string]messageRoute),
		receipts:   make(map[string]receiptRoute),
		chatstates: make(map[string]chatstateRoute),
		usync:      make(map[string]usyncQuery),
	}
	r.stanzas["iq"] = s.handleIQ
	s.registerPairing(r)
	s.registerKeys(r)
	s.registerUsync(r)
	s.registerMessages(r)
	s.registerReceipts(r)
	s.registerPresence(r)
	s.registerAccountIQs(r)
	s.registerMedia(r)
	s.registerGroups(r)
	s.registerProfiles(r)
	s.registerAppState(r)
	s.registerStatus(r)
	s.registerCatalog(r)
	return r
}

func (r *routes) iq(xmlns string, h iqHandler) { r.iqs[xmlns] = iqRoute{handle: h} }

func (r *routes) preLoginIQ(xmlns string, h iqHandler) {
	r.iqs[xmlns] = iqRoute{handle: h, preLogin: true}
}

// iqError is an error answer to an IQ.
type iqError struct {
	code int
	text string
}

func (e *iqError) Error() string { return fmt.Sprintf("iq error %d %s", e.code, e.text) }

var (
	errIQBadRequest     = &iqError{400, "bad-request"}
	errIQNotAuthorized  = &iqError{401, "not-authorized"}
	errIQForbidden      = &iqError{403, "forbidden"}
	errIQNotFound       = &iqError{404, "item-not-found"}
	errIQNotImplemented = &iqError{501, "feature-not-implemented"}
)

// dispatch hands a decoded stanza to its handler. A panic in a handler is a
// simulator bug; it is logged and the connection is dropped rather than taking the
// whole simulator down.
func (s *Simulator) dispatch(c *conn, node *waBinary.Node) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("panic while handling stanza", "tag", node.Tag, "panic", r, "stack", string(debug.Stack()))
			c.closeNow("internal error")
		}
	}()
	h, ok := s.routes.stanzas[node.Tag]
	if !ok {
		c.log.Debug("ignoring stanza", "tag", node.Tag)
		return
	}
	h(c, node)
}

func (s *Simulator) handleIQ(c *conn, node *waBinary.Node) {
	typ, _ := node.Attrs["type"].(string)
	if typ == "result" || typ == "error" {
		if !c.resolveWaiter(node) {
			c.log.Debug("ignoring unsolicited iq answer", "id", node.Attrs["id"])
		}
		return
	}
	id, ok := node.Attrs["id"].(string)
	if !ok || id == "" {
		c.log.Warn("ignoring iq without id", "node", node.XMLString())
		return
	}
	xmlns, _ := node.Attrs["xmlns"].(string)
	route, known := s.routes.iqs[xmlns]
	var content []waBinary.Node
	var err error
	switch {
	case !known:
		err = errIQNotImplemented
	case !route.preLogin && s.loggedInDevice(c) == nil:
		err = errIQNotAuthorized
	default:
		content, err = route.handle(c, node)
	}
	if err == errSilence {
		return
	}
	s.answerIQ(c, node, content, err)
}

// errSilence is returned by a handler that deliberately leaves an IQ unanswered
// (the keepalive fault).
var errSilence = &iqError{0, "silence"}

func (s *Simulator) answerIQ(c *conn, req *waBinary.Node, content []waBinary.Node, err error) {
	from := types.ServerJID
	if to, ok := req.Attrs["to"].(types.JID); ok {
		from = to
	}
	attrs := waBinary.Attrs{"id": req.Attrs["id"], "from": from, "type": "result"}
	resp := waBinary.Node{Tag: "iq", Attrs: attrs}
	if err != nil {
		ie, ok := err.(*iqError)
		if !ok {
			c.log.Error("iq handler failed", "xmlns", req.Attrs["xmlns"], "err", err)
			ie = &iqError{500, "internal-server-error"}
		}
		attrs["type"] = "error"
		resp.Content = []waBinary.Node{{Tag: "error", Attrs: waBinary.Attrs{"code": ie.code, "text": ie.text}}}
	} else if len(content) > 0 {
		resp.Content = content
	}
	if err := c.send(resp); err != nil {
		c.log.Error("cannot answer iq", "err", err)
	}
}

// loggedInDevice returns the device logged in on c, or nil.
func (s *Simulator) loggedInDevice(c *conn) *device {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !c.loggedIn || c.dev == nil || c.dev.removed {
		return nil
	}
	return c.dev
}

// bytesContent returns a node's content as bytes; clients send some contents as
// strings (the token encoder decides), so both are accepted.
func bytesContent(n waBinary.Node) ([]byte, bool) {
	switch v := n.Content.(type) {
	case []byte:
		return v, true
	case string:
		return []byte(v), true
	}
	return nil, false
}

// marshalNode encodes a stanza. whatsmeow's encoder panics on attribute values of
// an unsupported type; that is turned into an error here.
func marshalNode(n waBinary.Node) (data []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("encode <%s>: %v", n.Tag, r)
		}
	}()
	return waBinary.Marshal(n)
}

// childrenOf returns a node's child elements (GetChildren needs an addressable node).
func childrenOf(n waBinary.Node) []waBinary.Node { return n.GetChildren() }
