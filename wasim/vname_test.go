package wasim_test

import (
	"errors"
	"strings"
	"testing"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/plugzapi/plugzapi/wasim"
)

// A business account's verified name comes with its messages and in usync answers; a personal account has none.
// An about text longer than WhatsApp takes is refused.
func TestVerifiedNameAndAboutLimit(t *testing.T) {
	sim := startSim(t, wasim.Options{})
	alice := addAccount(t, sim, "Alice")
	shop := addAccount(t, sim, "Shop")
	shop.SetBusiness(true)
	c := newClient(t, sim)
	c.link(alice)
	ctx := testContext(t)

	from := c.mark()
	id, err := shop.SendText(ctx, alice.Phone(), "our prices", "")
	if err != nil {
		t.Fatal(err)
	}
	evt := waitEvent[*events.Message](c, from, isMessage(id))
	if evt.Info.VerifiedName == nil || evt.Info.VerifiedName.Details.GetVerifiedName() != "Shop" {
		t.Errorf("the business's message came with the verified name %v", evt.Info.VerifiedName)
	}
	res, err := c.cli.IsOnWhatsApp(ctx, []string{"+" + shop.Phone(), "+" + alice.Phone()})
	if err != nil || len(res) != 2 {
		t.Fatalf("IsOnWhatsApp: %v, %v", res, err)
	}
	for _, r := range res {
		var got string
		if r.VerifiedName != nil {
			got = r.VerifiedName.Details.GetVerifiedName()
		}
		if r.JID == shop.JID() && got != "Shop" || r.JID == alice.JID() && r.VerifiedName != nil {
			t.Errorf("usync gave %s the verified name %q", r.JID, got)
		}
	}

	var iq *whatsmeow.IQError
	if err := c.cli.SetStatusMessage(ctx, strings.Repeat("a", 140)); !errors.As(err, &iq) || iq.Code != 406 {
		t.Errorf("an about text of 140 characters: %v, want IQ error 406", err)
	}
	if err := c.cli.SetStatusMessage(ctx, strings.Repeat("á", 139)); err != nil || alice.Status() != strings.Repeat("á", 139) {
		t.Errorf("an about text of 139 characters: %v, status %q", err, alice.Status())
	}
}
