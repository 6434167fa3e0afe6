package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/plugzapi/plugzapi/recipient"
)

// decodeJSON reads a request body holding one JSON object into dst. Unknown fields are ignored (clients send
// extra fields); a field of the wrong type is a 400 that names it. Text that cannot go into a WhatsApp message
// or name as it is — bytes that are not UTF-8, a NUL, half of a surrogate pair — is a 400 too: encoding/json
// would otherwise replace it silently.
func decodeJSON(r *http.Request, dst any) error {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return decodeError(err)
	}
	if !utf8.Valid(raw) {
		return badRequest(codeMalformedJSON, "malformed JSON: the body is not valid UTF-8")
	}
	if err := checkEscapes(raw); err != nil {
		return badRequest(codeMalformedJSON, "malformed JSON: "+err.Error())
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	// A second value after the object is a malformed body, not something to ignore.
	var extra json.RawMessage
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
		return nil
	case err == nil:
		return badRequest(codeMalformedJSON, "malformed JSON: the body must hold a single JSON object")
	default:
		return decodeError(err)
	}
}

// checkEscapes refuses the \u escapes of JSON strings that do not stand for text: \u0000, and a surrogate
// that is not half of a pair.
func checkEscapes(raw []byte) error {
	errHalf := errors.New("a string holds half of a UTF-16 surrogate pair")
	highPending := false // the last escape was a high surrogate, whose low half must come next
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' || i+1 == len(raw) || raw[i+1] != 'u' {
			if highPending {
				return errHalf
			}
			if raw[i] == '\\' {
				i++ // skip the escaped character: \\ is a backslash, not the start of an escape
			}
			continue
		}
		if i+6 > len(raw) {
			return nil // encoding/json reports the syntax error
		}
		v, err := strconv.ParseUint(string(raw[i+2:i+6]), 16, 16)
		if err != nil {
			return nil // likewise
		}
		i += 5
		low := v >= 0xDC00 && v <= 0xDFFF
		switch {
		case v == 0:
			return errors.New("a string holds a NUL character (\\u0000)")
		case highPending != low:
			return errHalf
		}
		highPending = v >= 0xD800 && v <= 0xDBFF
	}
	if highPending {
		return errHalf
	}
	return nil
}

func decodeError(err error) error {
	var (
		tooLarge  *http.MaxBytesError
		syntax    *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
		invalidUn *json.InvalidUnmarshalError
	)
	switch {
	case errors.As(err, &tooLarge):
		return bodyTooLarge(tooLarge.Limit)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return &apiError{status: http.StatusRequestTimeout, code: codeTimeout, message: "the request body did not arrive in time"}
	case errors.Is(err, io.EOF):
		return badRequest(codeMalformedJSON, "malformed JSON: the request body is empty")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest(codeMalformedJSON, "malformed JSON: the body ends too early")
	case errors.As(err, &syntax):
		return badRequest(codeMalformedJSON, fmt.Sprintf("malformed JSON at byte %d: %s", syntax.Offset, syntax.Error()))
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return badRequest(codeMalformedJSON, "malformed JSON: the body must be a JSON object")
		}
		// The fields of the envelope every send body embeds are top-level fields of the JSON object.
		field := strings.TrimPrefix(typeErr.Field, "envelope.")
		return badRequest(codeInvalidField, fmt.Sprintf("field %q must be %s", field, jsonTypeName(typeErr.Type)), field)
	case errors.As(err, &invalidUn):
		return fmt.Errorf("decode request body: %w", err) // a programming error: a 500
	default:
		return badRequest(codeMalformedJSON, "malformed JSON: "+err.Error())
	}
}

// jsonTypeName says in JSON's words what a Go destination type accepts.
func jsonTypeName(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "of another type"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer in range"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	default:
		return "of another type"
	}
}

// missingFields is the 400 for required fields that are absent or empty.
func missingFields(fields ...string) *apiError {
	return badRequest(codeMissingFields, "missing required fields: "+strings.Join(fields, ", "), fields...)
}

// Limits of the values the API accepts.
const (
	// maxMessageChars is WhatsApp's limit on a text message, in characters.
	maxMessageChars = 65536
	// minDelay and maxDelay bound delayMessage and delayTyping, in seconds, as PlugZapi documents them.
	minDelay, maxDelay = 1, 15
	// maxNameChars bounds instance and session names.
	maxNameChars = 255
	// maxMessageIDLen bounds a WhatsApp message ID (real ones are 16–32 characters).
	maxMessageIDLen = 128
	// maxSecretLen bounds a webhook secret.
	maxSecretLen = 1024
	// maxURLLen bounds a webhook URL.
	maxURLLen = 2048
)

// validRecipient reports whether p names who a message can go to (see package recipient). Status updates have
// routes of their own.
func validRecipient(p string) bool {
	r, err := recipient.Parse(p)
	return err == nil && r.Kind != recipient.Status
}

// validMessageID reports whether id can be a WhatsApp message ID: short printable ASCII without spaces.
func validMessageID(id string) bool {
	if id == "" || len(id) > maxMessageIDLen {
		return false
	}
	for _, c := range []byte(id) {
		if c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}

// invalidPhone is the 400 for a malformed phone field; groups says whether a group ID was acceptable there.
func invalidPhone(field string, groups bool) *apiError {
	msg := field + " must be digits only: country code, area code and number, without + or spaces (8 to 15 digits)"
	if groups {
		msg += ", a group ID such as 120363019502650977-group, or a LID such as 123456789012345@lid"
	}
	return badRequest(codeInvalidPhone, msg, field)
}

// tooLong reports whether s has more than max characters.
func tooLong(s string, max int) bool {
	return len(s) > max && utf8.RuneCountInString(s) > max
}
