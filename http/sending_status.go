package httpapi

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/plugzapi/plugzapi/media"
)

// Status updates (stories) are messages to status@broadcast, queued like any other: send-text-status takes
// send-text's message, send-image-status and send-video-status the file and caption of send-image and
// send-video. The number's contacts see them, as its status privacy allows.

// mountStatusRoutes adds the routes that post a status update; those with a file take its kind's body limit.
func (a *api) mountStatusRoutes(r chi.Router) {
	routes := []struct {
		path    string
		limit   int64
		newBody func() sendBody
	}{
		{"send-text-status", a.cfg.MaxBodyBytes, func() sendBody { return &sendTextRequest{} }},
		{"send-image-status", a.mediaBodyLimit(media.Image), func() sendBody { return &sendImageRequest{} }},
		{"send-video-status", a.mediaBodyLimit(media.Video), func() sendBody { return &sendVideoRequest{} }},
	}
	for _, s := range routes {
		r.With(a.limitBodyTo(s.limit)).Post(instancePrefix+"/"+s.path, func(w http.ResponseWriter, r *http.Request) {
			body := s.newBody()
			if m, ok := body.(mediaRequest); ok {
				m.prepare(a, r)
			}
			body.env().status = true
			a.queueMessage(w, r, body, false)
		})
	}
}
