// Start telegram-test-api 4.2.1 with the fixes python-telegram-bot 22 needs (shared/harness.md
// section 1), plus test-only client routes. Usage: node emulator.js <port>; binds 127.0.0.1 only.
// Run with NODE_PATH=<install dir>/node_modules (make e2e-telegram-deps installs it there).
'use strict';
const express = require('express');
const TelegramServer = require('telegram-test-api');

const port = Number(process.argv[2] || process.env.PORT || 9000);
const BOT = { id: 666, is_bot: true, first_name: 'eSIM Test', username: 'EsimTestBot', can_join_groups: true,
  can_read_all_group_messages: false, supports_inline_queries: false };
const server = new TelegramServer({ port, host: '127.0.0.1', storeTimeout: 600 });
const core = server.webServer;
const state = { commands: {}, answers: {}, admins: {}, conflict: new Set(), failures: {}, edits: {}, menuButtons: {} };
const ok = (res, result) => res.json({ ok: true, result });
const fail = (res, code, description, parameters) =>
  res.status(code).json({ ok: false, error_code: code, description, ...(parameters ? { parameters } : {}) });
const chatOf = (id) => (Number(id) > 0 ? { id: Number(id), type: 'private', first_name: 'User' }
  : { id: Number(id), type: Number(id) <= -1000000000000 ? 'supergroup' : 'group', title: 'Family' });
const parsed = (v) => (typeof v === 'string' ? JSON.parse(v) : v);
// What Telegram returns for a bot message: Message fields only (the stock server echoes every
// form parameter back, as strings, which PTB cannot read).
const asMessage = (m, messageId, millis) => {
  const markup = parsed(m.reply_markup);
  return { message_id: messageId, date: Math.floor(millis / 1000), from: BOT, chat: chatOf(m.chat_id), text: m.text,
    ...(m.entities ? { entities: parsed(m.entities) } : {}),
    ...(markup && markup.inline_keyboard ? { reply_markup: markup } : {}) };
};
const toBotMessage = (u) => asMessage(u.message, u.messageId, u.time);

// (2) bot messages: date in seconds, a sender, and a group chat for negative ids
const addBotMessage = server.addBotMessage.bind(server);
server.addBotMessage = (raw, token) => {
  const msg = addBotMessage(raw, token);
  return asMessage(raw, msg.message_id, msg.date);
};
// (3) callback queries need chat_instance; `raw` updates (edited messages, my_chat_member, ...) pass as they are
const formatUpdate = TelegramServer.formatUpdate;
TelegramServer.formatUpdate = (update) => {
  if (update.raw) return { ...update.raw, update_id: update.updateId };
  const out = formatUpdate(update);
  if (out.callback_query) out.callback_query.chat_instance = String(out.callback_query.message.chat.id);
  return out;
};
// webhooks carry the secret token header, as Telegram sends it
server.addUserUpdate = async function addUserUpdate(update) {
  const hook = this.webhooks[update.botToken];
  if (!hook) { this.storage.userMessages.push(update); this.updateId++; return; }
  const id = this.updateId++;
  const headers = { 'content-type': 'application/json' };
  if (hook.secret_token) headers['X-Telegram-Bot-Api-Secret-Token'] = hook.secret_token;
  const resp = await fetch(hook.url, { method: 'POST', headers,
    body: JSON.stringify(TelegramServer.formatUpdate({ ...update, updateId: id })) });
  state.lastWebhookStatus = resp.status;
};

const app = express();
app.use(express.json());
app.use(express.urlencoded({ extended: true }));
const bot = (method, fn) => app.all(`/bot:token/${method}`, (req, res) => fn(req, res, req.params.token, { ...req.query, ...req.body }));
// (1) a complete bot user
bot('getMe', (req, res) => ok(res, BOT));
// (4) methods the emulator lacks, recorded for the tests. Command menus are kept per scope
// ("all_group_chats", "chat:-100123", "chat_member:-100123:7") and language ('' for none).
const scopeKey = (scope) => {
  const s = parsed(scope) || { type: 'default' };
  return [s.type, s.chat_id, s.user_id].filter((x) => x !== undefined && x !== null).join(':');
};
const menus = (token, scope) => ((state.commands[token] ||= {})[scopeKey(scope)] ||= {});
bot('setMyCommands', (req, res, token, p) => {
  const commands = parsed(p.commands) || [];
  if (commands.length) menus(token, p.scope)[p.language_code || ''] = commands;
  else delete menus(token, p.scope)[p.language_code || '']; // an empty list deletes, as on Telegram
  ok(res, true);
});
bot('deleteMyCommands', (req, res, token, p) => { delete menus(token, p.scope)[p.language_code || '']; ok(res, true); });
bot('getMyCommands', (req, res, token, p) => ok(res, menus(token, p.scope)[p.language_code || ''] || []));
// The list a reader sees: the first one set, narrowest scope first, each with the reader's
// language and then without (core.telegram.org/bots/api#determining-list-of-commands); group
// admins are the ones set with /setChatAdministrators.
const menuFor = (token, { chatId, userId, language }) => {
  const group = Number(chatId) < 0;
  const admin = ((state.admins[token] || {})[String(chatId)] || []).some((u) => Number(u.id) === Number(userId));
  const scopes = group
    ? [`chat_member:${chatId}:${userId}`, ...(admin ? [`chat_administrators:${chatId}`] : []), `chat:${chatId}`,
      ...(admin ? ['all_chat_administrators'] : []), 'all_group_chats', 'default']
    : [`chat:${chatId}`, 'all_private_chats', 'default'];
  for (const scope of scopes) {
    for (const lang of [language || '', '']) {
      const found = ((state.commands[token] || {})[scope] || {})[lang];
      if (found) return { scope, language_code: lang, commands: found };
    }
  }
  return { scope: null, language_code: '', commands: [] };
};
// the menu button, per chat ('' for every private chat's default), as the bot last set it
bot('setChatMenuButton', (req, res, token, p) => {
  (state.menuButtons[token] ||= {})[String(p.chat_id || '')] = parsed(p.menu_button) || { type: 'default' };
  ok(res, true);
});
for (const m of ['setMyDescription', 'setMyShortDescription', 'setMyName']) {
  bot(m, (req, res) => ok(res, true));
}
bot('answerCallbackQuery', (req, res, token, p) => {
  (state.answers[token] ||= []).push({ id: String(p.callback_query_id), text: p.text || null });
  ok(res, true);
});
bot('setWebhook', (req, res, token, p) => { server.setWebhook({ url: p.url, secret_token: p.secret_token }, token); ok(res, true); });
bot('getChatAdministrators', (req, res, token, p) => {
  const admins = (state.admins[token] || {})[String(p.chat_id)] || [];
  ok(res, admins.map((user, i) => (i === 0 ? { status: 'creator', user, is_anonymous: false }
    : { status: 'administrator', user, can_be_edited: false, is_anonymous: false, can_manage_chat: true,
      can_delete_messages: true, can_manage_video_chats: true, can_restrict_members: true, can_promote_members: false,
      can_change_info: true, can_invite_users: true, can_post_stories: false, can_edit_stories: false,
      can_delete_stories: false })));
});
bot('getUpdates', (req, res, token, p) => (state.conflict.has(token)
  ? fail(res, 409, 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running')
  : ok(res, server.getUpdates(token))));
bot('sendMessage', (req, res, token, p, next) => {
  const f = (state.failures[token] || {})[String(p.chat_id)];
  if (f) return fail(res, f.error_code, f.description, f.parameters);
  return ok(res, server.addBotMessage(p, token));
});
// (5) sendPhoto, which the emulator lacks: PTB uploads the picture as multipart/form-data. The
// message keeps the caption and keyboard as a text message would, plus `photo` (size, PNG
// dimensions) and `photo_base64` (the bytes, for the tests to look at).
const multipart = (req) => {
  const m = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(req.headers['content-type'] || '');
  const fields = {}, files = {};
  if (!m || !Buffer.isBuffer(req.body)) return { fields: { ...req.query, ...(Buffer.isBuffer(req.body) ? {} : req.body) }, files };
  const boundary = Buffer.from(`--${m[1] || m[2]}`);
  let start = req.body.indexOf(boundary);
  while (start !== -1) {
    const next = req.body.indexOf(boundary, start + boundary.length);
    if (next === -1) break;
    const part = req.body.subarray(start + boundary.length + 2, next - 2);
    const split = part.indexOf('\r\n\r\n');
    const head = part.subarray(0, split).toString();
    const name = (/name="([^"]+)"/.exec(head) || [])[1];
    if (name) {
      if (/filename="/.test(head)) files[name] = part.subarray(split + 4); else fields[name] = part.subarray(split + 4).toString();
    }
    start = next;
  }
  return { fields, files };
};
app.post('/bot:token/sendPhoto', express.raw({ type: 'multipart/form-data', limit: '20mb' }), (req, res) => {
  const token = req.params.token;
  const { fields, files } = multipart(req);
  const ref = String(fields.photo || '');
  const png = files.photo || (ref.startsWith('attach://') ? files[ref.slice(9)] : undefined);
  if (!png || png.length < 24 || png.subarray(1, 4).toString() !== 'PNG') return fail(res, 400, 'Bad Request: photo is not a PNG upload');
  const photo = { file_id: `photo${png.length}`, file_unique_id: `u${png.length}`, width: png.readUInt32BE(16), height: png.readUInt32BE(20), file_size: png.length };
  const raw = { chat_id: fields.chat_id, text: fields.caption || '', caption: fields.caption, reply_markup: fields.reply_markup,
    photo, photo_base64: png.toString('base64') };
  const msg = server.addBotMessage(raw, token);
  delete msg.text;
  return ok(res, { ...msg, photo: [photo], ...(fields.caption ? { caption: fields.caption } : {}) });
});
for (const m of ['editMessageText', 'editMessageReplyMarkup']) {
  bot(m, (req, res, token, p) => {
    if (m === 'editMessageText') server.editMessageText(p); else server.editMessageReplyMarkup(p);
    (state.edits[token] ||= []).push({ method: m, ...p });
    const u = server.storage.botMessages.find((x) => x.botToken === token && String(x.messageId) === String(p.message_id));
    if (u && !p.reply_markup) delete u.message.reply_markup; // as Telegram: no markup in an edit removes the keyboard
    return u ? ok(res, toBotMessage(u)) : fail(res, 400, 'Bad Request: message to edit not found');
  });
}
// test-only client routes
app.post('/sendUpdate', (req, res) => { server.addUserUpdate({ ...server.getCommonFields(req.body.botToken), raw: req.body.update }); ok(res, null); });
app.post('/setChatAdministrators', (req, res) => { (state.admins[req.body.token] ||= {})[String(req.body.chatId)] = req.body.admins; ok(res, true); });
app.post('/setConflict', (req, res) => { state.conflict.add(req.body.token); ok(res, true); });
app.post('/failChat', (req, res) => { (state.failures[req.body.token] ||= {})[String(req.body.chatId)] = req.body.error; ok(res, true); });
app.post('/getCommands', (req, res) => ok(res, state.commands[req.body.token] || {}));
app.post('/menuFor', (req, res) => ok(res, menuFor(req.body.token, req.body)));
app.post('/getMenuButtons', (req, res) => ok(res, state.menuButtons[req.body.token] || {}));
app.post('/getAnswers', (req, res) => ok(res, state.answers[req.body.token] || []));
app.post('/getEdits', (req, res) => ok(res, state.edits[req.body.token] || []));
app.post('/getBotMessages', (req, res) => ok(res, server.storage.botMessages.filter((u) => u.botToken === req.body.token).map(toBotMessage)));
app.use(core);
server.webServer = app;

server.start().then(() => console.log(`telegram emulator on 127.0.0.1:${port}`), (err) => {
  console.error(`telegram emulator could not start: ${err.message}`);
  process.exit(1);
});
const stop = () => server.stop().then(() => process.exit(0), () => process.exit(1));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
