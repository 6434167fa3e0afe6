// Command plugzapi is the plugzapi server: a self-hosted WhatsApp REST API, wire-compatible with PlugZapi.
// With no settings at all it listens on :8080 and keeps everything in ./data/plugzapi.db. See README.md for the
// settings (flags or PLUGZAPI_* environment variables). `plugzapi healthcheck` (with the same settings) asks the
// running server's /healthz and exits 0 when it is healthy, for container health checks.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "healthcheck" {
		os.Exit(healthcheck(os.Args[2:], osEnv, os.Stderr))
	}
	cfg, err := loadConfig(os.Args[1:], osEnv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "plugzapi:", err)
		os.Exit(2)
	}
	logger := newLogger(cfg)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, cfg, logger); err != nil {
		logger.Error("server stopped", "err", err)
		os.Exit(1)
	}
}
