package httpapi

import (
	"fmt"
	"math"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/plugzapi/plugzapi/account"
	"github.com/plugzapi/plugzapi/recipient"
)

// The contact routes answer from WhatsApp through the instance's connection (account.Contacts).

// maxPhonesPerBatch caps phone-exists-batch: one WhatsApp query per request, of a size WhatsApp's own clients
// send when they sync an address book. Z-API documents 50,000; a client with more sends several batches.
const maxPhonesPerBatch = 1000

// maxContactsPage bounds pageSize of GET contacts.
const maxContactsPage = 1000

// phoneExistsJSON is phone-exists's answer: PlugZapi documents exists; phone (the number as WhatsApp knows the
// account, with Brazil's ninth digit as WhatsApp has it) and lid are Z-API's.
type phoneExistsJSON struct {
	Exists bool    `json:"exists"`
	Phone  string  `json:"phone"`
	LID    *string `json:"lid"`
}

// phoneExistsBatchJSON is one answer of Z-API's phone-exists-batch.
type phoneExistsBatchJSON struct {
	Exists      bool    `json:"exists"`
	InputPhone  string  `json:"inputPhone"`
	OutputPhone string  `json:"outputPhone"`
	LID         *string `json:"lid"`
}

// known is the number WhatsApp knows the account by (the one asked when there is none) and its LID (nil: unknown).
func known(p account.PhoneExists) (phone string, lid *string) {
	phone = p.Account
	if phone == "" {
		phone = p.Phone
	}
	return phone, nullable(p.LID)
}

// phoneExists answers GET phone-exists/{phone} as PlugZapi documents it, an array of one (PlugZapi's clients read
// the first element), with Z-API's phone and lid inside it.
func (a *api) phoneExists(w http.ResponseWriter, r *http.Request) {
	phone := chi.URLParam(r, "phone")
	if !recipient.IsPhoneNumber(phone) {
		a.respondError(w, r, invalidPhone("phone", false))
		return
	}
	a.withAccount(w, r, func(c account.Client) error {
		res, err := c.PhonesExist(r.Context(), []string{phone})
		if err != nil {
			return fmt.Errorf("phone exists: %w", err)
		}
		one := phoneExistsJSON{Exists: res[0].Exists}
		one.Phone, one.LID = known(res[0])
		writeJSON(w, http.StatusOK, []phoneExistsJSON{one})
		return nil
	})
}

// phonesRequest is the body of POST phone-exists-batch.
type phonesRequest struct {
	Phones []string `json:"phones"`
}

// phoneExistsBatch answers Z-API's POST phone-exists-batch: one answer per phone, in order.
func (a *api) phoneExistsBatch(w http.ResponseWriter, r *http.Request) {
	var req phonesRequest
	if err := decodeJSON(r, &req); err != nil {
		a.respondError(w, r, err)
		return
	}
	switch {
	case len(req.Phones) == 0:
		a.respondError(w, r, missingFields("phones"))
		return
	case len(req.Phones) > maxPhonesPerBatch:
		a.respondError(w, r, badRequest(codeInvalidField,
			fmt.Sprintf("phones may hold at most %d numbers; send more in several requests", maxPhonesPerBatch), "phones"))
		return
	}
	for i, p := range req.Phones {
		if !recipient.IsPhoneNumber(p) {
			a.respondError(w, r, invalidPhone(fmt.Sprintf("phones[%d]", i), false))
			return
		}
	}
	a.withAccount(w, r, func(c account.Client) error {
		res, err := c.PhonesExist(r.Context(), req.Phones)
		if err != nil {
			return fmt.Errorf("phone exists batch: %w", err)
		}
		out := make([]phoneExistsBatchJSON, len(res))
		for i, p := range res {
			out[i] = phoneExistsBatchJSON{Exists: p.Exists, InputPhone: p.Phone}
			out[i].OutputPhone, out[i].LID = known(p)
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	})
}

// contactJSON is a contact as PlugZapi lists them; GET contacts/{phone} adds imgUrl. Unknown names are null.
type contactJSON struct {
	Name   *string `json:"name"`
	Short  *string `json:"short"`
	Notify *string `json:"notify"`
	VName  *string `json:"vname"`
	Phone  string  `json:"phone"`
	// LID is ours (Z-API's form): where the person's LID is known.
	LID *string `json:"lid,omitempty"`
}

func newContactJSON(c account.Contact) contactJSON {
	return contactJSON{Name: nullable(c.Name), Short: nullable(c.Short), Notify: nullable(c.Notify),
		VName: nullable(c.VName), Phone: c.Phone, LID: nullable(c.LID)}
}

// nullable is nil for "", so that what is unknown is null.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// contacts answers GET contacts?page=&pageSize=: every contact when neither is given (PlugZapi marks them
// required, but clients omit them to mean everything), else the page (from 1) of pageSize (default 20).
func (a *api) contacts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	paged := q.Has("page") || q.Has("pageSize")
	page, err := intParam(q.Get("page"), "page", 1, math.MaxInt32)
	if err != nil {
		a.respondError(w, r, err)
		return
	}
	pageSize, err := intParam(q.Get("pageSize"), "pageSize", defaultPageSize, maxContactsPage)
	if err != nil {
		a.respondError(w, r, err)
		return
	}
	a.withAccount(w, r, func(c account.Client) error {
		all, err := c.ContactList(r.Context())
		if err != nil {
			return fmt.Errorf("list contacts: %w", err)
		}
		if paged {
			from := min(len(all), (page-1)*pageSize) // no overflow: page ≤ MaxInt32, pageSize ≤ 1000
			all = all[from:min(len(all), from+pageSize)]
		}
		out := make([]contactJSON, len(all))
		for i, ct := range all {
			out[i] = newContactJSON(ct)
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	})
}

// contactMetadataJSON is GET contacts/{phone}'s answer.
type contactMetadataJSON struct {
	contactJSON
	ImgURL *string `json:"imgUrl"`
}

// contact answers GET contacts/{phone}: what the account knows of the person, and their picture.
func (a *api) contact(w http.ResponseWriter, r *http.Request) {
	phone := chi.URLParam(r, "phone")
	if !recipient.IsPhoneNumber(phone) {
		a.respondError(w, r, invalidPhone("phone", false))
		return
	}
	a.withAccount(w, r, func(c account.Client) error {
		ct, err := c.Contact(r.Context(), phone)
		if err != nil {
			return fmt.Errorf("get contact: %w", err)
		}
		pic, err := c.ContactPicture(r.Context(), ct.Phone)
		if err != nil {
			return fmt.Errorf("get contact picture: %w", err)
		}
		writeJSON(w, http.StatusOK, contactMetadataJSON{contactJSON: newContactJSON(ct), ImgURL: nullable(pic.URL)})
		return nil
	})
}

// pictureLinkJSON is GET profile-picture's answer, as PlugZapi documents it: an array of one, link null when
// there is no picture or its owner hides it from the account.
type pictureLinkJSON struct {
	Link *string `json:"link"`
}

func (a *api) profilePicture(w http.ResponseWriter, r *http.Request) {
	phone := r.URL.Query().Get("phone")
	switch {
	case phone == "":
		a.respondError(w, r, badRequest(codeInvalidQuery, "phone is required", "phone"))
		return
	case !recipient.IsPhoneNumber(phone):
		a.respondError(w, r, invalidPhone("phone", false))
		return
	}
	a.withAccount(w, r, func(c account.Client) error {
		pic, err := c.ContactPicture(r.Context(), phone)
		if err != nil {
			return fmt.Errorf("get profile picture: %w", err)
		}
		writeJSON(w, http.StatusOK, []pictureLinkJSON{{Link: nullable(pic.URL)}})
		return nil
	})
}

func (a *api) modifyBlocked(w http.ResponseWriter, r *http.Request) {
	var req phoneActionRequest
	if err := decodeJSON(r, &req); err != nil {
		a.respondError(w, r, err)
		return
	}
	if missing := append(required("phone", req.Phone), required("action", req.Action)...); len(missing) > 0 {
		a.respondError(w, r, missingFields(missing...))
		return
	}
	if !recipient.IsPhoneNumber(req.Phone) {
		a.respondError(w, r, invalidPhone("phone", false))
		return
	}
	if req.Action != "block" && req.Action != "unblock" {
		a.respondError(w, r, badRequest(codeInvalidField, "action must be block or unblock", "action"))
		return
	}
	a.withAccount(w, r, func(c account.Client) error {
		if err := c.SetBlocked(r.Context(), req.Phone, req.Action == "block"); err != nil {
			return fmt.Errorf("%s contact: %w", req.Action, err)
		}
		writeValueTrue(w)
		return nil
	})
}
