package actors

import (
	"errors"
	"time"

	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// The types below are the vocabulary the HTTP API and the instance actors share: commands an instance accepts
// and the answers it gives. They hold no behaviour.

// NewInstance is what creating an instance needs.
type NewInstance struct {
	Name string
	// SessionName is the device name shown under the phone's "linked devices"; empty means the server's default.
	SessionName string
	// Webhooks maps webhook kinds to their target URLs (already validated).
	Webhooks map[eventsv1.WebhookKind]string
	// Settings are the instance's options from the start (settings.go).
	Settings Settings
}

// CreatedInstance is returned once, at creation: the token is not stored in clear and cannot be shown again.
type CreatedInstance struct {
	ID    string
	Token string
	Due   time.Time
}

// InstanceInfo describes an instance for the admin API.
type InstanceInfo struct {
	ID          string
	Name        string
	SessionName string
	Created     time.Time
	Due         time.Time
	Connected   bool
	// Phone is the digits of the linked number, empty until linked.
	Phone    string
	Webhooks map[eventsv1.WebhookKind]string
}

// InstanceQuery selects a page of instances, in creation order.
type InstanceQuery struct {
	// Offset is the number of instances to skip.
	Offset int
	// Limit is the largest number of instances to return.
	Limit int
	// Search, when not empty, keeps only the instances whose ID or name contains it, ignoring case.
	Search string
}

// Queued identifies a message accepted into an instance's queue.
type Queued struct {
	// ZaapID identifies the queue item (PlugZapi's zaapId).
	ZaapID string
	// MessageID is the WhatsApp ID the message will carry.
	MessageID string
}

// QueueItem is a message waiting in an instance's queue: the message as accepted, with its content, and when.
type QueueItem struct {
	Message *messagesv1.Outbound
	Queued  time.Time
}

// Status is an instance's connection state, as PlugZapi's GET /status reports it.
type Status struct {
	// Connected is true while the instance is logged in to WhatsApp.
	Connected bool
	// Session is true while the instance holds a linked WhatsApp session (it may be reconnecting).
	Session bool
	// SmartphoneConnected is true while the linked phone is reachable; with multi-device this follows Connected.
	SmartphoneConnected bool
	// Error is one of PlugZapi's status texts when not connected, empty otherwise.
	Error string
}

// Device describes the linked WhatsApp account and device.
type Device struct {
	Phone string
	// Name, About and PictureURL are the WhatsApp profile's (push name, about text, picture), known while
	// connected (settings.go).
	Name         string
	About        string
	PictureURL   string
	Platform     string
	BusinessName string
	SessionName  string
}

// Errors an instance answers with. The HTTP layer maps each to a status code in one place.
var (
	// ErrInstanceNotFound: no instance with that ID (or the token does not match it).
	ErrInstanceNotFound = errors.New("instance not found")
	// ErrQueueFull: the instance is disconnected and already holds the maximum number of queued messages.
	ErrQueueFull = errors.New("queue is full while the instance is disconnected")
	// ErrQueueItemNotFound: no queued message with that zaapId (it may have been sent already).
	ErrQueueItemNotFound = errors.New("no queued message with that id")
	// ErrAlreadyConnected: the request needs an unlinked instance (QR code, phone code) but it is connected.
	ErrAlreadyConnected = errors.New("instance is already connected")
	// ErrNotLinked: the request needs a linked instance (device info, restore) but it has no session.
	ErrNotLinked = errors.New("instance is not linked to a phone")
	// ErrQRNotReady: the instance is starting its link and has no QR code yet; try again in a moment.
	ErrQRNotReady = errors.New("the QR code is not ready yet, try again in a moment")
	// ErrInvalidPhone: a phone number that cannot be a WhatsApp number.
	ErrInvalidPhone = errors.New("invalid phone number")
	// ErrIdempotencyKeyReused: the request's Idempotency-Key came with another request (another route or body)
	// that the instance accepted in the last 24 hours.
	ErrIdempotencyKeyReused = errors.New("the idempotency key was used for another request")
	// ErrForwardingOff: the server keeps no message to forward (PLUGZAPI_FORWARD_WINDOW is 0, the default).
	ErrForwardingOff = errors.New("this server keeps no messages to forward: PLUGZAPI_FORWARD_WINDOW is 0")
	// ErrNotKept: the message to forward is not kept for that chat: the instance never sent or received it
	// there, it cannot be forwarded (a reaction, a poll, a view-once file…), it was edited or deleted for
	// everyone since, or the forward window is over.
	ErrNotKept = errors.New("no message with that id is kept for forwarding in that chat")
)
