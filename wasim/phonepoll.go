package wasim

import (
	"context"
	"fmt"

	"go.mau.fi/whatsmeow/types"
)

// VotePoll votes on a poll this account's phone received, choosing the options named
// (none withdraws the vote), as the phone's WhatsApp does: the vote is encrypted with
// the poll's secret, which only the poll's chat members have, and sent to the poll's
// chat. ErrUnknownMessage if the inbox has no poll with this id.
func (a *Account) VotePoll(ctx context.Context, pollID string, options ...string) (string, error) {
	e, err := a.ready(ctx)
	if err != nil {
		return "", fmt.Errorf("vote: %w", err)
	}
	var poll *Message
	e.mu.Lock()
	for i := range e.inbox {
		if m := e.inbox[i]; m.ID == pollID && m.Type == "poll" {
			poll = &m
		}
	}
	e.mu.Unlock()
	if poll == nil {
		return "", fmt.Errorf("vote: %w: no poll %s was received", ErrUnknownMessage, pollID)
	}
	info := &types.MessageInfo{MessageSource: types.MessageSource{Chat: poll.chat, Sender: poll.sender,
		IsFromMe: poll.FromMe, IsGroup: poll.chat.Server == types.GroupServer}, ID: pollID}
	vote, err := e.cli.BuildPollVote(ctx, info, options)
	if err != nil {
		return "", fmt.Errorf("vote on %s: %w", pollID, err)
	}
	resp, err := e.cli.SendMessage(ctx, poll.chat, vote)
	if err != nil {
		return "", fmt.Errorf("vote on %s: %w", pollID, err)
	}
	e.mu.Lock()
	e.sent[resp.ID] = vote
	e.mu.Unlock()
	return resp.ID, nil
}
