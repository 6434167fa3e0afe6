package whatsapp

import (
	"regexp"
	"slices"
	"testing"
	"time"
)

func TestMessageIDsHaveWhatsmeowsFormAndGrowWithTime(t *testing.T) {
	form := regexp.MustCompile(`^3EB0[0-9A-F]{18}$`)
	var ids []string
	for range 20 {
		id := NewMessageID()
		if !form.MatchString(id) {
			t.Fatalf("message ID %q is not of the form 3EB0 and 18 upper-case hex digits", id)
		}
		ids = append(ids, id)
		time.Sleep(2 * time.Millisecond)
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] <= ids[i-1] {
			t.Fatalf("an ID made later sorts first: %q then %q", ids[i-1], ids[i])
		}
	}
}

func TestMessageIDsOfOneMillisecondAreDistinct(t *testing.T) {
	p := newPermutation28()
	now := time.Now()
	seen := make(map[string]bool, 1<<16)
	for n := range uint32(1 << 16) {
		id := formatMessageID(now, p.apply(n))
		if seen[id] {
			t.Fatalf("ID %q made twice within one millisecond (counter %d)", id, n)
		}
		seen[id] = true
	}
}

func TestThePermutationHidesTheCounter(t *testing.T) {
	p := newPermutation28()
	var lows []uint32
	for n := range uint32(64) {
		lows = append(lows, p.apply(n))
	}
	if slices.IsSorted(lows) {
		t.Fatalf("consecutive counters give increasing low digits: %v", lows)
	}
	if q := newPermutation28(); q.apply(1) == p.apply(1) && q.apply(2) == p.apply(2) {
		t.Fatal("two processes' permutations agree: the key is not random")
	}
}
