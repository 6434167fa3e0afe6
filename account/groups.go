package account

// Groups is what a Client answers about groups: creating and running groups, their participants, settings and invite links.
type Groups interface {
}

// NewPicture is a picture to set, as the API took it: a URL to fetch (already checked against the server's
// address policy) or the file's bytes.
type NewPicture struct {
	URL  string
	Data []byte
}
