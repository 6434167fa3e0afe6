package whatsapp

import (
	"context"
	"fmt"
	"log/slog"

	waLog "go.mau.fi/whatsmeow/util/log"
)

// slogLogger lets whatsmeow log through the server's slog logger.
type slogLogger struct{ log *slog.Logger }

func newWALogger(log *slog.Logger) waLog.Logger { return slogLogger{log: log} }

func (l slogLogger) Errorf(msg string, args ...any) { l.emit(slog.LevelError, msg, args) }
func (l slogLogger) Warnf(msg string, args ...any)  { l.emit(slog.LevelWarn, msg, args) }
func (l slogLogger) Infof(msg string, args ...any)  { l.emit(slog.LevelInfo, msg, args) }
func (l slogLogger) Debugf(msg string, args ...any) { l.emit(slog.LevelDebug, msg, args) }

func (l slogLogger) Sub(module string) waLog.Logger {
	return slogLogger{log: l.log.With("wa_module", module)}
}

func (l slogLogger) emit(level slog.Level, msg string, args []any) {
	// Formatting is the expensive part of whatsmeow's chatty debug logging: skip it when nobody listens.
	if !l.log.Enabled(context.Background(), level) {
		return
	}
	l.log.Log(context.Background(), level, fmt.Sprintf(msg, args...))
}
