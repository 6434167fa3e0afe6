package wasim

import (
	"context"
	"fmt"
	"strings"

	"go.mau.fi/whatsmeow/appstate"
	"go.mau.fi/whatsmeow/proto/waSyncAction"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"
)

// SaveContact saves a phone number in the account's address book under a name, as a
// person does on their phone. The phone writes it into the account's app state
// (collection critical_unblock_low), from which its linked devices learn their
// contacts: whatsmeow posts status updates to the contacts it knows so.
func (a *Account) SaveContact(ctx context.Context, phone, name string) error {
	if !validPhone(phone) || strings.TrimSpace(name) == "" {
		return fmt.Errorf("save contact: %w", ErrInvalidArgument)
	}
	e, err := a.ready(ctx)
	if err != nil {
		return fmt.Errorf("save contact: %w", err)
	}
	first, _, _ := strings.Cut(strings.TrimSpace(name), " ")
	jid := types.NewJID(phone, types.DefaultUserServer)
	patch := appstate.PatchInfo{
		Type: appstate.WAPatchCriticalUnblockLow,
		Mutations: []appstate.MutationInfo{{
			Index:   []string{appstate.IndexContact, jid.String()},
			Version: 2,
			Value: &waSyncAction.SyncActionValue{ContactAction: &waSyncAction.ContactAction{
				FullName: proto.String(name), FirstName: proto.String(first),
			}},
		}},
	}
	if err := e.cli.SendAppState(ctx, patch); err != nil {
		return fmt.Errorf("save contact %s: %w", phone, err)
	}
	return nil
}
