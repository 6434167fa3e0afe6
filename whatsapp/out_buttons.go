package whatsapp

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// WhatsApp no longer shows the old buttons and list messages (ButtonsMessage, ListMessage) sent from a linked
// device: what its apps show today is an interactive message with a "native flow" of buttons, each a name and
// its parameters in JSON. The stanza must also carry a <biz> node that tells the flow (see interactiveNodes),
// which whatsmeow does not add for these: without it WhatsApp takes the message and the recipients' apps show
// nothing.

// Native flow button names.
const (
	flowReply       = "quick_reply"
	flowURL         = "cta_url"
	flowCall        = "cta_call"
	flowCopy        = "cta_copy"
	flowSelect      = "single_select"
	flowPaymentInfo = "payment_info"
)

// buildButtons makes a text with buttons under it: replies, links, calls, or a code to copy.
func buildButtons(ctx context.Context, conn *Conn, to types.JID, c *messagesv1.Content, info *waE2E.ContextInfo) (*waE2E.Message, error) {
	b := c.GetButtons()
	buttons := make([]*waE2E.InteractiveMessage_NativeFlowMessage_NativeFlowButton, len(b.GetButtons()))
	for i, btn := range b.GetButtons() {
		id := btn.GetId()
		if id == "" {
			id = strconv.Itoa(i + 1)
		}
		var name string
		params := map[string]any{"display_text": btn.GetLabel(), "id": id}
		switch btn.GetAction() {
		case messagesv1.Button_ACTION_REPLY:
			name = flowReply
		case messagesv1.Button_ACTION_URL:
			name = flowURL
			params["url"], params["merchant_url"] = btn.GetUrl(), btn.GetUrl()
		case messagesv1.Button_ACTION_CALL:
			name = flowCall
			params["phone_number"] = "+" + btn.GetPhone()
		case messagesv1.Button_ACTION_COPY:
			name = flowCopy
			params["copy_code"] = btn.GetCode()
		default:
			return nil, fmt.Errorf("%w: a button with no action", ErrUnsendable)
		}
		var err error
		if buttons[i], err = flowButton(name, params); err != nil {
			return nil, err
		}
	}
	header := titleHeader(b.GetTitle())
	if m := b.GetHeader(); m != nil {
		var err error
		if header, err = mediaHeader(ctx, conn, to, b.GetTitle(), m, b.GetHeaderVideo()); err != nil {
			return nil, err
		}
	}
	return nativeFlow(b.GetText(), header, b.GetFooter(), buttons, info), nil
}

// titleHeader is the header of an interactive message that shows a title above the text (nil: none).
func titleHeader(title string) *waE2E.InteractiveMessage_Header {
	if title == "" {
		return nil
	}
	return &waE2E.InteractiveMessage_Header{Title: proto.String(title), HasMediaAttachment: proto.Bool(false)}
}

// mediaHeader is the header of an interactive message that shows a picture or a video above the text, uploaded
// as the picture or the video of a message of its own would be.
func mediaHeader(ctx context.Context, conn *Conn, to types.JID, title string, m *messagesv1.Media, video bool) (*waE2E.InteractiveMessage_Header, error) {
	h := &waE2E.InteractiveMessage_Header{HasMediaAttachment: proto.Bool(true)}
	if title != "" {
		h.Title = proto.String(title)
	}
	if video {
		msg, err := buildVideo(ctx, conn, to, &messagesv1.Content{Kind: &messagesv1.Content_Video{Video: m}}, nil)
		if err != nil {
			return nil, err
		}
		h.Media = &waE2E.InteractiveMessage_Header_VideoMessage{VideoMessage: msg.GetVideoMessage()}
		return h, nil
	}
	msg, err := buildImage(ctx, conn, to, &messagesv1.Content{Kind: &messagesv1.Content_Image{Image: m}}, nil)
	if err != nil {
		return nil, err
	}
	h.Media = &waE2E.InteractiveMessage_Header_ImageMessage{ImageMessage: msg.GetImageMessage()}
	return h, nil
}

// flowButton is a native flow button with its parameters.
func flowButton(name string, params any) (*waE2E.InteractiveMessage_NativeFlowMessage_NativeFlowButton, error) {
	raw, err := json.Marshal(params)
	if err != nil {
		return nil, fmt.Errorf("%w: %s button: %v", ErrUnsendable, name, err)
	}
	return &waE2E.InteractiveMessage_NativeFlowMessage_NativeFlowButton{
		Name: proto.String(name), ButtonParamsJSON: proto.String(string(raw)),
	}, nil
}

// nativeFlow is an interactive message: a header above the text (a title, a picture or a video; nil: none), a
// footer under it, and the buttons.
func nativeFlow(text string, header *waE2E.InteractiveMessage_Header, footer string,
	buttons []*waE2E.InteractiveMessage_NativeFlowMessage_NativeFlowButton, info *waE2E.ContextInfo) *waE2E.Message {
	im := &waE2E.InteractiveMessage{
		Body: &waE2E.InteractiveMessage_Body{Text: proto.String(text)},
		InteractiveMessage: &waE2E.InteractiveMessage_NativeFlowMessage_{NativeFlowMessage: &waE2E.InteractiveMessage_NativeFlowMessage{
			Buttons: buttons, MessageParamsJSON: proto.String("{}"), MessageVersion: proto.Int32(1),
		}},
		Header:      header,
		ContextInfo: info,
	}
	if footer != "" {
		im.Footer = &waE2E.InteractiveMessage_Footer{Text: proto.String(footer)}
	}
	return &waE2E.Message{InteractiveMessage: im}
}

// interactiveNodes is the <biz> node an interactive message's stanza carries, nil for other messages. Payment
// buttons name their flow in an attribute of the node itself (payment_info); every other native flow is
// described as "mixed" in a child, from a third party. (The shapes that WhatsApp's apps show, as whatsmeow's
// and other clients' users measured them.)
func interactiveNodes(msg *waE2E.Message) *[]waBinary.Node {
	buttons := msg.GetInteractiveMessage().GetNativeFlowMessage().GetButtons()
	if len(buttons) == 0 {
		return nil
	}
	biz := waBinary.Node{Tag: "biz", Attrs: waBinary.Attrs{
		"actual_actors": "2", "host_storage": "2", "privacy_mode_ts": strconv.FormatInt(time.Now().Unix(), 10),
	}}
	if buttons[0].GetName() == flowPaymentInfo {
		biz.Attrs["native_flow_name"] = flowPaymentInfo
		return &[]waBinary.Node{biz}
	}
	biz.Content = []waBinary.Node{
		{
			Tag:     "interactive",
			Attrs:   waBinary.Attrs{"type": "native_flow", "v": "1"},
			Content: []waBinary.Node{{Tag: "native_flow", Attrs: waBinary.Attrs{"v": "9", "name": "mixed"}}},
		},
		{Tag: "quality_control", Attrs: waBinary.Attrs{"source_type": "third_party"}},
	}
	return &[]waBinary.Node{biz}
}
