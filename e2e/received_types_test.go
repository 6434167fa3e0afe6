package e2e

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"google.golang.org/protobuf/proto"

	"github.com/plugzapi/plugzapi/wasim"
)

// obj is a JSON object of a webhook body.
func obj(v any) map[string]any { m, _ := v.(map[string]any); return m }

// received waits for the ReceivedCallback of a message and returns its content object under key.
func receivedContent(t *testing.T, hooks *receiver, id, key string) (hook, map[string]any) {
	t.Helper()
	h := hooks.waitFor(t, key+" "+id, func(h hook) bool {
		return h.Type == "ReceivedCallback" && h.str("messageId") == id && h.Body[key] != nil
	})
	return h, obj(h.Body[key])
}

// download fetches a received file's URL (with a Range header when rng is set).
func download(t *testing.T, url, rng string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, body
}

// checkFile downloads a received file and compares it with what the phone sent.
func checkFile(t *testing.T, what, url string, want []byte, wantType string) {
	t.Helper()
	status, header, got := download(t, url, "")
	if status != http.StatusOK || sha256.Sum256(got) != sha256.Sum256(want) || header.Get("Content-Type") != wantType {
		t.Errorf("%s at %s: %d %q, %d bytes (want %d bytes of %s)", what, url, status, header.Get("Content-Type"),
			len(got), len(want), wantType)
	}
}

func randomFile(prefix string, n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return append([]byte(prefix), b...)
}

// TestReceivedTypes: every type a contact can send reaches the received webhook with its content object, as
// PlugZapi names it; received files are served at their URLs, byte for byte, with ranges.
func TestReceivedTypes(t *testing.T) {
	sim := startSimulator(t)
	business := addAccount(t, sim, businessPhone, "Business")
	alice := addAccount(t, sim, alicePhone, "Alice")
	hooks := newReceiver(t)
	srv := startServer(t, sim)
	in := createInstance(t, srv, "types", hooks)
	link(t, in, business)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	send := func(msg *waE2E.Message) string {
		t.Helper()
		id, err := alice.SendMessage(ctx, businessPhone, msg)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}

	t.Run("media", func(t *testing.T) {
		for _, m := range []struct {
			media    wasim.Media
			key, url string
			mime     string
		}{
			{wasim.Media{Kind: wasim.MediaImage, Data: randomFile("\xff\xd8\xff\xe0", 3000), Caption: "olha"}, "image", "imageUrl", "image/jpeg"},
			{wasim.Media{Kind: wasim.MediaAudio, Data: randomFile("OggS", 5000), PTT: true}, "audio", "audioUrl", "audio/ogg; codecs=opus"},
			{wasim.Media{Kind: wasim.MediaVideo, Data: randomFile("\x00\x00\x00\x18ftypmp42", 8000), Caption: "vídeo"}, "video", "videoUrl", "video/mp4"},
			{wasim.Media{Kind: wasim.MediaDocument, Data: randomFile("%PDF-1.4", 4000), FileName: "relatório.pdf", Caption: "segue"}, "document", "documentUrl", "application/pdf"},
			{wasim.Media{Kind: wasim.MediaSticker, Data: randomFile("RIFF\x00\x00\x00\x00WEBPVP8 ", 2000)}, "sticker", "stickerUrl", "image/webp"},
		} {
			id, err := alice.SendMedia(ctx, businessPhone, m.media)
			if err != nil {
				t.Fatal(err)
			}
			h, c := receivedContent(t, hooks, id, m.key)
			if c["mimeType"] != m.mime || h.str("phone") != alicePhone || h.Body["notification"] != nil {
				t.Errorf("%s: %s", m.key, h.Raw)
			}
			url, _ := c[m.url].(string)
			if !strings.HasPrefix(url, srv.base+"/media/") || strings.Contains(url, in.token) {
				t.Fatalf("%s URL %q is not the server's own, or holds the instance token", m.key, url)
			}
			checkFile(t, m.key, url, m.media.Data, m.mime)
			switch m.key {
			case "image", "video":
				if c["caption"] != m.media.Caption {
					t.Errorf("%s caption: %s", m.key, h.Raw)
				}
			case "audio":
				if c["ptt"] != true {
					t.Errorf("voice note without ptt: %s", h.Raw)
				}
				// Players ask for ranges.
				status, header, part := download(t, url, "bytes=4-99")
				if status != http.StatusPartialContent || !bytes.Equal(part, m.media.Data[4:100]) ||
					header.Get("Content-Range") != fmt.Sprintf("bytes 4-99/%d", len(m.media.Data)) {
					t.Errorf("range of the voice note: %d %q, %d bytes", status, header.Get("Content-Range"), len(part))
				}
			case "document":
				if c["fileName"] != "relatório.pdf" || c["caption"] != "segue" {
					t.Errorf("document: %s", h.Raw)
				}
			}
		}
		// A link that was never given is a 404, as one that expired.
		if status, _, _ := download(t, srv.base+"/media/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.jpeg", ""); status != http.StatusNotFound {
			t.Errorf("unknown media link: %d", status)
		}
	})

	t.Run("view once, with a thumbnail", func(t *testing.T) {
		photo, thumb := randomFile("\xff\xd8\xff\xe0", 3000), randomFile("\xff\xd8\xff\xe0", 300)
		id, err := alice.SendMedia(ctx, businessPhone, wasim.Media{Kind: wasim.MediaImage, Data: photo, ViewOnce: true, Thumbnail: thumb})
		if err != nil {
			t.Fatal(err)
		}
		h, c := receivedContent(t, hooks, id, "image")
		if c["viewOnce"] != true {
			t.Errorf("view once: %s", h.Raw)
		}
		checkFile(t, "view-once image", c["imageUrl"].(string), photo, "image/jpeg")
		thumbURL, _ := c["thumbnailUrl"].(string)
		checkFile(t, "thumbnail", thumbURL, thumb, "image/jpeg")
	})

	t.Run("a file gone from WhatsApp's servers", func(t *testing.T) {
		// The message names a file the media servers do not have (expired there): it is reported all the same,
		// with downloadError, rather than held back or dropped.
		sum := sha256.Sum256([]byte("gone"))
		id := send(&waE2E.Message{ImageMessage: &waE2E.ImageMessage{Mimetype: proto.String("image/jpeg"), Caption: proto.String("sumiu"),
			DirectPath: proto.String("/v/t62.7118-24/nothing-here.enc"), MediaKey: make([]byte, 32),
			FileSHA256: sum[:], FileEncSHA256: sum[:], FileLength: proto.Uint64(4)}})
		h, c := receivedContent(t, hooks, id, "image")
		if c["downloadError"] != true || c["imageUrl"] != "" || c["caption"] != "sumiu" {
			t.Errorf("undownloadable image: %s", h.Raw)
		}
	})

	t.Run("wrappers", func(t *testing.T) {
		// A document with a caption comes wrapped; so does a message in a chat with disappearing messages.
		sum := sha256.Sum256([]byte("doc"))
		id := send(&waE2E.Message{DocumentWithCaptionMessage: &waE2E.FutureProofMessage{Message: &waE2E.Message{
			DocumentMessage: &waE2E.DocumentMessage{Mimetype: proto.String("application/pdf"), FileName: proto.String("nota.pdf"),
				Caption: proto.String("a nota"), PageCount: proto.Uint32(2), DirectPath: proto.String("/v/t62.7119-24/gone.enc"),
				MediaKey: make([]byte, 32), FileSHA256: sum[:], FileEncSHA256: sum[:], FileLength: proto.Uint64(3)}}}})
		h, c := receivedContent(t, hooks, id, "document")
		if c["fileName"] != "nota.pdf" || c["caption"] != "a nota" || c["pageCount"] != 2.0 {
			t.Errorf("document with caption: %s", h.Raw)
		}
		id = send(&waE2E.Message{EphemeralMessage: &waE2E.FutureProofMessage{Message: &waE2E.Message{
			ExtendedTextMessage: &waE2E.ExtendedTextMessage{Text: proto.String("some em 7 dias"),
				ContextInfo: &waE2E.ContextInfo{Expiration: proto.Uint32(604800)}}}}})
		h, c = receivedContent(t, hooks, id, "text")
		if c["message"] != "some em 7 dias" || h.Body["messageExpirationSeconds"] != 604800.0 {
			t.Errorf("disappearing: %s", h.Raw)
		}
	})

	t.Run("product and payment request", func(t *testing.T) {
		id := send(&waE2E.Message{ProductMessage: &waE2E.ProductMessage{
			BusinessOwnerJID: proto.String(alicePhone + "@s.whatsapp.net"),
			Product: &waE2E.ProductMessage_ProductSnapshot{ProductID: proto.String("7012345678901234"), Title: proto.String("Caneca"),
				Description: proto.String("Porcelana"), CurrencyCode: proto.String("BRL"), PriceAmount1000: proto.Int64(39900),
				RetailerID: proto.String("SKU-9"), URL: proto.String("https://loja.example/caneca"), ProductImageCount: proto.Uint32(1)}}})
		h, c := receivedContent(t, hooks, id, "product")
		if c["productId"] != "7012345678901234" || c["title"] != "Caneca" || c["price"] != 39.9 || c["currencyCode"] != "BRL" ||
			c["businessOwnerJid"] != alicePhone || c["retailerId"] != "SKU-9" || c["productImageCount"] != 1.0 {
			t.Errorf("product: %s", h.Raw)
		}
		id = send(&waE2E.Message{RequestPaymentMessage: &waE2E.RequestPaymentMessage{
			RequestFrom: proto.String(businessPhone + "@s.whatsapp.net"), ExpiryTimestamp: proto.Int64(1900000000),
			Amount:      &waE2E.Money{Value: proto.Int64(2550), Offset: proto.Uint32(2), CurrencyCode: proto.String("BRL")},
			NoteMessage: &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{Text: proto.String("a pizza")}}}})
		h, c = receivedContent(t, hooks, id, "requestPayment")
		if c["value"] != 25.5 || c["currencyCode"] != "BRL" || c["requestPhone"] != businessPhone ||
			c["expiration"] != 1900000000000.0 || c["message"] != "a pizza" {
			t.Errorf("payment request: %s", h.Raw)
		}
	})

	t.Run("status reply", func(t *testing.T) {
		id := send(&waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{Text: proto.String("lindo status"),
			ContextInfo: &waE2E.ContextInfo{StanzaID: proto.String("STATUS1"), RemoteJID: proto.String("status@broadcast"),
				Participant:   proto.String(businessPhone + "@s.whatsapp.net"),
				QuotedMessage: &waE2E.Message{Conversation: proto.String("meu status")}}}})
		h, _ := receivedContent(t, hooks, id, "text")
		if h.Body["isStatusReply"] != true || h.str("referenceMessageId") != "STATUS1" {
			t.Errorf("status reply: %s", h.Raw)
		}
	})

	t.Run("location", func(t *testing.T) {
		id := send(&waE2E.Message{LocationMessage: &waE2E.LocationMessage{DegreesLatitude: proto.Float64(-23.5489),
			DegreesLongitude: proto.Float64(-46.6388), Name: proto.String("Praça da Sé"), Address: proto.String("São Paulo")}})
		h, c := receivedContent(t, hooks, id, "location")
		if c["latitude"] != -23.5489 || c["longitude"] != -46.6388 || c["name"] != "Praça da Sé" || c["address"] != "São Paulo" {
			t.Errorf("location: %s", h.Raw)
		}
		id = send(&waE2E.Message{LiveLocationMessage: &waE2E.LiveLocationMessage{DegreesLatitude: proto.Float64(1.5),
			DegreesLongitude: proto.Float64(2.5), Caption: proto.String("a caminho")}})
		h, c = receivedContent(t, hooks, id, "location")
		if c["latitude"] != 1.5 || c["isLive"] != true || c["name"] != "a caminho" {
			t.Errorf("live location: %s", h.Raw)
		}
	})

	t.Run("contacts", func(t *testing.T) {
		vcard := "BEGIN:VCARD\nVERSION:3.0\nFN:Bruno\nTEL;type=CELL;waid=5511988887777:+55 11 98888-7777\nEND:VCARD"
		id := send(&waE2E.Message{ContactMessage: &waE2E.ContactMessage{DisplayName: proto.String("Bruno"), Vcard: proto.String(vcard)}})
		h, c := receivedContent(t, hooks, id, "contact")
		if c["displayName"] != "Bruno" || c["vCard"] != vcard || !slices.Equal(c["phones"].([]any), []any{"5511988887777"}) {
			t.Errorf("contact: %s", h.Raw)
		}
		id = send(&waE2E.Message{ContactsArrayMessage: &waE2E.ContactsArrayMessage{Contacts: []*waE2E.ContactMessage{
			{DisplayName: proto.String("Bruno"), Vcard: proto.String(vcard)},
			{DisplayName: proto.String("Caio"), Vcard: proto.String("BEGIN:VCARD\nFN:Caio\nTEL:+55 11 3333-4444\nEND:VCARD")}}}})
		h = hooks.waitFor(t, "contacts", func(h hook) bool { return h.str("messageId") == id && h.Body["contacts"] != nil })
		cards, _ := h.Body["contacts"].([]any)
		if len(cards) != 2 || obj(cards[1])["displayName"] != "Caio" || !slices.Equal(obj(cards[1])["phones"].([]any), []any{"551133334444"}) {
			t.Errorf("contacts: %s", h.Raw)
		}
	})

	t.Run("reaction", func(t *testing.T) {
		sent := sendText(t, in, alicePhone, "react to me")
		waitMessage(t, alice, sent)
		key := &waCommon.MessageKey{RemoteJID: proto.String(businessPhone + "@s.whatsapp.net"), FromMe: proto.Bool(false), ID: proto.String(sent)}
		id := send(&waE2E.Message{ReactionMessage: &waE2E.ReactionMessage{Key: key, Text: proto.String("❤️"),
			SenderTimestampMS: proto.Int64(time.Now().UnixMilli())}})
		h, c := receivedContent(t, hooks, id, "reaction")
		ref := obj(c["referencedMessage"])
		if c["value"] != "❤️" || ref["messageId"] != sent || ref["fromMe"] != true || ref["phone"] != alicePhone ||
			c["reactionBy"] != alicePhone {
			t.Errorf("reaction: %s", h.Raw)
		}
		id = send(&waE2E.Message{ReactionMessage: &waE2E.ReactionMessage{Key: key, Text: proto.String(""),
			SenderTimestampMS: proto.Int64(time.Now().UnixMilli())}})
		h, c = receivedContent(t, hooks, id, "reaction")
		if c["value"] != "" || obj(c["referencedMessage"])["messageId"] != sent {
			t.Errorf("reaction removed: %s", h.Raw)
		}
	})

	t.Run("replies", func(t *testing.T) {
		id := send(&waE2E.Message{ButtonsResponseMessage: &waE2E.ButtonsResponseMessage{SelectedButtonID: proto.String("b1"),
			Response: &waE2E.ButtonsResponseMessage_SelectedDisplayText{SelectedDisplayText: "Ótimo"},
			Type:     waE2E.ButtonsResponseMessage_DISPLAY_TEXT.Enum()}})
		h, c := receivedContent(t, hooks, id, "buttonsResponseMessage")
		if c["buttonId"] != "b1" || c["message"] != "Ótimo" {
			t.Errorf("button reply: %s", h.Raw)
		}
		id = send(&waE2E.Message{ListResponseMessage: &waE2E.ListResponseMessage{Title: proto.String("Plano A"),
			Description: proto.String("o mais barato"), ListType: waE2E.ListResponseMessage_SINGLE_SELECT.Enum(),
			SingleSelectReply: &waE2E.ListResponseMessage_SingleSelectReply{SelectedRowID: proto.String("row-1")}}})
		h, c = receivedContent(t, hooks, id, "listResponseMessage")
		if c["selectedRowId"] != "row-1" || c["title"] != "Plano A" || c["message"] != "o mais barato" {
			t.Errorf("list reply: %s", h.Raw)
		}
	})

	t.Run("edit and revoke", func(t *testing.T) {
		id := send(&waE2E.Message{Conversation: proto.String("tpyo")})
		receivedContent(t, hooks, id, "text")
		own := &waCommon.MessageKey{RemoteJID: proto.String(businessPhone + "@s.whatsapp.net"), FromMe: proto.Bool(true), ID: proto.String(id)}
		send(&waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{Type: waE2E.ProtocolMessage_MESSAGE_EDIT.Enum(), Key: own,
			EditedMessage: &waE2E.Message{Conversation: proto.String("typo")}, TimestampMS: proto.Int64(time.Now().UnixMilli())}})
		h := hooks.waitFor(t, "edit", func(h hook) bool {
			return h.str("messageId") == id && h.Body["isEdit"] == true
		})
		if obj(h.Body["text"])["message"] != "typo" {
			t.Errorf("edit: %s", h.Raw)
		}
		revoke := send(&waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{Type: waE2E.ProtocolMessage_REVOKE.Enum(), Key: own}})
		h = hooks.waitFor(t, "revoke", func(h hook) bool { return h.str("messageId") == revoke })
		if h.str("notification") != "REVOKE" || !slices.Equal(h.Body["notificationParameters"].([]any), []any{id}) {
			t.Errorf("revoke: %s", h.Raw)
		}
	})

	t.Run("forwarded", func(t *testing.T) {
		id := send(&waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{Text: proto.String("passing it on"),
			ContextInfo: &waE2E.ContextInfo{IsForwarded: proto.Bool(true), ForwardingScore: proto.Uint32(1)}}})
		h, _ := receivedContent(t, hooks, id, "text")
		if h.Body["forwarded"] != true {
			t.Errorf("forwarded: %s", h.Raw)
		}
	})

	t.Run("poll and vote", func(t *testing.T) {
		secret := make([]byte, 32)
		rand.Read(secret)
		options := []string{"PlugZapi", "Outros", "Nenhum"}
		poll := &waE2E.PollCreationMessage{Name: proto.String("Qual a melhor API?"), SelectableOptionsCount: proto.Uint32(1)}
		for _, o := range options {
			poll.Options = append(poll.Options, &waE2E.PollCreationMessage_Option{OptionName: proto.String(o)})
		}
		pollID := send(&waE2E.Message{PollCreationMessageV3: poll, MessageContextInfo: &waE2E.MessageContextInfo{MessageSecret: secret}})
		h, c := receivedContent(t, hooks, pollID, "poll")
		if c["question"] != "Qual a melhor API?" || c["pollMaxOptions"] != 1.0 || len(c["options"].([]any)) != 3 ||
			obj(c["options"].([]any)[1])["name"] != "Outros" {
			t.Errorf("poll: %s", h.Raw)
		}
		voter := alicePhone + "@s.whatsapp.net"
		vote := encryptVote(t, secret, pollID, voter, voter, "Outros")
		id := send(&waE2E.Message{PollUpdateMessage: &waE2E.PollUpdateMessage{
			PollCreationMessageKey: &waCommon.MessageKey{RemoteJID: proto.String(businessPhone + "@s.whatsapp.net"),
				FromMe: proto.Bool(true), ID: proto.String(pollID)},
			Vote: vote, SenderTimestampMS: proto.Int64(time.Now().UnixMilli())}})
		h, c = receivedContent(t, hooks, id, "pollVote")
		if c["pollMessageId"] != pollID || len(c["options"].([]any)) != 1 || obj(c["options"].([]any)[0])["name"] != "Outros" {
			t.Errorf("poll vote: %s", h.Raw)
		}
	})
}

// encryptVote encrypts a poll vote as a WhatsApp client does: AES-GCM with a key derived (HKDF-SHA256) from the
// poll's message secret and who created the poll and who votes, the options named by their SHA-256.
func encryptVote(t *testing.T, secret []byte, pollID, creator, voter string, chosen ...string) *waE2E.PollEncValue {
	t.Helper()
	plain := &waE2E.PollVoteMessage{}
	for _, o := range chosen {
		sum := sha256.Sum256([]byte(o))
		plain.SelectedOptions = append(plain.SelectedOptions, sum[:])
	}
	payload, err := proto.Marshal(plain)
	if err != nil {
		t.Fatal(err)
	}
	key, err := hkdf.Key(sha256.New, secret, nil, pollID+creator+voter+"Poll Vote", 32)
	if err != nil {
		t.Fatal(err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	iv := make([]byte, gcm.NonceSize())
	rand.Read(iv)
	return &waE2E.PollEncValue{EncIV: iv, EncPayload: gcm.Seal(nil, iv, payload, []byte(pollID+"\x00"+voter))}
}

// TestReceivedMediaExpires: a received file's URL works until the retention ends, then the file is gone.
func TestReceivedMediaExpires(t *testing.T) {
	sim := startSimulator(t)
	business := addAccount(t, sim, businessPhone, "Business")
	alice := addAccount(t, sim, alicePhone, "Alice")
	hooks := newReceiver(t)
	srv := startServer(t, sim, withEnv("PLUGZAPI_MEDIA_RETENTION", "4s"))
	in := createInstance(t, srv, "retention", hooks)
	link(t, in, business)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	data := randomFile("\xff\xd8\xff\xe0", 2000)
	id, err := alice.SendMedia(ctx, businessPhone, wasim.Media{Kind: wasim.MediaImage, Data: data})
	if err != nil {
		t.Fatal(err)
	}
	_, c := receivedContent(t, hooks, id, "image")
	url, _ := c["imageUrl"].(string)
	checkFile(t, "image", url, data, "image/jpeg")
	eventually(t, 15*time.Second, "the link expires", func() error {
		if status, _, _ := download(t, url, ""); status != http.StatusNotFound {
			return fmt.Errorf("GET %s = %d", url, status)
		}
		return nil
	})
	var body map[string]any
	_, _, raw := download(t, url, "")
	if json.Unmarshal(raw, &body) != nil || body["error"] == nil {
		t.Errorf("expired link answered %s, want a JSON error", raw)
	}
}

// TestReceivedWaitingMessage: a message the instance cannot decrypt (damaged on its way) is reported at once with
// waitingMessage, as WhatsApp shows "Waiting for this message"; the instance asks the sender's phone for it
// again and the real content follows under the same ID.
func TestReceivedWaitingMessage(t *testing.T) {
	sim := startSimulator(t)
	business := addAccount(t, sim, businessPhone, "Business")
	alice := addAccount(t, sim, alicePhone, "Alice")
	hooks := newReceiver(t)
	srv := startServer(t, sim)
	in := createInstance(t, srv, "waiting", hooks)
	device := link(t, in, business)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// A first message sets up the session, so that the damaged one is an ordinary one.
	first, err := alice.SendText(ctx, businessPhone, "olá", "")
	if err != nil {
		t.Fatal(err)
	}
	receivedContent(t, hooks, first, "text")

	if err := sim.GarbleNextMessage(device); err != nil {
		t.Fatal(err)
	}
	id, err := alice.SendText(ctx, businessPhone, "chegou?", "")
	if err != nil {
		t.Fatal(err)
	}
	waiting := hooks.waitFor(t, "waiting message", func(h hook) bool {
		return h.str("messageId") == id && h.Body["waitingMessage"] == true
	})
	if waiting.str("notification") != "CIPHERTEXT" || waiting.Body["text"] != nil || waiting.str("phone") != alicePhone {
		t.Errorf("waiting: %s", waiting.Raw)
	}
	h, c := receivedContent(t, hooks, id, "text")
	if c["message"] != "chegou?" || h.Body["waitingMessage"] != false {
		t.Errorf("the message after the retry: %s", h.Raw)
	}
}

// TestReceivedGroupEvents: what happens to a group the instance is in comes as notifications from the group,
// and messages in it carry the group's subject as chatName.
func TestReceivedGroupEvents(t *testing.T) {
	const bobPhone = "5511999990002"
	sim := startSimulator(t)
	business := addAccount(t, sim, businessPhone, "Business")
	alice := addAccount(t, sim, alicePhone, "Alice")
	addAccount(t, sim, bobPhone, "Bob")
	hooks := newReceiver(t)
	srv := startServer(t, sim)
	in := createInstance(t, srv, "groups", hooks)
	link(t, in, business)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	notified := func(code string, params ...any) hook {
		t.Helper()
		return hooks.waitFor(t, code, func(h hook) bool {
			got, _ := h.Body["notificationParameters"].([]any)
			return h.Type == "ReceivedCallback" && h.str("notification") == code && slices.Equal(got, params)
		})
	}
	group, err := alice.CreateGroup(ctx, "Equipe", businessPhone)
	if err != nil {
		t.Fatal(err)
	}
	created := notified("GROUP_CREATE", "Equipe")
	if created.str("phone") != group.ID || created.Body["isGroup"] != true || created.str("chatName") != "Equipe" ||
		created.str("participantPhone") != alicePhone {
		t.Errorf("created: %s", created.Raw)
	}
	id, err := alice.SendText(ctx, group.ID, "bem-vindos", "")
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := receivedContent(t, hooks, id, "text"); h.str("chatName") != "Equipe" || h.str("participantPhone") != alicePhone {
		t.Errorf("message in the group: %s", h.Raw)
	}
	if _, err := alice.UpdateGroupParticipants(ctx, group.ID, "add", bobPhone); err != nil {
		t.Fatal(err)
	}
	notified("GROUP_PARTICIPANT_ADD", bobPhone)
	if _, err := alice.UpdateGroupParticipants(ctx, group.ID, "remove", bobPhone); err != nil {
		t.Fatal(err)
	}
	notified("GROUP_PARTICIPANT_REMOVE", bobPhone)
	if err := alice.SetGroupSubject(ctx, group.ID, "Equipe 2"); err != nil {
		t.Fatal(err)
	}
	notified("GROUP_CHANGE_SUBJECT", "Equipe 2")
	id, err = alice.SendText(ctx, group.ID, "novo nome", "")
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := receivedContent(t, hooks, id, "text"); h.str("chatName") != "Equipe 2" {
		t.Errorf("chatName after the rename: %s", h.Raw)
	}
	if err := alice.LeaveGroup(ctx, group.ID); err != nil {
		t.Fatal(err)
	}
	notified("GROUP_PARTICIPANT_LEAVE", alicePhone)
}

// TestPollVoteRoundTrip: a poll the instance sent (send-poll) is voted on by the contact's phone, and the vote
// arrives decrypted, with the options chosen by name; changing the vote and withdrawing it arrive too.
func TestPollVoteRoundTrip(t *testing.T) {
	sim := startSimulator(t)
	business := addAccount(t, sim, businessPhone, "Business")
	alice := addAccount(t, sim, alicePhone, "Alice")
	hooks := newReceiver(t)
	srv := startServer(t, sim)
	in := createInstance(t, srv, "polls", hooks)
	link(t, in, business)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	res := in.call(t, "POST", "send-poll", map[string]any{"phone": alicePhone, "message": "Entrega amanhã?",
		"poll": []map[string]string{{"name": "Sim"}, {"name": "Não"}, {"name": "Talvez"}}, "pollMaxOptions": 0})
	var q struct{ MessageID string }
	res.decode(t, &q)
	if res.status != http.StatusOK || q.MessageID == "" {
		t.Fatalf("send-poll: %s", res)
	}
	if m := waitMessage(t, alice, q.MessageID); m.Type != "poll" {
		t.Fatalf("Alice got %+v", m)
	}
	for _, choice := range [][]string{{"Sim", "Talvez"}, {"Não"}, {}} {
		vote, err := alice.VotePoll(ctx, businessPhone, q.MessageID, choice...)
		if err != nil {
			t.Fatal(err)
		}
		h, c := receivedContent(t, hooks, vote, "pollVote")
		var names []string
		for _, o := range c["options"].([]any) {
			names = append(names, obj(o)["name"].(string))
		}
		if c["pollMessageId"] != q.MessageID || !slices.Equal(names, choice) && len(choice)+len(names) > 0 {
			t.Errorf("vote %v: %s", choice, h.Raw)
		}
	}
}
