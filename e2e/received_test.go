package e2e

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/plugzapi/plugzapi/wasim"
)

// TestReceivedContentIsNeverDropped: a message whose content the server does not render yet (an image, a voice
// note) is still reported, with a ReceivedCallback naming its type, instead of being acknowledged to WhatsApp and
// lost without a word.
func TestReceivedContentIsNeverDropped(t *testing.T) {
	sim := startSimulator(t)
	business := addAccount(t, sim, businessPhone, "Business")
	alice := addAccount(t, sim, alicePhone, "Alice")
	hooks := newReceiver(t)
	srv := startServer(t, sim)
	in := createInstance(t, srv, "types", hooks)
	link(t, in, business)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, m := range []struct {
		media wasim.Media
		want  string
	}{
		{wasim.Media{Kind: wasim.MediaImage, Data: []byte("\xff\xd8\xff\xe0 not much of a photo"), Caption: "olha"}, "image"},
		{wasim.Media{Kind: wasim.MediaAudio, Data: []byte("OggS a short voice note"), PTT: true}, "audio"},
	} {
		id, err := alice.SendMedia(ctx, businessPhone, m.media)
		if err != nil {
			t.Fatal(err)
		}
		h := hooks.waitFor(t, m.want+" reported", func(h hook) bool { return h.Type == "ReceivedCallback" && h.str("messageId") == id })
		params, _ := h.Body["notificationParameters"].([]any)
		if h.str("notification") != "MESSAGE_TYPE_NOT_SUPPORTED" || !slices.Equal(params, []any{m.want}) ||
			h.str("phone") != alicePhone || h.Body["text"] != nil {
			t.Errorf("%s: %s", m.want, h.Raw)
		}
	}
}
