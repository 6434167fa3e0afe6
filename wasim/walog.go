package wasim

import (
	"context"
	"fmt"
	"log/slog"

	waLog "go.mau.fi/whatsmeow/util/log"
)

// waLogger adapts slog to whatsmeow's logger interface, for the simulated phones'
// whatsmeow clients. Their messages are logged one level lower than whatsmeow rates
// them: what is an error for a client (a dropped connection, a failed send) is
// usually a fault the simulator was asked to inject, and whatsmeow warns about
// things the simulator does on purpose (no LIDs for contacts).
type waLogger struct {
	log *slog.Logger
}

func newWALogger(l *slog.Logger) waLog.Logger { return waLogger{log: l} }

func (l waLogger) logf(level slog.Level, msg string, args []any) {
	if !l.log.Enabled(context.Background(), level) {
		return
	}
	l.log.Log(context.Background(), level, fmt.Sprintf(msg, args...))
}

func (l waLogger) Errorf(msg string, args ...any) { l.logf(slog.LevelWarn, msg, args) }
func (l waLogger) Warnf(msg string, args ...any)  { l.logf(slog.LevelInfo, msg, args) }
func (l waLogger) Infof(msg string, args ...any)  { l.logf(slog.LevelDebug, msg, args) }
func (l waLogger) Debugf(msg string, args ...any) { l.logf(slog.LevelDebug-4, msg, args) }

func (l waLogger) Sub(module string) waLog.Logger {
	return waLogger{log: l.log.With("module", module)}
}
