package webhooks

import "github.com/plugzapi/plugzapi/netguard"

// URLPolicy is the address policy webhook targets pass: https only, unless allowInsecure; private addresses are
// allowed, for a receiver on the operator's own network is legitimate. Link-local and cloud-metadata addresses
// are refused whatever the setting (see package netguard).
func URLPolicy(allowInsecure bool) netguard.Policy {
	return netguard.Policy{AllowHTTP: allowInsecure, AllowPrivate: true}
}
