package httpapi

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"

	"github.com/go-chi/chi/v5"

	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
	"github.com/plugzapi/plugzapi/recipient"
)

// The send routes of locations, contacts, reactions, polls and interactive messages, and the message actions
// (delete, read, forward). Every message goes through the queue like a text (queueMessage); reading is not a
// message and goes to WhatsApp at once.

// Limits of what WhatsApp shows.
const (
	// maxPollOptions is the most options a WhatsApp poll has; minPollOptions the fewest.
	minPollOptions, maxPollOptions = 2, 12
	// maxButtons is the most buttons WhatsApp shows under a message.
	maxButtons = 3
	// maxListOptions is the most options of an option list.
	maxListOptions = 10
	// maxContacts bounds the cards of one send-contacts message.
	maxContacts = 100
	// maxLabelChars bounds a button's label, a list's title, an option's title and description.
	maxLabelChars = 256
	// maxReactionChars bounds a reaction: one emoji, which may be several code points (skin tones, flags, ZWJ
	// sequences).
	maxReactionChars = 16
)

func (a *api) mountRichRoutes(r chi.Router) {
	p := instancePrefix
	send := func(newBody func() sendBody) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { a.queueMessage(w, r, newBody(), false) }
	}
	r.Post(p+"/send-location", send(func() sendBody { return &sendLocationRequest{} }))
	r.Post(p+"/send-contact", send(func() sendBody { return &sendContactRequest{} }))
	r.Post(p+"/send-contacts", send(func() sendBody { return &sendContactsRequest{} }))
	r.Post(p+"/send-reaction", send(func() sendBody { return &sendReactionRequest{} }))
	r.Post(p+"/send-remove-reaction", send(func() sendBody { return &sendReactionRequest{remove: true} }))
	r.Post(p+"/send-poll", send(func() sendBody { return &sendPollRequest{} }))
	r.Post(p+"/send-button-list", send(func() sendBody { return &sendButtonListRequest{} }))
	r.Post(p+"/send-button-actions", send(func() sendBody { return &sendButtonActionsRequest{} }))
	r.Post(p+"/send-option-list", send(func() sendBody { return &sendOptionListRequest{} }))
	r.Post(p+"/send-button-pix", send(func() sendBody { return &sendButtonPixRequest{} }))
	r.Post(p+"/send-button-otp", send(func() sendBody { return &sendButtonOTPRequest{} }))
	r.Post(p+"/forward-message", a.forwardMessage)
	r.Post(p+"/read-message", a.readMessage)
	// PlugZapi's page says /messages, its JSON example /message: both are served.
	r.Delete(p+"/messages", a.deleteMessage)
	r.Delete(p+"/message", a.deleteMessage)
}

// coordinate is a latitude or a longitude: PlugZapi documents them as strings; a JSON number is taken too.
type coordinate struct {
	set   bool
	value float64
	raw   string
}

func (c *coordinate) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		s = string(b) // a number
	}
	c.raw = strings.TrimSpace(s)
	c.set = c.raw != "" // an empty string is a missing field
	v, err := strconv.ParseFloat(c.raw, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		c.raw = "" // reported by check
		return nil
	}
	c.value = v
	return nil
}

// check refuses a coordinate that is not a number within ±limit degrees.
func (c coordinate) check(field string, limit float64) error {
	if c.raw == "" || c.value < -limit || c.value > limit {
		return badRequest(codeInvalidField, fmt.Sprintf("%s must be a number of degrees from %g to %g, such as \"-23.5505\"", field, -limit, limit), field)
	}
	return nil
}

// sendLocationRequest is the body of POST send-location.
type sendLocationRequest struct {
	envelope
	Title     string     `json:"title"`
	Address   string     `json:"address"`
	Latitude  coordinate `json:"latitude"`
	Longitude coordinate `json:"longitude"`
}

func (req *sendLocationRequest) missing() []string {
	m := append(required("title", req.Title), required("address", req.Address)...)
	if !req.Latitude.set {
		m = append(m, "latitude")
	}
	if !req.Longitude.set {
		m = append(m, "longitude")
	}
	return m
}

func (req *sendLocationRequest) content() (*messagesv1.Content, error) {
	for _, f := range []struct{ name, value string }{{"title", req.Title}, {"address", req.Address}} {
		if err := checkText(f.name, f.value, maxMessageChars); err != nil {
			return nil, err
		}
	}
	if err := req.Latitude.check("latitude", 90); err != nil {
		return nil, err
	}
	if err := req.Longitude.check("longitude", 180); err != nil {
		return nil, err
	}
	return &messagesv1.Content{Kind: &messagesv1.Content_Location{Location: &messagesv1.Location{
		Latitude: req.Latitude.value, Longitude: req.Longitude.value, Name: req.Title, Address: req.Address,
	}}}, nil
}

// contact checks a contact card's fields; field prefixes the names of the fields in errors.
func contact(field, name string, phones []string, description string) (*messagesv1.Contact, error) {
	if err := checkText(field+"name", name, maxNameChars); err != nil {
		return nil, err
	}
	if len(phones) == 0 {
		return nil, badRequest(codeInvalidField, field+"phones must hold at least one phone number", field+"phones")
	}
	for _, p := range phones {
		if !recipient.IsPhoneNumber(p) {
			return nil, invalidPhone(field+"phones", false)
		}
	}
	if tooLong(description, maxMessageChars) {
		return nil, badRequest(codeInvalidField, fmt.Sprintf("%sbusinessDescription must be at most %d characters", field, maxMessageChars), field+"businessDescription")
	}
	return &messagesv1.Contact{Name: name, Phones: phones, BusinessDescription: description}, nil
}

// sendContactRequest is the body of POST send-contact: one contact card. PlugZapi marks
// contactBusinessDescription required; it is optional here, as in Z-API, since only businesses have one.
type sendContactRequest struct {
	envelope
	ContactName                string `json:"contactName"`
	ContactPhone               string `json:"contactPhone"`
	ContactBusinessDescription string `json:"contactBusinessDescription"`
}

func (req *sendContactRequest) missing() []string {
	return append(required("contactName", req.ContactName), required("contactPhone", req.ContactPhone)...)
}

func (req *sendContactRequest) content() (*messagesv1.Content, error) {
	if !recipient.IsPhoneNumber(req.ContactPhone) {
		return nil, invalidPhone("contactPhone", false)
	}
	c, err := contact("contact", req.ContactName, []string{req.ContactPhone}, req.ContactBusinessDescription)
	if err != nil {
		return nil, err
	}
	return &messagesv1.Content{Kind: &messagesv1.Content_Contacts{Contacts: &messagesv1.Contacts{Contacts: []*messagesv1.Contact{c}}}}, nil
}

// sendContactsRequest is the body of POST send-contacts: several contact cards in one message.
type sendContactsRequest struct {
	envelope
	Contacts []struct {
		Name                string   `json:"name"`
		Phones              []string `json:"phones"`
		BusinessDescription string   `json:"businessDescription"`
	} `json:"contacts"`
}

func (req *sendContactsRequest) missing() []string {
	if len(req.Contacts) == 0 {
		return []string{"contacts"}
	}
	return nil
}

func (req *sendContactsRequest) content() (*messagesv1.Content, error) {
	if len(req.Contacts) > maxContacts {
		return nil, badRequest(codeInvalidField, fmt.Sprintf("contacts must hold at most %d contacts", maxContacts), "contacts")
	}
	cards := &messagesv1.Contacts{}
	for _, c := range req.Contacts {
		card, err := contact("contacts[].", c.Name, c.Phones, c.BusinessDescription)
		if err != nil {
			return nil, err
		}
		cards.Contacts = append(cards.Contacts, card)
	}
	return &messagesv1.Content{Kind: &messagesv1.Content_Contacts{Contacts: cards}}, nil
}

// sendReactionRequest is the body of POST send-reaction, and of POST send-remove-reaction (remove: no emoji).
// Its messageId is the message reacted to, required.
type sendReactionRequest struct {
	envelope
	remove   bool
	Reaction string `json:"reaction"`
}

func (req *sendReactionRequest) messageIDIsTarget() bool { return true }

func (req *sendReactionRequest) missing() []string {
	m := required("messageId", req.MessageID)
	if !req.remove {
		m = append(required("reaction", req.Reaction), m...)
	}
	return m
}

func (req *sendReactionRequest) content() (*messagesv1.Content, error) {
	emoji := ""
	if !req.remove {
		emoji = strings.TrimSpace(req.Reaction)
		if !isEmoji(emoji) {
			return nil, badRequest(codeInvalidField, "reaction must be one emoji, such as \"👍\"", "reaction")
		}
	}
	return &messagesv1.Content{Kind: &messagesv1.Content_Reaction{Reaction: &messagesv1.Reaction{
		Target: &messagesv1.MessageRef{MessageId: req.MessageID}, Emoji: emoji,
	}}}, nil
}

// isEmoji reports whether s can be one emoji: short, and without letters, digits, spaces or punctuation of any
// script (the joiners, selectors and symbols that make up emoji are none of those).
func isEmoji(s string) bool {
	if s == "" || tooLong(s, maxReactionChars) {
		return false
	}
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// sendPollRequest is the body of POST send-poll (Z-API's): a question and its options. pollMaxOptions is how
// many options one may choose: 1 for a single choice; absent or 0 for any number.
type sendPollRequest struct {
	envelope
	Message string `json:"message"`
	Poll    []struct {
		Name string `json:"name"`
	} `json:"poll"`
	PollMaxOptions *int `json:"pollMaxOptions"`
}

func (req *sendPollRequest) missing() []string {
	m := required("message", req.Message)
	if len(req.Poll) == 0 {
		m = append(m, "poll")
	}
	return m
}

func (req *sendPollRequest) content() (*messagesv1.Content, error) {
	if err := checkText("message", req.Message, maxLabelChars); err != nil {
		return nil, err
	}
	if len(req.Poll) < minPollOptions || len(req.Poll) > maxPollOptions {
		return nil, badRequest(codeInvalidField,
			fmt.Sprintf("poll must hold %d to %d options, each {\"name\": \"…\"}", minPollOptions, maxPollOptions), "poll")
	}
	poll := &messagesv1.Poll{Question: req.Message, Secret: make([]byte, messagesv1.PollSecretLen)}
	seen := map[string]bool{}
	for _, o := range req.Poll {
		if err := checkText("poll[].name", o.Name, maxLabelChars); err != nil {
			return nil, err
		}
		// Votes name options by the hash of their text: two equal options could not be told apart.
		if seen[o.Name] {
			return nil, badRequest(codeInvalidField, fmt.Sprintf("poll has the option %q twice", o.Name), "poll")
		}
		seen[o.Name] = true
		poll.Options = append(poll.Options, o.Name)
	}
	if n := req.PollMaxOptions; n != nil {
		if *n < 0 || *n > len(req.Poll) {
			return nil, badRequest(codeInvalidField,
				fmt.Sprintf("pollMaxOptions must be from 0 (any number) to the number of options, %d", len(req.Poll)), "pollMaxOptions")
		}
		poll.Selectable = uint32(*n)
	}
	// The secret is chosen now so that a send tried again is the same poll (see messages.proto).
	if _, err := rand.Read(poll.Secret); err != nil {
		return nil, fmt.Errorf("poll secret: %w", err)
	}
	return &messagesv1.Content{Kind: &messagesv1.Content_Poll{Poll: poll}}, nil
}

// label checks the text of a button or an option.
func label(field, s string) error { return checkText(field, s, maxLabelChars) }

// optionalID checks the optional id of a button or an option: what the reply names.
func optionalID(field, id string) error {
	if tooLong(id, maxLabelChars) {
		return badRequest(codeInvalidField, fmt.Sprintf("%s must be at most %d characters", field, maxLabelChars), field)
	}
	return nil
}

// sendButtonListRequest is the body of POST send-button-list: a text with reply buttons.
type sendButtonListRequest struct {
	envelope
	Message    string `json:"message"`
	ButtonList struct {
		Buttons []struct {
			ID    string `json:"id"`
			Label string `json:"label"`
		} `json:"buttons"`
	} `json:"buttonList"`
}

func (req *sendButtonListRequest) missing() []string {
	m := required("message", req.Message)
	if len(req.ButtonList.Buttons) == 0 {
		m = append(m, "buttonList.buttons")
	}
	return m
}

func (req *sendButtonListRequest) content() (*messagesv1.Content, error) {
	if err := checkText("message", req.Message, maxMessageChars); err != nil {
		return nil, err
	}
	if len(req.ButtonList.Buttons) > maxButtons {
		return nil, badRequest(codeInvalidField, fmt.Sprintf("buttonList.buttons must hold 1 to %d buttons", maxButtons), "buttonList.buttons")
	}
	b := &messagesv1.Buttons{Text: req.Message}
	for _, btn := range req.ButtonList.Buttons {
		if err := label("buttonList.buttons[].label", btn.Label); err != nil {
			return nil, err
		}
		if err := optionalID("buttonList.buttons[].id", btn.ID); err != nil {
			return nil, err
		}
		b.Buttons = append(b.Buttons, &messagesv1.Button{Id: btn.ID, Label: btn.Label, Action: messagesv1.Button_ACTION_REPLY})
	}
	return &messagesv1.Content{Kind: &messagesv1.Content_Buttons{Buttons: b}}, nil
}

// buttonActions are send-button-actions' button types.
var buttonActions = map[string]messagesv1.Button_Action{
	"REPLY": messagesv1.Button_ACTION_REPLY, "URL": messagesv1.Button_ACTION_URL, "CALL": messagesv1.Button_ACTION_CALL,
}

// sendButtonActionsRequest is the body of POST send-button-actions: a text with buttons that reply, open a
// link or call a number.
type sendButtonActionsRequest struct {
	envelope
	Message       string `json:"message"`
	Title         string `json:"title"`
	Footer        string `json:"footer"`
	ButtonActions []struct {
		ID    string `json:"id"`
		Type  string `json:"type"`
		Phone string `json:"phone"`
		URL   string `json:"url"`
		Label string `json:"label"`
	} `json:"buttonActions"`
}

func (req *sendButtonActionsRequest) missing() []string {
	m := required("message", req.Message)
	if len(req.ButtonActions) == 0 {
		m = append(m, "buttonActions")
	}
	return m
}

func (req *sendButtonActionsRequest) content() (*messagesv1.Content, error) {
	if err := checkText("message", req.Message, maxMessageChars); err != nil {
		return nil, err
	}
	if tooLong(req.Title, maxLabelChars) || tooLong(req.Footer, maxLabelChars) {
		return nil, badRequest(codeInvalidField, fmt.Sprintf("title and footer must be at most %d characters", maxLabelChars), "title", "footer")
	}
	if len(req.ButtonActions) > maxButtons {
		return nil, badRequest(codeInvalidField, fmt.Sprintf("buttonActions must hold 1 to %d buttons", maxButtons), "buttonActions")
	}
	b := &messagesv1.Buttons{Text: req.Message, Title: req.Title, Footer: req.Footer}
	for _, in := range req.ButtonActions {
		action, ok := buttonActions[strings.ToUpper(in.Type)]
		if !ok {
			return nil, badRequest(codeInvalidField, "buttonActions[].type must be CALL, URL or REPLY", "buttonActions[].type")
		}
		if err := label("buttonActions[].label", in.Label); err != nil {
			return nil, err
		}
		if err := optionalID("buttonActions[].id", in.ID); err != nil {
			return nil, err
		}
		btn := &messagesv1.Button{Id: in.ID, Label: in.Label, Action: action}
		switch action {
		case messagesv1.Button_ACTION_CALL:
			if !recipient.IsPhoneNumber(in.Phone) {
				return nil, invalidPhone("buttonActions[].phone", false)
			}
			btn.Phone = in.Phone
		case messagesv1.Button_ACTION_URL:
			if !isWebURL(in.URL) {
				return nil, badRequest(codeInvalidField, "buttonActions[].url must be an http(s) URL", "buttonActions[].url")
			}
			btn.Url = in.URL
		}
		b.Buttons = append(b.Buttons, btn)
	}
	return &messagesv1.Content{Kind: &messagesv1.Content_Buttons{Buttons: b}}, nil
}

func isWebURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && len(s) <= maxURLLen
}

// sendOptionListRequest is the body of POST send-option-list: a text with a button that opens a list.
type sendOptionListRequest struct {
	envelope
	Message    string `json:"message"`
	OptionList struct {
		Title       string `json:"title"`
		ButtonLabel string `json:"buttonLabel"`
		Options     []struct {
			ID          string `json:"id"`
			Title       string `json:"title"`
			Description string `json:"description"`
		} `json:"options"`
	} `json:"optionList"`
}

func (req *sendOptionListRequest) missing() []string {
	m := required("message", req.Message)
	m = append(m, required("optionList.title", req.OptionList.Title)...)
	m = append(m, required("optionList.buttonLabel", req.OptionList.ButtonLabel)...)
	if len(req.OptionList.Options) == 0 {
		m = append(m, "optionList.options")
	}
	return m
}

func (req *sendOptionListRequest) content() (*messagesv1.Content, error) {
	if err := checkText("message", req.Message, maxMessageChars); err != nil {
		return nil, err
	}
	l := req.OptionList
	if err := label("optionList.title", l.Title); err != nil {
		return nil, err
	}
	if err := label("optionList.buttonLabel", l.ButtonLabel); err != nil {
		return nil, err
	}
	if len(l.Options) > maxListOptions {
		return nil, badRequest(codeInvalidField, fmt.Sprintf("optionList.options must hold 1 to %d options", maxListOptions), "optionList.options")
	}
	list := &messagesv1.OptionList{Text: req.Message, Title: l.Title, ButtonLabel: l.ButtonLabel}
	for _, o := range l.Options {
		if err := label("optionList.options[].title", o.Title); err != nil {
			return nil, err
		}
		if err := optionalID("optionList.options[].id", o.ID); err != nil {
			return nil, err
		}
		if tooLong(o.Description, maxLabelChars) {
			return nil, badRequest(codeInvalidField, fmt.Sprintf("optionList.options[].description must be at most %d characters", maxLabelChars), "optionList.options[].description")
		}
		list.Options = append(list.Options, &messagesv1.Option{Id: o.ID, Title: o.Title, Description: o.Description})
	}
	return &messagesv1.Content{Kind: &messagesv1.Content_OptionList{OptionList: list}}, nil
}

// pixKeyTypes are send-button-pix's key types, each with a check of the key.
var pixKeyTypes = map[string]func(key string) bool{
	"CPF":   func(k string) bool { return isDigitsOfLen(k, 11) },
	"CNPJ":  func(k string) bool { return isDigitsOfLen(k, 14) },
	"PHONE": func(k string) bool { return recipient.IsPhoneNumber(strings.TrimPrefix(k, "+")) },
	"EMAIL": func(k string) bool {
		at := strings.IndexByte(k, '@')
		return at > 0 && at < len(k)-1 && !strings.ContainsAny(k, " \t")
	},
	// A random key (chave aleatória) is a UUID.
	"EVP": func(k string) bool {
		return len(k) == 36 && strings.Count(k, "-") == 4 && isHex(strings.ReplaceAll(k, "-", ""))
	},
}

func isDigitsOfLen(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func isHex(s string) bool {
	for _, c := range s {
		if !unicode.Is(unicode.ASCII_Hex_Digit, c) {
			return false
		}
	}
	return s != ""
}

// sendButtonPixRequest is the body of POST send-button-pix: a button to pay by Pix to a key.
type sendButtonPixRequest struct {
	envelope
	PixKey       string `json:"pixKey"`
	Type         string `json:"type"`
	MerchantName string `json:"merchantName"`
}

func (req *sendButtonPixRequest) missing() []string {
	return append(required("pixKey", req.PixKey), required("type", req.Type)...)
}

func (req *sendButtonPixRequest) content() (*messagesv1.Content, error) {
	keyType := strings.ToUpper(req.Type)
	valid, ok := pixKeyTypes[keyType]
	if !ok {
		return nil, badRequest(codeInvalidField, "type must be CPF, CNPJ, PHONE, EMAIL or EVP", "type")
	}
	if !valid(req.PixKey) || tooLong(req.PixKey, maxLabelChars) {
		return nil, badRequest(codeInvalidField, "pixKey is not a Pix key of type "+keyType+
			" (CPF: 11 digits, CNPJ: 14 digits, PHONE: digits with country code, EMAIL: an address, EVP: a UUID)", "pixKey")
	}
	merchant := req.MerchantName
	if merchant == "" {
		merchant = "Pix"
	}
	if tooLong(merchant, maxLabelChars) {
		return nil, badRequest(codeInvalidField, fmt.Sprintf("merchantName must be at most %d characters", maxLabelChars), "merchantName")
	}
	return &messagesv1.Content{Kind: &messagesv1.Content_Pix{Pix: &messagesv1.Pix{
		Key: req.PixKey, KeyType: keyType, MerchantName: merchant,
	}}}, nil
}

// defaultOTPButton is send-button-otp's button label when none is given, as Z-API's.
const defaultOTPButton = "Copiar código"

// sendButtonOTPRequest is the body of POST send-button-otp (Z-API's): a text with a button that copies a code.
type sendButtonOTPRequest struct {
	envelope
	Message    string `json:"message"`
	Code       string `json:"code"`
	ButtonText string `json:"buttonText"`
}

func (req *sendButtonOTPRequest) missing() []string {
	return append(required("message", req.Message), required("code", req.Code)...)
}

func (req *sendButtonOTPRequest) content() (*messagesv1.Content, error) {
	if err := checkText("message", req.Message, maxMessageChars); err != nil {
		return nil, err
	}
	if err := label("code", req.Code); err != nil {
		return nil, err
	}
	text := req.ButtonText
	if text == "" {
		text = defaultOTPButton
	}
	if err := label("buttonText", text); err != nil {
		return nil, err
	}
	return &messagesv1.Content{Kind: &messagesv1.Content_Buttons{Buttons: &messagesv1.Buttons{
		Text:    req.Message,
		Buttons: []*messagesv1.Button{{Label: text, Action: messagesv1.Button_ACTION_COPY, Code: req.Code}},
	}}}, nil
}

// deleteMessage is DELETE /messages?messageId&phone&owner: the message is deleted for everyone (revoked), by a
// message on the queue like any other, so that it follows what was queued before it (its target, often).
// owner=true: the instance sent it; owner=false: a member's message in a group the instance is an admin of.
func (a *api) deleteMessage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	messageID, phone, owner := q.Get("messageId"), q.Get("phone"), q.Get("owner")
	var missing []string
	for _, f := range []struct{ name, value string }{{"messageId", messageID}, {"phone", phone}, {"owner", owner}} {
		missing = append(missing, required(f.name, f.value)...)
	}
	if len(missing) > 0 {
		a.respondError(w, r, missingFields(missing...))
		return
	}
	if !validRecipient(phone) {
		a.respondError(w, r, invalidPhone("phone", true))
		return
	}
	if err := checkMessageID("messageId", messageID); err != nil {
		a.respondError(w, r, err)
		return
	}
	mine, err := strconv.ParseBool(owner)
	if err != nil {
		a.respondError(w, r, badRequest(codeInvalidField, "owner must be true (you sent the message) or false", "owner"))
		return
	}
	if !mine && !isGroupRecipient(phone) {
		a.respondError(w, r, badRequest(codeInvalidField,
			"owner=false deletes a member's message as a group admin: phone must be a group; in a one-to-one chat only your own messages can be deleted for everyone",
			"owner"))
		return
	}
	m := &messagesv1.Outbound{Phone: phone, Content: &messagesv1.Content{Kind: &messagesv1.Content_Revoke{Revoke: &messagesv1.Revoke{
		Target: &messagesv1.MessageRef{MessageId: messageID, FromMe: mine},
	}}}}
	if _, err := a.deps.Sender.Send(r.Context(), chi.URLParam(r, "id"), m); err != nil {
		a.respondError(w, r, fmt.Errorf("queue revoke: %w", err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func isGroupRecipient(phone string) bool {
	rc, err := recipient.Parse(phone)
	return err == nil && rc.Kind == recipient.Group
}

// readMessageRequest is the body of POST read-message.
type readMessageRequest struct {
	Phone     string `json:"phone"`
	MessageID string `json:"messageId"`
}

// readMessage marks a received message read: its sender sees the blue ticks. 204 once WhatsApp took the receipt.
func (a *api) readMessage(w http.ResponseWriter, r *http.Request) {
	var req readMessageRequest
	if err := decodeJSON(r, &req); err != nil {
		a.respondError(w, r, err)
		return
	}
	if err := checkChatAndMessage(req.Phone, req.MessageID); err != nil {
		a.respondError(w, r, err)
		return
	}
	if err := a.deps.Reader.MarkRead(r.Context(), chi.URLParam(r, "id"), req.Phone, req.MessageID); err != nil {
		a.respondError(w, r, fmt.Errorf("mark read: %w", err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// checkChatAndMessage checks the phone and messageId fields that name a message of a chat.
func checkChatAndMessage(phone, messageID string) error {
	missing := append(required("phone", phone), required("messageId", messageID)...)
	if len(missing) > 0 {
		return missingFields(missing...)
	}
	if !validRecipient(phone) {
		return invalidPhone("phone", true)
	}
	return checkMessageID("messageId", messageID)
}

// forwardMessageRequest is the body of POST forward-message.
type forwardMessageRequest struct {
	Phone        string `json:"phone"`
	MessageID    string `json:"messageId"`
	MessagePhone string `json:"messagePhone"`
	DelayMessage *int   `json:"delayMessage"`
}

// forwardMessage cannot forward: forwarding sends the message's content again, and the server keeps no content
// once a message is sent or its webhooks are delivered (messages are not stored, PlugZapi's promise), while
// WhatsApp gives a linked device no way to fetch an old message's content. A valid request is therefore a 422
// that says so; sending the content again with the route of its kind does what a forward would, without the
// "forwarded" label.
func (a *api) forwardMessage(w http.ResponseWriter, r *http.Request) {
	var req forwardMessageRequest
	if err := decodeJSON(r, &req); err != nil {
		a.respondError(w, r, err)
		return
	}
	if req.MessagePhone == "" {
		a.respondError(w, r, missingFields(append(append(required("phone", req.Phone), required("messageId", req.MessageID)...), "messagePhone")...))
		return
	}
	if err := checkChatAndMessage(req.Phone, req.MessageID); err != nil {
		a.respondError(w, r, err)
		return
	}
	if !validRecipient(req.MessagePhone) {
		a.respondError(w, r, invalidPhone("messagePhone", true))
		return
	}
	if _, err := delaySeconds("delayMessage", req.DelayMessage); err != nil {
		a.respondError(w, r, err)
		return
	}
	writeError(w, r, &apiError{status: http.StatusUnprocessableEntity, code: codeCannotForward,
		message: "this server cannot forward: it keeps no message content once a message is sent or delivered " +
			"(messages are not stored), so it has nothing to forward; send the content again with the route of its kind"})
}
