package whatsapp

import (
	"context"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// buildLocation makes a pin on the map with the place's name and address.
func buildLocation(_ context.Context, _ *Conn, _ types.JID, c *messagesv1.Content, info *waE2E.ContextInfo) (*waE2E.Message, error) {
	l := c.GetLocation()
	return &waE2E.Message{LocationMessage: &waE2E.LocationMessage{
		DegreesLatitude: proto.Float64(l.GetLatitude()), DegreesLongitude: proto.Float64(l.GetLongitude()),
		Name: optional(l.GetName()), Address: optional(l.GetAddress()), URL: optional(l.GetUrl()),
		JPEGThumbnail: l.GetThumbnail(), ContextInfo: info,
	}}, nil
}
