package httpapi

import (
	"fmt"
	"net/url"
	"strings"
	"unicode"

	"github.com/plugzapi/plugzapi/media"
	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
	"github.com/plugzapi/plugzapi/recipient"
)

// The interactive send routes: reply buttons, action buttons, option lists, Pix and OTP buttons. WhatsApp shows
// them as "native flow" messages (see whatsapp/out_buttons.go).

// label checks the text of a button or an option.
func label(field, s string) error { return checkText(field, s, maxLabelChars) }

// optionalID checks the optional id of a button or an option: what the reply names.
func optionalID(field, id string) error {
	if tooLong(id, maxLabelChars) {
		return badRequest(codeInvalidField, fmt.Sprintf("%s must be at most %d characters", field, maxLabelChars), field)
	}
	return nil
}

// sendButtonListRequest is the body of POST send-button-list: a text with reply buttons, and (Z-API's) a
// picture or a video above it.
type sendButtonListRequest struct {
	envelope
	intake
	Message    string `json:"message"`
	ButtonList struct {
		Buttons []struct {
			ID    string `json:"id"`
			Label string `json:"label"`
		} `json:"buttons"`
		Image string `json:"image"`
		Video string `json:"video"`
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
	var err error
	switch list := req.ButtonList; {
	case list.Image != "" && list.Video != "":
		return nil, badRequest(codeInvalidField, "buttonList takes an image or a video, not both", "buttonList.image", "buttonList.video")
	case list.Image != "":
		b.Header, err = req.file("buttonList.image", list.Image, media.Image)
	case list.Video != "":
		b.Header, err = req.file("buttonList.video", list.Video, media.Video)
		b.HeaderVideo = true
	}
	if err != nil {
		return nil, err
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
	intake
	Message    string `json:"message"`
	Code       string `json:"code"`
	ButtonText string `json:"buttonText"`
	// Image is Z-API's picture above the text.
	Image string `json:"image"`
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
	b := &messagesv1.Buttons{
		Text:    req.Message,
		Buttons: []*messagesv1.Button{{Label: text, Action: messagesv1.Button_ACTION_COPY, Code: req.Code}},
	}
	if req.Image != "" {
		var err error
		if b.Header, err = req.file("image", req.Image, media.Image); err != nil {
			return nil, err
		}
	}
	return &messagesv1.Content{Kind: &messagesv1.Content_Buttons{Buttons: b}}, nil
}
