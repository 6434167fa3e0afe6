// Command wasim runs the WhatsApp network simulator on one address: the WhatsApp
// websocket that whatsmeow clients connect to (when pointed at it with
// wasim.Configure, or plugzapi's PLUGZAPI_WA_SIMULATOR=host:port), and the JSON
// control API under /v1 that creates accounts, acts as their phones and injects
// faults. Its certificate root is public: for tests and demos only.
//
//	wasim --addr 127.0.0.1:7080 --accounts 5511999990001=Alice,5511999990002=Bob
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/plugzapi/plugzapi/wasim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr, nil); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "wasim:", err)
		os.Exit(1)
	}
}

// run parses flags, serves until ctx ends, and reports the listen address to ready
// (when not nil) once the simulator accepts connections.
func run(ctx context.Context, args []string, stderr io.Writer, ready func(addr string)) error {
	fs := flag.NewFlagSet("wasim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:7080", "address to serve the WhatsApp websocket and the control API on")
	level := fs.String("log-level", "info", "log level: debug, info, warn or error")
	accounts := fs.String("accounts", "", "accounts to create at start, as phone=Name pairs separated by commas")
	qrRefs := fs.Int("qr-refs", 6, "QR codes offered to a client waiting to be linked")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		return fmt.Errorf("log level %q: %w", *level, err)
	}
	seed, err := parseAccounts(*accounts)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))
	log.Warn("THIS IS A WHATSAPP SIMULATOR FOR TESTS AND DEMOS ONLY: its certificate root is public, " +
		"and any client that trusts it can be impersonated. Never point a production client at it.")

	sim, err := wasim.Start(ctx, wasim.Options{Addr: *addr, Logger: log, QRRefs: *qrRefs})
	if err != nil {
		return err
	}
	for _, a := range seed {
		actx, cancel := context.WithTimeout(ctx, time.Minute)
		_, err := sim.AddAccount(actx, a.phone, a.name)
		cancel()
		if err != nil {
			return errors.Join(err, sim.Close())
		}
	}
	log.Info("control API ready", "accounts", "http://"+sim.Addr()+"/v1/accounts")
	if ready != nil {
		ready(sim.Addr())
	}
	<-ctx.Done()
	log.Info("shutting down")
	return sim.Close()
}

type seedAccount struct{ phone, name string }

func parseAccounts(spec string) ([]seedAccount, error) {
	var out []seedAccount
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		phone, name, ok := strings.Cut(item, "=")
		if !ok || phone == "" || name == "" {
			return nil, fmt.Errorf("account %q: want phone=Name", item)
		}
		out = append(out, seedAccount{phone: strings.TrimPrefix(strings.TrimSpace(phone), "+"), name: strings.TrimSpace(name)})
	}
	return out, nil
}
