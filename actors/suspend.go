package actors

import eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"

// suspend drops the connection and keeps the linked session, for an instance whose subscription was cancelled:
// it neither sends nor receives until it is connected again (restoreSession). The disconnection is recorded
// like any other, so the views and the disconnected webhook see it.
func (a *instance) suspend(done func(error)) {
	if a.st.connected {
		if err := a.append(nil, &eventsv1.Event{Payload: &eventsv1.Event_Disconnected{
			Disconnected: &eventsv1.Disconnected{Reason: "subscription cancelled"}}}); err != nil {
			done(err)
			return
		}
	}
	a.closeConn()
	a.then(done)
}
