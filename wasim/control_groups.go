package wasim

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"
)

// Control API for groups, profiles, presence and received media. Group ids in paths
// are <digits>-group or <digits>@g.us; group changes name the acting account in "by".

func (s *Simulator) apiCreateGroup(w http.ResponseWriter, r *http.Request, a *Account) {
	var req struct {
		Subject      string   `json:"subject"`
		Participants []string `json:"participants"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), controlTimeout)
	defer cancel()
	info, err := a.CreateGroup(ctx, req.Subject, req.Participants...)
	if err != nil {
		writeFailure(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, info)
}

func (s *Simulator) apiAccountGroups(w http.ResponseWriter, _ *http.Request, a *Account) {
	groups := a.Groups()
	if groups == nil {
		groups = []GroupInfo{}
	}
	writeJSON(w, http.StatusOK, groups)
}

// groupParam returns the group id of the request path.
func groupParam(r *http.Request) string {
	raw := chi.URLParam(r, "id")
	if id, err := url.PathUnescape(raw); err == nil {
		return id
	}
	return raw
}

func (s *Simulator) apiGetGroup(w http.ResponseWriter, r *http.Request) {
	info, err := s.Group(groupParam(r))
	if err != nil {
		writeFailure(w, err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}

// actor returns the account named in a group request's "by".
func (s *Simulator) actor(w http.ResponseWriter, by string) (*Account, bool) {
	if by == "" {
		writeError(w, http.StatusBadRequest, "by (the acting account's phone number) is required")
		return nil, false
	}
	a, ok := s.Account(strings.TrimPrefix(by, "+"))
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("unknown account %q", by))
		return nil, false
	}
	return a, true
}

func (s *Simulator) apiGroupParticipants(w http.ResponseWriter, r *http.Request) {
	var req struct {
		By           string   `json:"by"`
		Action       string   `json:"action"`
		Participants []string `json:"participants"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	a, ok := s.actor(w, req.By)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), controlTimeout)
	defer cancel()
	res, err := a.UpdateGroupParticipants(ctx, groupParam(r), req.Action, req.Participants...)
	if err != nil {
		writeFailure(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"participants": res})
}

// groupActor is the part of a group request that names the account acting on the group.
type groupActor struct {
	By string `json:"by"`
}

func (g groupActor) actingPhone() string { return g.By }

// groupAction decodes a group request, finds the account it names in "by", and answers with what act, run as
// that account on the group of the path, returns.
func groupAction[T interface{ actingPhone() string }](s *Simulator, w http.ResponseWriter, r *http.Request,
	act func(ctx context.Context, a *Account, group string, req T) error) {
	var req T
	if !decodeBody(w, r, &req) {
		return
	}
	a, ok := s.actor(w, req.actingPhone())
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), controlTimeout)
	defer cancel()
	writeResult(w, act(ctx, a, groupParam(r), req))
}

type groupSubjectRequest struct {
	groupActor
	Subject string `json:"subject"`
}

type groupDescriptionRequest struct {
	groupActor
	Description string `json:"description"`
}

func (s *Simulator) apiGroupSubject(w http.ResponseWriter, r *http.Request) {
	groupAction(s, w, r, func(ctx context.Context, a *Account, group string, req groupSubjectRequest) error {
		return a.SetGroupSubject(ctx, group, req.Subject)
	})
}

func (s *Simulator) apiGroupDescription(w http.ResponseWriter, r *http.Request) {
	groupAction(s, w, r, func(ctx context.Context, a *Account, group string, req groupDescriptionRequest) error {
		return a.SetGroupDescription(ctx, group, req.Description)
	})
}

func (s *Simulator) apiLeaveGroup(w http.ResponseWriter, r *http.Request) {
	groupAction(s, w, r, func(ctx context.Context, a *Account, group string, _ groupActor) error {
		return a.LeaveGroup(ctx, group)
	})
}

// apiGroupInviteLink answers {"link"}: the group's invite link, as its admin named in "by" gets it.
func (s *Simulator) apiGroupInviteLink(w http.ResponseWriter, r *http.Request) {
	var req groupActor
	if !decodeBody(w, r, &req) {
		return
	}
	a, ok := s.actor(w, req.By)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), controlTimeout)
	defer cancel()
	link, err := a.GroupInviteLink(ctx, groupParam(r))
	if err != nil {
		writeFailure(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"link": link})
}

// apiJoinGroup joins the group of an invite link ({"link"}) from the account's phone, answering the group's
// id; in a group that needs approval the account is a requester afterwards.
func (s *Simulator) apiJoinGroup(w http.ResponseWriter, r *http.Request, a *Account) {
	var req struct {
		Link string `json:"link"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), controlTimeout)
	defer cancel()
	id, err := a.JoinGroupByLink(ctx, req.Link)
	if err != nil {
		writeFailure(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"id": id})
}

// apiProfile sets the account's picture (a base64 JPEG; "" removes it) and/or its
// status text. Absent fields are left alone.
func (s *Simulator) apiProfile(w http.ResponseWriter, r *http.Request, a *Account) {
	var req struct {
		PictureBase64 *string `json:"pictureBase64"`
		Status        *string `json:"status"`
	}
	if !decodeBodyLimit(w, r, &req, maxPictureSize/3*4+4+maxControlBody) {
		return
	}
	if req.PictureBase64 == nil && req.Status == nil {
		writeError(w, http.StatusBadRequest, "pictureBase64 or status is required")
		return
	}
	var picture []byte
	if req.PictureBase64 != nil && *req.PictureBase64 != "" {
		var err error
		if picture, err = decodeBase64(*req.PictureBase64); err != nil || !isJPEG(picture) {
			writeError(w, http.StatusBadRequest, "pictureBase64 must be a base64 JPEG")
			return
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), controlTimeout)
	defer cancel()
	if req.Status != nil {
		if err := a.SetStatus(ctx, *req.Status); err != nil {
			writeFailure(w, err)
			return
		}
	}
	if req.PictureBase64 != nil {
		if _, err := a.SetProfilePicture(ctx, picture); err != nil {
			writeFailure(w, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": a.Status(), "pictureId": a.PictureID()})
}

func (s *Simulator) apiPresence(w http.ResponseWriter, r *http.Request, a *Account) {
	var req struct {
		State string `json:"state"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if req.State != "available" && req.State != "unavailable" {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("state %q is not available or unavailable", req.State))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), controlTimeout)
	defer cancel()
	if err := a.SetPresence(ctx, req.State == "available"); err != nil {
		writeFailure(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"state": req.State})
}

func (s *Simulator) apiSubscribePresence(w http.ResponseWriter, r *http.Request, a *Account) {
	var req struct {
		To string `json:"to"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), controlTimeout)
	defer cancel()
	writeResult(w, a.SubscribePresence(ctx, req.To))
}

// apiAccountAddressing moves the account's chats to LIDs ({"mode":"lid"}); there is no
// way back to phone numbers.
func (s *Simulator) apiAccountAddressing(w http.ResponseWriter, r *http.Request, a *Account) {
	var req struct {
		Mode string `json:"mode"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	mode, err := ParseAddressing(req.Mode)
	if err == nil {
		ctx, cancel := context.WithTimeout(r.Context(), controlTimeout)
		defer cancel()
		err = a.SetAddressing(ctx, mode)
	}
	if err != nil {
		writeFailure(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]Addressing{"mode": a.Addressing()})
}

// apiGroupAddressing moves a group to LID addressing ({"mode":"lid"}).
func (s *Simulator) apiGroupAddressing(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Mode string `json:"mode"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	mode, err := ParseAddressing(req.Mode)
	if err == nil {
		err = s.SetGroupAddressing(groupParam(r), mode)
	}
	if err != nil {
		writeFailure(w, err)
		return
	}
	info, err := s.Group(groupParam(r))
	if err != nil {
		writeFailure(w, err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}

// apiMessageMedia answers the decrypted media of a message the account received,
// with its MIME type.
func (s *Simulator) apiMessageMedia(w http.ResponseWriter, r *http.Request, a *Account) {
	ctx, cancel := context.WithTimeout(r.Context(), controlTimeout)
	defer cancel()
	data, msg, err := a.MediaData(ctx, chi.URLParam(r, "id"))
	if err != nil {
		writeFailure(w, err)
		return
	}
	mimeType := msg.MimeType
	if mimeType == "" {
		mimeType = "application/octet-stream"
	}
	writeBytes(w, mimeType, data)
}
