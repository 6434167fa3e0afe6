// Package httpapi is plugzapi's REST API: the chi router, its middleware, the handlers of each API area, the
// error format and the embedded OpenAPI document.
//
// The routes are wire-compatible with PlugZapi (a Z-API clone): instance routes live under
// /instances/{id}/token/{token}/…, admin routes take "Authorization: Bearer <admin token>", and every error is
// a JSON object {"error": "<stable text>", "code": "<stable code>"}.
//
// Handlers are thin: they decode and validate a request, call the application through the small interfaces
// declared in application.go, and encode the answer. Domain errors become HTTP statuses in one place (errors.go).
// The package must not hold application state, start goroutines that outlive a request, or know how instances
// are stored: that belongs to the actors package behind the interfaces.
package httpapi
