package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/types"

	"github.com/plugzapi/plugzapi/wasim"
)

// clientToken is the account's Client-Token in these tests.
const clientToken = "ct-0123456789abcdef"

// withHeader calls an instance route with one more header (an empty value sends none).
func (in instance) withHeader(t testing.TB, method, rest string, body any, header, value string) response {
	t.Helper()
	return in.srv.call(t, method, in.path(rest), body, header, value)
}

// partner calls a partner route: the instance's path and the admin (integrator) token.
func (in instance) partner(t testing.TB, route string) response {
	t.Helper()
	return in.srv.call(t, "POST", in.path("integrator/on-demand/"+route), struct{}{}, "Authorization", "Bearer "+adminToken)
}

// errorText is the "error" field of an error answer.
func errorText(t testing.TB, res response) string {
	t.Helper()
	var body struct{ Error string }
	res.decode(t, &body)
	return body.Error
}

// TestClientToken: once the admin sets the account's Client-Token, every instance route needs it (Z-API's
// "null not allowed" without it), a message sent with it reaches the contact, the partner routes do not need it,
// it survives a restart, and removing it opens the routes again.
func TestClientToken(t *testing.T) {
	sim := startSimulator(t)
	business := addAccount(t, sim, businessPhone, "Business")
	alice := addAccount(t, sim, alicePhone, "Alice")
	srv := startServer(t, sim)
	in := createInstance(t, srv, "guarded", nil)
	link(t, in, business)

	enabled := func() bool {
		var state struct{ Enabled bool }
		srv.admin(t, "GET", "/account/client-token", nil).decode(t, &state)
		return state.Enabled
	}
	if enabled() {
		t.Fatal("a new server has a Client-Token")
	}
	if res := in.withHeader(t, "GET", "status", nil, "Client-Token", "anything"); res.status != http.StatusOK {
		t.Fatalf("without a Client-Token set, the header is ignored: %s", res)
	}

	t.Run("only the admin sets it, and not a weak one", func(t *testing.T) {
		srv.admin(t, "PUT", "/account/client-token", map[string]any{"value": "short"}).wantError(t, http.StatusBadRequest, "invalid_field")
		srv.admin(t, "PUT", "/account/client-token", map[string]any{}).wantError(t, http.StatusBadRequest, "missing_fields")
		srv.call(t, "PUT", "/account/client-token", map[string]any{"value": clientToken}).wantError(t, http.StatusUnauthorized, "unauthorized")
		if res := srv.admin(t, "PUT", "/account/client-token", map[string]any{"value": clientToken}); res.status != http.StatusOK {
			t.Fatalf("set the client token: %s", res)
		}
		if !enabled() {
			t.Fatal("GET /account/client-token does not say it is set")
		}
	})

	t.Run("every instance route requires it", func(t *testing.T) {
		for _, route := range []struct{ method, rest string }{{"GET", "status"}, {"GET", "queue"}, {"POST", "send-text"}, {"GET", "security/two-fa-code"}} {
			var body any
			if route.method == "POST" {
				body = map[string]any{"phone": alicePhone, "message": "no token"}
			}
			missing := in.withHeader(t, route.method, route.rest, body, "Client-Token", "")
			missing.wantError(t, http.StatusUnauthorized, "client_token_missing")
			if got := errorText(t, missing); got != "null not allowed" {
				t.Errorf("%s without the header: error %q, want Z-API's \"null not allowed\"", route.rest, got)
			}
			in.withHeader(t, route.method, route.rest, body, "Client-Token", clientToken+"x").wantError(t, http.StatusUnauthorized, "client_token_invalid")
		}
		res := in.withHeader(t, "POST", "send-text", map[string]any{"phone": alicePhone, "message": "with the token"}, "Client-Token", clientToken)
		if res.status != http.StatusOK {
			t.Fatalf("send with the token: %s", res)
		}
		var sent struct{ MessageID string }
		res.decode(t, &sent)
		if got := waitMessage(t, alice, sent.MessageID); got.Text != "with the token" {
			t.Errorf("Alice received %+v", got)
		}
		for _, m := range alice.Messages("") {
			if m.Text == "no token" {
				t.Errorf("a message sent without the token reached Alice: %+v", m)
			}
		}
	})

	t.Run("partner routes take the admin token instead", func(t *testing.T) {
		if res := in.partner(t, "subscription"); res.status != http.StatusCreated {
			t.Fatalf("subscription without Client-Token: %s", res)
		}
	})

	t.Run("it survives a restart, and removing it opens the routes", func(t *testing.T) {
		srv.restart()
		in.withHeader(t, "GET", "status", nil, "Client-Token", "").wantError(t, http.StatusUnauthorized, "client_token_missing")
		if res := in.withHeader(t, "GET", "status", nil, "Client-Token", clientToken); res.status != http.StatusOK {
			t.Fatalf("status with the token after a restart: %s", res)
		}
		if res := srv.admin(t, "DELETE", "/account/client-token", nil); res.status != http.StatusOK {
			t.Fatalf("remove the client token: %s", res)
		}
		if res := in.call(t, "GET", "status", nil); res.status != http.StatusOK || enabled() {
			t.Fatalf("status once the token is removed: %s", res)
		}
	})
}

// TestIPAllowList: an instance with an allow-list answers other addresses Z-API's "<ip> not allowed"; the client
// address comes from X-Forwarded-For only through a trusted proxy; other instances are not affected; the list
// survives a restart and removing it opens the instance again.
func TestIPAllowList(t *testing.T) {
	sim := startSimulator(t)
	srv := startServer(t, sim, withEnv("PLUGZAPI_TRUSTED_PROXIES", "127.0.0.1/32"))
	in := createInstance(t, srv, "office only", nil)
	other := createInstance(t, srv, "open", nil)
	list := "/instances/" + in.id + "/ip-allow-list"
	from := func(ip string) response {
		return in.withHeader(t, "GET", "status", nil, "X-Forwarded-For", ip)
	}

	var got struct{ Value []string }
	srv.admin(t, "GET", list, nil).decode(t, &got)
	if len(got.Value) != 0 {
		t.Fatalf("a new instance has an allow-list: %v", got.Value)
	}
	srv.admin(t, "PUT", list, map[string]any{"value": []string{"nope"}}).wantError(t, http.StatusBadRequest, "invalid_field")
	srv.admin(t, "PUT", list, map[string]any{}).wantError(t, http.StatusBadRequest, "missing_fields")
	srv.admin(t, "PUT", "/instances/NOSUCHINSTANCE/ip-allow-list", map[string]any{"value": []string{"203.0.113.7"}}).
		wantError(t, http.StatusNotFound, "instance_not_found")
	srv.call(t, "PUT", list, map[string]any{"value": []string{"203.0.113.7"}}).wantError(t, http.StatusUnauthorized, "unauthorized")
	if res := srv.admin(t, "PUT", list, map[string]any{"value": []string{"203.0.113.0/24", "2001:db8::1"}}); res.status != http.StatusOK {
		t.Fatalf("set the allow-list: %s", res)
	}
	srv.admin(t, "GET", list, nil).decode(t, &got)
	if !slices.Equal(got.Value, []string{"203.0.113.0/24", "2001:db8::1/128"}) {
		t.Fatalf("allow-list = %v", got.Value)
	}

	check := func(t *testing.T) {
		direct := in.call(t, "GET", "status", nil)
		direct.wantError(t, http.StatusForbidden, "ip_not_allowed")
		if e := errorText(t, direct); e != "127.0.0.1 not allowed" {
			t.Errorf("error %q, want Z-API's \"127.0.0.1 not allowed\"", e)
		}
		if res := from("203.0.113.7"); res.status != http.StatusOK {
			t.Errorf("from an allowed address through the proxy: %s", res)
		}
		if res := from("2001:db8::1"); res.status != http.StatusOK {
			t.Errorf("from an allowed IPv6 address through the proxy: %s", res)
		}
		refused := from("198.51.100.1")
		refused.wantError(t, http.StatusForbidden, "ip_not_allowed")
		if e := errorText(t, refused); e != "198.51.100.1 not allowed" {
			t.Errorf("error %q", e)
		}
		// A forged hop in front of the real client does not help: the proxy appends the address it saw.
		from("203.0.113.7, 198.51.100.1").wantError(t, http.StatusForbidden, "ip_not_allowed")
		if res := other.call(t, "GET", "status", nil); res.status != http.StatusOK {
			t.Errorf("an instance without a list: %s", res)
		}
	}
	t.Run("enforced", check)
	t.Run("enforced after a restart", func(t *testing.T) {
		srv.restart()
		check(t)
	})
	t.Run("removed", func(t *testing.T) {
		if res := srv.admin(t, "DELETE", list, nil); res.status != http.StatusOK {
			t.Fatalf("remove the allow-list: %s", res)
		}
		if res := in.call(t, "GET", "status", nil); res.status != http.StatusOK {
			t.Fatalf("status once the list is removed: %s", res)
		}
	})
}

// deviceOnline reports whether a linked device is connected, as the phone's account sees it.
func deviceOnline(acct *wasim.Account, dev types.JID) bool {
	for _, d := range acct.DeviceInfos() {
		if d.JID == dev {
			return d.Online
		}
	}
	return false
}

// waitOnline waits until the phone sees its linked device connected (or not).
func waitOnline(t testing.TB, acct *wasim.Account, dev types.JID, online bool) {
	t.Helper()
	eventually(t, 30*time.Second, fmt.Sprintf("device online=%v", online), func() error {
		if deviceOnline(acct, dev) != online {
			return fmt.Errorf("devices %+v", acct.DeviceInfos())
		}
		return nil
	})
}

// TestPartnerSubscriptionAndCancel: PlugZapi's partner routes answer 201 "OK" to the integrator token; a
// cancelled instance is refused and disconnected at once, stays so across a restart, and is deleted when the
// grace ends (its device leaves the phone); a subscription within the grace reconnects it and keeps it.
func TestPartnerSubscriptionAndCancel(t *testing.T) {
	const grace = 8 * time.Second
	sim := startSimulator(t)
	business := addAccount(t, sim, businessPhone, "Business")
	other := addAccount(t, sim, "5511999990077", "Other business")
	srv := startServer(t, sim, withEnv("PLUGZAPI_CANCEL_GRACE", grace.String()))
	kept := createInstance(t, srv, "kept", nil)
	doomed := createInstance(t, srv, "doomed", nil)
	keptDev := link(t, kept, business)
	doomedDev := link(t, doomed, other)

	t.Run("subscription", func(t *testing.T) {
		res := kept.partner(t, "subscription")
		if res.status != http.StatusCreated || string(res.body) != "OK" {
			t.Fatalf("subscription = %s, want 201 OK", res)
		}
		srv.call(t, "POST", kept.path("integrator/on-demand/subscription"), struct{}{}).wantError(t, http.StatusUnauthorized, "unauthorized")
		srv.call(t, "POST", "/instances/"+kept.id+"/token/wrong/integrator/on-demand/cancel", struct{}{},
			"Authorization", "Bearer "+adminToken).wantError(t, http.StatusNotFound, "instance_not_found")
	})

	t.Run("cancel then subscribe within the grace", func(t *testing.T) {
		if res := kept.partner(t, "cancel"); res.status != http.StatusCreated || string(res.body) != "OK" {
			t.Fatalf("cancel = %s", res)
		}
		refused := kept.call(t, "GET", "status", nil)
		refused.wantError(t, http.StatusBadRequest, "subscription_cancelled")
		if e := errorText(t, refused); !strings.Contains(e, "you must subscribe to this instance again") {
			t.Errorf("error %q, want Z-API's subscription text", e)
		}
		waitOnline(t, business, keptDev, false)
		var view struct{ Connected bool }
		srv.admin(t, "GET", "/instances/"+kept.id, nil).decode(t, &view)
		if view.Connected {
			t.Error("the admin view shows the cancelled instance connected")
		}
		if res := kept.partner(t, "subscription"); res.status != http.StatusCreated {
			t.Fatalf("subscribe again: %s", res)
		}
		waitConnected(t, kept)
		waitOnline(t, business, keptDev, true)
	})

	t.Run("cancel, restart, deleted after the grace", func(t *testing.T) {
		cancelled := time.Now()
		if res := doomed.partner(t, "cancel"); res.status != http.StatusCreated {
			t.Fatalf("cancel = %s", res)
		}
		doomed.call(t, "POST", "send-text", map[string]any{"phone": businessPhone, "message": "x"}).
			wantError(t, http.StatusBadRequest, "subscription_cancelled")
		waitOnline(t, other, doomedDev, false)
		srv.restart()
		if time.Since(cancelled) < grace-time.Second {
			doomed.call(t, "GET", "status", nil).wantError(t, http.StatusBadRequest, "subscription_cancelled")
			if time.Since(cancelled) < grace-time.Second {
				// The instance reconnected with the server and was stopped again.
				waitOnline(t, other, doomedDev, false)
			}
		}
		eventually(t, grace+30*time.Second, "the cancelled instance is deleted", func() error {
			if res := srv.admin(t, "GET", "/instances/"+doomed.id, nil); res.status != http.StatusNotFound {
				return fmt.Errorf("GET /instances/{id} = %s", res)
			}
			return nil
		})
		if early := time.Since(cancelled); early < grace {
			t.Errorf("deleted %s after the cancellation, before the grace of %s", early, grace)
		}
		doomed.call(t, "GET", "status", nil).wantError(t, http.StatusNotFound, "instance_not_found")
		eventually(t, 30*time.Second, "the device leaves the phone", func() error {
			if slices.Contains(other.Devices(), doomedDev) {
				return fmt.Errorf("devices %v", other.Devices())
			}
			return nil
		})
	})

	t.Run("the subscribed instance outlived its first deadline", func(t *testing.T) {
		waitConnected(t, kept)
	})
}

// TestTwoFACode: a linked device cannot know the account's two-step PIN, and the route says so (501) instead of
// guessing; it is an instance route like the others (token, Client-Token).
func TestTwoFACode(t *testing.T) {
	sim := startSimulator(t)
	srv := startServer(t, sim)
	in := createInstance(t, srv, "pin", nil)
	res := in.call(t, "GET", "security/two-fa-code", nil)
	res.wantError(t, http.StatusNotImplemented, "unsupported")
	if e := errorText(t, res); !strings.Contains(e, "two-step verification PIN") {
		t.Errorf("error %q does not say what is not available", e)
	}
	srv.call(t, "GET", "/instances/"+in.id+"/token/wrong/security/two-fa-code", nil).wantError(t, http.StatusNotFound, "instance_not_found")
}

// internalURLs are addresses only the server can reach: loopback, RFC 1918, CGNAT, and IPv6 forms of them
// (NAT64, 6to4, Teredo, IPv4-mapped, ULA).
var internalURLs = []string{
	"http://127.0.0.1:9/hook",
	"https://localhost/hook",
	"https://10.1.2.3/hook",
	"https://192.168.0.10/hook",
	"https://172.16.5.4/hook",
	"https://100.64.0.1/hook",
	"https://[::1]/hook",
	"https://[fd12:3456::1]/hook",
	"https://[::ffff:10.0.0.1]/hook",
	"https://[64:ff9b::a00:1]/hook",
	"https://[2002:c0a8:1::1]/hook",
	"https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/hook",
}

// TestInternalURLsRefusedByDefault: without the insecure flags, webhook and media URLs to internal addresses are
// refused when given; PLUGZAPI_ALLOW_INSECURE_WEBHOOKS and PLUGZAPI_ALLOW_INSECURE_MEDIA accept them (link-local
// and metadata addresses stay refused whatever the flags).
func TestInternalURLsRefusedByDefault(t *testing.T) {
	sim := startSimulator(t)
	strict := startServer(t, sim, withEnv("PLUGZAPI_ALLOW_INSECURE_WEBHOOKS", "0"))
	open := startServer(t, sim, withEnv("PLUGZAPI_ALLOW_INSECURE_MEDIA", "1"))
	for _, srv := range []*server{strict, open} {
		in := createInstance(t, srv, "urls", nil)
		wantAccepted := srv == open
		for _, u := range append(internalURLs, "https://169.254.169.254/latest/meta-data") {
			accepted := wantAccepted && !strings.Contains(u, "169.254")
			hook := in.call(t, "PUT", "update-webhook-delivery", map[string]any{"value": u})
			created := srv.admin(t, "POST", "/instances/integrator/on-demand", map[string]any{"name": "x", "receivedCallbackUrl": u})
			media := in.call(t, "POST", "send-image", map[string]any{"phone": alicePhone, "image": strings.Replace(u, "/hook", "/a.png", 1)})
			if accepted {
				if hook.status != http.StatusOK || created.status != http.StatusCreated || media.status != http.StatusOK {
					t.Errorf("%s with the flags: webhook %s, create %s, media %s", u, hook, created, media)
				}
				continue
			}
			if hook.status != http.StatusBadRequest || !strings.Contains(string(hook.body), "invalid_webhook_url") ||
				created.status != http.StatusBadRequest || !strings.Contains(string(created.body), "invalid_webhook_url") ||
				media.status != http.StatusBadRequest || !strings.Contains(string(media.body), "invalid_media") {
				t.Errorf("%s by default: webhook %s, create %s, media %s", u, hook, created, media)
			}
		}
		if res := in.call(t, "PUT", "update-webhook-delivery", map[string]any{"value": "https://hooks.example.com/x"}); res.status != http.StatusOK {
			t.Errorf("a public webhook URL: %s", res)
		}
	}
}

// TestAdminViewReadsItsWrites: the admin view answers from read models, and still shows a webhook URL set just
// before, every time.
func TestAdminViewReadsItsWrites(t *testing.T) {
	sim := startSimulator(t)
	srv := startServer(t, sim)
	in := createInstance(t, srv, "view", nil)
	for i := range 50 {
		url := fmt.Sprintf("https://hooks.example.com/delivery/%d", i)
		if res := in.call(t, "PUT", "update-webhook-delivery", map[string]any{"value": url}); res.status != http.StatusOK {
			t.Fatalf("set the webhook: %s", res)
		}
		var one struct{ DeliveryCallbackURL string }
		srv.admin(t, "GET", "/instances/"+in.id, nil).decode(t, &one)
		if one.DeliveryCallbackURL != url {
			t.Fatalf("try %d: GET /instances/{id} shows %q right after setting %q", i, one.DeliveryCallbackURL, url)
		}
		var page struct{ Content []json.RawMessage }
		srv.admin(t, "GET", "/instances?query="+in.id, nil).decode(t, &page)
		if len(page.Content) != 1 || !strings.Contains(string(page.Content[0]), url) {
			t.Fatalf("try %d: GET /instances shows %s right after setting %q", i, page.Content, url)
		}
	}
}
