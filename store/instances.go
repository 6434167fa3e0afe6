package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrInstanceNotFound is returned when no instance has the given ID, and by [Authenticate] also when the token
// does not match: callers cannot tell which of the two was wrong.
var ErrInstanceNotFound = errors.New("instance not found")

// Instance is a registered WhatsApp instance. Its token is never stored: only its SHA-256.
type Instance struct {
	// ID is random (128 bits), upper-case hex, safe in URLs.
	ID   string
	Name string
	// SessionName is the device name shown in the phone's list of linked devices.
	SessionName string
	Created     time.Time
	// WebhookSecret signs the instance's webhooks (HMAC-SHA256) when not empty.
	WebhookSecret string
}

// idBytes is the entropy of instance IDs and tokens: 128 bits, 32 hex characters.
const idBytes = 16

// randomHex returns n random bytes as upper-case hex.
func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("read random: %w", err)
	}
	return strings.ToUpper(hex.EncodeToString(b)), nil
}

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// NewInstanceID returns a fresh random instance ID (128 bits, 32 upper-case hex characters). The ID is made
// before the instance exists because the event log needs it to append the InstanceCreated event in whose
// transaction [CreateInstance] then runs.
func NewInstanceID() (string, error) {
	id, err := randomHex(idBytes)
	if err != nil {
		return "", fmt.Errorf("new instance id: %w", err)
	}
	return id, nil
}

// CreateInstance registers a new instance under id (from [NewInstanceID]) with a random token and returns the
// token. The token is returned only here; the database keeps its hash. Pass the transaction that appends the
// InstanceCreated event, so that the instance exists if and only if its event does:
//
//	id, err := store.NewInstanceID()
//	var token string
//	_, err = log.Append(ctx, id, 0, createdEvents, func(tx *sql.Tx) error {
//		_, token, err = store.CreateInstance(ctx, tx, id, name, sessionName, time.Now())
//		return err
//	})
func CreateInstance(ctx context.Context, q Querier, id, name, sessionName string, now time.Time) (Instance, string, error) {
	if id == "" {
		return Instance{}, "", errors.New("create instance: empty id")
	}
	token, err := randomHex(idBytes)
	if err != nil {
		return Instance{}, "", fmt.Errorf("create instance: %w", err)
	}
	inst := Instance{ID: id, Name: name, SessionName: sessionName, Created: time.UnixMilli(now.UnixMilli())}
	_, err = q.ExecContext(ctx, `INSERT INTO instances (id, token_hash, name, session_name, created_ms) VALUES (?, ?, ?, ?, ?)`,
		id, hashToken(token), name, sessionName, now.UnixMilli())
	if err != nil {
		return Instance{}, "", fmt.Errorf("create instance %s: %w", id, err)
	}
	return inst, token, nil
}

const instanceColumns = `id, name, session_name, created_ms, webhook_secret`

func scanInstance(row interface{ Scan(...any) error }) (Instance, error) {
	var inst Instance
	var created int64
	if err := row.Scan(&inst.ID, &inst.Name, &inst.SessionName, &created, &inst.WebhookSecret); err != nil {
		return Instance{}, err
	}
	inst.Created = time.UnixMilli(created)
	return inst, nil
}

// GetInstance returns the instance with the given ID, or [ErrInstanceNotFound].
func GetInstance(ctx context.Context, q Querier, id string) (Instance, error) {
	inst, err := scanInstance(q.QueryRowContext(ctx, `SELECT `+instanceColumns+` FROM instances WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Instance{}, ErrInstanceNotFound
	}
	if err != nil {
		return Instance{}, fmt.Errorf("get instance %s: %w", id, err)
	}
	return inst, nil
}

// dummyTokenHash is compared against when the instance does not exist, so that a wrong ID costs the same work
// as a wrong token.
var dummyTokenHash = hashToken("no such instance")

// Authenticate returns the instance when id and token match, and [ErrInstanceNotFound] otherwise, whichever of
// the two was wrong. The token's hash is compared in constant time.
func Authenticate(ctx context.Context, q Querier, id, token string) (Instance, error) {
	var stored []byte
	var inst Instance
	var created int64
	err := q.QueryRowContext(ctx, `SELECT `+instanceColumns+`, token_hash FROM instances WHERE id = ?`, id).
		Scan(&inst.ID, &inst.Name, &inst.SessionName, &created, &inst.WebhookSecret, &stored)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return Instance{}, fmt.Errorf("authenticate instance: %w", err)
	}
	found := err == nil
	if !found {
		stored = dummyTokenHash
	}
	match := subtle.ConstantTimeCompare(hashToken(token), stored) == 1
	if !found || !match {
		return Instance{}, ErrInstanceNotFound
	}
	inst.Created = time.UnixMilli(created)
	return inst, nil
}

// ListInstances returns all instances, oldest first.
func ListInstances(ctx context.Context, q Querier) ([]Instance, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+instanceColumns+` FROM instances ORDER BY created_ms, id`)
	if err != nil {
		return nil, fmt.Errorf("list instances: %w", err)
	}
	defer rows.Close()
	var out []Instance
	for rows.Next() {
		inst, err := scanInstance(rows)
		if err != nil {
			return nil, fmt.Errorf("list instances: %w", err)
		}
		out = append(out, inst)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list instances: %w", err)
	}
	return out, nil
}

// RenameInstance changes an instance's name.
func RenameInstance(ctx context.Context, q Querier, id, name string) error {
	return updateInstance(ctx, q, id, "rename", `UPDATE instances SET name = ? WHERE id = ?`, name, id)
}

// SetWebhookSecret sets the secret that signs the instance's webhooks; empty turns signing off. It applies to
// every delivery attempt made after it commits, including retries of older deliveries.
func SetWebhookSecret(ctx context.Context, q Querier, id, secret string) error {
	return updateInstance(ctx, q, id, "set webhook secret of", `UPDATE instances SET webhook_secret = ? WHERE id = ?`, secret, id)
}

// DeleteInstance removes the instance's row: its token stops working. Its events stay in the event log.
func DeleteInstance(ctx context.Context, q Querier, id string) error {
	return updateInstance(ctx, q, id, "delete", `DELETE FROM instances WHERE id = ?`, id)
}

func updateInstance(ctx context.Context, q Querier, id, what, query string, args ...any) error {
	res, err := q.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("%s instance %s: %w", what, id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s instance %s: %w", what, id, err)
	}
	if n == 0 {
		return ErrInstanceNotFound
	}
	return nil
}
