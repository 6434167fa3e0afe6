package httpapi

import (
	"net/http"

	"github.com/go-chi/chi/v5"
)

// ReceivedFiles serves the files of received messages at the URLs the webhooks give (mediastore.Store).
type ReceivedFiles interface {
	Serve(w http.ResponseWriter, r *http.Request, name string)
}

// receivedFile answers GET /media/{file}. The URL is its own credential (an unguessable token that expires):
// webhook consumers fetch it without the instance's token, as PlugZapi's storage URLs are fetched.
func (a *api) receivedFile(w http.ResponseWriter, r *http.Request) {
	if a.deps.Media == nil {
		writeError(w, r, &apiError{status: http.StatusNotFound, code: codeNotFound, message: "received files are not served"})
		return
	}
	a.deps.Media.Serve(w, r, chi.URLParam(r, "file"))
}
