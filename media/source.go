package media

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Source is where a file comes from, as a client gave it: a URL to fetch when the message is sent, or the bytes.
type Source struct {
	URL  string
	Data []byte
}

// ErrNotAFile is a value that is neither a URL nor base64.
var ErrNotAFile = errors.New("must be an http(s) URL or the file in base64 (a data URI such as data:image/png;base64,…)")

// Parse reads a media field: an http(s) URL (not checked here: see package netguard), a base64 data URI
// (data:<type>;base64,<data>, the form PlugZapi documents), or bare base64, which some clients send. The
// declared type of a data URI is not trusted; the bytes are sniffed later. Base64 may be standard or URL-safe,
// with or without padding, and may hold line breaks.
func Parse(value string) (Source, error) {
	lower := strings.ToLower(value[:min(len(value), 8)])
	switch {
	case strings.HasPrefix(lower, "https://"), strings.HasPrefix(lower, "http://"):
		return Source{URL: value}, nil
	case strings.HasPrefix(lower, "data:"):
		meta, payload, ok := strings.Cut(value[len("data:"):], ",")
		if !ok {
			return Source{}, errors.New("is a data URI without a comma before its data")
		}
		if !strings.HasSuffix(strings.ToLower(meta), ";base64") {
			return Source{}, errors.New("is a data URI that is not base64 (its type must end with ;base64)")
		}
		return decode(payload)
	case strings.Contains(value[:min(len(value), 16)], "://"):
		return Source{}, ErrNotAFile
	}
	return decode(value)
}

// decode reads base64 in any of its usual spellings.
func decode(s string) (Source, error) {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, s)
	if s == "" {
		return Source{}, ErrEmpty
	}
	s = strings.TrimRight(s, "=")
	enc := base64.RawStdEncoding
	if strings.ContainsAny(s, "-_") {
		enc = base64.RawURLEncoding
	}
	data, err := enc.DecodeString(s)
	if err != nil {
		var corrupt base64.CorruptInputError
		if errors.As(err, &corrupt) {
			return Source{}, fmt.Errorf("holds broken base64 (at character %d); %v", int64(corrupt), ErrNotAFile)
		}
		return Source{}, fmt.Errorf("holds broken base64: %v", err)
	}
	if len(data) == 0 {
		return Source{}, ErrEmpty
	}
	return Source{Data: data}, nil
}
