package wasim

import (
	"context"
	"crypto/cipher"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waWa6"
)

const (
	// readLimit is the largest websocket message accepted: one maximal frame plus its
	// length prefix and the connection header. coder/websocket's default of 32 KiB is
	// far too small (the first prekey upload alone is about 40 KB).
	readLimit = frameMaxSize + frameLengthSize + 4
	// handshakeTimeout matches whatsmeow's own limit for the server's answer.
	handshakeTimeout = 20 * time.Second
	// writeTimeout bounds one websocket write, so a peer that stopped reading cannot
	// hold a writer forever.
	writeTimeout = 30 * time.Second
)

// conn is one client websocket connection. Its reader runs on the HTTP handler's
// goroutine and dispatches stanzas in order; its writer goroutine owns the write
// cipher and drains an unbounded outbox, so routing a stanza to a slow peer never
// blocks the connection that sent it.
type conn struct {
	s      *Simulator
	id     uint64
	ws     *websocket.Conn
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc

	dec          *frameDecoder
	inFrames     [][]byte // decoded frames not yet consumed by the reader
	readKey      cipher.AEAD
	readCounter  uint32
	writeKey     cipher.AEAD
	writeCounter uint32

	// Set by the handshake, before any other goroutine sees the connection.
	clientStatic [32]byte
	payload      *waWa6.ClientPayload

	outMu   sync.Mutex
	out     []outFrame
	closing bool // a close is queued; later stanzas are dropped
	outWake chan struct{}

	waitMu  sync.Mutex
	waiters map[string]chan *waBinary.Node

	writerDone chan struct{}

	// Guarded by s.mu.
	dev      *device       // the logged-in device, nil before login
	reg      *registration // the registration payload of a client that is not paired yet
	pairing  bool          // a phone is completing a pairing with this connection
	loggedIn bool
}

// outFrame is a plaintext stanza for the writer, or a request to close the socket
// once everything before it is written.
type outFrame struct {
	data       []byte
	closeAfter time.Duration
	close      bool
}

func (s *Simulator) serveWebsocket(w http.ResponseWriter, r *http.Request) {
	if !s.track() {
		http.Error(w, "simulator closed", http.StatusServiceUnavailable)
		return
	}
	defer s.wg.Done()
	// Origin is always https://web.whatsapp.com while Host is whatever the client's
	// transport sent; there is no browser here whose cross-origin use we must prevent.
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		s.log.Debug("websocket upgrade failed", "remote", r.RemoteAddr, "err", err)
		return
	}
	ws.SetReadLimit(readLimit)
	c := &conn{
		s:          s,
		id:         s.ids.Add(1),
		ws:         ws,
		dec:        newFrameDecoder(),
		outWake:    make(chan struct{}, 1),
		waiters:    make(map[string]chan *waBinary.Node),
		writerDone: make(chan struct{}),
	}
	c.ctx, c.cancel = context.WithCancel(s.ctx)
	c.log = s.log.With("conn", c.id, "remote", r.RemoteAddr)
	if !s.addConn(c) {
		c.cancel()
		_ = ws.CloseNow()
		return
	}
	defer s.removeConn(c)
	err = c.run()
	c.closeNow("reader stopped")
	<-c.writerDone
	if err != nil && c.ctx.Err() == nil {
		c.log.Debug("connection ended", "err", err)
	}
}

func (s *Simulator) addConn(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

// run performs the handshake, logs the client in (or starts pairing) and then reads
// stanzas until the connection ends.
func (c *conn) run() error {
	hsCtx, cancel := context.WithTimeout(c.ctx, handshakeTimeout)
	res, err := respondHandshake(hsCtx, c, c.s.static, c.s.chain)
	cancel()
	if err != nil {
		close(c.writerDone)
		return fmt.Errorf("noise handshake: %w", err)
	}
	c.clientStatic = res.clientStatic
	c.payload = res.payload
	c.readKey = res.read
	c.writeKey = res.write
	go c.writeLoop()

	if err := c.s.admit(c); err != nil {
		return err
	}
	for {
		frame, err := c.readFrame(c.ctx)
		if err != nil {
			return err
		}
		plain, err := c.readKey.Open(nil, noiseIV(c.readCounter), frame, nil)
		c.readCounter++
		if err != nil {
			// whatsmeow drops undecryptable frames too; the counters stay in step.
			c.log.Warn("dropping undecryptable frame", "err", err)
			continue
		}
		data, err := waBinary.Unpack(plain)
		if err != nil {
			c.log.Warn("dropping frame that does not unpack", "err", err)
			continue
		}
		node, err := waBinary.Unmarshal(data)
		if err != nil {
			c.log.Warn("dropping frame that does not decode", "err", err)
			continue
		}
		if c.log.Enabled(c.ctx, slog.LevelDebug) {
			c.log.Debug("recv", "node", node.XMLString())
		}
		c.s.dispatch(c, node)
	}
}

// readFrame returns the next whole frame, reading websocket messages as needed. A
// connection silent for longer than IdleTimeout is treated as gone.
func (c *conn) readFrame(ctx context.Context) ([]byte, error) {
	for len(c.inFrames) == 0 {
		rctx, cancel := context.WithTimeout(ctx, c.s.opts.IdleTimeout)
		typ, data, err := c.ws.Read(rctx)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("read websocket: %w", err)
		}
		if typ != websocket.MessageBinary {
			continue
		}
		frames, err := c.dec.feed(data)
		if err != nil {
			return nil, err
		}
		c.inFrames = append(c.inFrames, frames...)
	}
	f := c.inFrames[0]
	c.inFrames = c.inFrames[1:]
	return f, nil
}

// writeFrame writes one unencrypted frame; only the handshake uses it, before the
// writer goroutine exists.
func (c *conn) writeFrame(ctx context.Context, payload []byte) error {
	frame, err := encodeFrame(payload)
	if err != nil {
		return err
	}
	return c.ws.Write(ctx, websocket.MessageBinary, frame)
}

func (c *conn) writeLoop() {
	defer close(c.writerDone)
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-c.outWake:
		}
		c.outMu.Lock()
		batch := c.out
		c.out = nil
		c.outMu.Unlock()
		for _, f := range batch {
			if f.close {
				c.lingerThenClose(f.closeAfter)
				return
			}
			if err := c.writeEncrypted(f.data); err != nil {
				if c.ctx.Err() == nil {
					c.log.Debug("write failed, closing", "err", err)
				}
				c.closeNow("write failed")
				return
			}
		}
	}
}

func (c *conn) writeEncrypted(plain []byte) error {
	ct := c.writeKey.Seal(nil, noiseIV(c.writeCounter), plain, nil)
	c.writeCounter++
	frame, err := encodeFrame(ct)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.ctx, writeTimeout)
	defer cancel()
	return c.ws.Write(ctx, websocket.MessageBinary, frame)
}

func (c *conn) lingerThenClose(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-c.ctx.Done():
	}
	c.closeNow("closed by server")
}

// send queues a stanza for the client. Stanzas queued after a close are dropped.
func (c *conn) send(node waBinary.Node) error {
	data, err := marshalNode(node)
	if err != nil {
		return fmt.Errorf("marshal <%s>: %w", node.Tag, err)
	}
	if c.log.Enabled(c.ctx, slog.LevelDebug) {
		c.log.Debug("send", "node", node.XMLString())
	}
	c.sendRaw(data)
	return nil
}

func (c *conn) sendRaw(data []byte) {
	c.enqueue(outFrame{data: data})
}

// sendAndClose queues a stanza (a stream error or a login failure), then closes the
// socket once it is written and the grace period has passed.
func (c *conn) sendAndClose(node waBinary.Node) {
	if err := c.send(node); err != nil {
		c.log.Error("cannot send closing stanza", "err", err)
	}
	c.enqueue(outFrame{close: true, closeAfter: c.s.opts.StreamErrorGrace})
}

func (c *conn) enqueue(f outFrame) {
	c.outMu.Lock()
	if c.closing {
		c.outMu.Unlock()
		return
	}
	if f.close {
		c.closing = true
	}
	c.out = append(c.out, f)
	c.outMu.Unlock()
	select {
	case c.outWake <- struct{}{}:
	default:
	}
}

// isClosing reports whether the connection is closed or about to be.
func (c *conn) isClosing() bool {
	if c.ctx.Err() != nil {
		return true
	}
	c.outMu.Lock()
	defer c.outMu.Unlock()
	return c.closing
}

// closeNow drops the TCP connection at once, as a network failure would.
func (c *conn) closeNow(reason string) {
	if c.ctx.Err() == nil {
		c.log.Debug("closing connection", "reason", reason)
	}
	c.outMu.Lock()
	c.closing = true
	c.outMu.Unlock()
	c.cancel()
	if c.ws != nil {
		_ = c.ws.CloseNow()
	}
	c.failWaiters()
}

// request sends an IQ initiated by the server and waits for the client's answer.
func (c *conn) request(ctx context.Context, node waBinary.Node) (*waBinary.Node, error) {
	id := c.s.nextID()
	node.Attrs["id"] = id
	ch := make(chan *waBinary.Node, 1)
	c.waitMu.Lock()
	if c.waiters == nil {
		c.waitMu.Unlock()
		return nil, errConnClosed
	}
	c.waiters[id] = ch
	c.waitMu.Unlock()
	defer func() {
		c.waitMu.Lock()
		if c.waiters != nil {
			delete(c.waiters, id)
		}
		c.waitMu.Unlock()
	}()
	if err := c.send(node); err != nil {
		return nil, err
	}
	select {
	case resp, ok := <-ch:
		if !ok {
			return nil, errConnClosed
		}
		return resp, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.ctx.Done():
		return nil, errConnClosed
	}
}

var errConnClosed = errors.New("client connection closed")

// resolveWaiter hands an IQ answer to the request waiting for it.
func (c *conn) resolveWaiter(node *waBinary.Node) bool {
	id, ok := node.Attrs["id"].(string)
	if !ok {
		return false
	}
	c.waitMu.Lock()
	ch, ok := c.waiters[id]
	if ok {
		delete(c.waiters, id)
	}
	c.waitMu.Unlock()
	if ok {
		ch <- node // buffered, and each waiter is resolved once
	}
	return ok
}

func (c *conn) failWaiters() {
	c.waitMu.Lock()
	defer c.waitMu.Unlock()
	for id, ch := range c.waiters {
		close(ch)
		delete(c.waiters, id)
	}
	c.waiters = nil
}
