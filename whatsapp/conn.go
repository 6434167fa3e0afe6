package whatsapp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"

	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

var (
	// ErrNotOnWhatsApp is returned when a phone number has no WhatsApp account.
	ErrNotOnWhatsApp = errors.New("phone number does not exist on WhatsApp")
	// ErrUnsendable is returned for a message that can never be sent as it is (a content WhatsApp would refuse,
	// or one this version cannot build).
	ErrUnsendable = errors.New("the message cannot be sent")
)

// Conn is one instance's WhatsApp client. Its methods may block on the network: the instance actor calls them
// off its own goroutine.
type Conn struct {
	cli *whatsmeow.Client
	// turn is the device's turn at its Signal sessions: a send holds it while it has them out, and so does each
	// decryption (turns.go).
	turn  *sync.Mutex
	log   *slog.Logger
	files Files

	mu          sync.Mutex
	stopLinking context.CancelFunc
	// closed is set by Close: a Connect still under way then disconnects when it is done, or one device
	// would have two connections (WhatsApp drops one as "replaced", and a logout may go to the wrong one).
	closed bool
	// accounts are the accounts of the phone numbers sent to, as WhatsApp named them.
	accounts map[string]types.JID
	// polls are the options of the polls seen lately, by poll ID, to name the options of votes.
	polls     map[string][]string
	pollOrder []string
	// subjects are the subjects of the groups messages came from, by group.
	subjects map[types.JID]string
	// photos are the profile pictures of the chats and senders of received messages.
	photos *photoCache
	// calls are the calls ringing (in_call.go).
	calls *callMemory

	// media keeps received files for owner (the instance); nil: files are not downloaded.
	media MediaKeeper
	owner string
	// uploads makes the uploads whatsmeow cannot (account_catalog.go).
	uploads *http.Client

	p presence

	// report hands the instance an event the connection itself makes (a change to the account it just made);
	// changes are the changes to the app state it waits to see stored (writeAppState).
	report  Handler
	changes pendingChanges
}

// Linked reports whether the client has a linked device (it may be disconnected).
func (c *Conn) Linked() bool { return c.cli.Store.ID != nil }

// Connect connects a linked device. whatsmeow keeps it connected from then on, reconnecting by itself; Connected
// and Disconnected events tell how it goes.
func (c *Conn) Connect() error {
	if !c.Linked() {
		return errors.New("connect: the device is not linked")
	}
	c.cli.InitialAutoReconnect = true
	if c.isClosed() {
		return nil
	}
	if err := c.cli.Connect(); err != nil && !errors.Is(err, whatsmeow.ErrAlreadyConnected) {
		return fmt.Errorf("connect: %w", err)
	}
	if c.isClosed() {
		c.cli.Disconnect()
	}
	return nil
}

func (c *Conn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// Link connects an unlinked device to be linked: QR codes follow as QRCode events, until the phone links it
// (Paired, then Connected) or the codes run out (PairingEnded). Calling it while a link is under way does nothing.
func (c *Conn) Link(handle Handler) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopLinking != nil && c.cli.IsConnected() {
		return nil
	}
	ctx, stop := context.WithCancel(context.Background())
	qr, err := c.cli.GetQRChannel(ctx)
	if err != nil {
		stop()
		return fmt.Errorf("link: %w", err)
	}
	if err := c.cli.Connect(); err != nil {
		stop()
		return fmt.Errorf("link: connect: %w", err)
	}
	c.stopLinking = stop
	go relayQR(qr, handle)
	return nil
}

func relayQR(qr <-chan whatsmeow.QRChannelItem, handle Handler) {
	for item := range qr {
		switch {
		case item.Event == whatsmeow.QRChannelEventCode:
			handle(QRCode{Code: item.Code, Expires: time.Now().Add(item.Timeout)})
		case item == whatsmeow.QRChannelSuccess:
			// Paired and Connected come through the event handler.
		case item.Event == whatsmeow.QRChannelEventError:
			handle(PairingEnded{Reason: fmt.Sprintf("pairing failed: %v", item.Error)})
		default:
			handle(PairingEnded{Reason: "pairing " + item.Event})
		}
	}
}

// PairPhone asks WhatsApp for a code to type on the phone under "Link with phone number" instead of scanning a
// QR code. The device must be linking (see Link).
func (c *Conn) PairPhone(ctx context.Context, phone string) (string, error) {
	// Link connects in the background; WhatsApp takes the request once the socket is up.
	for !c.cli.IsConnected() {
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("pair phone: not connected: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	code, err := c.cli.PairPhone(ctx, phone, true, whatsmeow.PairClientChrome, "Chrome (Linux)")
	if err != nil {
		return "", fmt.Errorf("pair phone: %w", err)
	}
	return code, nil
}

// Close disconnects the client and stops any link under way. The session stays stored.
func (c *Conn) Close() {
	c.mu.Lock()
	c.closed = true
	if c.stopLinking != nil {
		c.stopLinking()
		c.stopLinking = nil
	}
	c.mu.Unlock()
	c.cli.Disconnect()
}

// Logout unlinks the device from the phone and deletes its session. A client still logging in (an instance
// deleted as it starts) is given half of ctx's time to finish, for WhatsApp to be told. When WhatsApp cannot be
// told (not connected), the session is deleted anyway: the phone will drop the device when it next hears of it.
func (c *Conn) Logout(ctx context.Context) error {
	defer c.Close()
	if !c.Linked() {
		return nil
	}
	if !c.cli.IsLoggedIn() {
		wait := logoutLoginWait
		if deadline, ok := ctx.Deadline(); ok {
			wait = time.Until(deadline) / 2
		}
		c.cli.WaitForConnection(wait)
	}
	if c.cli.IsLoggedIn() {
		if err := c.cli.Logout(ctx); err == nil {
			return nil
		} else {
			c.log.Warn("logout from WhatsApp failed, deleting the session locally", "err", err)
		}
	}
	if err := c.cli.Store.Delete(ctx); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// logoutLoginWait is how long Logout waits for a client still logging in when its context has no deadline.
const logoutLoginWait = 10 * time.Second

// Sent is what sending a message gave.
type Sent struct {
	// At is WhatsApp's timestamp of the message.
	At time.Time
	// Forwardable is the message as it went (waE2E.Message in protobuf's encoding, its files as uploaded), for
	// the instance to keep when it keeps messages for forwarding; nil for a message that cannot be forwarded.
	Forwardable []byte
}

// Send sends an accepted message with its own WhatsApp ID. It finds the recipient's account (once per number),
// shows "typing…" first when the message asks for it, and builds WhatsApp's message from the content. Sending
// the same message again sends the same message, not a new one.
func (c *Conn) Send(ctx context.Context, m *messagesv1.Outbound) (Sent, error) {
	to, err := c.recipient(ctx, m.GetPhone())
	if err != nil {
		return Sent{}, err
	}
	if to.Server == types.DefaultUserServer || to.Server == types.HiddenUserServer {
		c.follow(to)
	}
	msg, err := c.buildMessage(ctx, to, m)
	if err != nil {
		return Sent{}, fmt.Errorf("send %s: %w", m.GetMessageId(), err)
	}
	if to == types.StatusBroadcastJID {
		msg = asStatusUpdate(msg)
	} else if d := m.GetDelayTypingS(); d > 0 {
		if err := c.showTyping(ctx, to, time.Duration(d)*time.Second, presenceMedia(msg)); err != nil {
			c.log.Debug("could not show typing", "err", err)
		}
	}
	var resp whatsmeow.SendResponse
	err = c.inTurn(ctx, func(ctx context.Context) (err error) {
		resp, err = c.cli.SendMessage(ctx, to, msg, whatsmeow.SendRequestExtra{ID: m.GetMessageId(), AdditionalNodes: interactiveNodes(msg)})
		return err
	})
	if err != nil {
		return Sent{}, fmt.Errorf("send %s: %w", m.GetMessageId(), err)
	}
	c.rememberSentPoll(m.GetMessageId(), msg)
	return Sent{At: resp.Timestamp, Forwardable: keepable(msg)}, nil
}

// recipient is the JID a message to phone (see package recipient) goes to. A phone number is looked up, because
// WhatsApp may know the account by other digits (Brazil's extra ninth digit, for one); the answer is kept.
func (c *Conn) recipient(ctx context.Context, phone string) (types.JID, error) {
	jid, err := recipientJID(phone)
	if err != nil || jid.Server != types.DefaultUserServer {
		return jid, err
	}
	c.mu.Lock()
	known, ok := c.accounts[phone]
	c.mu.Unlock()
	if ok {
		return known, nil
	}
	res, err := c.cli.IsOnWhatsApp(ctx, []string{"+" + phone})
	if err != nil {
		return types.EmptyJID, fmt.Errorf("look up %s: %w", phone, err)
	}
	for _, r := range res {
		if r.IsIn {
			c.mu.Lock()
			c.accounts[phone] = r.JID
			c.mu.Unlock()
			return r.JID, nil
		}
	}
	return types.EmptyJID, ErrNotOnWhatsApp
}

// showTyping shows "typing…" in the chat for d ("recording…" for media audio), then clears it. It returns
// early when ctx ends.
func (c *Conn) showTyping(ctx context.Context, to types.JID, d time.Duration, doing types.ChatPresenceMedia) error {
	if err := c.cli.SendChatPresence(ctx, to, types.ChatPresenceComposing, doing); err != nil {
		return fmt.Errorf("show typing: %w", err)
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
	if err := c.cli.SendChatPresence(context.WithoutCancel(ctx), to, types.ChatPresencePaused, ""); err != nil {
		return fmt.Errorf("clear typing: %w", err)
	}
	return nil
}

// presenceMedia is what the sender is shown doing before msg: recording a recording, typing anything else.
func presenceMedia(msg *waE2E.Message) types.ChatPresenceMedia {
	if msg.GetAudioMessage() != nil || msg.GetViewOnceMessage().GetMessage().GetAudioMessage() != nil {
		return types.ChatPresenceMediaAudio
	}
	return types.ChatPresenceMediaText
}

// Errors a send ends with when WhatsApp refuses it for good; whatsmeow's own, named here so that callers can
// tell them apart without importing whatsmeow.
var (
	// ErrGroupNotFound: the group does not exist (WhatsApp answers 404 to the group info query).
	ErrGroupNotFound = whatsmeow.ErrGroupNotFound
	// ErrNotInGroup: the account is not a member of the group, or no longer (403 to the group info query).
	ErrNotInGroup = whatsmeow.ErrNotInGroup
	// ErrRefused: WhatsApp took the message and refused it in its ack, with an error code (403 from a group the
	// account has left since whatsmeow cached its members, 479 and others for messages it will not take).
	ErrRefused = whatsmeow.ErrServerReturnedError
)

// RefusalCode is the error code of WhatsApp's refusal of a message (ErrRefused), or "": whatsmeow gives it only
// in the error's text, after ErrRefused's own.
func RefusalCode(err error) string {
	for ; err != nil; err = errors.Unwrap(err) {
		if code, ok := strings.CutPrefix(err.Error(), ErrRefused.Error()+" "); ok {
			return code
		}
	}
	return ""
}

// IsPermanent reports whether a send error will not go away by trying again with the same message: the
// recipient does not exist, is not one the account can write to, or WhatsApp refused the message itself.
// Connection trouble, timeouts and WhatsApp's own failures (IQ 5xx) are not permanent.
func IsPermanent(err error) bool {
	return errors.Is(err, ErrNotOnWhatsApp) ||
		errors.Is(err, ErrInvalidRecipient) ||
		errors.Is(err, ErrUnsendable) ||
		errors.Is(err, ErrGroupNotFound) ||
		errors.Is(err, ErrNotInGroup) ||
		errors.Is(err, ErrRefused) ||
		errors.Is(err, whatsmeow.ErrUnknownServer) ||
		errors.Is(err, whatsmeow.ErrRecipientADJID)
}
