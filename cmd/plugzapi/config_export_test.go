package main

import (
	"slices"
	"strings"
	"testing"
)

func TestExportConfig(t *testing.T) {
	c, err := loadConfig(nil, env(nil))
	if err != nil || c.Export.Enabled() {
		t.Fatalf("the export is on by default (%+v, %v)", c.Export, err)
	}
	c, err = loadConfig([]string{"-export-topic", "acme.wa"}, env(map[string]string{
		"PLUGZAPI_EXPORT_URL":    "kafka://k1:9092,k2:9092",
		"PLUGZAPI_EXPORT_EVENTS": "message_received, message_sent",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Export.URL != "kafka://k1:9092,k2:9092" || c.Export.Topic != "acme.wa" || !slices.Equal(c.Export.Events, []string{"message_received", "message_sent"}) {
		t.Fatalf("export settings: %+v", c.Export)
	}
	for _, tc := range []struct{ url, events, want string }{
		{"redis://h:6379", "", "want nats://"},
		{"nats://h:4222", "message_recieved", `unknown event type "message_recieved"`},
	} {
		_, err := loadConfig(nil, env(map[string]string{"PLUGZAPI_EXPORT_URL": tc.url, "PLUGZAPI_EXPORT_EVENTS": tc.events}))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %s: got %v, want an error with %q", tc.url, tc.events, err, tc.want)
		}
	}
}
