package main

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/plugzapi/plugzapi/media"
	"github.com/plugzapi/plugzapi/mediastore"
)

// MediaConfig is how the server takes the files messages carry.
type MediaConfig struct {
	// MediaLimits are the largest files of each kind the send routes accept and fetch.
	MediaLimits media.Limits
	// AllowInsecureMedia lets media URLs be http:// and lead to loopback and private addresses (tests, demos,
	// a media server on the operator's own network). Without it a file is fetched over https from a public
	// address only: its content goes to a chat, so an internal address would leak what only the server reaches.
	AllowInsecureMedia bool
	// MediaFetchTimeout bounds the fetch of one file from its URL.
	MediaFetchTimeout time.Duration
	// PublicURL is the base of the URLs of received files (the server as webhook consumers reach it); empty
	// means the listen address as an http URL.
	PublicURL string
	// MediaRetention is how long received files can be downloaded before they are destroyed.
	MediaRetention time.Duration
}

func defaultMediaConfig() MediaConfig {
	return MediaConfig{MediaLimits: media.DefaultLimits(), MediaFetchTimeout: time.Minute,
		MediaRetention: mediastore.DefaultRetention}
}

// publicURL is the base of received files' URLs: the setting, or the listen address (a wildcard host read as
// localhost).
func (c MediaConfig) publicURL(addr string) string {
	if c.PublicURL != "" {
		return c.PublicURL
	}
	return localURL(addr)
}

func (c *MediaConfig) mediaSettings() []setting {
	limit := func(name string, kind media.Kind, p *int64) setting {
		return setting{"max-" + name + "-size", "PLUGZAPI_MAX_" + strings.ToUpper(name) + "_SIZE",
			fmt.Sprintf("largest %s a message may carry: bytes, or with a unit (KiB, MiB, GiB, KB, MB, GB)", kind),
			size(p), func() string { return media.FormatSize(*p) }}
	}
	return []setting{
		limit("image", media.Image, &c.MediaLimits.Image),
		limit("audio", media.Audio, &c.MediaLimits.Audio),
		limit("video", media.Video, &c.MediaLimits.Video),
		limit("document", media.Document, &c.MediaLimits.Document),
		limit("sticker", media.Sticker, &c.MediaLimits.Sticker),
		{"allow-insecure-media", "PLUGZAPI_ALLOW_INSECURE_MEDIA",
			"fetch media URLs over http:// and from loopback and private addresses (1/0)",
			boolean(&c.AllowInsecureMedia), func() string { return strconv.FormatBool(c.AllowInsecureMedia) }},
		{"media-fetch-timeout", "PLUGZAPI_MEDIA_FETCH_TIMEOUT", "how long fetching one file from its URL may take",
			duration(&c.MediaFetchTimeout), func() string { return c.MediaFetchTimeout.String() }},
		{"public-url", "PLUGZAPI_PUBLIC_URL", "base URL of the server as webhook consumers reach it, for the URLs of received files (default: the listen address as http://)",
			str(&c.PublicURL), func() string { return c.PublicURL }},
		{"media-retention", "PLUGZAPI_MEDIA_RETENTION", "how long received files can be downloaded before they are destroyed",
			duration(&c.MediaRetention), func() string { return c.MediaRetention.String() }},
	}
}

func (c MediaConfig) validate() error {
	if c.MediaFetchTimeout <= 0 {
		return errors.New("the media fetch timeout must be positive")
	}
	if c.MediaRetention <= 0 {
		return errors.New("the media retention must be positive")
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("the public URL %q must be an absolute http or https URL", c.PublicURL)
		}
	}
	return c.MediaLimits.Validate()
}

// size parses a size in bytes: a number, or a number with a unit (KiB, MiB and GiB count by 1024, KB, MB and GB
// by 1000).
func size(p *int64) func(string) error {
	units := []struct {
		suffix string
		factor int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	return func(v string) error {
		v = strings.TrimSpace(v)
		factor := int64(1)
		for _, u := range units {
			if n, ok := strings.CutSuffix(v, u.suffix); ok {
				v, factor = strings.TrimSpace(n), u.factor
				break
			}
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 || n > (1<<62)/factor {
			return fmt.Errorf("%q is not a size such as 16MiB", v)
		}
		*p = n * factor
		return nil
	}
}
