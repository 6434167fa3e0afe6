package store

import (
	"strconv"
	"strings"
)

// rebind rewrites a query written with SQLite's positional '?' placeholders into Postgres's numbered '$1', '$2'…
// so that every query of the server is written once for both dialects. A '?' inside a string literal, a quoted
// identifier or a comment is left alone; a query that already uses '$n' (watermill's and whatsmeow's Postgres
// queries) has no '?' and comes back unchanged.
func rebind(query string) string {
	if !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'' || c == '"':
			end := closing(query, i+1, c)
			b.WriteString(query[i:end])
			i = end - 1
		case c == '-' && i+1 < len(query) && query[i+1] == '-':
			end := strings.IndexByte(query[i:], '\n')
			if end < 0 {
				end = len(query) - i
			}
			b.WriteString(query[i : i+end])
			i += end - 1
		case c == '/' && i+1 < len(query) && query[i+1] == '*':
			end := strings.Index(query[i+2:], "*/")
			if end < 0 {
				end = len(query) - i - 2
			} else {
				end += 2
			}
			b.WriteString(query[i : i+2+end])
			i += 1 + end
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// closing returns the index just after the quote q that closes a literal opened before from; a doubled quote
// is an escaped one. An unterminated literal runs to the end.
func closing(query string, from int, q byte) int {
	for i := from; i < len(query); i++ {
		if query[i] != q {
			continue
		}
		if i+1 < len(query) && query[i+1] == q {
			i++
			continue
		}
		return i + 1
	}
	return len(query)
}
