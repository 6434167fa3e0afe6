package httpapi

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"unicode"

	"github.com/go-chi/chi/v5"

	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
	"github.com/plugzapi/plugzapi/recipient"
)

// The send routes of locations, contacts, reactions and polls (and where the interactive routes and the message
// actions are mounted: sending_interactive.go, message_actions.go). Every message goes through the queue like a
// text (queueMessage); reading is not a message and goes to WhatsApp at once.

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
	// send-button-list and send-button-otp, which may carry a file, are mounted with the media routes.
	r.Post(p+"/send-button-actions", send(func() sendBody { return &sendButtonActionsRequest{} }))
	r.Post(p+"/send-option-list", send(func() sendBody { return &sendOptionListRequest{} }))
	r.Post(p+"/send-button-pix", send(func() sendBody { return &sendButtonPixRequest{} }))
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

// contactFields names a contact card's fields in a route's body, for its errors.
type contactFields struct{ name, phones, description string }

// contact checks a contact card's fields.
func contact(f contactFields, name string, phones []string, description string) (*messagesv1.Contact, error) {
	if err := checkText(f.name, name, maxNameChars); err != nil {
		return nil, err
	}
	if len(phones) == 0 {
		return nil, badRequest(codeInvalidField, f.phones+" must hold at least one phone number", f.phones)
	}
	for _, p := range phones {
		if !recipient.IsPhoneNumber(p) {
			return nil, invalidPhone(f.phones, false)
		}
	}
	if tooLong(description, maxMessageChars) {
		return nil, badRequest(codeInvalidField, fmt.Sprintf("%s must be at most %d characters", f.description, maxMessageChars), f.description)
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
	c, err := contact(contactFields{"contactName", "contactPhone", "contactBusinessDescription"},
		req.ContactName, []string{req.ContactPhone}, req.ContactBusinessDescription)
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
		card, err := contact(contactFields{"contacts[].name", "contacts[].phones", "contacts[].businessDescription"},
			c.Name, c.Phones, c.BusinessDescription)
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
