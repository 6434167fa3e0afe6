package wasim

import (
	"slices"
	"strconv"
	"time"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waServerSync"
	"google.golang.org/protobuf/proto"
)

// App state (w:sync:app:state) is the account's synced settings — its push name,
// archived and pinned chats, contacts, labels… — as collections of patches that the
// devices encrypt with app state keys the phone shares with them. The server only
// stores and numbers the patches; it can read none of them. The simulator keeps every
// patch (no snapshots, no external blobs): a device fetching from version 0 gets the
// whole history of the collection. The simulated phones write their push name there,
// so linked devices learn it as on WhatsApp.

// appStateCollections are the collections WhatsApp's clients sync, all of them after a
// device is given the app state key.
var appStateCollections = []string{"critical_block", "critical_unblock_low", "regular_high", "regular", "regular_low"}

// appStateSyncedLocked reports whether the device fetched every collection.
func (d *device) appStateSyncedLocked() bool {
	for _, name := range appStateCollections {
		if !d.appStateFetched[name] {
			return false
		}
	}
	return true
}

// appStateCollection is one collection of an account: its patches, patches[i] being
// version i+1, as the clients encoded them with their version set.
type appStateCollection struct {
	patches [][]byte
}

func (s *Simulator) registerAppState(r *routes) {
	r.iq("w:sync:app:state", s.handleAppState)
}

// handleAppState answers a sync request: for each collection named, store the patches
// a device sends (when it is up to date, 409 with what it missed otherwise), or hand
// out the patches after the version the device has.
func (s *Simulator) handleAppState(c *conn, iq *waBinary.Node) ([]waBinary.Node, error) {
	dev := s.loggedInDevice(c)
	sync, ok := iq.GetOptionalChildByTag("sync")
	if typ, _ := iq.Attrs["type"].(string); typ != "set" || !ok {
		return nil, errIQBadRequest
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var answers, changed []waBinary.Node
	for _, req := range sync.GetChildren() {
		name, _ := req.Attrs["name"].(string)
		if req.Tag != "collection" || !slices.Contains(appStateCollections, name) {
			return nil, errIQBadRequest
		}
		have := uint64(0)
		if v, ok := req.Attrs["version"].(string); ok {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return nil, errIQBadRequest
			}
			have = n
		}
		if snap, _ := req.Attrs["return_snapshot"].(string); snap == "true" {
			have = 0
		}
		col := dev.acct.appState[name]
		if col == nil {
			col = &appStateCollection{}
			dev.acct.appState[name] = col
		}
		uploads := req.GetChildrenByTag("patch")
		if len(uploads) == 0 {
			answers = append(answers, col.since(name, have))
			dev.appStateFetched[name] = true
			continue
		}
		if have != uint64(len(col.patches)) {
			// The device missed patches: it must apply them and encode its change again.
			conflict := col.since(name, have)
			conflict.Attrs["type"] = "error"
			conflict.Content = append(conflict.GetChildren(), waBinary.Node{
				Tag: "error", Attrs: waBinary.Attrs{"code": 409, "text": "conflict"},
			})
			answers = append(answers, conflict)
			continue
		}
		for _, up := range uploads {
			raw, ok := bytesContent(up)
			var patch waServerSync.SyncdPatch
			if !ok || proto.Unmarshal(raw, &patch) != nil || len(patch.GetMutations()) == 0 {
				return nil, errIQBadRequest
			}
			patch.Version = &waServerSync.SyncdVersion{Version: proto.Uint64(uint64(len(col.patches) + 1))}
			stored, err := proto.Marshal(&patch)
			if err != nil {
				return nil, err
			}
			col.patches = append(col.patches, stored)
		}
		answers = append(answers, waBinary.Node{Tag: "collection", Attrs: waBinary.Attrs{
			"name": name, "version": len(col.patches),
		}})
		changed = append(changed, waBinary.Node{Tag: "collection", Attrs: waBinary.Attrs{
			"name": name, "version": len(col.patches),
		}})
	}
	if len(changed) > 0 {
		s.notifyAppStateLocked(dev, changed)
	}
	return []waBinary.Node{{Tag: "sync", Content: answers}}, nil
}

// notifyAppStateLocked tells the account's other devices that collections changed
// (server_sync), so that they fetch the new patches.
func (s *Simulator) notifyAppStateLocked(from *device, collections []waBinary.Node) {
	node := waBinary.Node{Tag: "notification", Attrs: waBinary.Attrs{
		"from": from.acct.jid, "type": "server_sync", "id": s.nextID(), "t": time.Now().Unix(),
	}, Content: collections}
	for _, d := range from.acct.devices {
		if d == from {
			continue
		}
		if err := s.deliverLocked(d, node); err != nil {
			s.log.Error("cannot queue app state notification", "device", d.jid, "err", err)
		}
	}
}

// since is the answer to a device at version have: the collection's version and the
// patches it has not seen.
func (col *appStateCollection) since(name string, have uint64) waBinary.Node {
	n := waBinary.Node{Tag: "collection", Attrs: waBinary.Attrs{"name": name, "version": len(col.patches)}}
	if have < uint64(len(col.patches)) {
		patches := make([]waBinary.Node, 0, len(col.patches)-int(have))
		for _, p := range col.patches[have:] {
			patches = append(patches, waBinary.Node{Tag: "patch", Content: slices.Clone(p)})
		}
		n.Content = []waBinary.Node{{Tag: "patches", Content: patches}}
	}
	return n
}
