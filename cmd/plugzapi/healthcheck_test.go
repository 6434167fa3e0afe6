package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestHealthcheck: `plugzapi healthcheck` exits 0 only when the server its settings name answers /healthz 200.
func TestHealthcheck(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"error":"unhealthy","code":"unavailable"}`))
	}))
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	env := func(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }

	var out strings.Builder
	if code := healthcheck(nil, env(map[string]string{"PLUGZAPI_ADDR": addr}), &out); code != 0 {
		t.Errorf("healthy server: exit %d, %s", code, &out)
	}
	// A flag wins over the environment, as for the server.
	if code := healthcheck([]string{"-addr", addr}, env(map[string]string{"PLUGZAPI_ADDR": "127.0.0.1:1"}), &out); code != 0 {
		t.Errorf("healthy server named by -addr: exit %d, %s", code, &out)
	}
	status = http.StatusServiceUnavailable
	out.Reset()
	if code := healthcheck([]string{"-addr", addr}, env(nil), &out); code != 1 || !strings.Contains(out.String(), "503") {
		t.Errorf("unhealthy server: exit %d, %q", code, &out)
	}
	srv.Close()
	for _, args := range [][]string{{"-addr", addr}, {"-addr", "127.0.0.1:0"}, {"-addr", ""}} {
		out.Reset()
		if code := healthcheck(args, env(nil), &out); code != 1 || out.Len() == 0 {
			t.Errorf("healthcheck %v: exit %d, %q; want 1 and a reason", args, code, &out)
		}
	}
}

func TestLocalURL(t *testing.T) {
	for addr, want := range map[string]string{
		":8080":           "http://localhost:8080",
		"0.0.0.0:8080":    "http://localhost:8080",
		"[::]:8080":       "http://localhost:8080",
		"127.0.0.1:41234": "http://127.0.0.1:41234",
		"[::1]:80":        "http://[::1]:80",
	} {
		if got := localURL(addr); got != want {
			t.Errorf("localURL(%q) = %q, want %q", addr, got, want)
		}
	}
}
