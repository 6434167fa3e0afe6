package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// healthcheckTimeout bounds one health check; it is below the Dockerfile's HEALTHCHECK --timeout, so that the
// check says why it failed before Docker gives up on it.
const healthcheckTimeout = 4 * time.Second

// healthcheck is `plugzapi healthcheck`: it asks the server that the same settings (flags, environment)
// describe whether it is healthy, by GET /healthz on its listen address, and returns the exit code: 0 healthy,
// 1 not. Container images without a shell or curl (distroless, scratch) run it as their HEALTHCHECK.
func healthcheck(args []string, getenv func(string) string, stderr io.Writer) int {
	cfg, err := loadConfig(args, getenv)
	if err != nil {
		fmt.Fprintln(stderr, "plugzapi healthcheck:", err)
		return 1
	}
	if _, port, err := net.SplitHostPort(cfg.Addr); err != nil || port == "0" {
		fmt.Fprintf(stderr, "plugzapi healthcheck: cannot tell the server's port from the listen address %q\n", cfg.Addr)
		return 1
	}
	url := localURL(cfg.Addr) + "/healthz"
	ctx, cancel := context.WithTimeout(context.Background(), healthcheckTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		fmt.Fprintln(stderr, "plugzapi healthcheck:", err)
		return 1
	}
	// No proxy: the server is on this machine, whatever HTTP_PROXY says.
	client := &http.Client{Transport: &http.Transport{Proxy: nil}}
	res, err := client.Do(req)
	if err != nil {
		fmt.Fprintln(stderr, "plugzapi healthcheck:", err)
		return 1
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		fmt.Fprintf(stderr, "plugzapi healthcheck: %s answered %s: %s\n", url, res.Status, body)
		return 1
	}
	return 0
}

// localURL is the http:// base URL of a server listening on addr, as seen from the same machine: a wildcard
// host is read as localhost.
func localURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}
