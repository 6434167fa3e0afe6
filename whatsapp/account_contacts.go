package whatsapp

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/plugzapi/plugzapi/account"
)

// Contacts, as the account knows them: whatsmeow keeps every name it learns in its store (the phone's saved
// contacts from app state, push names from messages and the phone's history sync, business names from messages),
// persisted with the session, so they are there for a freshly linked number once the phone's sync arrived and
// after a restart alike.

var _ account.Contacts = (*Conn)(nil)

// PhonesExist asks WhatsApp about the phones in one query (a usync contact query, as WhatsApp's own clients
// check numbers).
func (c *Conn) PhonesExist(ctx context.Context, phones []string) ([]account.PhoneExists, error) {
	query := make([]string, len(phones))
	for i, p := range phones {
		query[i] = "+" + p
	}
	res, err := c.cli.IsOnWhatsApp(ctx, query)
	if err != nil {
		return nil, accountError("check phones on WhatsApp", err)
	}
	found := make(map[string]types.IsOnWhatsAppResponse, len(res))
	for _, r := range res {
		found[strings.TrimPrefix(r.Query, "+")] = r
	}
	out := make([]account.PhoneExists, len(phones))
	for i, p := range phones {
		out[i] = account.PhoneExists{Phone: p}
		r, ok := found[p]
		if !ok || !r.IsIn {
			continue
		}
		out[i].Exists = true
		out[i].Account = r.JID.User
		if lid, err := c.cli.Store.LIDs.GetLIDForPN(ctx, r.JID); err == nil && !lid.IsEmpty() {
			out[i].LID = lid.String()
		}
	}
	return out, nil
}

// ContactList merges what the store holds of each person under their phone number and their LID.
func (c *Conn) ContactList(ctx context.Context) ([]account.Contact, error) {
	all, err := c.knownContacts(ctx)
	if err != nil {
		return nil, fmt.Errorf("list contacts: %w", err)
	}
	var own types.JID
	if id := c.cli.Store.ID; id != nil {
		own = id.ToNonAD()
	}
	ownLID := c.cli.Store.GetLID().ToNonAD()
	byPhone := make(map[string]*account.Contact)
	for jid, info := range all {
		if jid.Server != types.DefaultUserServer && jid.Server != types.HiddenUserServer {
			continue
		}
		pn, lid := c.personOf(ctx, jid)
		if pn == own || jid == ownLID {
			continue
		}
		key := phoneOf(pn)
		ct := byPhone[key]
		if ct == nil {
			ct = &account.Contact{Phone: key}
			byPhone[key] = ct
		}
		if !lid.IsEmpty() {
			ct.LID = lid.String()
		}
		mergeNames(ct, info)
	}
	out := make([]account.Contact, 0, len(byPhone))
	for _, ct := range byPhone {
		if ct.Name != "" || ct.Short != "" || ct.Notify != "" || ct.VName != "" {
			out = append(out, *ct)
		}
	}
	slices.SortFunc(out, func(a, b account.Contact) int { return strings.Compare(a.Phone, b.Phone) })
	return out, nil
}

// Contact asks WhatsApp whether the phone has an account, then answers what the store knows of it.
func (c *Conn) Contact(ctx context.Context, phone string) (account.Contact, error) {
	jid, err := c.person(ctx, phone)
	if err != nil {
		return account.Contact{}, err
	}
	pn, lid := c.personOf(ctx, jid)
	ct := account.Contact{Phone: phoneOf(pn)}
	known, err := c.knownContacts(ctx)
	if err != nil {
		return account.Contact{}, fmt.Errorf("look up contact %s: %w", phone, err)
	}
	for _, j := range []types.JID{pn, lid} {
		if !j.IsEmpty() {
			mergeNames(&ct, known[j])
		}
	}
	if !lid.IsEmpty() {
		ct.LID = lid.String()
	}
	return ct, nil
}

// ContactPicture asks WhatsApp for the full picture (not the preview the webhooks name).
func (c *Conn) ContactPicture(ctx context.Context, phone string) (account.Picture, error) {
	jid, err := c.person(ctx, phone)
	if err != nil {
		return account.Picture{}, err
	}
	info, err := c.cli.GetProfilePictureInfo(ctx, jid, &whatsmeow.GetProfilePictureParams{})
	switch {
	case errors.Is(err, whatsmeow.ErrProfilePictureNotSet), errors.Is(err, whatsmeow.ErrProfilePictureUnauthorized):
		return account.Picture{}, nil
	case err != nil:
		return account.Picture{}, accountError("get the profile picture of "+phone, err)
	case info == nil:
		return account.Picture{}, nil
	}
	return account.Picture{URL: info.URL, ID: info.ID}, nil
}

// SetBlocked changes the account's block list on WhatsApp, which keeps it for every device of the account.
func (c *Conn) SetBlocked(ctx context.Context, phone string, blocked bool) error {
	jid, err := c.person(ctx, phone)
	if err != nil {
		return err
	}
	action, doing := events.BlocklistChangeActionUnblock, "unblock "+phone
	if blocked {
		action, doing = events.BlocklistChangeActionBlock, "block "+phone
	}
	if _, err := c.cli.UpdateBlocklist(ctx, jid, action); err != nil {
		return accountError(doing, err)
	}
	return nil
}

// person is the account of a phone number (or a LID, as package recipient writes it): ErrNotOnWhatsApp when
// WhatsApp knows none.
func (c *Conn) person(ctx context.Context, phone string) (types.JID, error) {
	jid, err := c.recipient(ctx, phone)
	if err == nil && jid.Server != types.DefaultUserServer && jid.Server != types.HiddenUserServer {
		err = fmt.Errorf("%q is not a person: %w", phone, ErrInvalidRecipient)
	}
	if err != nil {
		return types.EmptyJID, accountError("look up "+phone, err)
	}
	return jid, nil
}

// personOf is a person's phone-number JID (their LID when no number is known) and LID (empty when unknown), from
// the mappings the store learned.
func (c *Conn) personOf(ctx context.Context, jid types.JID) (pn, lid types.JID) {
	jid = jid.ToNonAD()
	if jid.Server == types.HiddenUserServer {
		if found, err := c.cli.Store.LIDs.GetPNForLID(ctx, jid); err == nil && !found.IsEmpty() {
			return found.ToNonAD(), jid
		}
		return jid, jid
	}
	if found, err := c.cli.Store.LIDs.GetLIDForPN(ctx, jid); err == nil && !found.IsEmpty() {
		return jid, found.ToNonAD()
	}
	return jid, types.EmptyJID
}

// mergeNames fills the names ct lacks from what the store holds under one of the person's JIDs.
func mergeNames(ct *account.Contact, info types.ContactInfo) {
	fill := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	fill(&ct.Name, info.FullName)
	fill(&ct.Short, info.FirstName)
	fill(&ct.Notify, info.PushName)
	fill(&ct.VName, info.BusinessName)
}

// knownContacts is what whatsmeow's store knows of people: saved, push and business names. Never its GetContact:
// this whatsmeow copies the cached entry after unlocking it, a data race with the names a history sync stores.
func (c *Conn) knownContacts(ctx context.Context) (map[types.JID]types.ContactInfo, error) {
	return c.cli.Store.Contacts.GetAllContacts(ctx)
}
