//go:build tools

// Package deps pins modules that parts of the project under construction will import, so that `go mod tidy`
// run by one part does not drop another's dependency. Delete an import here once real code imports it.
package deps

import (
	_ "github.com/ThreeDotsLabs/watermill"
	_ "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	_ "github.com/asynkron/protoactor-go/actor"
	_ "github.com/coder/websocket"
	_ "github.com/go-chi/chi/v5"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/skip2/go-qrcode"
	_ "go.mau.fi/whatsmeow"
	_ "go.mau.fi/whatsmeow/store/sqlstore"
	_ "google.golang.org/protobuf/proto"
	_ "modernc.org/sqlite"
)
