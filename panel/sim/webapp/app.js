// The resident web app: one browser tab = one device of a resident.
// Speaks the device side of docs/signaling.md to the dev cloud.
"use strict";

const params = new URLSearchParams(location.search);
const resident = params.get("resident") || "";
const token = params.get("token") || "";
// Each tab is its own device, so several tabs ring like several phones.
const device = sessionStorage.getItem("device") || "web-" + Math.random().toString(36).slice(2, 10);
sessionStorage.setItem("device", device);

const $ = (id) => document.getElementById(id);
let ws = null;
let pc = null;
let callId = null;
let microphone = null;
let audioOnly = false;
let muted = false;
let videoOn = true;
let timer = null;

function setStatus(text) { $("status").textContent = text; }
function send(message) { if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message)); }

function show(state) {
  // idle | ringing | call
  $("incoming").hidden = state !== "ringing";
  $("call").hidden = state !== "call";
  $("open-door").hidden = state === "ringing";
}

function connect() {
  const url = `ws://${location.host}/ws/device?resident=${encodeURIComponent(resident)}` +
              `&device=${encodeURIComponent(device)}&token=${encodeURIComponent(token)}`;
  ws = new WebSocket(url);
  ws.onmessage = (e) => handle(JSON.parse(e.data)).catch((err) => setStatus("Error: " + err.message));
  ws.onclose = (e) => {
    if (e.code === 4401) { setStatus("Sign-in refused: open the link the panel printed."); return; }
    setStatus("Offline, reconnecting…");
    endCall(null);
    setTimeout(connect, 1000);
  };
}

const ENDED = {
  door_opened: "Door opened. Call ended.", visitor_hung_up: "The visitor hung up.",
  time_limit: "Call time limit reached.", network: "Connection lost.", shutdown: "The panel restarted.",
  panel_offline: "The panel went offline.", access_granted: "The visitor used a key.",
  no_answer: "Missed call.", declined: "Declined.", cancelled: "The visitor cancelled.",
};

async function handle(m) {
  switch (m.type) {
    case "hello":
      $("who").textContent = m.resident;
      $("property").textContent = m.property;
      setStatus("Ready");
      break;
    case "incoming":
      callId = m.call_id;
      $("from").textContent = `Visitor at ${m.from}`;
      setStatus("Incoming call");
      show("ringing");
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
      setStatus(m.ok ? "Door opened." : `Door not opened (${m.reason}).`);
      break;
    case "error":
      setStatus("Error: " + m.message);
      break;
  }
}

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
  if (pc) { pc.close(); pc = null; }
  if (microphone) { microphone.getTracks().forEach((t) => t.stop()); microphone = null; }
  if (timer) { clearInterval(timer); timer = null; }
  $("video").srcObject = null;
  $("audio").srcObject = null;
  callId = null;
  audioOnly = false;
  setMuted(false);
  videoOn = true;
  $("video-toggle").textContent = "Video off";
  $("video").classList.remove("off");
  show("idle");
  if (message) setStatus(message);
}

function accept(withVideo) {
  audioOnly = !withVideo;
  send({ type: "accept", call_id: callId });
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
$("open-door").onclick = () => {
  if (callId && pc) send({ type: "open_door", call_id: callId });
  else send({ type: "remote_unlock" });
  setStatus("Opening…");
};

$("invite").onsubmit = async (e) => {
  e.preventDefault();
  const f = e.target;
  const from = new Date();
  const until = new Date(from.getTime() + Number(f.hours.value) * 3600 * 1000);
  const r = await fetch(`/api/resident/invitations?resident=${encodeURIComponent(resident)}&token=${encodeURIComponent(token)}`, {
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

// For tests and the curious: what this device receives.
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

show("idle");
connect();
