// driver.mjs runs ONE unmodified Baileys socket against a WhatsApp simulator (wasim),
// driven by JSON lines on stdin and answering with JSON lines on stdout:
//
//   request:  {"id":N,"cmd":"...","args":{...}}
//   response: {"id":N,"ok":true,"result":...} | {"id":N,"ok":false,"error":"..."}
//   event:    {"event":"<name>","t":<ms since epoch>,"data":{...}}
//
// Baileys' pino logs go to stderr (level from args.logLevel or BAILEYS_LOG, default
// "warn"); stdout carries nothing but the protocol. The only change made to Baileys is
// its certificate trust root (WA_CERT_DETAILS.PUBLIC_KEY), replaced at runtime by the
// simulator's. Everything else is configuration: the websocket URL, and an https agent
// (uploads) and an undici dispatcher (downloads) that send WhatsApp's media hosts'
// requests to the simulator over plain TCP, keeping the Host header.
import https from 'node:https';
import net from 'node:net';
import readline from 'node:readline';
import util from 'node:util';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import pino from 'pino';
import { Agent as UndiciAgent } from 'undici';
import makeWASocket, {
  WA_CERT_DETAILS,
  DisconnectReason,
  useMultiFileAuthState,
  downloadMediaMessage,
  getContentType,
  normalizeMessageContent,
  proto,
} from 'baileys';

// Libraries (libsignal) print with console.*: keep stdout for the protocol only.
for (const k of ['log', 'info', 'debug', 'warn', 'error', 'trace']) {
  console[k] = (...a) => process.stderr.write('[console.' + k + '] ' + util.format(...a) + '\n');
}

function write(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function emit(name, data) {
  write({ event: name, t: Date.now(), data: data === undefined ? null : data });
}

// plain turns Baileys' values into plain JSON: Buffers as base64, Longs as numbers.
function plain(v, depth = 0) {
  if (v === null || v === undefined) return v;
  if (depth > 12) return '[too deep]';
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'object' && typeof v.low === 'number' && typeof v.high === 'number' && typeof v.unsigned === 'boolean') {
    return typeof v.toNumber === 'function' ? v.toNumber() : v.high * 4294967296 + (v.low >>> 0);
  }
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Error) {
    return { message: v.message, statusCode: v.output?.statusCode, data: plain(v.data, depth + 1) };
  }
  if (Array.isArray(v)) return v.map((x) => plain(x, depth + 1));
  if (typeof v === 'object') {
    const o = {};
    for (const [k, x] of Object.entries(v)) {
      if (typeof x === 'function' || x === undefined) continue;
      o[k] = plain(x, depth + 1);
    }
    return o;
  }
  if (typeof v === 'function') return undefined;
  return v;
}

function num(v) {
  const p = plain(v);
  return typeof p === 'number' ? p : p === undefined || p === null ? undefined : Number(p);
}

function hex(b) {
  return b ? Buffer.from(b).toString('hex') : undefined;
}

const statusNames = proto.WebMessageInfo.Status;
function statusName(s) {
  if (s === undefined || s === null) return undefined;
  return typeof s === 'number' ? statusNames[s] : String(s);
}

function plainKey(k) {
  if (!k) return k;
  return plain({
    remoteJid: k.remoteJid,
    remoteJidAlt: k.remoteJidAlt,
    fromMe: k.fromMe,
    id: k.id,
    participant: k.participant,
    participantAlt: k.participantAlt,
    addressingMode: k.addressingMode,
  });
}

// summarize describes a WAMessage: key, sender, type and the text or media a person sees.
function summarize(m) {
  const content = normalizeMessageContent(m.message);
  const type = content ? getContentType(content) : undefined;
  const inner = type && content ? content[type] : undefined;
  const s = {
    key: plainKey(m.key),
    pushName: m.pushName,
    messageTimestamp: num(m.messageTimestamp),
    status: statusName(m.status),
    messageStubType: m.messageStubType,
    messageStubParameters: plain(m.messageStubParameters),
    type,
  };
  if (type === 'conversation') s.text = content.conversation;
  else if (inner && typeof inner === 'object') {
    if (typeof inner.text === 'string') s.text = inner.text;
    if (typeof inner.caption === 'string') s.caption = inner.caption;
    if (inner.mimetype) s.mimetype = inner.mimetype;
    if (inner.fileSha256) s.fileSha256 = hex(inner.fileSha256);
    if (inner.fileLength !== undefined && inner.fileLength !== null) s.fileLength = num(inner.fileLength);
    if (inner.contextInfo?.stanzaId) s.quotedId = inner.contextInfo.stanzaId;
    if (type === 'protocolMessage') s.protocolType = inner.type;
  }
  return s;
}

let cfg = null; // start args
let sock = null;
let stopping = false;
let generation = 0;
let authState = null;
let saveCreds = null;
const received = new Map(); // id -> WAMessage (received, for downloads)
const sent = new Map(); // id -> WAMessage (sent, for getMessage on retries)

function simHostPort() {
  const addr = cfg.simAddr;
  const i = addr.lastIndexOf(':');
  return { host: addr.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(addr.slice(i + 1)) };
}

// SimHttpsAgent is the fetchAgent for uploads: Baileys posts to https://<media host>/...
// with node:https; the connection is a plain TCP socket to the simulator.
class SimHttpsAgent extends https.Agent {
  createConnection(_options, _cb) {
    const { host, port } = simHostPort();
    return net.connect({ host, port });
  }
}

let dispatcher = null;
function simDispatcher() {
  if (!dispatcher) {
    dispatcher = new UndiciAgent({
      connect: (_opts, cb) => {
        const { host, port } = simHostPort();
        const s = net.connect({ host, port });
        let done = false;
        s.once('connect', () => {
          if (!done) {
            done = true;
            cb(null, s);
          }
        });
        s.once('error', (err) => {
          if (!done) {
            done = true;
            cb(err, null);
          }
        });
      },
    });
  }
  return dispatcher;
}

function makeLogger() {
  const level = cfg.logLevel || process.env.BAILEYS_LOG || 'warn';
  return pino({ level, base: { name: cfg.name || 'baileys' }, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination(2));
}

let logger = null;

async function connect() {
  const gen = ++generation;
  const socketConfig = {
    auth: authState,
    logger,
    waWebSocketUrl: `ws://${cfg.simAddr}/ws/chat`,
    fetchAgent: new SimHttpsAgent(),
    options: { dispatcher: simDispatcher() },
    getMessage: async (key) => sent.get(key.id)?.message ?? received.get(key.id)?.message ?? undefined,
  };
  if (typeof cfg.markOnlineOnConnect === 'boolean') socketConfig.markOnlineOnConnect = cfg.markOnlineOnConnect;
  if (typeof cfg.syncFullHistory === 'boolean') socketConfig.syncFullHistory = cfg.syncFullHistory;
  const s = makeWASocket(socketConfig);
  sock = s;
  // Report when Baileys starts and stops buffering its events. ev.buffer/ev.flush are
  // looked up on this object at call time, so wrapping them observes the socket's calls
  // exactly; a poll catches the event buffer's internal ones (buffered functions, its
  // 30 s auto-flush).
  let lastBuffering = false;
  const report = (b) => {
    if (b !== lastBuffering && gen === generation) {
      lastBuffering = b;
      emit('buffering', { buffering: b, generation: gen });
    }
  };
  const origBuffer = s.ev.buffer;
  const origFlush = s.ev.flush;
  s.ev.buffer = (...a) => {
    const r = origBuffer(...a);
    report(s.ev.isBuffering());
    return r;
  };
  s.ev.flush = (...a) => {
    report(false); // before the flushed events are written
    return origFlush(...a);
  };
  const bufferPoll = setInterval(() => report(s.ev.isBuffering()), 50);
  s.ev.on('connection.update', ({ connection }) => {
    if (connection === 'close') clearInterval(bufferPoll);
  });
  // The receipts Baileys gets, as they come off the socket: what the server relayed,
  // before Baileys' event buffer consolidates status updates (where a later "sender"
  // receipt from the account's own phone can hide a delivery).
  s.ws.on('CB:receipt', (node) => {
    if (gen !== generation) return;
    const a = node.attrs || {};
    const ids = [a.id];
    for (const item of (Array.isArray(node.content) ? node.content : [])) {
      if (item.tag === 'list' && Array.isArray(item.content)) {
        for (const i of item.content) if (i.attrs?.id) ids.push(i.attrs.id);
      }
    }
    emit('receipt.stanza', { from: a.from, type: a.type || '', participant: a.participant, recipient: a.recipient, ids });
  });
  s.ev.process(async (events) => {
    if (gen !== generation) return;
    try {
      await handleEvents(s, gen, events);
    } catch (err) {
      logger.error({ err }, 'driver: handling events failed');
      emit('driver.error', { message: String(err?.stack || err) });
    }
  });
}

async function handleEvents(s, gen, events) {
  for (const [name, data] of Object.entries(events)) {
    switch (name) {
      case 'connection.update': {
        const { connection, qr, isNewLogin, lastDisconnect, receivedPendingNotifications, isOnline } = data;
        const statusCode = lastDisconnect?.error?.output?.statusCode;
        const flat = {
          connection,
          qr,
          isNewLogin,
          receivedPendingNotifications,
          isOnline,
          lastDisconnect: lastDisconnect
            ? { statusCode, message: lastDisconnect.error?.message, data: plain(lastDisconnect.error?.data) }
            : undefined,
          generation: gen,
        };
        emit('connection.update', plain(flat));
        if (qr) emit('qr', { qr });
        if (connection) {
          emit('connection', plain({ connection, isNewLogin, lastDisconnect: flat.lastDisconnect, generation: gen }));
        }
        if (connection === 'close' && !stopping) {
          if (statusCode === DisconnectReason.loggedOut) {
            emit('loggedOut', { statusCode });
          } else {
            const delay = statusCode === DisconnectReason.restartRequired ? 0 : 1000;
            emit('reconnecting', { statusCode, delayMs: delay });
            setTimeout(() => {
              if (!stopping && gen === generation) connect().catch((err) => emit('driver.error', { message: String(err?.stack || err) }));
            }, delay);
          }
        }
        break;
      }
      case 'creds.update': {
        await saveCreds();
        const me = authState.creds.me;
        emit('creds.update', { me: me ? { id: me.id, lid: me.lid, name: me.name } : null, keys: Object.keys(data) });
        if (data.me) emit('creds', { me: { id: data.me.id, lid: data.me.lid, name: data.me.name } });
        break;
      }
      case 'messages.upsert': {
        for (const m of data.messages) {
          if (m.key?.id && !m.key.fromMe) received.set(m.key.id, m);
          if (m.key?.id && m.key.fromMe && !sent.has(m.key.id)) sent.set(m.key.id, m);
        }
        emit('messages.upsert', { type: data.type, requestId: data.requestId, messages: data.messages.map(summarize) });
        break;
      }
      case 'messages.update':
        emit(
          'messages.update',
          data.map((u) => ({ key: plainKey(u.key), update: plain(u.update), status: statusName(u.update?.status) })),
        );
        break;
      case 'message-receipt.update':
        emit('message-receipt.update', data.map((u) => ({ key: plainKey(u.key), receipt: plain(u.receipt) })));
        break;
      case 'presence.update':
        emit('presence.update', plain(data));
        break;
      case 'groups.upsert':
      case 'groups.update':
      case 'group-participants.update':
      case 'call':
      case 'blocklist.set':
      case 'blocklist.update':
      case 'messaging-history.status':
        emit(name, plain(data));
        break;
      case 'messaging-history.set':
        emit(name, {
          chats: data.chats?.length ?? 0,
          contacts: data.contacts?.length ?? 0,
          messages: data.messages?.length ?? 0,
          lidPnMappings: data.lidPnMappings?.length ?? 0,
          isLatest: data.isLatest,
          progress: data.progress,
          syncType: data.syncType,
        });
        break;
      case 'chats.upsert':
      case 'chats.update':
      case 'contacts.upsert':
      case 'contacts.update':
        emit(name, { count: data.length, ids: data.map((c) => c.id) });
        break;
      case 'chats.delete':
        emit(name, { count: data.length, ids: data });
        break;
      case 'lid-mapping.update':
        emit(name, plain(data));
        break;
      default:
        emit(name, null);
    }
  }
}

function need(args, ...names) {
  for (const n of names) {
    if (args[n] === undefined || args[n] === null || args[n] === '') throw new Error(`missing argument ${n}`);
  }
}

function liveSock() {
  if (!sock) throw new Error('not started');
  return sock;
}

function remember(msg) {
  if (msg?.key?.id) sent.set(msg.key.id, msg);
  return msg;
}

// productPictures uploads product pictures as Baileys' uploadingNecessaryImages does (waUploadToServer, the
// product-catalog-image media type, the picture's SHA-256 as token) and returns them as the {url} Baileys then
// names in the product. Baileys' own copy starts the upload before its temporary file is fully written (it does
// not wait for the write stream), so a picture may go out truncated and be refused for its hash.
async function productPictures(list) {
  const out = [];
  for (const b64 of list || []) {
    const buf = Buffer.from(b64, 'base64');
    const filePath = path.join(os.tmpdir(), 'product-' + crypto.randomUUID());
    await fs.writeFile(filePath, buf);
    try {
      const sha = crypto.createHash('sha256').update(buf).digest('base64');
      const { directPath } = await liveSock().waUploadToServer(filePath, { mediaType: 'product-catalog-image', fileEncSha256B64: sha, timeoutMs: 30000 });
      out.push({ url: 'https://mmg.whatsapp.net' + directPath });
    } finally {
      await fs.unlink(filePath).catch(() => {});
    }
  }
  return out;
}

const commands = {
  async start(args) {
    if (cfg) throw new Error('already started');
    need(args, 'simAddr', 'authDir');
    cfg = { ...args };
    const rootKey = args.rootKeyHex || process.env.WASIM_ROOT_KEY;
    if (!rootKey || !/^[0-9a-fA-F]{64}$/.test(rootKey)) throw new Error('rootKeyHex must be 32 bytes of hex');
    // The only change to Baileys: trust the simulator's certificate root.
    WA_CERT_DETAILS.PUBLIC_KEY = Buffer.from(rootKey, 'hex');
    logger = makeLogger();
    ({ state: authState, saveCreds } = await useMultiFileAuthState(args.authDir));
    await connect();
    return { registered: !!authState.creds.registered, me: authState.creds.me ?? null };
  },
  async sendText(args) {
    need(args, 'to', 'text');
    const msg = remember(await liveSock().sendMessage(args.to, { text: args.text }));
    return { id: msg.key.id, key: plainKey(msg.key) };
  },
  async sendImage(args) {
    need(args, 'to', 'dataBase64');
    const content = { image: Buffer.from(args.dataBase64, 'base64'), mimetype: args.mimetype || 'image/jpeg' };
    if (args.caption) content.caption = args.caption;
    const msg = remember(await liveSock().sendMessage(args.to, content));
    const img = msg.message?.imageMessage;
    return { id: msg.key.id, key: plainKey(msg.key), fileSha256: hex(img?.fileSha256), directPath: img?.directPath, url: img?.url };
  },
  async download(args) {
    need(args, 'id');
    const m = received.get(args.id) ?? sent.get(args.id);
    if (!m) throw new Error(`no message with id ${args.id}`);
    const s = liveSock();
    const buf = await downloadMediaMessage(m, 'buffer', { options: { dispatcher: simDispatcher() } }, { logger, reuploadRequest: s.updateMediaMessage });
    const r = { sha256: crypto.createHash('sha256').update(buf).digest('hex'), size: buf.length };
    if (args.data) r.dataBase64 = buf.toString('base64');
    return r;
  },
  async readMessages(args) {
    need(args, 'keys');
    await liveSock().readMessages(args.keys.map((k) => ({ remoteJid: k.remoteJid, id: k.id, participant: k.participant, fromMe: false })));
    return {};
  },
  async sendPresence(args) {
    need(args, 'type');
    await liveSock().sendPresenceUpdate(args.type, args.to);
    return { name: authState.creds.me?.name ?? null };
  },
  async subscribePresence(args) {
    need(args, 'jid');
    await liveSock().presenceSubscribe(args.jid);
    return {};
  },
  async groupMetadata(args) {
    need(args, 'jid');
    return plain(await liveSock().groupMetadata(args.jid));
  },
  async onWhatsApp(args) {
    need(args, 'phones');
    return plain((await liveSock().onWhatsApp(...args.phones)) ?? []);
  },
  async profilePictureUrl(args) {
    need(args, 'jid');
    const url = await liveSock().profilePictureUrl(args.jid, args.type || 'image');
    const r = { url: url ?? null };
    if (url && args.download) {
      const resp = await fetch(url, { dispatcher: simDispatcher() });
      if (!resp.ok) throw new Error(`download ${url}: HTTP ${resp.status}`);
      const buf = Buffer.from(await resp.arrayBuffer());
      r.sha256 = crypto.createHash('sha256').update(buf).digest('hex');
      r.size = buf.length;
    }
    return r;
  },
  // The catalog of a business account (Baileys' business.ts): products' pictures go as base64.
  async productCreate(args) {
    need(args, 'product');
    const { imagesBase64, ...p } = args.product;
    return plain(await liveSock().productCreate({ ...p, images: await productPictures(imagesBase64) }));
  },
  async productUpdate(args) {
    need(args, 'id', 'update');
    const { imagesBase64, ...u } = args.update;
    return plain(await liveSock().productUpdate(args.id, { ...u, images: await productPictures(imagesBase64) }));
  },
  async productDelete(args) {
    need(args, 'ids');
    return plain(await liveSock().productDelete(args.ids));
  },
  async getCatalog(args) {
    return plain(await liveSock().getCatalog({ jid: args.jid, limit: args.limit, cursor: args.cursor }));
  },
  async me() {
    const me = authState?.creds?.me;
    return { me: me ? { id: me.id, lid: me.lid, name: me.name } : null, registered: !!authState?.creds?.registered };
  },
  async logout() {
    stopping = true;
    await liveSock().logout();
    return {};
  },
  async stop() {
    stopping = true;
    if (sock) await sock.end(undefined);
    setTimeout(() => process.exit(0), 50);
    return {};
  },
};

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on('line', async (line) => {
  line = line.trim();
  if (!line) return;
  let req;
  try {
    req = JSON.parse(line);
  } catch (err) {
    write({ id: null, ok: false, error: `bad request: ${err.message}` });
    return;
  }
  const fn = commands[req.cmd];
  if (!fn) {
    write({ id: req.id, ok: false, error: `unknown command ${req.cmd}` });
    return;
  }
  try {
    const result = await fn(req.args || {});
    write({ id: req.id, ok: true, result: result === undefined ? null : result });
  } catch (err) {
    const code = err?.output?.statusCode;
    write({ id: req.id, ok: false, error: (err?.message || String(err)) + (code ? ` (status ${code})` : '') });
  }
});
rl.on('close', () => {
  // The parent went away: stop.
  stopping = true;
  Promise.resolve(sock?.end(undefined)).finally(() => process.exit(0));
});
process.on('unhandledRejection', (err) => {
  process.stderr.write('[driver] unhandled rejection: ' + (err?.stack || err) + '\n');
  emit('driver.error', { message: 'unhandled rejection: ' + String(err?.message || err) });
});
process.on('uncaughtException', (err) => {
  process.stderr.write('[driver] uncaught exception: ' + (err?.stack || err) + '\n');
  emit('driver.error', { message: 'uncaught exception: ' + String(err?.message || err) });
});
