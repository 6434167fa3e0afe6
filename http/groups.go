package httpapi

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/plugzapi/plugzapi/account"
	"github.com/plugzapi/plugzapi/media"
	"github.com/plugzapi/plugzapi/recipient"
)

// The group routes: PlugZapi's twelve and Z-API's list, invite-link and join-request extras. Every one asks
// WhatsApp through the instance's account (withAccount) and answers when WhatsApp did.

// It is mounted with the routes that take files: update-group-photo's body may hold a picture in base64, the
// others keep to the usual limit.
func (a *api) mountGroupRoutes(r chi.Router) {
	p := instancePrefix
	r.With(a.limitBodyTo(a.mediaBodyLimit(media.Image))).Post(p+"/update-group-photo", a.updateGroupPhoto)
	r = r.With(a.limitBody)
	r.Post(p+"/create-group", a.createGroup)
	r.Post(p+"/update-group-name", a.updateGroupName)
	r.Post(p+"/update-group-description", a.updateGroupDescription)
	r.Post(p+"/update-group-settings", a.updateGroupSettings)
	r.Post(p+"/add-participant", a.changeParticipants(account.AddParticipants))
	r.Post(p+"/remove-participant", a.changeParticipants(account.RemoveParticipants))
	r.Post(p+"/add-admin", a.changeParticipants(account.PromoteToAdmin))
	r.Post(p+"/remove-admin", a.changeParticipants(account.DemoteFromAdmin))
	r.Post(p+"/approve-participant", a.answerJoinRequests(true))
	r.Post(p+"/reject-participant", a.answerJoinRequests(false))
	r.Post(p+"/leave-group", a.leaveGroup)
	r.Get(p+"/group-metadata/{groupId}", a.groupMetadata(true))
	r.Get(p+"/light-group-metadata/{groupId}", a.groupMetadata(false))
	r.Get(p+"/group-invitation-metadata", a.groupInvitationMetadata)
	r.Get(p+"/groups", a.listGroups)
	r.Get(p+"/group-invitation-link/{groupId}", a.groupInvitationLink(false))
	r.Post(p+"/redefine-invitation-link/{groupId}", a.groupInvitationLink(true))
	r.Get(p+"/accept-invite-group", a.acceptInviteGroup)
}

// maxGroupPhones bounds the phones of one request: a group holds at most 1024 members.
const maxGroupPhones = 1024

// groupRequest is the body of the group commands; each route reads the fields it needs. Z-API's
// update-group-settings names the group phone: it is taken for groupId.
type groupRequest struct {
	GroupID          string   `json:"groupId"`
	Phone            string   `json:"phone"`
	GroupName        string   `json:"groupName"`
	GroupPhoto       string   `json:"groupPhoto"`
	GroupDescription *string  `json:"groupDescription"`
	Phones           []string `json:"phones"`

	AdminOnlyMessage     *bool `json:"adminOnlyMessage"`
	AdminOnlySettings    *bool `json:"adminOnlySettings"`
	RequireAdminApproval *bool `json:"requireAdminApproval"`
	AdminOnlyAddMember   *bool `json:"adminOnlyAddMember"`
}

// decodeGroupRequest reads a group command's body and checks its groupId, unless the route creates the group.
func decodeGroupRequest(r *http.Request, needGroup bool) (groupRequest, error) {
	var req groupRequest
	if err := decodeJSON(r, &req); err != nil {
		return req, err
	}
	if req.GroupID == "" {
		req.GroupID = req.Phone
	}
	if needGroup {
		return req, checkGroupID("groupId", req.GroupID)
	}
	return req, nil
}

// checkGroupID refuses a value that is not a group ID in either of PlugZapi's forms.
func checkGroupID(field, id string) error {
	if id == "" {
		return missingFields(field)
	}
	if rc, err := recipient.Parse(id); err != nil || rc.Kind != recipient.Group {
		return badRequest(codeInvalidPhone,
			field+" must be a group ID: 120363019502650977-group, or the old form 5511999999999-1623281429", field)
	}
	return nil
}

// checkPhones refuses an empty list of people or one that is not a phone number or LID.
func checkPhones(phones []string) error {
	if len(phones) == 0 {
		return missingFields("phones")
	}
	if len(phones) > maxGroupPhones {
		return badRequest(codeInvalidField, fmt.Sprintf("phones must hold at most %d numbers", maxGroupPhones), "phones")
	}
	for _, p := range phones {
		if rc, err := recipient.Parse(p); err != nil || (rc.Kind != recipient.Phone && rc.Kind != recipient.LID) {
			return badRequest(codeInvalidPhone, fmt.Sprintf(
				"phones must hold phone numbers (digits with country code, 8 to 15) or LIDs such as 123456789012345@lid; %q is neither", p),
				"phones")
		}
	}
	return nil
}

// createGroupResponse is PlugZapi's answer to create-group, with Z-API's phonesNotAdded.
type createGroupResponse struct {
	Phone          string   `json:"phone"`
	InvitationLink string   `json:"invitationLink"`
	PhonesNotAdded []string `json:"phonesNotAdded"`
}

func (a *api) createGroup(w http.ResponseWriter, r *http.Request) {
	req, err := decodeGroupRequest(r, false)
	if err == nil {
		err = checkText("groupName", req.GroupName, maxNameChars)
	}
	if err == nil {
		err = checkPhones(req.Phones)
	}
	if err != nil {
		a.respondError(w, r, err)
		return
	}
	a.withAccount(w, r, func(c account.Client) error {
		g, err := c.CreateGroup(r.Context(), req.GroupName, req.Phones)
		if err != nil {
			return namingPhones(err)
		}
		writeJSON(w, http.StatusOK, createGroupResponse{Phone: g.ID, InvitationLink: g.InvitationLink,
			PhonesNotAdded: append([]string{}, g.NotAdded...)})
		return nil
	})
}

// namingPhones answers ErrNotOnWhatsApp with the phones of the request that are not on WhatsApp.
func namingPhones(err error) error {
	var missing *account.NotOnWhatsAppError
	if errors.As(err, &missing) {
		return &apiError{status: http.StatusNotFound, code: codeNotOnWhatsApp, fields: []string{"phones"},
			message: "not on WhatsApp: " + strings.Join(missing.Phones, ", ")}
	}
	return err
}

// groupCommand is a route that decodes a group command, checks it and does it, answering {"value": true}.
func (a *api) groupCommand(w http.ResponseWriter, r *http.Request, check func(groupRequest) error,
	do func(account.Client, groupRequest) error) {
	req, err := decodeGroupRequest(r, true)
	if err == nil && check != nil {
		err = check(req)
	}
	if err != nil {
		a.respondError(w, r, err)
		return
	}
	a.withAccount(w, r, func(c account.Client) error {
		if err := do(c, req); err != nil {
			return namingPhones(err)
		}
		writeValueTrue(w)
		return nil
	})
}

func (a *api) updateGroupName(w http.ResponseWriter, r *http.Request) {
	a.groupCommand(w, r, func(req groupRequest) error { return checkText("groupName", req.GroupName, maxNameChars) },
		func(c account.Client, req groupRequest) error {
			return c.RenameGroup(r.Context(), req.GroupID, req.GroupName)
		})
}

// updateGroupPhoto takes groupPhoto as the send routes take a file: a URL (fetched when set) or base64.
func (a *api) updateGroupPhoto(w http.ResponseWriter, r *http.Request) {
	var pic account.Image
	a.groupCommand(w, r, func(req groupRequest) error {
		if req.GroupPhoto == "" {
			return missingFields("groupPhoto")
		}
		var err error
		pic, err = intake{a}.image("groupPhoto", req.GroupPhoto)
		return err
	}, func(c account.Client, req groupRequest) error {
		return c.SetGroupPicture(r.Context(), req.GroupID, pic)
	})
}

func (a *api) updateGroupDescription(w http.ResponseWriter, r *http.Request) {
	a.groupCommand(w, r, func(req groupRequest) error {
		if req.GroupDescription == nil {
			return missingFields("groupDescription")
		}
		return nil
	}, func(c account.Client, req groupRequest) error {
		return c.SetGroupDescription(r.Context(), req.GroupID, *req.GroupDescription)
	})
}

func (a *api) updateGroupSettings(w http.ResponseWriter, r *http.Request) {
	a.groupCommand(w, r, func(req groupRequest) error {
		if req.AdminOnlyMessage == nil && req.AdminOnlySettings == nil && req.RequireAdminApproval == nil &&
			req.AdminOnlyAddMember == nil {
			return missingFields("adminOnlyMessage", "adminOnlySettings")
		}
		return nil
	}, func(c account.Client, req groupRequest) error {
		return c.SetGroupSettings(r.Context(), req.GroupID, account.GroupSettings{
			AdminOnlyMessage: req.AdminOnlyMessage, AdminOnlySettings: req.AdminOnlySettings,
			RequireAdminApproval: req.RequireAdminApproval, AdminOnlyAddMember: req.AdminOnlyAddMember,
		})
	})
}

func (a *api) changeParticipants(change account.ParticipantChange) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a.groupCommand(w, r, func(req groupRequest) error { return checkPhones(req.Phones) },
			func(c account.Client, req groupRequest) error {
				return c.ChangeParticipants(r.Context(), req.GroupID, change, req.Phones)
			})
	}
}

func (a *api) answerJoinRequests(approve bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a.groupCommand(w, r, func(req groupRequest) error { return checkPhones(req.Phones) },
			func(c account.Client, req groupRequest) error {
				return c.AnswerJoinRequests(r.Context(), req.GroupID, approve, req.Phones)
			})
	}
}

func (a *api) leaveGroup(w http.ResponseWriter, r *http.Request) {
	a.groupCommand(w, r, nil, func(c account.Client, req groupRequest) error {
		return c.LeaveGroup(r.Context(), req.GroupID)
	})
}

// groupJSON is PlugZapi's group metadata, with Z-API's additions (description, settings, invitation link,
// community) and the LIDs beside the phones.
type groupJSON struct {
	Phone                string            `json:"phone"`
	Owner                string            `json:"owner"`
	OwnerLID             string            `json:"ownerLid,omitempty"`
	Subject              string            `json:"subject"`
	Description          string            `json:"description"`
	Creation             int64             `json:"creation"`
	InvitationLink       *string           `json:"invitationLink"`
	CommunityID          *string           `json:"communityId"`
	AdminOnlyMessage     bool              `json:"adminOnlyMessage"`
	AdminOnlySettings    bool              `json:"adminOnlySettings"`
	RequireAdminApproval bool              `json:"requireAdminApproval"`
	AdminOnlyAddMember   bool              `json:"adminOnlyAddMember"`
	ParticipantsCount    int               `json:"participantsCount"`
	Participants         []participantJSON `json:"participants"`
	SubjectTime          int64             `json:"subjectTime"`
	SubjectOwner         string            `json:"subjectOwner"`
}

type participantJSON struct {
	Phone        string `json:"phone"`
	LID          string `json:"lid,omitempty"`
	IsAdmin      bool   `json:"isAdmin"`
	IsSuperAdmin bool   `json:"isSuperAdmin"`
}

func newGroupJSON(g account.Group) groupJSON {
	out := groupJSON{
		Phone: g.ID, Owner: g.Owner, OwnerLID: g.OwnerLID, Subject: g.Subject, Description: g.Description,
		Creation: unixMilli(g.Created), InvitationLink: nonEmpty(g.InvitationLink), CommunityID: nonEmpty(g.CommunityID),
		AdminOnlyMessage: isSet(g.Settings.AdminOnlyMessage), AdminOnlySettings: isSet(g.Settings.AdminOnlySettings),
		RequireAdminApproval: isSet(g.Settings.RequireAdminApproval),
		AdminOnlyAddMember:   isSet(g.Settings.AdminOnlyAddMember), ParticipantsCount: g.Size,
		Participants: make([]participantJSON, len(g.Participants)),
		SubjectTime:  unixMilli(g.SubjectTime), SubjectOwner: g.SubjectOwner,
	}
	for i, p := range g.Participants {
		out.Participants[i] = participantJSON{Phone: p.Phone, LID: p.LID, IsAdmin: p.Admin, IsSuperAdmin: p.SuperAdmin}
	}
	return out
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func isSet(b *bool) bool { return b != nil && *b }

// groupMetadata answers a group's metadata; the full form adds the invite link (for admins), the light one
// spares that second question to WhatsApp.
func (a *api) groupMetadata(withLink bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		group := chi.URLParam(r, "groupId")
		if err := checkGroupID("groupId", group); err != nil {
			a.respondError(w, r, err)
			return
		}
		a.withAccount(w, r, func(c account.Client) error {
			g, err := c.Group(r.Context(), group, withLink)
			if err != nil {
				return err
			}
			writeJSON(w, http.StatusOK, newGroupJSON(g))
			return nil
		})
	}
}

// inviteLinkPrefix starts WhatsApp's group invite links.
const inviteLinkPrefix = "https://chat.whatsapp.com/"

// inviteCode is the code of an invite link (real codes are 22 letters and digits).
var inviteCode = regexp.MustCompile(`^[A-Za-z0-9]{6,64}$`)

// inviteCodeParam reads the url query parameter: an invite link, https://chat.whatsapp.com/<code>.
func inviteCodeParam(r *http.Request) (string, error) {
	raw := strings.TrimSpace(r.URL.Query().Get("url"))
	if raw == "" {
		return "", missingFields("url")
	}
	code, ok := strings.CutPrefix(raw, inviteLinkPrefix)
	if !ok {
		code, ok = strings.CutPrefix(raw, "http://chat.whatsapp.com/")
	}
	code = strings.TrimSuffix(code, "/")
	if !ok || !inviteCode.MatchString(code) {
		return "", badRequest(codeInvalidQuery, "url must be a group invite link: "+inviteLinkPrefix+"<code>", "url")
	}
	return code, nil
}

func (a *api) groupInvitationMetadata(w http.ResponseWriter, r *http.Request) {
	code, err := inviteCodeParam(r)
	if err != nil {
		a.respondError(w, r, err)
		return
	}
	a.withAccount(w, r, func(c account.Client) error {
		g, err := c.GroupByInvite(r.Context(), code)
		if err != nil {
			return err
		}
		g.InvitationLink = inviteLinkPrefix + code
		writeJSON(w, http.StatusOK, newGroupJSON(g))
		return nil
	})
}

// acceptInviteResponse is Z-API's answer to accept-invite-group, with pending (ours): the group needs an
// admin's approval, which was asked for.
type acceptInviteResponse struct {
	Success bool   `json:"success"`
	Phone   string `json:"phone"`
	Pending bool   `json:"pending"`
}

func (a *api) acceptInviteGroup(w http.ResponseWriter, r *http.Request) {
	code, err := inviteCodeParam(r)
	if err != nil {
		a.respondError(w, r, err)
		return
	}
	a.withAccount(w, r, func(c account.Client) error {
		group, pending, err := c.JoinGroup(r.Context(), code)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, acceptInviteResponse{Success: true, Phone: group, Pending: pending})
		return nil
	})
}

// invitationLinkResponse is Z-API's answer to group-invitation-link and redefine-invitation-link.
type invitationLinkResponse struct {
	Phone          string `json:"phone"`
	InvitationLink string `json:"invitationLink"`
}

func (a *api) groupInvitationLink(reset bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		group := chi.URLParam(r, "groupId")
		if err := checkGroupID("groupId", group); err != nil {
			a.respondError(w, r, err)
			return
		}
		a.withAccount(w, r, func(c account.Client) error {
			link, err := c.InviteLink(r.Context(), group, reset)
			if err != nil {
				return err
			}
			writeJSON(w, http.StatusOK, invitationLinkResponse{Phone: group, InvitationLink: link})
			return nil
		})
	}
}

// groupChatJSON is a group in Z-API's GET groups list. The chat's own state (unread, muted, archived) is the
// chats list's to tell.
type groupChatJSON struct {
	IsGroup           bool   `json:"isGroup"`
	Name              string `json:"name"`
	Phone             string `json:"phone"`
	Owner             string `json:"owner"`
	Creation          int64  `json:"creation"`
	ParticipantsCount int    `json:"participantsCount"`
}

// listGroups is Z-API's GET groups?page&pageSize: the groups the account is in, oldest first, page counting from 1.
func (a *api) listGroups(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	page, err := intParam(q.Get("page"), "page", 1, math.MaxInt32)
	if err != nil {
		a.respondError(w, r, err)
		return
	}
	pageSize, err := intParam(q.Get("pageSize"), "pageSize", defaultPageSize, maxPageSize)
	if err != nil {
		a.respondError(w, r, err)
		return
	}
	a.withAccount(w, r, func(c account.Client) error {
		groups, err := c.JoinedGroups(r.Context())
		if err != nil {
			return err
		}
		out := []groupChatJSON{}
		for _, g := range groups[min(len(groups), (page-1)*pageSize):min(len(groups), page*pageSize)] {
			out = append(out, groupChatJSON{IsGroup: true, Name: g.Subject, Phone: g.ID, Owner: g.Owner,
				Creation: unixMilli(g.Created), ParticipantsCount: g.Size})
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	})
}
