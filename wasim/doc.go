// Package wasim is a WhatsApp network simulator: a server that speaks WhatsApp's
// multi-device protocol, as the pinned go.mau.fi/whatsmeow client speaks it, well
// enough that the real, unmodified client cannot tell it from WhatsApp. plugzapi's
// tests, its demo mode and cmd/wasim run against it, because no machine of the project
// can reach WhatsApp.
//
// # Trust root: tests and demos only
//
// The simulator presents its own certificate chain in the Noise handshake. Its root
// key is derived from a fixed, public seed (simclient.RootPublicKey), so every simulator
// in every process is trusted by the same root, and anyone can impersonate a server to a
// client that trusts it. simclient.TrustRoot makes whatsmeow trust that root instead of
// WhatsApp's, for the whole process. Never call it (or simclient.Configure, which calls
// it) in a production process, except behind an explicit simulator flag that also logs
// loudly. Package simclient holds only that client side, so that a server can offer the
// flag without carrying the simulator.
//
// # Using it
//
//	simclient.TrustRoot() // in TestMain, before any client exists
//	sim, _ := wasim.Start(ctx, wasim.Options{})
//	defer sim.Close()
//	bob, _ := sim.AddAccount(ctx, "5511999990002", "Bob") // Bob's phone is online
//	alice, _ := sim.AddAccount(ctx, "5511999990001", "Alice")
//	simclient.Configure(cli, sim.Addr()) // cli is a *whatsmeow.Client with an empty store
//	dev, _ := alice.ScanQR(ctx, qrCode) // the QR code cli's QR channel showed
//	// cli now logs in as Alice's linked device dev and talks to Bob with real Signal
//	// encryption; bob.Messages reads what Bob's phone decrypted, bob.SendText answers.
//
// cmd/wasim serves the same simulator with a JSON control API (see control.go and
// control_groups.go).
//
// # What is simulated
//
//   - Transport: websocket at /ws/chat, WhatsApp framing, the Noise_XX handshake with
//     the simulator's certificate chain. Clients reach it over plain HTTP through the
//     transport Configure and HTTPClient install (WhatsApp's host names are kept in
//     the Host header).
//   - Linking: QR pairing (whatsmeow's four-field code and WhatsApp Web's
//     wa.me/settings/linked_devices link with the platform as a fifth field) and
//     phone-number (link code) pairing, signed by the account's identity key, then the
//     515 reconnect and login. Logins are checked against the device's Noise key;
//     unknown or unlinked devices get failure 401.
//   - After linking, what WhatsApp's phones send a new device (phonesync.go): the app
//     state key, the account's push name in its app state, an initial history sync
//     (inline, with no conversations), and the push names the phone knows (a
//     PUSH_NAME history sync, uploaded), so a client is usable at once.
//   - After login: prekey count, upload, bundles (one-time keys are handed out once; a
//     device running low is told to upload more), key bundle digest and signed prekey
//     rotation; passive/active, keepalive, the offline queue flushed after <success>
//     with <ib><offline>; privacy settings and privacy tokens, A/B properties, block
//     list (a blocked person's messages are not delivered, and the blocker's picture
//     and about text are hidden from them; the account's other devices are told), status
//     (about text, at most 139 characters; status privacy), dirty and push IQs; app state
//     (w:sync:app:state: patches stored and served in order, 409 to a device that
//     missed some, server_sync notifications to the account's other devices). Every
//     other IQ is answered 501 feature-not-implemented.
//   - Device lists as WhatsApp serves them: the phone is device 0; linked devices carry
//     the key index the phone signed them with, beside the phone's signed key index
//     list; device notifications carry the same, and both forms of the list's hash.
//   - Messages between accounts: the simulator routes Signal ciphertext and never
//     decrypts it. usync device lists, LIDs and IsOnWhatsApp contact queries, fan-out
//     to every device of the recipient and the sender's other devices, server acks with
//     timestamp and participant hash, retry receipts and the resends that answer them.
//     A message that reaches none of its recipient's devices (or is for a number not on
//     WhatsApp, or a device that does not exist) is refused with ack error 479, and
//     logged at warn: a client bug cannot pass as a sent message.
//   - LIDs as today's WhatsApp reveals them (phonelid.go): in usync answers, beside the
//     phone number on every stanza naming a person (sender_lid/sender_pn,
//     participant_lid/participant_pn, peer_recipient_lid/_pn, group participants),
//     in device notifications and history syncs. Accounts address one-to-one chats by
//     phone number until they move to LIDs (Account.MoveChatsToLID: the phone tells its
//     devices with a LID migration mapping sync, and whatsmeow renames its sessions);
//     groups are addressed by phone number or by LID (SetGroupAddressing).
//   - Delivery semantics: a stanza stays queued for a device until the device
//     acknowledges it (a receipt or an ack), and is written again on its next login if
//     the connection dropped first. A message re-sent by the same account to the same
//     chat with an id already routed (a crash resend) is acknowledged with its original
//     timestamp and delivered only to devices that asked for it with a retry receipt;
//     Deliveries counts copies per device.
//   - Receipts: delivery, read, played, sender and retry receipts, relayed to the
//     devices they address, in direct chats and in groups. A linked device that did not
//     announce itself available sends inactive delivery receipts, whatever it claims.
//   - Media: the media_conn IQ, and the media hosts' upload (POST /mms/<type>/<token>,
//     auth token and body hash checked; the token padded or not) and download
//     endpoints (by URL and by direct path, with signed, expiring paths like
//     WhatsApp's). The simulator stores the encrypted bytes and never sees a media key;
//     downloaders check hash and MAC. Stored media is bounded (Options.MediaMemory,
//     MaxMediaObjects, MaxMediaSize): the oldest uploads are evicted first, and
//     downloading them answers 404.
//   - Groups (w:g2): create, info (404 unknown, 403 not a member), list, add, remove,
//     promote, demote, subject, description, picture, leave, with w:gp2 notifications
//     to every member device (events.JoinedGroup for the group's creation or being
//     added, events.GroupInfo for the rest). Group messages with sender keys: each
//     member device gets its own sender key message, then the shared skmsg.
//     Settings, invite links and join requests (groupadmin.go), admins only (401):
//     announcement groups refuse members' messages (403), locked groups members'
//     subject, description and picture (401), and members add people only in
//     all_member_add mode; invite links are got, reset (the old
//     code answers 410, an unknown one 406), described and joined by anyone; with
//     membership approval on, joining makes a request the admins are told of and
//     approve or reject.
//   - Status updates (status.go): messages to status@broadcast, routed like group
//     messages to exactly the devices the poster encrypted for (its client picks its
//     saved contacts, Account.SaveContact, as its status privacy allows,
//     Account.SetStatusPrivacy), receipts relayed back. Other broadcast lists: 501.
//   - Product catalogs of business accounts (catalog.go, Account.SetBusiness,
//     Account.Catalog): the w:biz:catalog IQs as Baileys speaks them (product_catalog
//     paged by cursor, hidden products shown to their owner only; product_catalog_add,
//     _edit, _delete), pictures uploaded unencrypted as JPEGs to POST /product/image/<token>;
//     a personal account is refused (403) and has no catalog to others (404).
//   - Users: IsOnWhatsApp, user info (status text, picture id, device list, LID),
//     profile pictures (JPEG; 404 when none is set), presence (available, unavailable
//     with last seen or "deny") only to the connections that subscribed, chat states
//     (composing, recording, paused) in direct chats and groups only to devices that
//     announced themselves available. Presence lasts as long as a connection.
//   - Simulated phones: every account has a phone, device 0, a whatsmeow client whose
//     Signal identity is the account's, stored in a temporary SQLite database; like a
//     phone's app it does one Signal operation (a send, a decryption) at a time
//     (phonesignal.go), and answers retry receipts for what it sent. It signs
//     the devices it links and acts as a person: it sends texts, replies and media
//     (image, audio or voice note, video, document, sticker; view once, with a
//     thumbnail) to numbers and groups,
//     keeps a decrypted inbox (media, and link previews' uploaded pictures, downloaded and
//     described by hash and size, or by the error that refused them; what the message
//     declares beside: view once, GIF, length, size, thumbnail, preview; locations,
//     contact cards, polls, interactive buttons, mentions, the forwarded mark and its score (a view-once file
//     that comes forwarded is refused, as the apps never forward one); edits, deletes for everyone
//     and reactions applied as the apps apply them, when their sender may), votes on
//     polls, marks read or played what it received, types, creates and runs groups (and
//     sets their pictures), sets its picture, status text and privacy settings, shows itself available or away, subscribes to presence, keeps
//     the receipts and presence it gets, moves its chats to LIDs, and goes offline.
//   - Calls (calls.go): signalling only. A phone offers a voice or video call
//     (Account.Call) to every online device of the callee (whatsmeow's events.CallOffer,
//     by LID with caller_pn once the caller's chats moved to LIDs); a device of the
//     callee rejects it (whatsmeow's RejectCall: the caller's devices get the reject,
//     the callee's others a terminate), or the caller hangs up (Account.HangUp: a
//     terminate). Account.Calls records what happened. Rejecting a call that does not
//     ring on the device, or someone else's, is refused.
//   - Business accounts (SetBusiness): usync answers their verified name.
//   - Faults: dropped connections, stream errors (503, 515, replaced, device removed),
//     failed logins (401, 403, 405, 402 temporary ban), delayed acks, muted
//     keepalives, deliveries held for an account, a device's next message damaged on
//     its way (it asks for it again with a retry receipt), a phone restored from a
//     backup that sends under Signal counters it used before (Account.SendTextRewound).
//
// # What is not simulated
//
// No full history or app state: a phone's history sync carries no conversations, and
// its app state holds only its push name (whatever devices write is kept and served).
// No call media or answering, newsletters, status broadcasts, broadcast lists, communities, business
// profiles or payments. Groups have no disappearing messages (their IQs answer
// 501; as options of a create, they and the settings are ignored), and a group
// moving to LIDs is not announced (members
// learn it when they next look the group up). Profile pictures have no thumbnails (a
// preview is the picture), and a changed user picture is not announced to contacts
// (they see it when they ask); privacy settings other than read receipts, last seen
// and profile picture are recorded but not enforced, privacy tokens are issued but
// never required. A business's verified name is its account name, in an unsigned
// certificate. State lives in memory: a
// restarted simulator knows no accounts, and every device logging in to it is refused
// with 401.
//
// # Checked by two clients
//
// The simulator is checked against two independent client implementations: the
// whatsmeow tests in this package, and Baileys (package baileys: the Node.js client,
// unmodified but for its trust root, driven step by step against the simulator).
//
// # Extending it
//
// Stanzas, IQ namespaces, message, receipt and chat-state routes (per destination
// server) and usync query kinds are registered in a dispatch table (routes, in
// router.go); a feature lives in its own file with its own register function
// (media.go, groups.go and groupmsg.go, profile.go, presence.go…), and the simulated
// phones' side of it in a phone*.go file. HTTP endpoints go in newHandler (server.go).
package wasim
