package netguard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"path"
	"strings"
	"time"
)

// Transport is an HTTP transport whose every connection passes the policy's dial guard, with timeout bounding
// the connection's setup and the wait for an answer's headers. It uses no proxy from the environment: through a
// proxy the guard would see the proxy's address, not the target's.
func (p Policy) Transport(timeout time.Duration) *http.Transport {
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second, ControlContext: p.Control}
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
	}
}

// maxRedirects is how many redirects a fetch follows; each target passes the policy again.
const maxRedirects = 5

// fetchAttempts is how many times a fetch tries when the failure may pass (no connection, a 5xx, a 429);
// retryPause is the pause before the second attempt, doubled before each further one.
const (
	fetchAttempts = 3
	retryPause    = time.Second
)

// Fetcher downloads files under a policy, each within a time limit and a size limit. It is safe for concurrent
// use.
type Fetcher struct {
	policy  Policy
	timeout time.Duration
	client  *http.Client
}

// NewFetcher returns a fetcher that calls only what p allows and gives each fetch, redirects and retries
// included, at most timeout.
func NewFetcher(p Policy, timeout time.Duration) *Fetcher {
	f := &Fetcher{policy: p, timeout: timeout}
	f.client = &http.Client{Transport: p.Transport(timeout), CheckRedirect: f.checkRedirect}
	return f
}

// checkRedirect holds every redirect target to the policy: an allowed URL must not lead somewhere refused.
func (f *Fetcher) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > maxRedirects {
		return &FetchError{Reason: fmt.Sprintf("more than %d redirects", maxRedirects)}
	}
	if err := f.policy.CheckURL(req.URL.String()); err != nil {
		return &FetchError{Reason: "redirected to a refused URL: " + strings.TrimPrefix(err.Error(), ErrInvalidURL.Error()+": ")}
	}
	return nil
}

// File is what a fetch brought.
type File struct {
	Data []byte
	// ContentType is the type the server declared; it may be empty or wrong.
	ContentType string
	// Name is the file name the server gave (Content-Disposition), else the last segment of the URL's path, else
	// "".
	Name string
}

// FetchError is a fetch that failed for good: the URL is refused, or its server answered an error, was too
// slow, or sent too much or nothing. Reason says which in a sentence a client can be shown.
type FetchError struct {
	Reason string
}

func (e *FetchError) Error() string { return e.Reason }

// Fetch GETs rawURL and returns its body, which must hold 1 to limit bytes. Every failure is a *FetchError,
// except when ctx ends first: ctx's error is returned then, for the fetch may be tried again later.
func (f *Fetcher) Fetch(ctx context.Context, rawURL string, limit int64) (File, error) {
	if err := f.policy.CheckURL(rawURL); err != nil {
		return File{}, &FetchError{Reason: "the URL is refused: " + strings.TrimPrefix(err.Error(), ErrInvalidURL.Error()+": ")}
	}
	tooSlow := &FetchError{Reason: fmt.Sprintf("the server did not send the file within %s", f.timeout)}
	limited, cancel := context.WithTimeoutCause(ctx, f.timeout, tooSlow)
	defer cancel()
	pause := retryPause
	for attempt := 1; ; attempt++ {
		file, err, again := f.fetchOnce(limited, rawURL, limit)
		if err == nil {
			return file, nil
		}
		if ctx.Err() != nil {
			return File{}, fmt.Errorf("fetch media: %w", ctx.Err())
		}
		if limited.Err() != nil {
			return File{}, tooSlow
		}
		if !again || attempt == fetchAttempts {
			return File{}, err
		}
		select {
		case <-time.After(pause):
		case <-limited.Done():
			if ctx.Err() != nil {
				return File{}, fmt.Errorf("fetch media: %w", ctx.Err())
			}
			return File{}, tooSlow
		}
		pause *= 2
	}
}

// fetchOnce makes one attempt; again reports whether another attempt may do better.
func (f *Fetcher) fetchOnce(ctx context.Context, rawURL string, limit int64) (file File, err error, again bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return File{}, &FetchError{Reason: "the URL is refused: " + err.Error()}, false
	}
	req.Header.Set("User-Agent", "plugzapi")
	resp, err := f.client.Do(req)
	if err != nil {
		var (
			fe      *FetchError
			refused *RefusedError
		)
		switch {
		case errors.As(err, &fe): // a redirect refused
			return File{}, fe, false
		case errors.As(err, &refused):
			return File{}, &FetchError{Reason: fmt.Sprintf("the URL's host is refused: %s is %s", refused.Address, refused.Why)}, false
		}
		return File{}, &FetchError{Reason: "cannot reach the server: " + errorCause(err)}, true
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		_, _ = io.CopyN(io.Discard, resp.Body, 64<<10) // lets the connection be reused
		again := resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests
		return File{}, &FetchError{Reason: "the server answered " + resp.Status}, again
	}
	tooLarge := &FetchError{Reason: fmt.Sprintf("the file is larger than %d bytes", limit)}
	if resp.ContentLength > limit {
		return File{}, tooLarge, false
	}
	// Reading one byte past the limit tells a file of exactly limit bytes from a larger one, without reading
	// the rest of a larger one.
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	switch {
	case err != nil:
		return File{}, &FetchError{Reason: "the download broke off: " + errorCause(err)}, true
	case int64(len(data)) > limit:
		return File{}, tooLarge, false
	case len(data) == 0:
		return File{}, &FetchError{Reason: "the file is empty"}, false
	}
	return File{Data: data, ContentType: resp.Header.Get("Content-Type"), Name: fileName(resp)}, nil, false
}

// fileName is the name the answer gives its file, or the last segment of the (final) URL's path.
func fileName(resp *http.Response) string {
	if _, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition")); err == nil {
		if name := path.Base(strings.ReplaceAll(params["filename"], `\`, "/")); name != "." && name != "/" {
			return name
		}
	}
	if name := path.Base(resp.Request.URL.Path); name != "." && name != "/" {
		return name
	}
	return ""
}

// errorCause is the innermost error's text: net/http's wrapping repeats the method and the URL.
func errorCause(err error) string {
	for {
		inner := errors.Unwrap(err)
		if inner == nil {
			return err.Error()
		}
		err = inner
	}
}
