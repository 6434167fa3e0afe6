package main

import (
	"log/slog"
	"testing"
	"time"

	"github.com/plugzapi/plugzapi/media"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestConfigDefaultsWorkWithNothingSet(t *testing.T) {
	c, err := loadConfig(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":8080" || c.DataDir != "./data" || c.SendDelayMin != time.Second || c.SendDelayMax != 3*time.Second ||
		c.Simulator != "" || c.AllowInsecureWebhooks || !c.DurableCommits || c.MaxQueueWhileOffline != 1000 {
		t.Errorf("defaults = %+v", c)
	}
}

func TestConfigFromEnvironmentAndFlags(t *testing.T) {
	c, err := loadConfig([]string{"-addr", "127.0.0.1:9000", "-send-delay", "2s"}, env(map[string]string{
		"PLUGZAPI_ADDR":                    ":1",
		"PLUGZAPI_DATA":                    "/var/lib/plugzapi",
		"PLUGZAPI_SEND_DELAY":              "0",
		"PLUGZAPI_WA_SIMULATOR":            "127.0.0.1:7080",
		"PLUGZAPI_ALLOW_INSECURE_WEBHOOKS": "1",
		"PLUGZAPI_LOG_LEVEL":               "debug",
		"PLUGZAPI_DURABLE_COMMITS":         "0",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9000" || c.DataDir != "/var/lib/plugzapi" || c.SendDelayMin != 2*time.Second ||
		c.SendDelayMax != 2*time.Second || c.Simulator != "127.0.0.1:7080" || !c.AllowInsecureWebhooks ||
		c.LogLevel != slog.LevelDebug || c.DurableCommits {
		t.Errorf("config = %+v", c)
	}
}

func TestSendDelayForms(t *testing.T) {
	for in, want := range map[string][2]time.Duration{
		"0":          {0, 0},
		"1s-3s":      {time.Second, 3 * time.Second},
		"500ms-1.5s": {500 * time.Millisecond, 1500 * time.Millisecond},
		"2s":         {2 * time.Second, 2 * time.Second},
	} {
		c, err := loadConfig(nil, env(map[string]string{"PLUGZAPI_SEND_DELAY": in}))
		if err != nil || c.SendDelayMin != want[0] || c.SendDelayMax != want[1] {
			t.Errorf("PLUGZAPI_SEND_DELAY=%s: %v-%v, %v", in, c.SendDelayMin, c.SendDelayMax, err)
		}
	}
}

func TestConfigRejectsNonsense(t *testing.T) {
	for name, vars := range map[string]map[string]string{
		"unordered delay": {"PLUGZAPI_SEND_DELAY": "3s-1s"},
		"bad delay":       {"PLUGZAPI_SEND_DELAY": "soon"},
		"bad boolean":     {"PLUGZAPI_ALLOW_INSECURE_WEBHOOKS": "maybe"},
		"bad level":       {"PLUGZAPI_LOG_LEVEL": "loud"},
		"zero queue":      {"PLUGZAPI_MAX_QUEUE_OFFLINE": "0"},
		"bad timeout":     {"PLUGZAPI_WEBHOOK_TIMEOUT": "-1s"},
	} {
		if _, err := loadConfig(nil, env(vars)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := loadConfig([]string{"extra"}, env(nil)); err == nil {
		t.Error("a stray argument was accepted")
	}
}

func TestMediaConfig(t *testing.T) {
	c, err := loadConfig([]string{"-max-video-size", "32MiB"}, env(map[string]string{
		"PLUGZAPI_MAX_IMAGE_SIZE":       "5MB",
		"PLUGZAPI_MAX_STICKER_SIZE":     "100KiB",
		"PLUGZAPI_MAX_DOCUMENT_SIZE":    "2000",
		"PLUGZAPI_ALLOW_INSECURE_MEDIA": "1",
		"PLUGZAPI_MEDIA_FETCH_TIMEOUT":  "30s",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := media.Limits{Image: 5e6, Audio: 16 << 20, Video: 32 << 20, Document: 2000, Sticker: 100 << 10}
	if c.MediaLimits != want || !c.AllowInsecureMedia || c.MediaFetchTimeout != 30*time.Second {
		t.Errorf("media config = %+v", c.MediaConfig)
	}
	defaults, _ := loadConfig(nil, env(nil))
	if defaults.MediaLimits != media.DefaultLimits() || defaults.AllowInsecureMedia || defaults.MediaFetchTimeout != time.Minute {
		t.Errorf("default media config = %+v", defaults.MediaConfig)
	}
	for name, value := range map[string]string{
		"PLUGZAPI_MAX_IMAGE_SIZE":      "lots",
		"PLUGZAPI_MAX_AUDIO_SIZE":      "0",
		"PLUGZAPI_MAX_VIDEO_SIZE":      "3GiB",
		"PLUGZAPI_MAX_STICKER_SIZE":    "-1KiB",
		"PLUGZAPI_MEDIA_FETCH_TIMEOUT": "0s",
	} {
		if _, err := loadConfig(nil, env(map[string]string{name: value})); err == nil {
			t.Errorf("%s=%s was accepted", name, value)
		}
	}
}

func TestRetentionSetting(t *testing.T) {
	c, err := loadConfig(nil, env(nil))
	if err != nil || c.Retention != 7*24*time.Hour {
		t.Fatalf("default retention = %v, %v; want 168h", c.Retention, err)
	}
	c, err = loadConfig([]string{"-retention", "36h"}, env(map[string]string{"PLUGZAPI_RETENTION": "24h"}))
	if err != nil || c.Retention != 36*time.Hour {
		t.Fatalf("retention = %v, %v; want the flag's 36h", c.Retention, err)
	}
	for _, v := range []string{"0", "0s", "500ms", "-1h", "a week"} {
		if _, err := loadConfig(nil, env(map[string]string{"PLUGZAPI_RETENTION": v})); err == nil {
			t.Errorf("PLUGZAPI_RETENTION=%s accepted", v)
		}
	}
}
