package export

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/plugzapi/plugzapi/events"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
)

// EnvelopeVersion is the envelope's "version": it changes only when a field changes meaning or goes away.
const EnvelopeVersion = 1

// Envelope is the JSON body of every exported event (see the package documentation).
type Envelope struct {
	Version    int             `json:"version"`
	InstanceID string          `json:"instanceId"`
	EventID    string          `json:"eventId"`
	Seq        int64           `json:"seq"`
	Type       string          `json:"type"`
	Time       time.Time       `json:"time"`
	Data       json.RawMessage `json:"data"`
	// DataOmitted is true, and Data null, when the whole envelope was larger than the broker takes (see
	// [Exporter]); the event is in the log.
	DataOmitted bool `json:"dataOmitted,omitempty"`
}

// internal are payload fields that are the server's bookkeeping, not facts about the instance: a vault
// record's key, a client's idempotency key and its request's hash.
var internal = []protoreflect.Name{"vault_key", "idempotency_key", "request_hash"}

// dataJSON is protobuf's JSON mapping: lowerCamelCase names, enums by name, 64-bit integers as strings, zero
// values left out.
var dataJSON = protojson.MarshalOptions{}

// envelope renders ev's envelope; without its data when omitData is set.
func envelope(ev *eventsv1.Event, omitData bool) ([]byte, error) {
	typ := events.TypeName(ev)
	payload := ev.ProtoReflect()
	fd := payload.Descriptor().Oneofs().ByName("payload").Fields().ByName(protoreflect.Name(typ))
	if fd == nil {
		return nil, fmt.Errorf("event %s has no payload", ev.GetId())
	}
	data := proto.Clone(payload.Get(fd).Message().Interface()).ProtoReflect()
	for _, name := range internal {
		if f := data.Descriptor().Fields().ByName(name); f != nil {
			data.Clear(f)
		}
	}
	raw, err := dataJSON.Marshal(data.Interface())
	if err != nil {
		return nil, fmt.Errorf("render event %s: %w", ev.GetId(), err)
	}
	// protojson varies its whitespace on purpose; the envelope's bytes should not.
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return nil, fmt.Errorf("render event %s: %w", ev.GetId(), err)
	}
	env := Envelope{
		Version:    EnvelopeVersion,
		InstanceID: ev.GetInstanceId(),
		EventID:    ev.GetId(),
		Seq:        ev.GetSeq(),
		Type:       typ,
		Time:       time.UnixMilli(ev.GetTimeMs()).UTC(),
		Data:       compact.Bytes(),
	}
	if omitData {
		env.Data, env.DataOmitted = json.RawMessage("null"), true
	}
	return json.Marshal(env)
}
