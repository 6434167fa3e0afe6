package actors

import (
	"testing"

	"google.golang.org/protobuf/proto"

	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

func TestCarriesFile(t *testing.T) {
	file := &messagesv1.Media{Source: &messagesv1.Media_Url{Url: "https://example.com/a.jpg"}}
	for _, c := range []struct {
		content *messagesv1.Content
		want    bool
	}{
		{&messagesv1.Content{Kind: &messagesv1.Content_Text{Text: &messagesv1.Text{Body: "hi"}}}, false},
		{&messagesv1.Content{Kind: &messagesv1.Content_Text{Text: &messagesv1.Text{Body: "https://x.y",
			Preview: &messagesv1.LinkPreview{Url: "https://x.y", Image: file}}}}, true},
		{&messagesv1.Content{Kind: &messagesv1.Content_Image{Image: file}}, true},
		{&messagesv1.Content{Kind: &messagesv1.Content_Audio{Audio: file}}, true},
		{&messagesv1.Content{Kind: &messagesv1.Content_Video{Video: file}}, true},
		{&messagesv1.Content{Kind: &messagesv1.Content_Document{Document: file}}, true},
		{&messagesv1.Content{Kind: &messagesv1.Content_Sticker{Sticker: file}}, true},
	} {
		if got := carriesFile(c.content); got != c.want {
			t.Errorf("carriesFile(%v) = %v", c.content, got)
		}
	}
}

// The queue's listing drops files given in base64, and keeps everything else.
func TestDropFileBytes(t *testing.T) {
	c := &messagesv1.Content{Kind: &messagesv1.Content_Image{Image: &messagesv1.Media{
		Source: &messagesv1.Media_Data{Data: []byte("a picture")}, Caption: "look", MimeType: "image/jpeg"}}}
	dropFileBytes(c)
	want := &messagesv1.Content{Kind: &messagesv1.Content_Image{Image: &messagesv1.Media{Caption: "look", MimeType: "image/jpeg"}}}
	if !proto.Equal(c, want) {
		t.Errorf("dropFileBytes left %v", c)
	}
	byURL := &messagesv1.Content{Kind: &messagesv1.Content_Video{Video: &messagesv1.Media{
		Source: &messagesv1.Media_Url{Url: "https://example.com/v.mp4"}}}}
	before := proto.Clone(byURL)
	dropFileBytes(byURL)
	if !proto.Equal(byURL, before) {
		t.Errorf("dropFileBytes changed a file given by URL: %v", byURL)
	}
}
