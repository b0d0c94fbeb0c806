// The staff page: the dev cloud's /api/admin/* with the staff token from the URL.
"use strict";

const token = new URLSearchParams(location.search).get("token") || "";
const $ = (id) => document.getElementById(id);

async function api(method, path, body) {
  const r = await fetch(path, {
    method, headers: { "Authorization": `Bearer ${token}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await r.json();
  if (!r.ok) throw new Error(data.error || r.statusText);
  return data;
}

function say(text) { $("status").textContent = text; }
function cell(row, text) { const td = row.insertCell(); td.textContent = text; return td; }
function when(ts) { return new Date(ts * 1000).toLocaleString(); }

async function loadResidents() {
  const body = $("residents");
  body.replaceChildren();
  for (const r of await api("GET", "/api/admin/residents")) {
    const row = body.insertRow();
    cell(row, r.name);
    cell(row, r.unit);
    // Whom a call rings, editable in place: "app 20, phone" (empty: the property's default).
    const contact = document.createElement("input");
    contact.value = r.contact;
    contact.placeholder = "default";
    contact.setAttribute("aria-label", `Calls ring for ${r.name}`);
    const save = document.createElement("button");
    save.textContent = "Save";
    save.className = "quiet";
    save.setAttribute("aria-label", `Save how ${r.name} is called`);
    save.onclick = async () => {
      try {
        await api("PATCH", `/api/admin/residents/${r.id}`, { contact: contact.value });
        say(`Calls to ${r.name} ring: ${contact.value || "the default"}.`);
      } catch (err) { say(err.message); }
    };
    row.insertCell().append(contact, save);
    cell(row, [r.phone, r.sip].filter(Boolean).join(", "));
    cell(row, r.cards.join(", "));
    const button = document.createElement("button");
    button.textContent = "Move out";
    button.className = "quiet";
    button.setAttribute("aria-label", `Move out ${r.name}`);
    button.onclick = async () => {
      if (!confirm(`Move out ${r.name}? Their keys and devices stop working at once.`)) return;
      await api("DELETE", `/api/admin/residents/${r.id}`);
      say(`${r.name} moved out.`);
      loadResidents();
    };
    row.insertCell().append(button);
  }
}

async function loadInvitations() {
  const body = $("invitations");
  body.replaceChildren();
  for (const i of await api("GET", "/api/admin/invitations")) {
    const row = body.insertRow();
    cell(row, i.name);
    cell(row, i.email);
    cell(row, `${when(i.not_before)} – ${when(i.not_after)}`);
    cell(row, i.activated_at ? when(i.activated_at) : "not yet");
  }
}

async function loadSettings() {
  const s = await api("GET", "/api/admin/settings");
  const form = $("settings");
  form.allow_visitors.checked = s.allow_visitors;
  form.visitor_limit_hours.value = s.visitor_limit_hours;
  form.contact.value = s.contact;
}

async function loadLog() {
  const body = $("log");
  body.replaceChildren();
  for (const e of await api("GET", "/api/admin/log?door=main")) {
    const row = body.insertRow();
    cell(row, when(e.ts));
    cell(row, e.who || "—");
    cell(row, { qr: "QR key", call: "Call", app: "App", api: "Local API", exit: "Exit button" }[e.method] || e.method);
    const alarm = e.kind === "alarm";
    const result = cell(row, alarm ? `Alarm: ${e.reason}${e.detail ? ` (${e.detail})` : ""}`
                                   : e.granted ? "Opened" : `Refused: ${e.reason}`);
    result.className = e.granted && !alarm ? "granted" : "refused";
    const snap = row.insertCell();
    if (e.snapshot) {
      const img = document.createElement("img");
      img.alt = `Snapshot of ${e.who || "the entrance"}`;
      fetch(e.snapshot, { headers: { "Authorization": `Bearer ${token}` } })
        .then((r) => r.blob()).then((b) => { img.src = URL.createObjectURL(b); });
      snap.append(img);
    }
  }
}

async function loadMail() {
  const list = $("mail");
  list.replaceChildren();
  for (const m of await api("GET", "/api/admin/mail")) {
    const li = document.createElement("li");
    li.textContent = `To ${m.to}: ${m.subject}`;
    list.append(li);
  }
}

function formData(form) { return Object.fromEntries(new FormData(form).entries()); }

$("move-in").onsubmit = async (e) => {
  e.preventDefault();
  try {
    const r = await api("POST", "/api/admin/residents", formData(e.target));
    say(`${r.name} moved in to ${r.unit}.`);
    e.target.reset();
    loadResidents();
  } catch (err) { say(err.message); }
};

$("invite").onsubmit = async (e) => {
  e.preventDefault();
  try {
    const r = await api("POST", "/api/admin/invitations", formData(e.target));
    say(r.message);
    e.target.reset();
    loadInvitations();
    loadMail();
  } catch (err) { say(err.message); }
};

$("settings").onsubmit = async (e) => {
  e.preventDefault();
  try {
    await api("PUT", "/api/admin/settings", {
      allow_visitors: e.target.allow_visitors.checked,
      visitor_limit_hours: Number(e.target.visitor_limit_hours.value),
      contact: e.target.contact.value,
    });
    say("Settings saved.");
  } catch (err) { say(err.message); }
};

async function refresh() {
  try { await Promise.all([loadLog(), loadInvitations(), loadMail()]); } catch (err) { say(err.message); }
}

loadResidents().then(loadSettings).then(refresh).catch((err) => say(err.message));
setInterval(refresh, 2000);   // new log entries as the panel uploads them
