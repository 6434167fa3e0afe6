package main

import "testing"

// TestPublicURL: received files' URLs start with the setting, else with the address the server listens on.
func TestPublicURL(t *testing.T) {
	for _, c := range []struct{ setting, listening, want string }{
		{"", "127.0.0.1:41234", "http://127.0.0.1:41234"},
		{"", "[::]:8080", "http://localhost:8080"},
		{"", "0.0.0.0:8080", "http://localhost:8080"},
		{"https://api.example.com/plugzapi", "0.0.0.0:8080", "https://api.example.com/plugzapi"},
	} {
		if got := (MediaConfig{PublicURL: c.setting}).publicURL(c.listening); got != c.want {
			t.Errorf("publicURL(%q, %q) = %q, want %q", c.setting, c.listening, got, c.want)
		}
	}
	for _, bad := range []string{"api.example.com", "ftp://x", "https://"} {
		c := defaultConfig()
		c.PublicURL = bad
		if c.Validate() == nil {
			t.Errorf("public URL %q accepted", bad)
		}
	}
	c := defaultConfig()
	c.MediaRetention = 0
	if c.Validate() == nil {
		t.Error("a retention of 0 accepted")
	}
}
