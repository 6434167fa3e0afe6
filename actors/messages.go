package actors

import (
	"github.com/asynkron/protoactor-go/actor"

	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
	"github.com/plugzapi/plugzapi/whatsapp"
)

// Commands an instance actor answers. Each is sent with RequestFuture and answered with a reply.
type (
	enqueue           struct{ msg *messagesv1.Outbound }
	listQueue         struct{}
	cancelQueued      struct{ zaapID string }
	clearQueue        struct{}
	getStatus         struct{}
	getQRCode         struct{}
	pairPhone         struct{ phone string }
	restart           struct{}
	logout            struct{}
	restoreSession    struct{}
	getDevice         struct{}
	getAccount        struct{}
	configureWebhooks struct {
		urls map[eventsv1.WebhookKind]string
	}
	deleteInstance struct{}
	// suspend drops the connection and keeps the session (a cancelled subscription).
	suspend struct{}
	// markRead sends a read receipt for a received message; participant names its sender in a group.
	markRead struct{ phone, messageID, participant string }
)

// reply carries a command's answer, or its error, back through the future.
type reply struct {
	value any
	err   error
}

// Messages an instance actor sends itself, from the goroutines that do its network I/O.
type (
	// waEvent is an event of the WhatsApp client of generation gen; events of replaced clients are dropped.
	waEvent struct {
		gen   int
		event whatsapp.Event
	}
	// sendDone reports how sending the head of the queue went.
	sendDone struct {
		zaapID  string
		sent    whatsapp.Sent
		content *messagesv1.Content // what was sent, when it could be read
		err     error
	}
	// pairPhoneDone carries a phone-pairing code (or error) to the request waiting for it.
	pairPhoneDone struct {
		requester *actor.PID
		code      string
		err       error
	}
	// logoutDone reports the end of a logout to the request waiting for it.
	logoutDone struct {
		requester *actor.PID
		err       error
	}
	// linkFailed reports that connecting (for QR codes, or the linked device) failed.
	linkFailed struct {
		gen int
		err error
	}
	// flushEnqueues makes the messages accepted since the last flush durable.
	flushEnqueues struct{}
	// wake asks the actor to look at its queue again: a pause between messages is over, or a retry is due.
	wake struct{}
	// appended reports the commit of the events up to seq (err nil), or its failure.
	appended struct {
		seq int64
		err error
	}
	// snapshotDue: the oldest event no snapshot covers is SnapshotAfter old.
	snapshotDue struct{}
	// contentRead carries the content of a queued message read ahead of its turn.
	contentRead struct {
		msg  *messagesv1.Outbound
		size int
		err  error
	}
)
