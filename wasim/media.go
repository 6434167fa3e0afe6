package wasim

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	waBinary "go.mau.fi/whatsmeow/binary"
)

// Media works as on WhatsApp: a client asks for a media connection (the w:m
// media_conn IQ: an upload auth token and the media hosts), encrypts the file with a
// key of its own, uploads the ciphertext to a media host and sends the key inside
// the end-to-end encrypted message. The recipient downloads the ciphertext by URL or
// by direct path and checks its hash and MAC. The simulator is the media host: it
// stores the encrypted bytes it is given and never sees a media key.

const (
	// mediaHost is the host name media_conn announces. Clients configured with
	// Configure or HTTPClient reach the simulator whatever the host, and the name
	// keeps their requests looking like WhatsApp's.
	mediaHost = "mmg.whatsapp.net"
	// pictureHost serves profile pictures.
	pictureHost = "pps.whatsapp.net"
	// mediaConnTTL is how long whatsmeow caches a media_conn answer (seconds);
	// mediaAuthTTL how long its upload token is accepted.
	mediaConnTTL = 300
	mediaAuthTTL = 6 * time.Hour
	// mediaURLLifetime is how long a download URL or direct path stays valid, like
	// the oe= expiry of WhatsApp's signed media URLs; after it the download is 410 Gone.
	mediaURLLifetime = 30 * 24 * time.Hour
	// pictureKind is the path kind profile pictures are served under.
	pictureKind = "t61.24694-24"
)

// mediaKinds maps an upload's mms type to the path kind of its direct path, as in
// WhatsApp's /v/t62.7118-24/… paths.
var mediaKinds = map[string]string{
	"image":    "t62.7118-24",
	"video":    "t62.7161-24",
	"audio":    "t62.7114-24",
	"ptt":      "t62.7114-24",
	"document": "t62.7119-24",
	"sticker":  "t62.15575-24",
}

var mmsTypePattern = regexp.MustCompile(`^[a-z0-9-]{1,32}$`)

// mediaStore holds uploaded (encrypted) media and profile pictures. It has a lock of
// its own so the HTTP handlers never touch the registry lock; code holding
// Simulator.mu may take it, never the other way round.
type mediaStore struct {
	secret     [32]byte
	maxBytes   int64
	maxObjects int
	maxObject  int64

	mu       sync.Mutex
	objects  map[string]*mediaObject // uploads by object id
	order    []string                // upload order, oldest first: evicted first
	size     int64                   // bytes held by objects
	pictures map[string][]byte       // profile pictures and product pictures (catalog.go) by id
}

type mediaObject struct {
	data    []byte
	encHash [32]byte
	kind    string
	created time.Time
}

func newMediaStore(opts Options) *mediaStore {
	m := &mediaStore{
		maxBytes:   opts.MediaMemory,
		maxObjects: opts.MaxMediaObjects,
		maxObject:  min(opts.MaxMediaSize, opts.MediaMemory),
		objects:    make(map[string]*mediaObject),
		pictures:   make(map[string][]byte),
	}
	_, _ = rand.Read(m.secret[:])
	return m
}

// sign returns an HMAC of the parts under the store's secret, base64url without
// padding, truncated to n bytes of MAC.
func (m *mediaStore) sign(n int, parts ...string) string {
	h := hmac.New(sha256.New, m.secret[:])
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:n])
}

// issueAuth returns an upload auth token valid until now+mediaAuthTTL. It is
// stateless: the expiry and a MAC over it.
func (m *mediaStore) issueAuth(now time.Time) string {
	exp := strconv.FormatInt(now.Add(mediaAuthTTL).Unix(), 36)
	return exp + "." + m.sign(18, "auth", exp)
}

func (m *mediaStore) checkAuth(auth string, now time.Time) bool {
	exp, mac, ok := strings.Cut(auth, ".")
	if !ok || !hmac.Equal([]byte(mac), []byte(m.sign(18, "auth", exp))) {
		return false
	}
	t, err := strconv.ParseInt(exp, 36, 64)
	return err == nil && now.Unix() <= t
}

// signedPath returns a direct path for a file of a kind, signed and with an expiry
// like WhatsApp's (oh= is the signature, oe= the expiry in hex).
func (m *mediaStore) signedPath(kind, file string, now time.Time) string {
	oe := strconv.FormatInt(now.Add(mediaURLLifetime).Unix(), 16)
	q := url.Values{}
	q.Set("ccb", "11-4")
	q.Set("oh", m.sign(16, "path", kind, file, oe))
	q.Set("oe", oe)
	q.Set("_nc_sid", "5e03e0")
	return "/v/" + kind + "/" + file + "?" + q.Encode()
}

// checkPath verifies a download request's signature and expiry: 403 for a forged or
// altered path, 410 for an expired one.
func (m *mediaStore) checkPath(kind, file string, q url.Values, now time.Time) int {
	oe := q.Get("oe")
	if !hmac.Equal([]byte(q.Get("oh")), []byte(m.sign(16, "path", kind, file, oe))) {
		return http.StatusForbidden
	}
	exp, err := strconv.ParseInt(oe, 16, 64)
	if err != nil {
		return http.StatusForbidden
	}
	if now.Unix() > exp {
		return http.StatusGone
	}
	return http.StatusOK
}

var errMediaTooLarge = errors.New("media object larger than the media store")

// put stores an encrypted upload, evicting the oldest uploads beyond the store's
// bounds, and returns its object id. The id is derived from the bytes, so uploading
// the same bytes again (a retried upload) stores them once.
func (m *mediaStore) put(data []byte, encHash [32]byte, kind string, now time.Time) (string, error) {
	if int64(len(data)) > m.maxObject {
		return "", errMediaTooLarge
	}
	id := hex.EncodeToString(encHash[:16])
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.objects[id]; ok {
		return id, nil
	}
	for len(m.order) > 0 && (m.size+int64(len(data)) > m.maxBytes || len(m.objects) >= m.maxObjects) {
		old := m.order[0]
		m.order = m.order[1:]
		if o, ok := m.objects[old]; ok {
			m.size -= int64(len(o.data))
			delete(m.objects, old)
		}
	}
	m.objects[id] = &mediaObject{data: data, encHash: encHash, kind: kind, created: now}
	m.order = append(m.order, id)
	m.size += int64(len(data))
	return id, nil
}

func (m *mediaStore) get(id string) (*mediaObject, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.objects[id]
	return o, ok
}

func (m *mediaStore) putPicture(id string, data []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pictures[id] = data
}

func (m *mediaStore) deletePicture(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.pictures, id)
}

func (m *mediaStore) picture(id string) ([]byte, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.pictures[id]
	return p, ok
}

// pictureURLs returns the URL and direct path of a profile picture.
func (m *mediaStore) pictureURLs(id string, now time.Time) (string, string) {
	path := m.signedPath(pictureKind, id+".jpg", now)
	return "https://" + pictureHost + path + "&_nc_cat=1", path
}

func (s *Simulator) registerMedia(r *routes) {
	r.iq("w:m", s.handleMediaConn)
}

// handleMediaConn answers whatsmeow's media connection query. auth, ttl, auth_ttl and
// max_buckets are all required by whatsmeow's parser.
func (s *Simulator) handleMediaConn(_ *conn, iq *waBinary.Node) ([]waBinary.Node, error) {
	if typ, _ := iq.Attrs["type"].(string); typ != "set" || !hasChild(iq, "media_conn") {
		return nil, errIQBadRequest
	}
	return []waBinary.Node{{
		Tag: "media_conn",
		Attrs: waBinary.Attrs{
			"auth":        s.media.issueAuth(time.Now()),
			"ttl":         mediaConnTTL,
			"auth_ttl":    int(mediaAuthTTL / time.Second),
			"max_buckets": 12,
		},
		Content: []waBinary.Node{{Tag: "host", Attrs: waBinary.Attrs{"hostname": mediaHost}}},
	}}, nil
}

// mountMedia adds the media hosts' endpoints to the simulator's HTTP handler.
func (s *Simulator) mountMedia(r chi.Router) {
	r.Post("/mms/{type}/{token}", s.serveUpload)
	r.Get("/v/{kind}/{file}", s.serveDownload)
}

// uploadHash checks an upload's auth token and returns the SHA-256 its path token names (the body's), answering
// the error itself when they are not what WhatsApp's hosts take.
func (s *Simulator) uploadHash(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	token := chi.URLParam(r, "token")
	q := r.URL.Query()
	switch {
	case !s.media.checkAuth(q.Get("auth"), time.Now()):
		writeError(w, http.StatusUnauthorized, "missing, invalid or expired auth token")
		return nil, false
	case q.Has("token") && q.Get("token") != token:
		writeError(w, http.StatusBadRequest, "token in the path and in the query differ")
		return nil, false
	}
	want, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(token, "="))
	if err != nil || len(want) != sha256.Size {
		writeError(w, http.StatusBadRequest, "token is not a base64url SHA-256")
		return nil, false
	}
	return want, true
}

// serveUpload stores an encrypted upload. Clients post the ciphertext (plus its MAC)
// with the media_conn auth token and token = base64url(sha256(body)) — whatsmeow
// padded, Baileys without padding, both of which WhatsApp's hosts take — and want
// {"url","direct_path"} back.
func (s *Simulator) serveUpload(w http.ResponseWriter, r *http.Request) {
	mmsType := chi.URLParam(r, "type")
	if !mmsTypePattern.MatchString(mmsType) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("unknown media type %q", mmsType))
		return
	}
	want, ok := s.uploadHash(w, r)
	if !ok {
		return
	}
	if r.ContentLength > s.media.maxObject {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("media larger than %d bytes", s.media.maxObject))
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.media.maxObject))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("media larger than %d bytes", s.media.maxObject))
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("read upload: %v", err))
		return
	case len(data) == 0:
		writeError(w, http.StatusBadRequest, "empty upload")
		return
	}
	sum := sha256.Sum256(data)
	if !hmac.Equal(sum[:], want) {
		writeError(w, http.StatusBadRequest, "token does not match the SHA-256 of the body")
		return
	}
	kind, ok := mediaKinds[mmsType]
	if !ok {
		kind = "t62.7117-24"
	}
	now := time.Now()
	id, err := s.media.put(data, sum, kind, now)
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, err.Error())
		return
	}
	path := s.media.signedPath(kind, id+".enc", now)
	s.log.Debug("media uploaded", "type", mmsType, "id", id, "bytes", len(data))
	writeJSON(w, http.StatusOK, map[string]string{
		"url":         "https://" + mediaHost + path + "&mms3=true",
		"direct_path": path,
	})
}

// serveDownload serves an upload's encrypted bytes (by URL, or by direct path plus
// whatsmeow's &hash=…&mms-type=… suffix) and profile pictures. Paths are checked
// like WhatsApp's signed URLs: a forged one is 403, an expired one 410, media evicted
// from the store 404.
func (s *Simulator) serveDownload(w http.ResponseWriter, r *http.Request) {
	kind, file := chi.URLParam(r, "kind"), chi.URLParam(r, "file")
	q := r.URL.Query()
	if status := s.media.checkPath(kind, file, q, time.Now()); status != http.StatusOK {
		writeError(w, status, "invalid or expired media path")
		return
	}
	if kind == pictureKind || kind == productImageKind {
		data, ok := s.media.picture(strings.TrimSuffix(file, ".jpg"))
		if !ok {
			writeError(w, http.StatusNotFound, "no such picture")
			return
		}
		writeBytes(w, "image/jpeg", data)
		return
	}
	o, ok := s.media.get(strings.TrimSuffix(file, ".enc"))
	if !ok {
		writeError(w, http.StatusNotFound, "no such media (it may have been evicted)")
		return
	}
	if h := q.Get("hash"); h != "" && h != base64.URLEncoding.EncodeToString(o.encHash[:]) {
		writeError(w, http.StatusNotFound, "hash does not match the media")
		return
	}
	writeBytes(w, "application/octet-stream", o.data)
}

func writeBytes(w http.ResponseWriter, contentType string, data []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data)
}

// newPictureID returns a fresh profile picture id: numeric, as WhatsApp's.
func newPictureID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return strconv.FormatUint(1e9+binary.BigEndian.Uint64(b[:])%9e9, 10)
}
