package store

import "testing"

func TestRebind(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`SELECT a FROM t WHERE x = ? AND y = ?`, `SELECT a FROM t WHERE x = $1 AND y = $2`},
		{`INSERT INTO t VALUES (?, '?', "a?b", ?)`, `INSERT INTO t VALUES ($1, '?', "a?b", $2)`},
		{`SELECT 'it''s ?', ? -- why?` + "\n" + `, ?`, `SELECT 'it''s ?', $1 -- why?` + "\n" + `, $2`},
		{`SELECT /* ? */ ?`, `SELECT /* ? */ $1`},
		{`SELECT $1, $2`, `SELECT $1, $2`},
		{`SELECT '?`, `SELECT '?`},
	} {
		if got := rebind(tc.in); got != tc.want {
			t.Errorf("rebind(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
