package httpapi

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/plugzapi/plugzapi/actors"
	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

func TestQueueList(t *testing.T) {
	s := newTestServer(t, Config{})
	s.app.queue = []actors.QueueItem{
		{Message: withEnvelope(outText("5511999999999", "first"), &messagesv1.Outbound{ZaapId: "z1", MessageId: "M1",
			DelayMessageS: 5, DelayTypingS: 2}), Queued: time.UnixMilli(1_700_000_000_123)},
		{Message: withEnvelope(outText("120363019502650977-group", "second"), &messagesv1.Outbound{ZaapId: "z2", MessageId: "M2"})},
	}
	var got []map[string]any
	wantJSON(t, s.do(t, req{method: http.MethodGet, path: base + "/queue"}), 200, &got)
	want := []map[string]any{
		{"_id": "z1", "ZaapId": "z1", "MessageId": "M1", "Phone": "5511999999999", "Message": "first",
			"DelayMessage": float64(5), "DelayTyping": float64(2), "Created": float64(1_700_000_000_123), "InstanceId": instID},
		{"_id": "z2", "ZaapId": "z2", "MessageId": "M2", "Phone": "120363019502650977-group", "Message": "second",
			"DelayMessage": float64(0), "DelayTyping": float64(0), "Created": float64(0), "InstanceId": instID},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("queue = %v\nwant %v", got, want)
	}
}

func TestQueueEmptyIsEmptyArray(t *testing.T) {
	s := newTestServer(t, Config{})
	w := s.do(t, req{method: http.MethodGet, path: base + "/queue"})
	if strings.TrimSpace(w.Body.String()) != "[]" {
		t.Errorf("empty queue = %s, want []", w.Body)
	}
}

func TestQueueCount(t *testing.T) {
	s := newTestServer(t, Config{})
	s.app.count = 42
	var got map[string]any
	wantJSON(t, s.do(t, req{method: http.MethodGet, path: base + "/queue/count"}), 200, &got)
	if !reflect.DeepEqual(got, map[string]any{"count": float64(42)}) {
		t.Errorf("count = %v", got)
	}
}

func TestClearQueue(t *testing.T) {
	s := newTestServer(t, Config{})
	wantValueTrue(t, s.do(t, req{method: http.MethodDelete, path: base + "/queue"}))
	if c := s.app.callsTo("ClearQueue"); len(c) != 1 {
		t.Errorf("ClearQueue calls = %+v", c)
	}
}

func TestCancelQueued(t *testing.T) {
	s := newTestServer(t, Config{})
	wantValueTrue(t, s.do(t, req{method: http.MethodDelete, path: base + "/queue/zaap-7"}))
	if c := s.app.callsTo("CancelQueued"); len(c) != 1 || c[0].args[1] != "zaap-7" {
		t.Errorf("CancelQueued calls = %+v", c)
	}

	s.app.errs["CancelQueued"] = actors.ErrQueueItemNotFound
	wantError(t, s.do(t, req{method: http.MethodDelete, path: base + "/queue/sent-already"}), 404, codeQueueItemNotFound)

	s = newTestServer(t, Config{})
	wantError(t, s.do(t, req{method: http.MethodDelete, path: base + "/queue/" + strings.Repeat("z", maxZaapIDLen+1)}),
		404, codeQueueItemNotFound)
	wantNoAppCalls(t, s.app)
}
