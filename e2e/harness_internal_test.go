package e2e

import (
	"strings"
	"testing"
)

func TestDataRacesFilter(t *testing.T) {
	upstream := "WARNING: DATA RACE\nRead at 0x1 by goroutine 2:\n  go.mau.fi/whatsmeow/socket.(*FrameSocket).SendFrame()\n" +
		"Previous write at 0x1 by goroutine 1:\n  go.mau.fi/whatsmeow/socket.(*FrameSocket).Close()\n==================\n"
	ours := "WARNING: DATA RACE\nWrite at 0x2 by goroutine 3:\n  github.com/plugzapi/plugzapi/actors.(*instance).trySend()\n==================\n"
	if got := dataRaces("start\n" + upstream + "middle\n" + ours + "end"); len(got) != 1 || !strings.Contains(got[0], "actors.(*instance).trySend") {
		t.Errorf("dataRaces = %q, want only the actors report", got)
	}
	connected := "WARNING: DATA RACE\nWrite at 0x1 by goroutine 5:\n  go.mau.fi/whatsmeow/socket.(*FrameSocket).Close()\n" +
		"Previous read at 0x1 by goroutine 6:\n  go.mau.fi/whatsmeow/socket.(*FrameSocket).IsConnected()\n==================\n"
	if got := dataRaces(connected); len(got) != 0 {
		t.Errorf("dataRaces kept whatsmeow's IsConnected/Close race: %q", got)
	}
	if got := dataRaces("no races here"); len(got) != 0 {
		t.Errorf("dataRaces of a clean log = %q", got)
	}
}
