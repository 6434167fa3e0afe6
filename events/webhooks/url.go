package webhooks

import "github.com/plugzapi/plugzapi/netguard"

// URLPolicy is the address policy webhook targets pass: https to public addresses only, unless allowInsecure
// (PLUGZAPI_ALLOW_INSECURE_WEBHOOKS: tests, demos, a receiver on the operator's own network), which allows
// http and loopback, private, CGNAT and the IPv6 forms of such addresses. An instance token holder must not
// be able to make the server post to what only the server reaches. Link-local and cloud-metadata addresses are
// refused whatever the setting (see package netguard).
func URLPolicy(allowInsecure bool) netguard.Policy {
	return netguard.Policy{AllowHTTP: allowInsecure, AllowPrivate: allowInsecure}
}
