package httpapi

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/plugzapi/plugzapi/account"
	"github.com/plugzapi/plugzapi/actors"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// The interfaces below are what the handlers need from the application, one small interface per concern, so
// that reads can be served by read models and commands by the instance actors. Every method that names an
// instance takes its ID, already authenticated. An unknown instance is actors.ErrInstanceNotFound; the other
// domain errors of package actors are mapped to HTTP statuses by respondError.

// AdminAuthenticator decides whether a bearer token is the admin token.
type AdminAuthenticator interface {
	// AuthenticateAdmin reports whether token is the admin token. It must compare in constant time; an error
	// means the check itself could not be made.
	AuthenticateAdmin(ctx context.Context, token string) (bool, error)
}

// InstanceAuthenticator checks the credentials in an instance route's path.
type InstanceAuthenticator interface {
	// AuthenticateInstance returns nil when token is the token of instance id, and actors.ErrInstanceNotFound
	// both when there is no such instance and when the token does not match, so that callers cannot tell the
	// two apart. It must compare in constant time.
	AuthenticateInstance(ctx context.Context, id, token string) error
}

// InstanceRegistry creates and deletes instances.
type InstanceRegistry interface {
	// CreateInstance creates an instance and returns its credentials. webhookSecret is the key of the
	// webhooks' HMAC signature header; empty means unsigned webhooks.
	CreateInstance(ctx context.Context, spec actors.NewInstance, webhookSecret string) (actors.CreatedInstance, error)
	// DeleteInstance logs the instance out, drops its queue and removes it.
	DeleteInstance(ctx context.Context, id string) error
}

// InstanceDirectory answers questions about instances for the admin API.
type InstanceDirectory interface {
	// ListInstances returns the page of instances q selects and the number of instances that match q in all.
	ListInstances(ctx context.Context, q actors.InstanceQuery) (page []actors.InstanceInfo, total int, err error)
	// Instance describes one instance.
	Instance(ctx context.Context, id string) (actors.InstanceInfo, error)
}

// Pairing links an instance to a WhatsApp account.
type Pairing interface {
	// QRCode returns the string to encode in the QR code the phone scans (actors.ErrAlreadyConnected when
	// linked and connected, actors.ErrQRNotReady while the first code is being fetched).
	QRCode(ctx context.Context, id string) (string, error)
	// PhoneCode asks WhatsApp for a code to type on the phone with the given number (digits only), formatted
	// as WhatsApp shows it ("ABCD-EFGH").
	PhoneCode(ctx context.Context, id, phone string) (string, error)
}

// SessionControl acts on an instance's WhatsApp connection.
type SessionControl interface {
	// Restart drops the connection and connects again.
	Restart(ctx context.Context, id string) error
	// Disconnect logs the instance out of WhatsApp: linking it again needs a new QR code or phone code.
	Disconnect(ctx context.Context, id string) error
	// RestoreSession reconnects a linked instance that lost its connection (actors.ErrNotLinked when there is
	// no session to restore).
	RestoreSession(ctx context.Context, id string) error
}

// ConnectionView reports an instance's connection and linked device.
type ConnectionView interface {
	// Status reports the connection state.
	Status(ctx context.Context, id string) (actors.Status, error)
	// Device describes the linked account and device (actors.ErrNotLinked before linking).
	Device(ctx context.Context, id string) (actors.Device, error)
}

// Sender puts messages on an instance's queue.
type Sender interface {
	// Send queues a message durably and returns its IDs at once; it does not wait for the message to be sent
	// (actors.ErrQueueFull when the instance is disconnected and its queue is at the cap). The message is the
	// Sender's from then on.
	Send(ctx context.Context, id string, m *messagesv1.Outbound) (actors.Queued, error)
}

// MessageReader marks received messages read. It is not queued: the receipt goes at once.
type MessageReader interface {
	// MarkRead sends the read receipt of the message messageID of the chat phone to its sender
	// (actors.ErrNotConnected while the instance is not connected; actors.ErrMessageNotFound for a group
	// message the instance does not know, whose sender it cannot name).
	MarkRead(ctx context.Context, id, phone, messageID string) error
}

// QueueView lists what waits in an instance's queue.
type QueueView interface {
	// Queue returns the queued messages in the order they will be sent.
	Queue(ctx context.Context, id string) ([]actors.QueueItem, error)
	// QueueCount returns the number of queued messages.
	QueueCount(ctx context.Context, id string) (int, error)
}

// QueueEditor removes messages from an instance's queue before they are sent.
type QueueEditor interface {
	// ClearQueue removes every queued message.
	ClearQueue(ctx context.Context, id string) error
	// CancelQueued removes one queued message (actors.ErrQueueItemNotFound when it is not in the queue, for
	// example because it has been sent already).
	CancelQueued(ctx context.Context, id, zaapID string) error
}

// WebhookSettings configures where an instance's webhooks go and how they are signed.
type WebhookSettings interface {
	// SetWebhooks sets the target URL of each kind in urls, all at once; an empty URL removes that webhook.
	// Kinds not in urls are left as they are. URLs have been checked already.
	SetWebhooks(ctx context.Context, id string, urls map[eventsv1.WebhookKind]string) error
	// SetWebhookSecret sets the key of the webhooks' HMAC signature header; empty turns signing off.
	SetWebhookSecret(ctx context.Context, id, secret string) error
}

// Accounts reaches an instance's linked WhatsApp account, for the routes only WhatsApp can answer (contacts,
// groups, profile…): actors.ErrNotLinked before linking, actors.ErrNotConnected while disconnected.
type Accounts interface {
	Account(ctx context.Context, id string) (account.Client, error)
}

// InstanceSettings changes an instance's name and options, and describes it as GET me does, from its actor (a
// client reads its own writes).
type InstanceSettings interface {
	// Rename gives the instance a new name.
	Rename(ctx context.Context, id, name string) error
	// ChangeSettings changes the settings the change names.
	ChangeSettings(ctx context.Context, id string, change actors.SettingsChange) error
	// SetNotifySentByMe moves the received webhook to received-delivery (on) or back (actors.ErrNoReceivedWebhook
	// when on with no received webhook, actors.ErrReceivedWebhooksDiffer when both are set to different URLs).
	SetNotifySentByMe(ctx context.Context, id string, on bool) error
	// Me describes the instance, its webhooks and settings.
	Me(ctx context.Context, id string) (actors.Me, error)
}

// HealthChecker reports whether the server can do its work (storage reachable, actor system running).
type HealthChecker interface {
	// CheckHealth returns nil when the server is healthy.
	CheckHealth(ctx context.Context) error
}

// Deps are the parts of the application the API calls, passed explicitly (there are no package globals). All
// are required except Health, Metrics and Logger. One value may implement several of the interfaces.
type Deps struct {
	AdminAuth    AdminAuthenticator
	InstanceAuth InstanceAuthenticator
	Registry     InstanceRegistry
	Directory    InstanceDirectory
	Pairing      Pairing
	Session      SessionControl
	Connection   ConnectionView
	Sender       Sender
	Reader       MessageReader
	QueueView    QueueView
	QueueEditor  QueueEditor
	Webhooks     WebhookSettings
	Accounts     Accounts
	Settings     InstanceSettings
	Chats        ChatsView
	// ClientTokens, IPAllowLists and Subscriptions are the access policy of instance routes (security.go,
	// partner.go).
	ClientTokens  ClientTokens
	IPAllowLists  IPAllowLists
	Subscriptions Subscriptions
	// CheckWebhookURL rejects a webhook URL the server will not call (not https unless insecure webhooks are
	// allowed, not absolute, …). Its error text is shown to the client.
	CheckWebhookURL func(raw string) error
	// WebhookBacklog and WebhookRedelivery are the admin API of an instance's webhooks (webhook_admin.go).
	WebhookBacklog    WebhookBacklog
	WebhookRedelivery WebhookRedelivery

	// Health, when set, makes /healthz answer 503 while it reports an error; without it /healthz only says
	// that the process answers.
	Health HealthChecker
	// Metrics serves the Prometheus exposition at GET /metrics; without it /metrics answers 404.
	Metrics http.Handler
	// Media serves received files at GET /media/{file}; without it that route answers 404.
	Media ReceivedFiles
	// Locator, on a cluster, says which node runs an instance; requests about an instance that runs on another
	// node are forwarded there. Without it every instance is served here.
	Locator Locator
	// Live streams an instance's events to the dashboard (GET /instances/{id}/events); without it that route
	// answers 503.
	Live LiveEvents
	// Logger receives the access log and the errors the API could not answer well; nil means slog.Default().
	Logger *slog.Logger
}
