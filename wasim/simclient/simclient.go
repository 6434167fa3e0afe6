// Package simclient is the client side of wasim: what a process needs to point its whatsmeow clients at a
// WhatsApp simulator instead of WhatsApp, and nothing of the simulator itself. The plugzapi server imports it
// (only this) for its PLUGZAPI_WA_SIMULATOR setting.
//
// The simulator's certificate root is public knowledge by design: anyone can run a simulator that a trusting
// client accepts. A process that calls TrustRoot can no longer talk to the real WhatsApp, and must only do so
// in tests, demos, or behind an explicit flag.
package simclient

import (
	"net"
	"net/http"
	"sync"
	"time"

	signallogger "go.mau.fi/libsignal/logger"
	"go.mau.fi/whatsmeow"
)

// rootPublicKey is the public key of every wasim simulator's certificate root (wasim derives the pair from a
// fixed seed, and its tests check that it matches).
var rootPublicKey = [32]byte{
	0xcd, 0x41, 0x01, 0xf7, 0xa6, 0x28, 0xfd, 0x34, 0x48, 0xdc, 0x1c, 0xea, 0x17, 0x84, 0x58, 0xe9,
	0x9f, 0xd8, 0xc7, 0x75, 0xca, 0x65, 0x48, 0x19, 0xb4, 0x0c, 0x55, 0x6d, 0x55, 0x99, 0x38, 0x0a,
}

var trustOnce sync.Once

// RootPublicKey returns the public key of the simulator's certificate root. A client that trusts it
// (whatsmeow.WACertPubKey) accepts any wasim server, and no real one.
func RootPublicKey() [32]byte { return rootPublicKey }

// TrustRoot makes every whatsmeow client in this process trust the simulator's certificate root instead of
// WhatsApp's, by overwriting whatsmeow.WACertPubKey. It runs once per process and must be called before any
// client connects (Configure calls it).
func TrustRoot() {
	InitSignalLogger()
	trustOnce.Do(func() { whatsmeow.WACertPubKey = rootPublicKey })
}

var signalLoggerOnce sync.Once

// InitSignalLogger makes libsignal install its default logger now. libsignal does that lazily, on its first log
// call, with an unsynchronized write to a package variable, so two goroutines encrypting for the first time race
// (go test -race reports it). Any process that runs whatsmeow clients concurrently should call it once before;
// what is logged is unchanged (libsignal's default logger drops debug messages).
func InitSignalLogger() {
	signalLoggerOnce.Do(func() { signallogger.Debug("libsignal logger initialized") })
}

// Configure points a whatsmeow client at the simulator listening on addr (host:port): the websocket, the
// pre-login websocket and media transfers all go there over plain HTTP, whatever host whatsmeow asks for. It
// also calls TrustRoot, because a client that does not trust the simulator's root cannot finish the handshake.
//
// Call it before Connect, and do not call SetProxy or SetSOCKSProxy afterwards: they replace the transports
// installed here.
func Configure(cli *whatsmeow.Client, addr string) {
	TrustRoot()
	hc := HTTPClient(addr)
	cli.SetPreLoginHTTPClient(hc)
	cli.SetWebsocketHTTPClient(hc)
	cli.SetMediaHTTPClient(hc)
}

// HTTPClient returns an HTTP client that sends every request to the simulator at addr over plain HTTP, for code
// that builds its own clients (media downloads, for example). The request's Host header is kept, so the
// simulator still sees which WhatsApp host was meant.
func HTTPClient(addr string) *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	base := &http.Transport{
		DialContext:           dialer.DialContext,
		MaxIdleConns:          64,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{Transport: &redirectTransport{addr: addr, base: base}}
}

// redirectTransport rewrites the scheme and address of every request to the simulator. The websocket handshake
// works through it because net/http hands back the 101 response body as an io.ReadWriteCloser, which is what
// coder/websocket (the library inside whatsmeow) requires.
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
