// Package chats is the chats read model: per instance its chats (unread count, last message time, archived,
// pinned, muted), its labels and which chat wears which, maintained from the event stream as a part of the
// projections consumer group (events/consumers). It is built from what WhatsApp told the instance — the
// phone's history sync (the chat list of a newly linked number), the account's synced app state (what any
// device of the account did to a chat), the messages received and sent — so it survives restarts and needs no
// question to WhatsApp.
//
// It holds no message content: a chat's messages are not stored anywhere.
package chats

import (
	"cmp"
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/plugzapi/plugzapi/account"
	"github.com/plugzapi/plugzapi/events"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
	"github.com/plugzapi/plugzapi/store"
)

// partName is the view's part name; it was the view's own consumer group's name before the read models shared
// one (see events.Part).
const partName = "chats_view"

// catchUpTimeout bounds how long a read waits for the view to reach the instance's last event; after it, the
// read answers from what the view has.
const catchUpTimeout = 5 * time.Second

// Chat is one chat of an instance.
type Chat struct {
	// Phone names the chat as the API does: phone digits, a group ID or "<digits>@lid". (Its name is not
	// here: events carry no names; the WhatsApp client's store has them.)
	Phone string
	// Unread is the number of messages received since the chat was last read.
	Unread int64
	// MarkedUnread is set when a device of the account marked the chat unread.
	MarkedUnread bool
	// LastMessage is when the last message was received or sent (zero: not known).
	LastMessage time.Time
	Archived    bool
	Pinned      bool
	// MutedUntil is when the mute ends, -1 for ever, 0 not muted (Unix milliseconds).
	MutedUntil int64
	// Labels are the IDs of the labels on the chat.
	Labels []string
}

// Muted reports whether the chat is muted at now.
func (c Chat) Muted(now time.Time) bool {
	return c.MutedUntil == -1 || c.MutedUntil > now.UnixMilli()
}

// Label is a label (tag) of a WhatsApp Business account.
type Label struct {
	ID    string
	Name  string
	Color int32
}

// migrations are the package's tables, per dialect (see store.DB.Migrate).
//
//go:embed migrations
var migrations embed.FS

// View is the chats read model. Create it with [New]; its [View.Part] keeps it up to date.
type View struct {
	db  *sql.DB
	log *events.Log
}

// New migrates the view's tables. Reads wait for the view to reach log's position (see View.catchUp).
func New(ctx context.Context, db *store.DB, log *events.Log) (*View, error) {
	if err := db.Migrate(ctx, "chatsview", migrations); err != nil {
		return nil, err
	}
	return &View{db: db.SQL(), log: log}, nil
}

// Part is the view's part of a consumer group (see events.Log.Consume).
func (v *View) Part() events.Part {
	return events.Part{Name: partName, Handle: v.apply}
}

// apply folds one event into the view, inside the consumer group's transaction.
func (v *View) apply(ctx context.Context, tx *sql.Tx, ev *eventsv1.Event) error {
	inst, seq := ev.GetInstanceId(), ev.GetSeq()
	res, err := tx.ExecContext(ctx, `INSERT INTO chats_view_instances (instance_id, last_seq) VALUES (?, ?)
		ON CONFLICT (instance_id) DO UPDATE SET last_seq = excluded.last_seq
		WHERE chats_view_instances.last_seq < excluded.last_seq`, inst, seq)
	if err != nil {
		return fmt.Errorf("chats: apply %s seq %d: %w", inst, seq, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return nil // applied already
	}
	if err := applyEvent(ctx, tx, inst, ev); err != nil {
		return fmt.Errorf("chats: apply %s seq %d: %w", inst, seq, err)
	}
	return nil
}

func applyEvent(ctx context.Context, tx *sql.Tx, inst string, ev *eventsv1.Event) error {
	exec := func(q string, args ...any) error {
		_, err := tx.ExecContext(ctx, q, args...)
		return err
	}
	switch p := ev.GetPayload().(type) {
	case *eventsv1.Event_InstanceDeleted:
		if err := forget(exec, inst); err != nil {
			return err
		}
		return exec(`DELETE FROM chats_view_instances WHERE instance_id = ?`, inst)
	case *eventsv1.Event_LoggedOut:
		return forget(exec, inst)
	case *eventsv1.Event_Paired:
		// A new link may be another number: its chats come with its history.
		if err := forget(exec, inst); err != nil {
			return err
		}
		return exec(`UPDATE chats_view_instances SET business = ? WHERE instance_id = ?`,
			p.Paired.GetBusinessName() != "", inst)
	case *eventsv1.Event_MessageReceived:
		return received(exec, inst, ev.GetSeq(), p.MessageReceived)
	case *eventsv1.Event_MessageSent:
		m := p.MessageSent
		if !isChat(m.GetPhone()) {
			return nil
		}
		return exec(`INSERT INTO chats_view (instance_id, phone, last_message_ms, last_seq) VALUES (?, ?, ?, ?)
			ON CONFLICT (instance_id, phone) DO UPDATE SET last_seq = excluded.last_seq, last_message_ms = CASE WHEN excluded.last_message_ms > chats_view.last_message_ms
				THEN excluded.last_message_ms ELSE chats_view.last_message_ms END`,
			inst, m.GetPhone(), cmp.Or(m.GetServerTimeMs(), ev.GetTimeMs()), ev.GetSeq())
	case *eventsv1.Event_ChatsChanged:
		for _, ch := range p.ChatsChanged.GetChats() {
			if err := changeChat(exec, inst, ch); err != nil {
				return err
			}
		}
	case *eventsv1.Event_LabelsChanged:
		for _, l := range p.LabelsChanged.GetLabels() {
			var err error
			if l.GetDeleted() {
				err = exec(`DELETE FROM chats_view_labels WHERE instance_id = ? AND id = ?`, inst, l.GetId())
				if err == nil {
					err = exec(`DELETE FROM chats_view_chat_labels WHERE instance_id = ? AND label_id = ?`, inst, l.GetId())
				}
			} else {
				err = exec(`INSERT INTO chats_view_labels (instance_id, id, name, color) VALUES (?, ?, ?, ?)
					ON CONFLICT (instance_id, id) DO UPDATE SET name = excluded.name, color = excluded.color`,
					inst, l.GetId(), l.GetName(), l.GetColor())
			}
			if err != nil {
				return err
			}
		}
	case *eventsv1.Event_ChatLabeled:
		l := p.ChatLabeled
		if l.GetLabeled() {
			return exec(`INSERT INTO chats_view_chat_labels (instance_id, phone, label_id) VALUES (?, ?, ?)
				ON CONFLICT DO NOTHING`, inst, l.GetPhone(), l.GetLabelId())
		}
		return exec(`DELETE FROM chats_view_chat_labels WHERE instance_id = ? AND phone = ? AND label_id = ?`,
			inst, l.GetPhone(), l.GetLabelId())
	}
	return nil
}

// forget drops an instance's chats and labels.
func forget(exec func(string, ...any) error, inst string) error {
	for _, table := range []string{"chats_view", "chats_view_labels", "chats_view_chat_labels"} {
		if err := exec(`DELETE FROM `+table+` WHERE instance_id = ?`, inst); err != nil {
			return err
		}
	}
	return nil
}

// received counts a message into its chat; seq orders chats whose last messages came in the same second. What another device of the account sent, reactions and system
// notifications move no unread count, as on WhatsApp.
func received(exec func(string, ...any) error, inst string, seq int64, m *messagesv1.Inbound) error {
	if !isChat(m.GetPhone()) || m.GetBroadcast() {
		return nil
	}
	unread := int64(1)
	switch {
	case m.GetFromMe(), m.GetType() == messagesv1.Kind_KIND_REACTION, m.GetType() == messagesv1.Kind_KIND_NOTIFICATION,
		m.GetType() == messagesv1.Kind_KIND_POLL_VOTE, m.GetType() == messagesv1.Kind_KIND_REVOKE,
		m.GetType() == messagesv1.Kind_KIND_EDIT, m.GetIsEdit():
		unread = 0
	}
	return exec(`INSERT INTO chats_view (instance_id, phone, unread, last_message_ms, last_seq) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (instance_id, phone) DO UPDATE SET
			last_seq = excluded.last_seq,
			unread = chats_view.unread + excluded.unread,
			last_message_ms = CASE WHEN excluded.last_message_ms > chats_view.last_message_ms
				THEN excluded.last_message_ms ELSE chats_view.last_message_ms END`,
		inst, m.GetPhone(), unread, m.GetSentTimeMs(), seq)
}

// changeChat applies what the history or the app state says about a chat.
func changeChat(exec func(string, ...any) error, inst string, ch *eventsv1.ChatChange) error {
	phone := ch.GetPhone()
	if !isChat(phone) {
		return nil
	}
	if ch.GetDeleted() {
		if err := exec(`DELETE FROM chats_view_chat_labels WHERE instance_id = ? AND phone = ?`, inst, phone); err != nil {
			return err
		}
		return exec(`DELETE FROM chats_view WHERE instance_id = ? AND phone = ?`, inst, phone)
	}
	if err := exec(`INSERT INTO chats_view (instance_id, phone) VALUES (?, ?) ON CONFLICT DO NOTHING`, inst, phone); err != nil {
		return err
	}
	var set []string
	var args []any
	add := func(s string, a any) { set, args = append(set, s), append(args, a) }
	if ch.Archived != nil {
		add(`archived = ?`, ch.GetArchived())
	}
	if ch.Pinned != nil {
		add(`pinned = ?`, ch.GetPinned())
	}
	if ch.MutedUntilMs != nil {
		add(`muted_until_ms = ?`, ch.GetMutedUntilMs())
	}
	if ch.UnreadCount != nil {
		add(`unread = ?`, ch.GetUnreadCount())
	}
	if ch.Read != nil {
		add(`marked_unread = ?`, !ch.GetRead())
		if ch.GetRead() {
			add(`unread = ?`, 0)
		}
	}
	if ch.GetCleared() {
		add(`unread = ?`, 0)
		add(`marked_unread = ?`, false)
	}
	if ch.GetLastMessageMs() > 0 {
		set = append(set, `last_message_ms = CASE WHEN ? > last_message_ms THEN ? ELSE last_message_ms END`)
		args = append(args, ch.GetLastMessageMs(), ch.GetLastMessageMs())
	}
	if len(set) == 0 {
		return nil
	}
	args = append(args, inst, phone)
	return exec(`UPDATE chats_view SET `+strings.Join(set, ", ")+` WHERE instance_id = ? AND phone = ?`, args...)
}

// isChat tells a chat from the status broadcast and from nothing.
func isChat(phone string) bool { return phone != "" && phone != "status" }

// catchUp waits until the view applied every event the instance had when it was called, so that a client reads
// its own writes. After catchUpTimeout it gives up quietly: the answer is then what the view has.
func (v *View) catchUp(ctx context.Context, inst string) error {
	want, err := v.log.LastSeq(ctx, inst)
	if err != nil {
		return fmt.Errorf("chats: position of %s: %w", inst, err)
	}
	deadline := time.Now().Add(catchUpTimeout)
	for {
		var have int64
		err := v.db.QueryRowContext(ctx, `SELECT last_seq FROM chats_view_instances WHERE instance_id = ?`, inst).Scan(&have)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("chats: position of the view for %s: %w", inst, err)
		}
		if have >= want || time.Now().After(deadline) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

const chatColumns = `phone, unread, marked_unread, last_message_ms, archived, pinned, muted_until_ms`

// Chats returns a page of an instance's chats: pinned ones first, then the latest message first.
func (v *View) Chats(ctx context.Context, inst string, offset, limit int) ([]Chat, error) {
	if err := v.catchUp(ctx, inst); err != nil {
		return nil, err
	}
	rows, err := v.db.QueryContext(ctx, `SELECT `+chatColumns+` FROM chats_view WHERE instance_id = ?
		ORDER BY pinned DESC, last_message_ms DESC, last_seq DESC, phone LIMIT ? OFFSET ?`, inst, limit, offset)
	if err != nil {
		return nil, fmt.Errorf("chats: list %s: %w", inst, err)
	}
	defer rows.Close()
	out := []Chat{}
	for rows.Next() {
		c, err := scanChat(rows)
		if err != nil {
			return nil, fmt.Errorf("chats: list %s: %w", inst, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("chats: list %s: %w", inst, err)
	}
	for i := range out {
		if out[i].Labels, err = v.chatLabels(ctx, inst, out[i].Phone); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Chat returns one chat of an instance, or account.ErrNotFound.
func (v *View) Chat(ctx context.Context, inst, phone string) (Chat, error) {
	if err := v.catchUp(ctx, inst); err != nil {
		return Chat{}, err
	}
	c, err := scanChat(v.db.QueryRowContext(ctx, `SELECT `+chatColumns+` FROM chats_view
		WHERE instance_id = ? AND phone = ?`, inst, phone))
	if errors.Is(err, sql.ErrNoRows) {
		return Chat{}, fmt.Errorf("chat %s: %w", phone, account.ErrNotFound)
	}
	if err != nil {
		return Chat{}, fmt.Errorf("chats: get %s of %s: %w", phone, inst, err)
	}
	c.Labels, err = v.chatLabels(ctx, inst, phone)
	return c, err
}

func scanChat(row interface{ Scan(...any) error }) (Chat, error) {
	var c Chat
	var last int64
	err := row.Scan(&c.Phone, &c.Unread, &c.MarkedUnread, &last, &c.Archived, &c.Pinned, &c.MutedUntil)
	if last > 0 {
		c.LastMessage = time.UnixMilli(last)
	}
	return c, err
}

func (v *View) chatLabels(ctx context.Context, inst, phone string) ([]string, error) {
	rows, err := v.db.QueryContext(ctx, `SELECT label_id FROM chats_view_chat_labels WHERE instance_id = ? AND phone = ?
		ORDER BY label_id`, inst, phone)
	if err != nil {
		return nil, fmt.Errorf("chats: labels of %s: %w", phone, err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("chats: labels of %s: %w", phone, err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// Labels returns the labels of an instance's WhatsApp Business account; account.ErrUnsupported for a personal
// account, which has none.
func (v *View) Labels(ctx context.Context, inst string) ([]Label, error) {
	if err := v.catchUp(ctx, inst); err != nil {
		return nil, err
	}
	var business bool
	err := v.db.QueryRowContext(ctx, `SELECT business FROM chats_view_instances WHERE instance_id = ?`, inst).Scan(&business)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("chats: labels of %s: %w", inst, err)
	}
	if !business {
		return nil, fmt.Errorf("labels: %w: labels are for WhatsApp Business accounts", account.ErrUnsupported)
	}
	rows, err := v.db.QueryContext(ctx, `SELECT id, name, color FROM chats_view_labels WHERE instance_id = ?
		ORDER BY id`, inst)
	if err != nil {
		return nil, fmt.Errorf("chats: labels of %s: %w", inst, err)
	}
	defer rows.Close()
	out := []Label{}
	for rows.Next() {
		var l Label
		if err := rows.Scan(&l.ID, &l.Name, &l.Color); err != nil {
			return nil, fmt.Errorf("chats: labels of %s: %w", inst, err)
		}
		out = append(out, l)
	}
	return out, rows.Err()
}
