// Command wasim runs the WhatsApp network simulator on one address: the WhatsApp
// websocket that whatsmeow clients connect to (when pointed at it with
// simclient.Configure, or plugzapi's PLUGZAPI_WA_SIMULATOR=host:port), the media hosts
// (uploads, downloads, profile pictures), and the JSON control API under /v1 that
// creates accounts, acts as their phones (texts, media, groups, profile, presence)
// and injects faults. Its certificate root is public: for tests and demos only.
//
//	wasim --addr 127.0.0.1:7080 --accounts 5511999990001=Alice,5511999990002=Bob
//
// Run wasim --help for the flags and a summary of the control API.
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
	mediaMB := fs.Int("media-memory-mb", 256, "memory for uploaded media, in MiB; the oldest uploads are evicted beyond it")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *mediaMB <= 0 {
		return fmt.Errorf("media memory %d MiB: must be positive", *mediaMB)
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

	sim, err := wasim.Start(ctx, wasim.Options{Addr: *addr, Logger: log, QRRefs: *qrRefs, MediaMemory: int64(*mediaMB) << 20})
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

// usage heads --help: what wasim is and its control API, then the flags.
const usage = `wasim: a WhatsApp network simulator for tests and demos (its trust root is public).

Usage: wasim [flags]

Control API (JSON; errors are {"error": "..."} with a 4xx status; unknown accounts 404):
  POST /v1/accounts                      {"phone","name"}            create an account (its phone comes online)
  GET  /v1/accounts[/{phone}]                                        accounts, devices, status, presence
  POST /v1/accounts/{phone}/scan         {"qr"}                      link the client showing this QR code
  POST /v1/accounts/{phone}/link-code    {"code"}                    link the client showing this pairing code
  POST /v1/accounts/{phone}/messages     {"to","text","replyTo"}     send a text to a phone or group
                                         {"to","type":"image|audio|video|document|sticker",
                                          "mediaBase64","mimeType","caption","fileName","ptt"}  send media
  GET  /v1/accounts/{phone}/messages[?since=<id>]                    the phone's decrypted inbox
  GET  /v1/accounts/{phone}/messages/{id}/media                      a received media file, decrypted
  POST /v1/accounts/{phone}/read|played  {"chat","ids":[...]}        read / played receipts
  POST /v1/accounts/{phone}/typing       {"chat","state":"composing|recording|paused"}
  GET  /v1/accounts/{phone}/chat-states                              what the phone saw others type, oldest first
  GET  /v1/accounts/{phone}/receipts                                 receipts the phone got for what it sent
  POST /v1/accounts/{phone}/subscribe-presence {"to"}                follow a number's presence
  GET  /v1/accounts/{phone}/presences                                presence updates the phone got
  POST /v1/accounts/{phone}/addressing   {"mode":"lid"}              move the account's chats to LIDs (one way)
  POST /v1/accounts/{phone}/online       {"online":false}            disconnect the phone (messages queue)
  POST /v1/accounts/{phone}/hold         {"hold":true}               keep deliveries to the account queued
  POST /v1/accounts/{phone}/presence     {"state":"available|unavailable"}
  POST /v1/accounts/{phone}/profile      {"pictureBase64"?,"status"?} JPEG picture ("" removes it), about text
  POST /v1/accounts/{phone}/contacts     {"phone","name"}            save a number in the phone's address book
  POST /v1/accounts/{phone}/status-privacy {"type":"contacts|blacklist|whitelist","phones":[...]}  who sees its statuses
  POST /v1/accounts/{phone}/groups       {"subject","participants":[...]}  create a group -> {"id":"<digits>-group","jid"}
  GET  /v1/accounts/{phone}/groups                                   the groups the account is in
  GET  /v1/groups/{id}                                               a group (<digits>-group or <digits>@g.us)
  POST /v1/groups/{id}/participants      {"by","action":"add|remove|promote|demote","participants":[...]}
  POST /v1/groups/{id}/subject           {"by","subject"}
  POST /v1/groups/{id}/description       {"by","description"}
  POST /v1/groups/{id}/leave             {"by"}
  POST /v1/groups/{id}/addressing        {"mode":"lid"}              move the group to LID addressing (one way)
  POST /v1/devices/{jid}/drop|unlink                                 faults for one linked device
  POST /v1/devices/{jid}/stream-error    {"code":"503|515|replaced|device_removed"}
  POST /v1/devices/{jid}/fail-next-login {"reason":"401|403|405|402"}
  POST /v1/devices/{jid}/delay-acks      {"ms":2000}                 hold back the server acks of its sends
  GET  /v1/messages/{id}/deliveries                                  copies routed per device

Flags:
`

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
