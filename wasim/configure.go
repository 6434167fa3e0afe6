package wasim

import (
	"net"
	"net/http"
	"time"

	"go.mau.fi/whatsmeow"
)

// Configure points a whatsmeow client at the simulator listening on addr (host:port):
// the websocket, the pre-login websocket and media transfers all go there over plain
// HTTP, whatever host whatsmeow asks for. It also calls TrustRoot, because a client
// that does not trust the simulator's certificate root cannot finish the handshake.
//
// Call it before Connect, and do not call SetProxy or SetSOCKSProxy afterwards: they
// replace the transports installed here.
func Configure(cli *whatsmeow.Client, addr string) {
	TrustRoot()
	hc := HTTPClient(addr)
	cli.SetPreLoginHTTPClient(hc)
	cli.SetWebsocketHTTPClient(hc)
	cli.SetMediaHTTPClient(hc)
}

// HTTPClient returns an HTTP client that sends every request to the simulator at
// addr over plain HTTP, for code that builds its own clients (media downloads, for
// example). The request's Host header is kept, so the simulator still sees which
// WhatsApp host was meant.
func HTTPClient(addr string) *http.Client {
	return &http.Client{Transport: &redirectTransport{addr: addr, base: newBaseTransport()}}
}

func newBaseTransport() *http.Transport {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		DialContext:           dialer.DialContext,
		MaxIdleConns:          64,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// redirectTransport rewrites the scheme and address of every request to the
// simulator. The websocket handshake works through it because net/http hands back
// the 101 response body as an io.ReadWriteCloser, which is what coder/websocket (the
// library inside whatsmeow) requires.
type redirectTransport struct {
	addr string
	base http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t *redirectTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	out := req.Clone(req.Context())
	if out.Host == "" {
		out.Host = req.URL.Host
	}
	out.URL.Scheme = "http"
	out.URL.Host = t.addr
	return t.base.RoundTrip(out)
}
