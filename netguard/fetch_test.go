package netguard

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// testPolicy lets fetches reach the test servers on 127.0.0.1 over http: the insecure setting.
var testPolicy = Policy{AllowHTTP: true, AllowPrivate: true}

func serve(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func wantFetchError(t *testing.T, err error, reason string) {
	t.Helper()
	var fe *FetchError
	if !errors.As(err, &fe) || !strings.Contains(fe.Reason, reason) {
		t.Fatalf("Fetch error = %v, want a FetchError saying %q", err, reason)
	}
}

func TestFetch(t *testing.T) {
	body := []byte("GIF89a and some more bytes")
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/cat.gif":
			w.Header().Set("Content-Type", "image/gif")
			w.Write(body)
		case "/download":
			w.Header().Set("Content-Disposition", `attachment; filename="report 2024.pdf"`)
			w.Write(body)
		case "/moved":
			http.Redirect(w, r, "/cat.gif", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	})
	f := NewFetcher(testPolicy, 5*time.Second)
	ctx := context.Background()

	got, err := f.Fetch(ctx, srv.URL+"/cat.gif", 1000)
	if err != nil || !bytes.Equal(got.Data, body) || got.ContentType != "image/gif" || got.Name != "cat.gif" {
		t.Fatalf("Fetch = %+v, %v", got, err)
	}
	if got, err := f.Fetch(ctx, srv.URL+"/download", 1000); err != nil || got.Name != "report 2024.pdf" {
		t.Errorf("Fetch with Content-Disposition = %+v, %v", got, err)
	}
	if got, err := f.Fetch(ctx, srv.URL+"/moved", 1000); err != nil || !bytes.Equal(got.Data, body) {
		t.Errorf("Fetch through a redirect = %+v, %v", got, err)
	}
	if got, err := f.Fetch(ctx, srv.URL+"/cat.gif", int64(len(body))); err != nil || len(got.Data) != len(body) {
		t.Errorf("Fetch of exactly the limit = %d bytes, %v", len(got.Data), err)
	}
	_, err = f.Fetch(ctx, srv.URL+"/missing", 1000)
	wantFetchError(t, err, "answered 404 Not Found")
}

// TestFetchPolicy: the test server on 127.0.0.1 is reached only with the insecure policy; metadata and
// link-local addresses never, not even by a redirect or by a name that resolves to them.
func TestFetchPolicy(t *testing.T) {
	var hits atomic.Int32
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch r.URL.Path {
		case "/to-metadata":
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
		case "/to-ftp":
			http.Redirect(w, r, "ftp://example.com/file", http.StatusFound)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		default:
			w.Write([]byte("secret of the local network"))
		}
	})
	tls := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.Write([]byte("secret"))
	}))
	t.Cleanup(tls.Close)
	ctx := context.Background()

	strict := NewFetcher(Policy{}, 5*time.Second)
	_, err := strict.Fetch(ctx, srv.URL+"/file", 1000)
	wantFetchError(t, err, "only https")
	_, err = strict.Fetch(ctx, tls.URL+"/file", 1000) // https, but to this machine
	wantFetchError(t, err, "loopback or private")
	// A name is checked where it leads: the dial guard sees the address it resolved to.
	client := &http.Client{Transport: Policy{AllowHTTP: true}.Transport(5 * time.Second)}
	_, err = client.Get(strings.Replace(srv.URL, "127.0.0.1", "localhost", 1) + "/file")
	var refused *RefusedError
	if !errors.As(err, &refused) || refused.Address != "127.0.0.1" && refused.Address != "::1" {
		t.Fatalf("GET through the strict transport by name = %v, want the dial guard's refusal", err)
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the strict policy let %d requests through to this machine", n)
	}

	insecure := NewFetcher(testPolicy, 5*time.Second)
	if _, err := insecure.Fetch(ctx, srv.URL+"/file", 1000); err != nil {
		t.Fatalf("the insecure policy refused the local test server: %v", err)
	}
	_, err = insecure.Fetch(ctx, "http://169.254.169.254/latest/meta-data/", 1000)
	wantFetchError(t, err, "link-local or metadata")
	_, err = insecure.Fetch(ctx, srv.URL+"/to-metadata", 1000)
	wantFetchError(t, err, "redirected to a refused URL: 169.254.169.254 is a link-local or metadata address")
	_, err = insecure.Fetch(ctx, srv.URL+"/to-ftp", 1000)
	wantFetchError(t, err, "redirected to a refused URL")
	_, err = insecure.Fetch(ctx, srv.URL+"/loop", 1000)
	wantFetchError(t, err, "more than 5 redirects")
}

// TestFetchLimits: a file over the limit is refused without being read to its end, whether its size is
// declared or not; so is an empty one; a server slower than the time limit fails the fetch, and a cancelled
// context is not a fetch failure (the fetch may be tried again).
func TestFetchLimits(t *testing.T) {
	var written atomic.Int64
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/declared":
			w.Header().Set("Content-Length", "1000000")
			w.Write(make([]byte, 1000))
		case "/endless": // no Content-Length: chunked, 100 MB if read to the end
			chunk := make([]byte, 32<<10)
			for range 3200 {
				n, err := w.Write(chunk)
				written.Add(int64(n))
				if err != nil {
					return
				}
			}
		case "/empty":
		case "/slow":
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
	})
	f := NewFetcher(testPolicy, 300*time.Millisecond)
	ctx := context.Background()

	_, err := f.Fetch(ctx, srv.URL+"/declared", 1000)
	wantFetchError(t, err, "larger than 1000 bytes")
	_, err = NewFetcher(testPolicy, 10*time.Second).Fetch(ctx, srv.URL+"/endless", 100<<10)
	wantFetchError(t, err, "larger than 102400 bytes")
	if n := written.Load(); n > 10<<20 {
		t.Errorf("the server wrote %d bytes before the fetch stopped reading", n)
	}
	_, err = f.Fetch(ctx, srv.URL+"/empty", 1000)
	wantFetchError(t, err, "empty")

	start := time.Now()
	_, err = f.Fetch(ctx, srv.URL+"/slow", 1000)
	wantFetchError(t, err, "did not send the file within 300ms")
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("the slow fetch took %s", d)
	}

	cancelled, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, err = NewFetcher(testPolicy, time.Minute).Fetch(cancelled, srv.URL+"/slow", 1000)
	var fe *FetchError
	if !errors.Is(err, context.DeadlineExceeded) || errors.As(err, &fe) {
		t.Errorf("Fetch with the caller's context ending = %v, want its error and no FetchError", err)
	}
}

// TestFetchRetries: a server error may pass, a client error will not.
func TestFetchRetries(t *testing.T) {
	var calls atomic.Int32
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		switch {
		case r.URL.Path == "/flaky" && n == 1:
			http.Error(w, "busy", http.StatusServiceUnavailable)
		case r.URL.Path == "/flaky":
			w.Write([]byte("ok"))
		default:
			http.Error(w, "no", http.StatusForbidden)
		}
	})
	f := NewFetcher(testPolicy, 10*time.Second)
	if got, err := f.Fetch(context.Background(), srv.URL+"/flaky", 10); err != nil || string(got.Data) != "ok" {
		t.Fatalf("Fetch of a flaky file = %q, %v", got.Data, err)
	}
	calls.Store(0)
	_, err := f.Fetch(context.Background(), srv.URL+"/forbidden", 10)
	wantFetchError(t, err, "403 Forbidden")
	if n := calls.Load(); n != 1 {
		t.Errorf("a 403 was tried %d times", n)
	}
}
