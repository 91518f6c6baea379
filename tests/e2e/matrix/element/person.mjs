// A person on Element's own crypto: matrix-js-sdk with its Rust crypto (WebAssembly), device
// isolation set to OnlySignedDevicesIsolationMode (Element's "exclude insecure devices").
// Driven by tests/e2e/matrix/element.py: one JSON command per line on stdin, one JSON answer
// per line on stdout ({"ok": true, ...} or {"ok": false, "error": ...}); the SDK's own logging
// goes to stderr. Every wait ends at the command's "deadline" (seconds); nothing sleeps.
// Usage: MATRIX_JS_DEPS=<dir with node_modules> node person.mjs '{"homeserver": ..., "user": ..., "password": ...}'
import path from "node:path";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";

for (const level of ["log", "info", "debug", "warn", "error", "trace"]) {
    console[level] = (...args) => process.stderr.write(args.map(String).join(" ") + "\n");
}
const lib = path.resolve(process.env.MATRIX_JS_DEPS ?? ".", "node_modules", "matrix-js-sdk", "lib");
const sdk = await import(pathToFileURL(path.join(lib, "index.js")).href);
const { OnlySignedDevicesIsolationMode } = await import(pathToFileURL(path.join(lib, "crypto-api", "index.js")).href);
const { homeserver, user, password } = JSON.parse(process.argv[2]);

const answer = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
const WATCHED = ["sync", "Room", "Room.timeline", "Room.myMembership", "RoomMember.membership", "Event.decrypted"];

// Resolves with probe()'s first non-undefined value, checked at every client event; rejects at the deadline.
function until(client, probe, deadline, what) {
    return new Promise((resolve, reject) => {
        const done = (fn, value) => {
            clearTimeout(timer);
            for (const name of WATCHED) client.off(name, check);
            fn(value);
        };
        const check = () => {
            let value;
            try {
                value = probe();
            } catch (err) {
                return done(reject, err);
            }
            if (value !== undefined) done(resolve, value);
        };
        const timer = setTimeout(() => done(reject, new Error(`timed out after ${deadline} s waiting for ${what}`)),
            deadline * 1000);
        for (const name of WATCHED) client.on(name, check);
        check();
    });
}

const login = await sdk.createClient({ baseUrl: homeserver }).loginRequest({
    type: "m.login.password", identifier: { type: "m.id.user", user }, password,
    initial_device_display_name: "Element (matrix-js-sdk, Rust crypto)",
});
const client = sdk.createClient({
    baseUrl: homeserver, userId: login.user_id, deviceId: login.device_id, accessToken: login.access_token,
});
await client.initRustCrypto({ useIndexedDB: false });
const crypto = client.getCrypto();
crypto.setDeviceIsolationMode(new OnlySignedDevicesIsolationMode());
// Element sets up cross-signing at the first login; in this mode it cannot send without it.
// New keys every time (an earlier test's keys are gone with its client), so the password answers the UIA.
await crypto.bootstrapCrossSigning({
    setupNewCrossSigning: true,
    authUploadDeviceSigningKeys: (makeRequest) => makeRequest({
        type: "m.login.password", identifier: { type: "m.id.user", user }, password,
    }),
});
await client.startClient({ initialSyncLimit: 10 });
await until(client, () => (client.isInitialSyncComplete() ? true : undefined), 30, "the first sync");

// The first reply of `from` in the room that quotes `eventId`, once decrypted; a failure is final
// only when its reason is not a missing key (a key may still come), so those are waited out.
function replyTo(room, from, eventId) {
    const failures = [];
    for (const ev of room.getLiveTimeline().getEvents()) {
        if (ev.getSender() !== from) continue;
        if (ev.isDecryptionFailure()) {
            failures.push(ev.decryptionFailureReason);
            continue;
        }
        if (ev.getType() !== "m.room.message") continue;  // not decrypted yet (or not a message)
        const relates = ev.getContent()["m.relates_to"] ?? ev.getWireContent()["m.relates_to"] ?? {};
        if (relates["m.in_reply_to"]?.event_id === eventId) {
            return { body: ev.getContent().body, encrypted: ev.isEncrypted(), failures };
        }
    }
    const final = failures.filter((f) => !["MEGOLM_UNKNOWN_INBOUND_SESSION_ID", "HISTORICAL_MESSAGE_USER_NOT_JOINED"].includes(f));
    return final.length ? { body: null, encrypted: true, failures } : undefined;
}

async function answerTo(roomId, to, eventId, deadline) {
    const reply = await until(client, () => replyTo(client.getRoom(roomId), to, eventId), deadline, `${to}'s reply`);
    return { event_id: eventId, ...reply };
}

const commands = {
    async create_room({ invite, deadline }) {
        const { room_id } = await client.createRoom({
            invite, is_direct: true, preset: "trusted_private_chat",
            initial_state: [{ type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } }],
        });
        await until(client, () => (client.getRoom(room_id) ? true : undefined), deadline, "the new room");
        return { room_id };
    },
    async wait_joined({ room_id, member, deadline }) {
        await until(client, () => (client.getRoom(room_id)?.getMember(member)?.membership === "join" ? true : undefined),
            deadline, `${member} to join`);
        return {};
    },
    async ask({ room_id, to, text, deadline }) {
        const { event_id } = await client.sendTextMessage(room_id, text);
        return answerTo(room_id, to, event_id, deadline);
    },
    async garbled({ room_id, to, deadline }) {  // a megolm message whose key nobody will ever get
        const content = {
            algorithm: "m.megolm.v1.aes-sha2", ciphertext: "AwgAEnACgAkLmt6qF84IK++J7UDH2Za1YVchHyprqTqsg2yyOwAt",
            sender_key: (await crypto.getOwnDeviceKeys()).curve25519, device_id: login.device_id,
            session_id: globalThis.crypto.randomUUID(),
        };
        const path = `/rooms/${encodeURIComponent(room_id)}/send/m.room.encrypted/${globalThis.crypto.randomUUID()}`;
        const { event_id } = await client.http.authedRequest("PUT", path, undefined, content);
        return answerTo(room_id, to, event_id, deadline);
    },
    async devices({ member }) {
        const found = (await crypto.getUserDeviceInfo([member], true)).get(member) ?? new Map();
        const devices = {};
        for (const id of found.keys()) {
            const status = await crypto.getDeviceVerificationStatus(member, id);
            devices[id] = { signed_by_owner: status?.signedByOwner ?? false, verified: status?.isVerified() ?? false };
        }
        const identity = await crypto.getUserVerificationStatus(member);
        return { devices, needs_approval: identity.needsUserApproval ?? false };
    },
};

answer({ ok: true, event: "ready", user_id: login.user_id, device_id: login.device_id });
for await (const line of createInterface({ input: process.stdin })) {
    if (!line.trim()) continue;
    const { cmd, ...args } = JSON.parse(line);
    if (cmd === "stop") break;
    try {
        answer({ ok: true, ...(await commands[cmd]({ deadline: 30, ...args })) });
    } catch (err) {
        answer({ ok: false, error: String(err?.message ?? err) });
    }
}
client.stopClient();
process.exit(0);
