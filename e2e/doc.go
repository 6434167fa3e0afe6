// Package e2e holds the end-to-end tests of the server: the real plugzapi binary, started as a separate process
// (so that it can be killed and restarted), driven through its HTTP API, talking through the real whatsmeow client
// to a wasim WhatsApp simulator in the test process, whose simulated phones play the contacts; webhooks arrive at
// a receiver in the test process.
package e2e
