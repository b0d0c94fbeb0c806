// The resident web app: one browser tab = one device of a resident.
// Speaks the device side of docs/signaling.md to the dev cloud; an installable web app
// (manifest, /sw.js) that rings like a phone: full screen with the visitor's picture,
// a ringtone, a notification when the tab is in the background, vibration.
"use strict";

const params = new URLSearchParams(location.search);
const resident = params.get("resident") || "";
const token = params.get("token") || "";
const signIn = `resident=${encodeURIComponent(resident)}&token=${encodeURIComponent(token)}`;
// Each tab is its own device, so several tabs ring like several phones.
const device = sessionStorage.getItem("device") || "web-" + Math.random().toString(36).slice(2, 10);
sessionStorage.setItem("device", device);

const $ = (id) => document.getElementById(id);
let ws = null;
let pc = null;
let callId = null;
let ringing = null;             // the incoming message while it rings
let microphone = null;
let audioOnly = false;
let muted = false;
let videoOn = true;
let timer = null;
let openedTimer = null;
let property = "";
let lastDoor = "";              // the door's name, as the panel last said it

function setStatus(text) { $("status").textContent = text; }
function send(message) { if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message)); }

function show(state) {
  // idle | ringing | call | opened: one full screen at a time over the home screen
  $("incoming").hidden = state !== "ringing";
  $("call").hidden = state !== "call";
  $("opened").hidden = state !== "opened";
  // Behind a full screen the home screen is out of reach, for fingers and screen readers alike.
  $("home").inert = state !== "idle";
  if (state === "idle") $("home").removeAttribute("aria-hidden"); else $("home").setAttribute("aria-hidden", "true");
  document.body.dataset.state = state;
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  ws = new WebSocket(`${scheme}://${location.host}/ws/device?${signIn}&device=${encodeURIComponent(device)}`);
  ws.onmessage = (e) => handle(JSON.parse(e.data)).catch((err) => setStatus("Something went wrong: " + err.message));
  ws.onclose = (e) => {
    if (e.code === 4401) { setStatus("Sign-in refused: open the link the panel printed."); return; }
    setStatus("Offline, reconnecting…");
    endCall(null);
    setTimeout(connect, 1000);
  };
}

// Why a call ended or did not ring, and why a door did not open: in words, never a code.
const ENDED = {
  door_opened: "Door opened. Call ended.", visitor_hung_up: "The visitor hung up.", hung_up: "The visitor hung up.",
  time_limit: "Call time limit reached.", network: "Connection lost.", shutdown: "The panel restarted.",
  panel_offline: "The panel went offline.", access_granted: "The visitor used a key.",
  no_answer: "Missed call.", declined: "Declined.", cancelled: "The visitor cancelled.", gone: "Call ended.",
  error: "The call failed.", failed: "Connection lost.",
};
const REFUSED = {
  not_in_call: "the call had already ended.",
  revoked: "this phone may no longer open it. Ask the property office.",
  relay_fault: "the lock did not respond. Try again, or call the property office.",
  panel_offline: "the entrance panel is offline.",
};
const refusal = (reason) => REFUSED[reason] || "the entrance panel refused.";

async function handle(m) {
  switch (m.type) {
    case "hello":
      $("who").textContent = m.resident;
      property = m.property;
      $("property").textContent = m.property;
      document.title = `${m.property} · ${m.resident}`;
      setStatus("Ready");
      loadHistory();
      break;
    case "incoming":
      ring(m);
      break;
    case "answered_elsewhere":
      if (m.call_id === callId) endCall("Answered on another device.");
      break;
    case "cancelled":
      if (m.call_id === callId) endCall(ENDED[m.reason] || "Call cancelled.");
      break;
    case "offer":
      if (m.call_id === callId) await answer(m);
      break;
    case "ended":
      if (m.call_id === callId) endCall(ENDED[m.reason] || "Call ended.");
      break;
    case "door":
      doorAnswer(m);
      break;
    case "error":
      setStatus("Something went wrong: " + m.message);
      break;
  }
}

// -- ringing -------------------------------------------------------------------------------
function ring(m) {
  callId = m.call_id;
  ringing = m;
  lastDoor = m.door || lastDoor;
  const door = m.door || m.from;
  $("ring-door").textContent = door;
  $("ring-building").textContent = m.door && m.from ? m.from : "";
  const picture = m.snapshot ? `data:image/jpeg;base64,${m.snapshot}` : "";
  $("snapshot").hidden = !picture;
  if (picture) { $("snapshot").src = picture; $("snapshot").alt = `The visitor at ${door}`; }
  $("ring-what").textContent = picture ? "Somebody is at the door" : "Somebody is at the door (no picture)";
  $("refusal").hidden = true;
  clearTimeout(openedTimer);
  setStatus("Incoming call");
  show("ringing");
  ringtone.start();
  notify(m, door, picture);
}

function stopRinging() {
  ringtone.stop();
  if (ringing) closeNotifications(ringing.call_id);
  ringing = null;
}

// A ringtone made on the spot (Web Audio: no sound file): two tones, twice, every 3 s.
const ringtone = {
  ctx: null, out: null, analyser: null, timer: null,
  context() {
    if (!this.ctx) {
      this.ctx = new AudioContext();
      this.analyser = this.ctx.createAnalyser();
      this.analyser.connect(this.ctx.destination);
    }
    return this.ctx;
  },
  start() {
    this.stop();
    const ctx = this.context();
    ctx.resume().catch(() => {});
    this.out = ctx.createGain();
    this.out.connect(this.analyser);
    const burst = () => {
      const t0 = ctx.currentTime + 0.05;
      [[0, 880], [0.4, 660], [1.0, 880], [1.4, 660]].forEach(([at, hz]) => {
        const osc = ctx.createOscillator(), env = ctx.createGain();
        osc.frequency.value = hz;
        env.gain.setValueAtTime(0, t0 + at);
        env.gain.linearRampToValueAtTime(0.3, t0 + at + 0.02);
        env.gain.setValueAtTime(0.3, t0 + at + 0.33);
        env.gain.linearRampToValueAtTime(0, t0 + at + 0.37);
        osc.connect(env).connect(this.out);
        osc.start(t0 + at);
        osc.stop(t0 + at + 0.4);
      });
      if (navigator.vibrate) navigator.vibrate([350, 50, 350, 250, 350, 50, 350]);
    };
    burst();
    this.timer = setInterval(burst, 3000);
  },
  stop() {
    clearInterval(this.timer);
    this.timer = null;
    if (this.out) { this.out.disconnect(); this.out = null; }
    if (navigator.vibrate) navigator.vibrate(0);
  },
  level() {       // what the speaker gets now, RMS (for tests)
    if (!this.analyser) return 0;
    const data = new Float32Array(this.analyser.fftSize);
    this.analyser.getFloatTimeDomainData(data);
    return Math.sqrt(data.reduce((sum, x) => sum + x * x, 0) / data.length);
  },
};
// Browsers let a page make sound only after the person has touched it once.
document.addEventListener("pointerdown", () => ringtone.context().resume().catch(() => {}), { once: true });

// A system notification when the app is in the background (and allowed to notify).
async function notify(m, door, picture) {
  if (document.visibilityState !== "hidden" || !("Notification" in window) || Notification.permission !== "granted") return;
  const title = `Somebody is at ${door}`;
  const options = { body: `${property || m.from}: tap to answer.`, tag: `call-${m.call_id}`, renotify: true,
                    requireInteraction: true, icon: picture || "/icons/icon-192.png", badge: "/icons/icon-192.png",
                    vibrate: [350, 50, 350], data: { url: location.href } };
  // Through the service worker where there is one (Android shows no other kind), else from the page.
  const registration = navigator.serviceWorker && await navigator.serviceWorker.getRegistration();
  if (registration && registration.active) await registration.showNotification(title, options);
  else new Notification(title, options);
}

async function closeNotifications(id) {
  const registration = navigator.serviceWorker && await navigator.serviceWorker.getRegistration();
  if (!registration) return;
  for (const n of await registration.getNotifications({ tag: `call-${id}` })) n.close();
}

function offerAlerts() {
  $("alerts-card").hidden = !("Notification" in window) || Notification.permission !== "default";
}
$("alerts").onclick = async () => {
  const answer = await Notification.requestPermission();
  offerAlerts();
  setStatus(answer === "granted" ? "Call alerts on." : "Call alerts stay off (the browser's site settings can change it).");
};

// -- the call ------------------------------------------------------------------------------
async function answer(m) {
  pc = new RTCPeerConnection({ iceServers: [] });
  pc.ontrack = (e) => {
    const stream = new MediaStream([e.track]);
    if (e.track.kind === "video") $("video").srcObject = stream;
    else $("audio").srcObject = stream;
  };
  pc.onconnectionstatechange = () => {
    if (pc && pc.connectionState === "failed") { send({ type: "hangup", call_id: callId }); endCall("Connection lost."); }
  };
  await pc.setRemoteDescription({ type: "offer", sdp: m.sdp });
  microphone = await navigator.mediaDevices.getUserMedia({ audio: true });
  for (const track of microphone.getAudioTracks()) pc.addTrack(track, microphone);
  await pc.setLocalDescription(await pc.createAnswer());
  // The panel takes a complete answer (no trickle): wait for every candidate.
  if (pc.iceGatheringState !== "complete") {
    await new Promise((done) => {
      pc.addEventListener("icegatheringstatechange", () => { if (pc.iceGatheringState === "complete") done(); });
    });
  }
  send({ type: "answer", call_id: m.call_id, sdp: pc.localDescription.sdp });
  if (audioOnly) setVideo(false);
  setStatus("In call");
}

function startTimer() {
  const start = Date.now();
  timer = setInterval(() => {
    const s = Math.floor((Date.now() - start) / 1000);
    $("timer").textContent = `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
  }, 500);
}

function endCall(message) {
  stopRinging();
  if (pc) { pc.close(); pc = null; }
  if (microphone) { microphone.getTracks().forEach((t) => t.stop()); microphone = null; }
  if (timer) { clearInterval(timer); timer = null; }
  $("video").srcObject = null;
  $("audio").srcObject = null;
  const hadCall = callId !== null;
  callId = null;
  audioOnly = false;
  setMuted(false);
  videoOn = true;
  $("video-toggle").textContent = "Video off";
  $("video").classList.remove("off");
  if (document.body.dataset.state !== "opened") show("idle");     // "Door open" stays until Done or its time
  if (message) setStatus(message);
  if (hadCall) loadHistory();
}

function accept(withVideo) {
  audioOnly = !withVideo;
  stopRinging();
  send({ type: "accept", call_id: callId });
  $("call-door").textContent = $("ring-door").textContent;
  show("call");
  $("timer").textContent = "00:00";
  startTimer();
  setStatus("Connecting…");
}

function setMuted(on) {
  muted = on;
  if (microphone) microphone.getAudioTracks().forEach((t) => { t.enabled = !on; });
  $("mute").textContent = on ? "Unmute" : "Mute";
  if (callId && pc) send({ type: "control", call_id: callId, muted: on });
}

function setVideo(on) {
  videoOn = on;
  $("video-toggle").textContent = on ? "Video off" : "Video on";
  $("video").classList.toggle("off", !on);
  send({ type: "control", call_id: callId, video: on });
}

$("accept").onclick = () => accept(true);
$("audio-only").onclick = () => accept(false);
$("decline").onclick = () => { send({ type: "decline", call_id: callId }); endCall("Declined."); };
$("hangup").onclick = () => { send({ type: "hangup", call_id: callId }); endCall("Call ended."); };
$("mute").onclick = () => setMuted(!muted);
$("video-toggle").onclick = () => setVideo(!videoOn);

// -- the door --------------------------------------------------------------------------------
// In the call one tap opens (the resident sees who it is for); without a call it asks first.
$("call-open").onclick = () => { send({ type: "open_door", call_id: callId }); setStatus("Opening…"); };
$("open-door").onclick = () => {
  $("confirm-title").textContent = lastDoor ? `Open ${lastDoor}?` : "Open the door?";
  $("confirm-what").textContent = `Nobody is calling. The entrance${property ? " of " + property : ""} will unlock ` +
                                  "for a few seconds, for whoever is there.";
  $("confirm").showModal();
};
$("confirm").addEventListener("close", () => {
  if ($("confirm").returnValue !== "open") return;
  $("refusal").hidden = true;
  send({ type: "remote_unlock" });
  setStatus("Opening…");
});

function doorAnswer(m) {
  lastDoor = m.door || lastDoor;
  const door = m.door || "The door";
  if (m.ok) {
    $("opened-what").textContent = `${door} is unlocked for a few seconds.`;
    clearTimeout(openedTimer);
    show("opened");
    openedTimer = setTimeout(() => { if (document.body.dataset.state === "opened") show(callId ? "call" : "idle"); },
                             8000);
    setStatus("Door opened.");
  } else {
    const words = `${door} did not open: ${refusal(m.reason)}`;
    $("refusal").textContent = words;
    $("refusal").hidden = Boolean(callId);       // in a call, the status line says it over the video
    setStatus(words);
  }
  loadHistory();
}
$("opened-done").onclick = () => show(callId ? "call" : "idle");

// -- history -----------------------------------------------------------------------------------
const OUTCOME = {
  ringing: "Ringing", answered: "Answered", declined: "Declined", missed: "Missed call", cancelled: "Visitor left",
};
async function loadHistory() {
  const r = await fetch(`/api/resident/history?${signIn}`);
  if (!r.ok) return;
  const { entries } = await r.json();
  $("history-empty").hidden = entries.length > 0;
  $("history").replaceChildren(...entries.map(historyItem));
}

function historyItem(e) {
  const li = document.createElement("li");
  const when = new Date(e.at * 1000);
  const time = document.createElement("time");
  time.dateTime = when.toISOString();
  time.textContent = when.toLocaleString([], { weekday: "short", hour: "2-digit", minute: "2-digit" });
  const what = document.createElement("p");
  what.className = "what";
  if (e.kind === "call") {
    let words = OUTCOME[e.outcome] || "Call";
    if (e.outcome === "cancelled" && e.reason === "access_granted") words = "Visitor used a key";
    if (e.door_opened) words += ", door opened";
    what.textContent = `${words} · ${e.door || e.building}`;
  } else {
    const how = e.in_call ? "in a call" : "from the app";
    what.textContent = e.ok ? `Door opened ${how} · ${e.door}` : `Door not opened ${how}: ${refusal(e.reason)}`;
  }
  let mark;
  if (e.snapshot) {
    mark = document.createElement("img");
    mark.src = `/api/resident/history/${e.id}/snapshot.jpg?${signIn}`;
    mark.alt = `The visitor, ${time.textContent}`;
  } else {
    mark = document.createElement("span");
    mark.className = "mark";
    mark.setAttribute("aria-hidden", "true");
    mark.textContent = e.kind === "door" ? (e.ok ? "✓" : "✗") : "☎";
  }
  const text = document.createElement("div");
  text.append(what, time);
  li.append(mark, text);
  return li;
}

// -- invitations and my key -----------------------------------------------------------------------
$("invite").onsubmit = async (e) => {
  e.preventDefault();
  const f = e.target;
  const from = new Date();
  const until = new Date(from.getTime() + Number(f.hours.value) * 3600 * 1000);
  const r = await fetch(`/api/resident/invitations?${signIn}`, {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ name: f.name.value, email: f.email.value, from: from.getTime() / 1000, until: until.getTime() / 1000 }),
  });
  const data = await r.json();
  setStatus(r.ok ? data.message : data.error);
  if (r.ok) f.reset();
};

// My key: a new code every 30 s while the card is open.
let key = null;
let keyTimer = null;
async function showKey() {
  try {
    key = key || await window.rotatingKey.deviceKey(resident, token);
    const code = await window.rotatingKey.rotatingCode(key, Date.now() / 1000);
    $("key").src = `/api/qr.png?text=${encodeURIComponent(code)}`;
    $("key").dataset.code = code;
    $("key").hidden = false;
  } catch (err) { setStatus("Key not available: " + err.message); }
}
$("key-card").addEventListener("toggle", () => {
  clearInterval(keyTimer);
  if ($("key-card").open) {
    showKey();
    const ms = window.rotatingKey.STEP_SECONDS * 1000;
    // (timeout and interval ids share one list, so clearInterval above cancels either)
    keyTimer = setTimeout(() => { showKey(); keyTimer = setInterval(showKey, ms); }, ms - (Date.now() % ms));
  }
});

// For tests and the curious: what this device receives, and what its speaker plays.
window.callStats = async () => {
  const out = { videoFrames: 0, audioEnergy: 0, audioPackets: 0, connection: pc ? pc.connectionState : "none" };
  if (!pc) return out;
  (await pc.getStats()).forEach((r) => {
    if (r.type === "inbound-rtp" && r.kind === "video") out.videoFrames = r.framesDecoded || 0;
    if (r.type === "inbound-rtp" && r.kind === "audio") {
      out.audioEnergy = r.totalAudioEnergy || 0;
      out.audioPackets = r.packetsReceived || 0;
    }
  });
  return out;
};
window.ringtoneLevel = () => ringtone.level();

// Installable: the service worker keeps the app's files for a start without network.
if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/sw.js").catch((err) => console.warn("service worker:", err.message));
}
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible" && ringing) closeNotifications(ringing.call_id);
});

show("idle");
offerAlerts();
connect();
