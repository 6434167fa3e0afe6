// Package access decides who may call the API: the instance tokens in instance routes' paths and the admin
// token (both stored hashed, compared in constant time), the account's optional Client-Token header (Z-API's
// account security token), each instance's optional IP allow-list, and an instance's subscription (a cancelled
// instance is refused, then deleted once its grace has passed).
//
// It holds credentials and policies, not instances: it never talks to an instance's actor except to delete an
// instance whose cancellation came due, and it knows nothing of HTTP (the API maps its errors).
package access
