package httpapi

import (
	"crypto/sha256"
	"fmt"
	"net/http"

	"google.golang.org/protobuf/proto"

	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// idempotencyHeader names the header with which a client makes a send safe to retry: the instance answers a
// request whose key it accepted in the last 24 hours with the first request's IDs, and queues nothing.
const idempotencyHeader = "Idempotency-Key"

// maxIdempotencyKeyLen bounds a key: a UUID or a ULID fits many times over, and an instance keeps every key it
// accepted for a day.
const maxIdempotencyKeyLen = 255

// idempotencyKey reads a send request's Idempotency-Key: empty when the client sent none. A key that is empty,
// too long, repeated or holds other than printable ASCII is a 400: a key the client cannot send the same way
// twice would make retries unsafe without saying so.
func idempotencyKey(r *http.Request) (string, error) {
	values := r.Header.Values(idempotencyHeader)
	if len(values) == 0 {
		return "", nil
	}
	invalid := func(why string) error {
		return &apiError{status: http.StatusBadRequest, code: codeInvalidIdempotencyKey,
			message: idempotencyHeader + " " + why, fields: []string{idempotencyHeader}}
	}
	if len(values) > 1 {
		return "", invalid("must be given once")
	}
	key := values[0]
	if key == "" || len(key) > maxIdempotencyKeyLen {
		return "", invalid(fmt.Sprintf("must be 1 to %d characters", maxIdempotencyKeyLen))
	}
	for _, c := range []byte(key) {
		if c < ' ' || c > '~' {
			return "", invalid("must hold printable ASCII characters only")
		}
	}
	return key, nil
}

// bindIdempotencyKey gives a message the request's key and the hash of the request, so that the instance tells
// a retry (the same route and message) from the key reused for another request. The hash is over the route
// and the message as the body made it — the body in canonical form: spacing, field order, unknown fields and
// defaults spelled out make no difference.
func bindIdempotencyKey(r *http.Request, m *messagesv1.Outbound, key string) error {
	if key == "" {
		return nil
	}
	canonical, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return fmt.Errorf("hash the request: %w", err)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s %s\n", r.Method, routePattern(r))
	h.Write(canonical)
	m.IdempotencyKey, m.RequestHash = key, h.Sum(nil)
	return nil
}
