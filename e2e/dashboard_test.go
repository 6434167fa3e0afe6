package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// screenshotDir is where the dashboard test writes its screenshots: $PLUGZAPI_TEST_OUTPUT/dashboard when that is
// set (CI keeps that directory), e2e/testdata/out/dashboard otherwise (ignored by git). Unlike t.TempDir it
// outlives the test, so the pictures of a failed run can be looked at.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("testdata", "out", "dashboard")
	if out := os.Getenv("PLUGZAPI_TEST_OUTPUT"); out != "" {
		dir = filepath.Join(out, "dashboard")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// chromium returns the path of a headless Chromium: scripts/chromium installs Debian's package when it is missing
// (as root), so that a fresh machine needs no manual step.
func chromium(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("../scripts/chromium").Output()
	if err != nil {
		t.Fatalf("scripts/chromium: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// browser starts a headless Chromium for the test, with a page of phone-ish width so the responsive layout is what
// is pictured, and stops it when the test ends.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.WindowSize(1280, 1000),
		chromedp.Flag("lang", "en-US"),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium refuses to run as root inside its sandbox
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc, chromedp.WithErrorf(t.Logf))
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser, for as long as ctx lives
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// TestDashboard drives the dashboard in a real browser against the real server and the simulator: log in, create an
// instance, see its QR code, queue a message and cancel it, let a phone scan the code, see the instance connected,
// send a test message and watch its events arrive live, send a dead-lettered webhook again, and replay the
// instance's webhooks from a time.
func TestDashboard(t *testing.T) {
	sim := startSimulator(t)
	business := addAccount(t, sim, businessPhone, "Business")
	alice := addAccount(t, sim, alicePhone, "Alice")
	hooks := newReceiver(t)
	srv := startServer(t, sim, withEnv("PLUGZAPI_WEBHOOK_DEAD_AFTER", "2s"))
	tab := browser(t)
	shots := screenshotDir(t)
	// Each step has its own deadline, derived from the tab's context (a deadline on that one would end the browser).
	step := func() (context.Context, context.CancelFunc) { return context.WithTimeout(tab, 30*time.Second) }
	shoot := func(name string) {
		t.Helper()
		ctx, cancel := step()
		defer cancel()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		ctx, cancel := step()
		defer cancel()
		if err := chromedp.Do(ctx, steps...); err != nil {
			shoot("failed")
			t.Fatalf("%s: %v (screenshot in %s)", what, err, shots)
		}
	}
	// js evaluates an expression in the page.
	js := func(expr string) string {
		t.Helper()
		ctx, cancel := step()
		defer cancel()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("evaluate %s: %v", expr, err)
		}
		return v
	}
	text := func(sel string) string {
		return js(fmt.Sprintf(`document.querySelector(%q)?.textContent ?? ""`, sel))
	}
	waitText := func(what, sel, want string) {
		t.Helper()
		eventually(t, 30*time.Second, what, func() error {
			if got := text(sel); !strings.Contains(got, want) {
				return fmt.Errorf("%s shows %q, want %q", sel, got, want)
			}
			return nil
		})
	}
	// type_ replaces the value of an input with v as if typed.
	type_ := func(id, v string) []chromedp.Action[chromedp.Void] {
		clear := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Evaluate[bool](fmt.Sprintf(`(document.getElementById(%q).value = "", true)`, id))(ctx, tg)
			return err
		})
		return []chromedp.Action[chromedp.Void]{chromedp.WaitVisible(chromedp.ID(id)), clear, chromedp.SendKeys(chromedp.ID(id), v)}
	}
	steps := func(groups ...[]chromedp.Action[chromedp.Void]) []chromedp.Action[chromedp.Void] {
		var out []chromedp.Action[chromedp.Void]
		for _, g := range groups {
			out = append(out, g...)
		}
		return out
	}
	// submit presses the submit button of the form holding the element id, as a user does.
	submit := func(id string) []chromedp.Action[chromedp.Void] {
		return []chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.CSS(fmt.Sprintf(`form:has(#%s) button[type=submit]`, id)))}
	}

	do("open the page", chromedp.Navigate(srv.base+"/"), chromedp.WaitVisible(chromedp.ID("login-token")))
	do("log in with a wrong token", steps(type_("login-token", "not-the-token"), submit("login-token"))...)
	waitText("the refusal", "#login-error", "not the admin token")
	do("log in, by keyboard", steps(type_("login-token", adminToken+kb.Enter))...)
	do("see the instances", chromedp.WaitVisible(chromedp.ID("new-name")))

	do("create an instance", steps(type_("new-name", "Shop front"), submit("new-name"))...)
	do("see its token", chromedp.WaitVisible(chromedp.ID("created-token")))
	_, id, _ := strings.Cut(js(`location.hash`), "#/instances/")
	in := instance{srv: srv, id: id, token: strings.TrimSpace(text("#created-token"))}
	if res := in.call(t, "GET", "status", nil); res.status != 200 {
		t.Fatalf("the token the page showed does not work: %s", res)
	}
	do("see the QR code", chromedp.WaitVisible(chromedp.ID("qr")))
	if src := js(`document.getElementById("qr").src`); !strings.HasPrefix(src, "data:image/png;base64,") {
		t.Fatalf("QR image src = %.40q", src)
	}
	waitText("the live stream", "#stream-state", "Live")
	shoot("1-link")

	do("queue a message while disconnected", steps(type_("send-phone", alicePhone), type_("send-message", "never sent"), submit("send-message"))...)
	do("see it queued", chromedp.WaitVisible(chromedp.CSS(`#queue tr[data-zaap-id]`)))
	waitText("the queued event, live", "#events", "message_queued")
	do("cancel it", chromedp.Click(chromedp.CSS(`#queue tr[data-zaap-id] button`)))
	waitText("the empty queue", "#queue", "The queue is empty")
	waitText("the cancelled event, live", "#events", "message_cancelled")
	if q := queueOf(t, in); len(q) != 0 {
		t.Fatalf("queue after cancelling in the page: %+v", q)
	}

	// The connected webhook goes to a receiver that is down until it is dead-lettered.
	hooks.fail(0)
	if res := in.call(t, "PUT", "update-webhook-connected", map[string]any{"value": hooks.url()}); res.status != 200 {
		t.Fatalf("set the connected webhook: %s", res)
	}
	link(t, in, business)
	eventually(t, 30*time.Second, "the page shows the instance connected", func() error {
		if got := text("#instance-status"); got != "connected" {
			return fmt.Errorf("status %q", got)
		}
		return nil
	})
	waitText("its phone", "#instance-phone", businessPhone)
	do("the QR code is gone", chromedp.WaitNotVisible(chromedp.ID("qr")))

	do("send a test message", steps(type_("send-phone", alicePhone), type_("send-message", "hello from the dashboard"), submit("send-message"))...)
	eventually(t, 30*time.Second, "Alice gets the test message", func() error {
		for _, m := range alice.Messages("") {
			if m.Text == "hello from the dashboard" {
				return nil
			}
		}
		return fmt.Errorf("inbox %+v", alice.Messages(""))
	})
	for _, m := range alice.Messages("") {
		if m.Text == "never sent" {
			t.Errorf("the message cancelled in the page was sent")
		}
	}
	waitText("the sent event, live", "#events", "message_sent")
	waitText("the queue emptied", "#queue", "The queue is empty")
	if n := js(`String(document.querySelectorAll('#events li[data-type="message_sent"]').length)`); n != "1" {
		t.Errorf("%s message_sent events shown, want 1", n)
	}

	eventually(t, 30*time.Second, "the dead letter in the page", func() error {
		do("refresh the webhooks", chromedp.Click(chromedp.ID("refresh-webhooks")))
		if got := text("#hooks-dead"); got != "1" {
			return fmt.Errorf("dead letters: %q", got)
		}
		return nil
	})
	waitText("the dead letter's row", "#dead-letters", "ConnectedCallback")
	waitText("the webhook's URL", "#webhooks", "connected"+hooks.url())
	shoot("2-connected")
	if n := len(hooks.hooks()); n != 0 {
		t.Fatalf("the receiver accepted %d webhooks before the redelivery", n)
	}
	hooks.recover()
	do("redeliver it", chromedp.Click(chromedp.CSS(`#dead-letters tr[data-delivery-id] button`)))
	redelivered := hooks.waitFor(t, "connected, redelivered", func(h hook) bool { return h.Type == "ConnectedCallback" })
	waitText("no dead letter left", "#webhooks", "No dead letters")

	// Replayed from a time before the instance was linked: the connected webhook arrives once more, same ID.
	js(`(() => { const d = new Date(Date.now() - 10 * 60 * 1000); d.setMinutes(d.getMinutes() - d.getTimezoneOffset());
		document.getElementById("replay-from").value = d.toISOString().slice(0, 19); return "" })()`)
	do("replay the webhooks", submit("replay-from")...)
	waitText("the replay's answer", "#notice", "webhooks of")
	eventually(t, 30*time.Second, "the connected webhook, replayed", func() error {
		var ids []string
		for _, h := range hooks.hooks() {
			if h.Type == "ConnectedCallback" {
				ids = append(ids, h.WebhookID)
			}
		}
		if len(ids) != 2 || ids[1] != redelivered.WebhookID {
			return fmt.Errorf("connected webhooks received: %v, want %s twice", ids, redelivered.WebhookID)
		}
		return nil
	})

	// In Portuguese, on a phone's screen: nothing wider than the screen.
	js(`(() => { const s = document.getElementById("lang"); s.value = "pt-BR"; s.dispatchEvent(new Event("change")); return "" })()`)
	waitText("the page in Portuguese", "#events-title", "Eventos ao vivo")
	waitText("the events seen, still shown", "#events", "message_sent")
	do("a phone's screen", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	eventually(t, 10*time.Second, "the page fits the phone's screen", func() error {
		if w := js(`String(document.documentElement.scrollWidth)`); w != "390" {
			return fmt.Errorf("page is %s px wide on a 390 px screen", w)
		}
		return nil
	})
	shoot("3-phone-pt")

	do("delete the instance",
		chromedp.Navigate(srv.base+"/?reloaded"), // a new page: log in again, the token was in the old one's memory only
		chromedp.WaitVisible(chromedp.ID("login-token")))
	do("log in again", steps(type_("login-token", adminToken+kb.Enter))...)
	row := fmt.Sprintf(`tr[data-id=%q]`, in.id)
	do("see the instance listed", chromedp.WaitVisible(chromedp.CSS(row)))
	js(`(window.confirm = () => true, "")`) // the browser's own dialog is not the page's to test
	do("delete it", chromedp.Click(chromedp.CSS(row+" button")), chromedp.WaitNotPresent(chromedp.CSS(row)))
	if res := srv.admin(t, "GET", "/instances/"+in.id, nil); res.status != 404 {
		t.Errorf("the instance deleted in the page: %s", res)
	}
}
