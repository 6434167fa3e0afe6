// The plugzapi dashboard: a page of admin views over the server's admin API. The admin token lives in the module's
// memory only (never in storage, a cookie or a URL) and goes in the Authorization header of each call. Every view
// is built from DOM nodes with text content, never from HTML strings, so nothing the API returns can become markup.
import { messages } from "./i18n.js";

let token = null;
let lang = pickLanguage();
let view = null; // the view on screen: { stop() } ends its timers and its event stream
// The events seen of each instance this session, newest first (at most maxEvents): the page shows them again
// when it comes back to the instance or changes language, as the server does not keep them for it.
const seen = new Map();
const maxEvents = 200;

const $ = (id) => document.getElementById(id);

function pickLanguage() {
  const saved = localStorage.getItem("plugzapi.lang"); // a preference, not a secret
  if (saved && messages[saved]) return saved;
  return messages[document.documentElement.lang] ? document.documentElement.lang : "en";
}

function t(key, ...args) {
  const s = messages[lang][key] ?? messages.en[key] ?? key;
  return s.replace(/\{(\d)\}/g, (_, i) => String(args[Number(i)] ?? ""));
}

// h builds an element: attrs sets properties (on* are listeners), children are nodes or text.
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k in el && !k.includes("-")) el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

function translatePage() {
  document.documentElement.lang = lang;
  $("lang").value = lang;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
}

function notify(text, ...extra) {
  const n = $("notice");
  n.replaceChildren(text, ...extra);
}

class APIError extends Error {
  constructor(status, body) {
    super((body && body.error) || `HTTP ${status}`);
    this.status = status;
    this.code = body && body.code;
  }
}

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, {
    method, headers, cache: "no-store",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await res.json().catch(() => null);
  if (res.status === 401) {
    logout();
    throw new APIError(401, data);
  }
  if (!res.ok) throw new APIError(res.status, data);
  return data;
}

const failed = (e) => notify(t("failed", e.message));
const enc = encodeURIComponent;
const when = (ms) => (ms ? new Date(ms).toLocaleString(lang) : "—");

// ---- log in and out ----

$("login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const input = $("login-token");
  token = input.value.trim();
  $("login-error").textContent = "";
  try {
    await api("GET", "/instances?pageSize=1");
  } catch (err) {
    token = null;
    $("login-error").textContent = err.status === 401 ? t("badToken") : t("failed", err.message);
    input.focus();
    return;
  }
  input.value = "";
  $("login").hidden = true;
  $("app").hidden = false;
  $("logout").hidden = false;
  route();
});

function logout() {
  token = null;
  view?.stop();
  view = null;
  $("app").hidden = true;
  $("app").replaceChildren();
  $("logout").hidden = true;
  $("login").hidden = false;
  notify("");
  $("login-token").focus();
}
$("logout").addEventListener("click", logout);

$("lang").addEventListener("change", (e) => {
  lang = e.target.value;
  localStorage.setItem("plugzapi.lang", lang);
  translatePage();
  notify("");
  if (token) route();
});

// ---- views ----

window.addEventListener("hashchange", () => token && route());

function route() {
  view?.stop();
  const m = location.hash.match(/^#\/instances\/([^/]+)$/);
  view = m ? instanceView(decodeURIComponent(m[1])) : instancesView();
  $("main").focus();
}

function statusCell(connected) {
  return h("span", { class: `status ${connected ? "on" : "off"}`, text: t(connected ? "connected" : "disconnected") });
}

function instancesView() {
  const list = h("div", { class: "table-wrap" });
  const name = h("input", { id: "new-name", name: "name", required: true, maxLength: 100, autocomplete: "off" });
  const form = h("form", { class: "inline card", "aria-labelledby": "new-title", onsubmit: create },
    h("h2", { id: "new-title", text: t("newInstance") }),
    h("div", {}, h("label", { htmlFor: "new-name", text: t("name") }), name),
    h("button", { type: "submit", text: t("create") }));
  $("app").replaceChildren(h("h1", { text: t("instances") }), form, h("section", { class: "card", "aria-label": t("instances") }, list));

  async function load() {
    try {
      const page = await api("GET", "/instances?pageSize=100");
      if (!page.content.length) return list.replaceChildren(h("p", { class: "empty", text: t("noInstances") }));
      list.replaceChildren(h("table", {},
        h("thead", {}, h("tr", {}, h("th", { scope: "col", text: t("name") }), h("th", { scope: "col", class: "optional", text: t("id") }),
          h("th", { scope: "col", text: t("status") }), h("th", { scope: "col", text: t("phone") }), h("th", { scope: "col", text: t("actions") }))),
        h("tbody", {}, page.content.map((it) => h("tr", { "data-id": it.id },
          h("td", {}, h("a", { href: `#/instances/${enc(it.id)}`, text: it.name })),
          h("td", { class: "optional secret", text: it.id }),
          h("td", {}, statusCell(it.connected)),
          h("td", { text: it.phone || "—" }),
          h("td", { class: "actions" },
            h("button", { type: "button", class: "danger", text: t("delete"), "aria-label": `${t("delete")} ${it.name}`, onclick: () => remove(it) })))))));
    } catch (e) { failed(e); }
  }
  async function create(e) {
    e.preventDefault();
    try {
      const made = await api("POST", "/instances/integrator/on-demand", { name: name.value.trim() });
      notify(t("created", made.id, ""), h("span", { id: "created-token", class: "secret", text: made.token }));
      location.hash = `#/instances/${enc(made.id)}`;
    } catch (err) { failed(err); }
  }
  async function remove(it) {
    if (!confirm(t("confirmDelete", it.name))) return;
    try {
      await api("DELETE", `/instances/${enc(it.id)}`);
      notify(t("deleted", it.name));
      load();
    } catch (e) { failed(e); }
  }
  load();
  return { stop() {} };
}

function instanceView(id) {
  const base = `/instances/${enc(id)}`;
  const stop = new AbortController();
  const timers = new Set();
  const later = (fn, ms) => { const h = setTimeout(() => { timers.delete(h); fn(); }, ms); timers.add(h); };

  const title = h("h1", { text: id });
  const facts = h("dl", { class: "facts" });
  const qr = h("img", { class: "qr", id: "qr", alt: t("qrAlt"), hidden: true });
  const qrState = h("p", { id: "qr-state", role: "status", text: t("qrWaiting") });
  const linkParts = h("div", {}, h("p", { class: "hint", text: t("qrHelp") }), phoneCodeForm());
  const linkCard = h("section", { class: "card", "aria-labelledby": "link-title" },
    h("h2", { id: "link-title", text: t("link") }), qrState, qr, linkParts);
  const queueBody = h("div", { class: "table-wrap", id: "queue" });
  const hooksBody = h("div", { id: "webhooks" });
  const eventsList = h("ol", { id: "events", role: "log", "aria-live": "polite", "aria-label": t("events") });
  const streamState = h("span", { id: "stream-state", class: "hint" });

  $("app").replaceChildren(
    h("p", {}, h("a", { href: "#/", text: `← ${t("back")}` })),
    title,
    h("section", { class: "card", "aria-label": t("status") }, facts),
    h("div", { class: "grid" },
      linkCard,
      sendCard(),
      h("section", { class: "card", "aria-labelledby": "queue-title" },
        h("h2", { id: "queue-title", text: t("queue") }),
        h("p", { class: "actions" },
          h("button", { type: "button", class: "secondary", text: t("refresh"), onclick: () => loadQueue() }), " ",
          h("button", { type: "button", class: "danger", id: "clear-queue", text: t("clear"), onclick: clearQueue })),
        queueBody),
    ),
    h("section", { class: "card", "aria-labelledby": "events-title" },
      h("h2", { id: "events-title" }, t("events"), " ", streamState),
      h("p", { class: "hint", text: t("eventsHelp") }),
      eventsList,
      h("p", { class: "empty", id: "no-events", text: t("noEvents") })),
    h("section", { class: "card", "aria-labelledby": "hooks-title" },
      h("h2", { id: "hooks-title", text: t("webhooks") }),
      h("p", {}, h("button", { type: "button", class: "secondary", id: "refresh-webhooks", text: t("refresh"), onclick: () => loadWebhooks() })),
      hooksBody));

  let connected = false;

  async function loadInstance() {
    try {
      const it = await api("GET", base);
      title.textContent = it.name;
      connected = it.connected;
      facts.replaceChildren(
        h("dt", { text: t("id") }), h("dd", { class: "secret", text: it.id }),
        h("dt", { text: t("status") }), h("dd", { id: "instance-status" }, statusCell(it.connected)),
        h("dt", { text: t("phone") }), h("dd", { id: "instance-phone", text: it.phone || "—" }));
      linkParts.hidden = connected;
      if (connected) {
        qr.hidden = true;
        qrState.textContent = t("isConnected", it.phone || "");
      } else {
        loadQR();
      }
    } catch (e) {
      if (e.status === 404) location.hash = "#/";
      failed(e);
    }
  }

  // The QR code renews every few tens of seconds: it is fetched again when the instance reports a new one, and
  // on a timer in case that report was missed.
  let qrTimer = null;
  async function loadQR() {
    clearTimeout(qrTimer);
    if (connected || stop.signal.aborted) return;
    try {
      const v = await api("GET", `${base}/qr-code/image`);
      qr.src = v.value;
      qr.hidden = false;
      qrState.textContent = "";
    } catch (e) {
      qr.hidden = true;
      qrState.textContent = e.code === "already_connected" ? "" : t("qrWaiting");
    }
    qrTimer = setTimeout(loadQR, 15000);
    timers.add(qrTimer);
  }

  function phoneCodeForm() {
    const phone = h("input", { id: "code-phone", inputMode: "numeric", pattern: "[0-9]{8,15}", required: true, autocomplete: "tel" });
    const out = h("p", { class: "code", id: "phone-code", role: "status" });
    return h("form", {
      "aria-labelledby": "code-title",
      onsubmit: async (e) => {
        e.preventDefault();
        try {
          const v = await api("GET", `${base}/phone-code/${enc(phone.value.trim())}`);
          out.textContent = v.code;
          notify(t("codeHelp"));
        } catch (err) { failed(err); }
      },
    }, h("h3", { id: "code-title", text: t("phoneCode") }),
    h("label", { htmlFor: "code-phone", text: t("phoneNumber") }), phone,
    h("button", { type: "submit", class: "secondary", text: t("getCode") }), out);
  }

  function sendCard() {
    const phone = h("input", { id: "send-phone", inputMode: "numeric", required: true, autocomplete: "off" });
    const text = h("textarea", { id: "send-message", required: true, rows: 3, maxLength: 4096 });
    const delay = h("input", { id: "send-delay", type: "number", min: 1, max: 15, inputMode: "numeric" });
    return h("section", { class: "card", "aria-labelledby": "send-title" },
      h("h2", { id: "send-title", text: t("send") }),
      h("form", {
        onsubmit: async (e) => {
          e.preventDefault();
          const body = { phone: phone.value.trim(), message: text.value };
          if (delay.value) body.delayMessage = Number(delay.value);
          try {
            const q = await api("POST", `${base}/send-text`, body);
            notify(t("queuedAs", q.messageId));
            text.value = "";
            loadQueue();
          } catch (err) { failed(err); }
        },
      },
      h("label", { htmlFor: "send-phone", text: t("phone") }), phone,
      h("label", { htmlFor: "send-message", text: t("message") }), text,
      h("label", { htmlFor: "send-delay", text: t("delay") }), delay,
      h("button", { type: "submit", text: t("sendButton") })));
  }

  async function loadQueue() {
    try {
      const items = await api("GET", `${base}/queue`);
      if (!items.length) return queueBody.replaceChildren(h("p", { class: "empty", text: t("queueEmpty") }));
      queueBody.replaceChildren(h("table", {},
        h("thead", {}, h("tr", {}, h("th", { scope: "col", text: t("phone") }), h("th", { scope: "col", text: t("message") }),
          h("th", { scope: "col", class: "optional", text: t("created_at") }), h("th", { scope: "col", text: t("actions") }))),
        h("tbody", {}, items.map((it) => h("tr", { "data-zaap-id": it.ZaapId },
          h("td", { text: it.Phone }), h("td", { text: it.Message }), h("td", { class: "optional", text: when(it.Created) }),
          h("td", { class: "actions" }, h("button", {
            type: "button", class: "danger", text: t("cancel"), "aria-label": `${t("cancel")} ${it.MessageId}`,
            onclick: async () => {
              try {
                await api("DELETE", `${base}/queue/${enc(it.ZaapId)}`);
                notify(t("cancelled"));
              } catch (e) { failed(e); }
              loadQueue();
            },
          })))))));
    } catch (e) { failed(e); }
  }

  async function clearQueue() {
    if (!confirm(t("confirmClear"))) return;
    try {
      await api("DELETE", `${base}/queue`);
      notify(t("cleared"));
    } catch (e) { failed(e); }
    loadQueue();
  }

  async function loadWebhooks() {
    let hooks, dead;
    try {
      [hooks, dead] = await Promise.all([
        api("GET", `${base}/webhooks`),
        api("GET", `${base}/webhook-deliveries?state=dead&limit=50`),
      ]);
    } catch (e) {
      if (e.status === 404 && e.code === "not_found") {
        return hooksBody.replaceChildren(h("p", { class: "empty", text: t("webhooksUnavailable") }));
      }
      return failed(e);
    }
    const targets = Object.entries(hooks.targets || {});
    hooksBody.replaceChildren(
      targets.length ? "" : h("p", { class: "empty", text: t("noTargets") }),
      h("dl", { class: "facts" },
        targets.map(([kind, url]) => [h("dt", { text: kind }), h("dd", { text: url })]),
        h("dt", { text: t("secret") }), h("dd", { text: t(hooks.secretSet ? "secretSet" : "secretUnset") }),
        h("dt", { text: t("pending") }), h("dd", { id: "hooks-pending", text: hooks.pending }),
        h("dt", { text: t("dead") }), h("dd", { id: "hooks-dead", text: hooks.dead }),
        h("dt", { text: t("oldest") }), h("dd", { text: when(hooks.oldestPendingAt) }),
        failing(hooks.next)),
      replayForm(),
      h("h3", { text: t("deadLetters") }),
      dead.deliveries.length
        ? h("div", { class: "table-wrap" },
          h("p", {}, h("button", { type: "button", id: "redeliver-all", text: t("redeliverAll"), onclick: () => redeliver() })),
          h("table", { id: "dead-letters" },
            h("thead", {}, h("tr", {}, h("th", { scope: "col", text: t("callback") }), h("th", { scope: "col", class: "optional", text: t("url") }),
              h("th", { scope: "col", text: t("attempts") }), h("th", { scope: "col", class: "optional", text: t("lastError") }),
              h("th", { scope: "col", text: t("actions") }))),
            h("tbody", {}, dead.deliveries.map((d) => h("tr", { "data-delivery-id": d.id },
              h("td", { text: d.callback }), h("td", { class: "optional", text: d.url }), h("td", { text: d.attempts }),
              h("td", { class: "optional", text: d.lastError }),
              h("td", { class: "actions" }, h("button", {
                type: "button", class: "secondary", text: t("redeliver"), "aria-label": `${t("redeliver")} ${d.id}`,
                onclick: () => redeliver([d.id]),
              })))))))
        : h("p", { class: "empty", text: t("noDead") }));
  }

  // failing says why the instance's webhooks are held up: the one that goes next keeps failing.
  function failing(next) {
    if (!next || !next.attempts) return null;
    return [h("dt", { text: t("failing") }),
      h("dd", { id: "hooks-failing", text: t("failingNext", next.callback, next.attempts, next.lastError) })];
  }

  // replayForm sends the instance's webhooks again from a time on, in order, with their own IDs.
  function replayForm() {
    const from = h("input", { id: "replay-from", type: "datetime-local", required: true, step: 1 });
    return h("form", {
      "aria-labelledby": "replay-title",
      onsubmit: async (e) => {
        e.preventDefault();
        const at = new Date(from.value);
        if (Number.isNaN(at.getTime())) return;
        try {
          const r = await api("POST", `${base}/webhook-replay`, { from: at.toISOString() });
          notify(t("replayed", r.replayed, r.events));
        } catch (err) { failed(err); }
        loadWebhooks();
      },
    }, h("h3", { id: "replay-title", text: t("replay") }), h("p", { class: "hint", text: t("replayHelp") }),
    h("label", { htmlFor: "replay-from", text: t("replayFrom") }), from,
    h("button", { type: "submit", id: "replay", text: t("replayButton") }));
  }

  async function redeliver(ids) {
    try {
      const r = await api("POST", `${base}/webhook-deliveries/redeliver`, ids ? { ids } : {});
      notify(t("redelivered", r.redelivered));
    } catch (e) { failed(e); }
    loadWebhooks();
  }

  // What an event means for the rest of the page: that part is reloaded once the events stop coming for a moment
  // (a burst of events is one reload, and it comes after the last of them).
  const pending = new Map();
  function soon(fn) {
    clearTimeout(pending.get(fn));
    const h = setTimeout(() => { pending.delete(fn); timers.delete(h); fn(); }, 250);
    pending.set(fn, h);
    timers.add(h);
  }
  if (!seen.has(id)) seen.set(id, []);
  const history = seen.get(id);
  const eventItem = (ev) => h("li", { "data-type": ev.type, text:
    [new Date(ev.time).toLocaleTimeString(lang), ev.type, ev.messageId, ev.phone, ev.status].filter(Boolean).join("  ") });
  function showEvents() {
    eventsList.replaceChildren(...history.map(eventItem));
    $("no-events").hidden = history.length > 0;
  }
  function onEvent(ev) {
    if (history.length && ev.seq <= history[0].seq) return; // a batch the server's consumer retried
    history.unshift(ev);
    if (history.length > maxEvents) history.pop();
    eventsList.prepend(eventItem(ev));
    while (eventsList.children.length > maxEvents) eventsList.lastChild.remove();
    $("no-events").hidden = true;
    if (ev.type === "qr_code_issued") loadQR();
    if (["paired", "connected", "disconnected", "logged_out"].includes(ev.type)) soon(loadInstance);
    if (ev.type.startsWith("message_")) soon(loadQueue);
    soon(loadWebhooks);
  }

  showEvents();
  streamEvents(`${base}/events`, stop.signal, onEvent, (state) => {
    streamState.textContent = `· ${t(state)}`;
    if (state === "streaming") { // (re)connected: what was missed meanwhile is read again
      loadInstance(); loadQueue(); loadWebhooks();
    }
  });
  return {
    stop() {
      stop.abort();
      for (const h of timers) clearTimeout(h);
      clearTimeout(qrTimer);
    },
  };
}

// streamEvents reads a server-sent event stream with fetch (EventSource cannot send the Authorization header),
// reconnecting after a pause until signal aborts.
async function streamEvents(url, signal, onEvent, onState) {
  while (!signal.aborted && token) {
    try {
      const res = await fetch(url, { headers: { Authorization: `Bearer ${token}`, Accept: "text/event-stream" }, cache: "no-store", signal });
      if (res.status === 401) return logout();
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      onState("streaming");
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let end;
        while ((end = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          let type = "message", data = "";
          for (const line of block.split("\n")) {
            if (line.startsWith("event:")) type = line.slice(6).trim();
            else if (line.startsWith("data:")) data += line.slice(5).trim();
          }
          if (type === "message" && data) onEvent(JSON.parse(data));
        }
      }
    } catch (e) {
      if (signal.aborted) return;
    }
    onState("reconnecting");
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

translatePage();
$("login-token").focus();
