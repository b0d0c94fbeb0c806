// The staff page: the dev cloud's /api/admin/* with the staff token from the URL.
// A notice appears in the form or the row it is about; the access log's filter lives in
// the page's query string (a reload or a bookmark keeps it) and is the CSV download's too.
"use strict";

const token = new URLSearchParams(location.search).get("token") || "";
const $ = (id) => document.getElementById(id);
const LINK = /https?:\/\/[^\s<>"']+/g;
let methods = {};                       // method code -> words, from /api/admin/property

function sentence(text) {
  const s = String(text).trim();
  return s ? s[0].toUpperCase() + s.slice(1) + (/[.!?]$/.test(s) ? "" : ".") : s;
}

async function request(method, path, body) {
  let r;
  try {
    r = await fetch(path, {
      method, headers: { "Authorization": `Bearer ${token}`, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new Error("The office cannot be reached: is the dev cloud still running?");
  }
  if (r.status === 401) {
    throw new Error("This page needs the staff token: open the staff page link the demo printed (/admin?token=...).");
  }
  if (!r.ok) {
    let message = `The office answered ${r.status} ${r.statusText}`;
    try { message = (await r.json()).error || message; } catch { /* not JSON: keep the status */ }
    throw new Error(sentence(message));
  }
  return r;
}

async function api(method, path, body) { return (await request(method, path, body)).json(); }

// -- notices ----------------------------------------------------------------------------------
function notice(el, content, error = false) {
  el.replaceChildren(...(Array.isArray(content) ? content : [content]));
  el.classList.toggle("error", error);
  el.setAttribute("role", error ? "alert" : "status");
  el.hidden = false;
}
function formNotice(form, content, error = false) { notice(form.querySelector(".notice"), content, error); }
function clearNotice(form) { form.querySelector(".notice").hidden = true; }
function pageNotice(err) { notice($("page-notice"), err.message, true); }

function link(href, text) {
  const a = document.createElement("a");
  a.href = href;
  a.textContent = text || href;
  a.target = "_blank";
  a.rel = "noopener";
  return a;
}

// -- tables -------------------------------------------------------------------------------------
function headers(body) { return [...body.closest("table").tHead.rows[0].cells].map((th) => th.textContent); }
function cell(row, label, content, className = "") {
  const td = row.insertCell();
  td.dataset.label = label;
  if (className) td.className = className;
  if (content instanceof Node) td.append(content); else td.textContent = content;
  return td;
}
const WHEN = { dateStyle: "medium", timeStyle: "short" };
function when(ts) { return new Date(ts * 1000).toLocaleString(undefined, WHEN); }
function span(a, b) {
  const [da, db] = [new Date(a * 1000), new Date(b * 1000)];
  return da.toDateString() === db.toDateString()
    ? `${when(a)} – ${db.toLocaleTimeString(undefined, { timeStyle: "short" })}` : `${when(a)} – ${when(b)}`;
}

// Redraw a list only when what the office sends changed: an open e-mail stays open, a
// focused button stays focused, while the page polls.
const shown = {};
function changed(key, data) {
  const json = JSON.stringify(data);
  if (shown[key] === json) return false;
  shown[key] = json;
  return true;
}

// -- residents ------------------------------------------------------------------------------------
async function loadResidents() {
  const residents = await api("GET", "/api/admin/residents");
  if (!changed("residents", residents)) return;
  const body = $("residents");
  const labels = headers(body);
  body.replaceChildren();
  for (const r of residents) {
    const row = body.insertRow();
    cell(row, labels[0], r.name);
    cell(row, labels[1], r.unit);
    // Whom a call rings, editable in place: "app 20, phone" (empty: the property's default).
    const contact = document.createElement("input");
    contact.value = r.contact;
    contact.placeholder = "default";
    contact.setAttribute("aria-label", `Calls ring for ${r.name}`);
    const save = document.createElement("button");
    save.type = "button";
    save.textContent = "Save";
    save.className = "quiet";
    save.setAttribute("aria-label", `Save how ${r.name} is called`);
    const box = document.createElement("span");
    box.append(contact, save);
    save.onclick = async () => {
      // The notice goes beside the field it concerns, made when there is something to say.
      let saved = box.querySelector(".notice");
      if (!saved) { saved = document.createElement("span"); saved.className = "notice"; box.append(saved); }
      try {
        await api("PATCH", `/api/admin/residents/${r.id}`, { contact: contact.value });
        notice(saved, `Calls ring: ${contact.value || "the default"}.`);
        r.contact = contact.value;              // the list as shown is the office's: no redraw over the notice
        changed("residents", residents);
      } catch (err) { notice(saved, err.message, true); }
    };
    cell(row, labels[2], box);
    cell(row, labels[3], [r.phone, r.sip].filter(Boolean).join(", ") || "—");
    cell(row, labels[4], r.cards.join(", ") || "—");
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = "Move out";
    button.className = "quiet";
    button.setAttribute("aria-label", `Move out ${r.name}`);
    button.onclick = () => moveOut(r, row, residents);
    cell(row, "", button, "actions");
  }
}

function rowNotice(row, content, error) {
  const next = row.nextElementSibling;
  const noticeRow = next && next.classList.contains("notice-row") ? next : row.parentNode.insertRow(row.sectionRowIndex + 1);
  noticeRow.className = "notice-row";
  noticeRow.replaceChildren();
  const td = noticeRow.insertCell();
  td.colSpan = row.cells.length;
  td.className = "notice-cell";
  const p = document.createElement("p");
  p.className = "notice";
  td.append(p);
  notice(p, content, error);
  return noticeRow;
}

async function moveOut(r, row, residents) {
  if (!confirm(`Move out ${r.name}? Their keys and devices stop working at once.`)) return;
  try {
    await api("DELETE", `/api/admin/residents/${encodeURIComponent(r.id)}`);
  } catch (err) {
    rowNotice(row, `${r.name} was not moved out: ${err.message}`, true);
    return;
  }
  // The row gives way to the notice about it; the list as shown is now the office's.
  rowNotice(row, `${r.name} (${r.unit}) moved out: their keys and devices no longer open the door.`);
  row.remove();
  changed("residents", residents.filter((x) => x.id !== r.id));
}

// -- invitations -------------------------------------------------------------------------------------
async function loadInvitations() {
  const invitations = await api("GET", "/api/admin/invitations");
  if (!changed("invitations", invitations)) return;
  const body = $("invitations");
  const labels = headers(body);
  body.replaceChildren();
  for (const i of [...invitations].reverse()) {
    const row = body.insertRow();
    cell(row, labels[0], i.name);
    cell(row, labels[1], i.email);
    cell(row, labels[2], i.invited_by === "staff" ? "Property office" : i.invited_by);
    cell(row, labels[3], span(i.not_before, i.not_after));
    cell(row, labels[4], i.withdrawn ? "Withdrawn: the host moved out"
                         : i.activated_at ? `Taken ${when(i.activated_at)}` : "Not taken yet");
  }
}

// -- settings --------------------------------------------------------------------------------------
async function loadSettings() {
  const s = await api("GET", "/api/admin/settings");
  const form = $("settings");
  form.allow_visitors.checked = s.allow_visitors;
  form.visitor_limit_hours.value = s.visitor_limit_hours;
  form.contact.value = s.contact;
}

// -- the access log --------------------------------------------------------------------------------
const FILTERS = ["q", "result", "method", "door", "from", "until"];
const RESULT_WORDS = { opened: "Opened", refused: "Refused", alarm: "Alarms" };

function filterQuery() {
  const form = $("log-filter");
  const q = new URLSearchParams();
  for (const name of FILTERS) {
    const value = form.elements[name].value.trim();
    if (value) q.set(name, value);
  }
  return q;
}

function keepFilterInUrl() {
  const url = new URLSearchParams({ token });
  for (const [k, v] of filterQuery()) url.set(k, v);
  history.replaceState(null, "", `${location.pathname}?${url}`);
}

function fillFilterFromUrl() {
  const form = $("log-filter");
  const q = new URLSearchParams(location.search);
  for (const name of FILTERS) if (q.has(name)) form.elements[name].value = q.get(name);
}

function option(select, value, text) {
  const o = document.createElement("option");
  o.value = value;
  o.textContent = text;
  select.append(o);
}

async function loadProperty() {
  const p = await api("GET", "/api/admin/property");
  $("property").textContent = `· ${p.name}`;
  document.title = `Property office · ${p.name}`;
  methods = p.methods;
  const form = $("log-filter");
  for (const r of p.results) option(form.result, r, RESULT_WORDS[r] || r);
  for (const [code, words] of Object.entries(p.methods)) option(form.method, code, words);
  for (const d of p.doors) option(form.door, d, d);
  form.door.closest("label").hidden = p.doors.length < 2;     // one door: nothing to choose
  fillFilterFromUrl();
}

const snapshots = new Map();            // log entry n -> object URL of its snapshot
function snapshotUrl(path) {
  if (!snapshots.has(path)) {
    snapshots.set(path, request("GET", path).then((r) => r.blob()).then((b) => URL.createObjectURL(b)));
  }
  return snapshots.get(path);
}

function resultText(e) {
  const detail = e.detail ? ` (${e.detail})` : "";
  if (e.result === "alarm") return `Alarm: ${e.reason_text}${detail}`;
  return e.result === "opened" ? "Opened" : `Refused: ${e.reason_text}${detail}`;
}

let logRequest = 0;
async function loadLog() {
  const form = $("log-filter");
  const mine = ++logRequest;
  let entries;
  try {
    entries = await api("GET", `/api/admin/log?${filterQuery()}`);
  } catch (err) {
    if (mine === logRequest) formNotice(form, err.message, true);
    return;
  }
  if (mine !== logRequest) return;      // a newer filter is on its way
  if (form.querySelector(".notice.error")) clearNotice(form);
  if (!changed("log", entries)) return;
  const filtered = filterQuery().toString() !== "";
  $("log-count").textContent = `${entries.length} ${entries.length === 1 ? "entry" : "entries"}`
    + (filtered ? " match the filter." : ".");
  const body = $("log");
  const labels = headers(body);
  body.replaceChildren();
  for (const e of entries) {
    const row = body.insertRow();
    cell(row, labels[0], new Date(e.ts * 1000).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" }));
    cell(row, labels[1], e.door || "—");
    cell(row, labels[2], e.who || "—");
    cell(row, labels[3], e.unit || "—");
    cell(row, labels[4], e.how || methods[e.method] || e.method || "—");
    cell(row, labels[5], resultText(e), e.result === "opened" ? "granted" : "refused");
    const snap = cell(row, labels[6], e.snapshot ? "" : "—");
    if (e.snapshot) snap.append(thumbnail(e));
  }
}

function thumbnail(e) {
  const who = e.who || "the entrance";
  const button = document.createElement("button");
  button.type = "button";
  button.className = "thumb";
  button.setAttribute("aria-label", `Enlarge the snapshot of ${who}, ${when(e.ts)}`);
  const img = document.createElement("img");
  img.alt = `Snapshot of ${who}`;
  button.append(img);
  snapshotUrl(e.snapshot).then((url) => { img.src = url; }, () => { img.alt = `Snapshot of ${who} (not loaded)`; });
  button.onclick = async () => {
    $("lightbox-title").textContent = `${who} · ${resultText(e)} · ${when(e.ts)}`;
    $("lightbox-img").alt = `Snapshot of ${who}, large`;
    $("lightbox-img").src = await snapshotUrl(e.snapshot);
    lightboxOpener = button;
    $("lightbox").showModal();
  };
  return button;
}

let lightboxOpener = null;
$("lightbox-close").onclick = () => $("lightbox").close();
$("lightbox").addEventListener("click", (e) => { if (e.target === $("lightbox")) $("lightbox").close(); });
$("lightbox").addEventListener("close", () => { if (lightboxOpener && lightboxOpener.isConnected) lightboxOpener.focus(); });

let searchTimer = 0;
$("log-filter").addEventListener("input", (e) => {
  keepFilterInUrl();
  clearTimeout(searchTimer);
  searchTimer = setTimeout(loadLog, e.target.name === "q" ? 250 : 0);   // typing: one request per pause
});
$("log-filter").onsubmit = (e) => { e.preventDefault(); loadLog(); };

$("download-csv").onclick = async () => {
  const form = $("log-filter");
  try {
    const r = await request("GET", `/api/admin/log.csv?${filterQuery()}`);
    const name = /filename="([^"]+)"/.exec(r.headers.get("Content-Disposition") || "");
    const a = document.createElement("a");
    a.href = URL.createObjectURL(await r.blob());
    a.download = name ? name[1] : "access-log.csv";
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
    formNotice(form, `Downloaded ${a.download}: the entries the filter shows.`);
  } catch (err) { formNotice(form, `The CSV could not be made: ${err.message}`, true); }
};

// -- outgoing e-mail ---------------------------------------------------------------------------------
function withLinks(text) {
  const parts = [];
  let at = 0;
  for (const m of text.matchAll(LINK)) {
    parts.push(text.slice(at, m.index), link(m[0]));
    at = m.index + m[0].length;
  }
  parts.push(text.slice(at));
  return parts;
}

async function loadMail() {
  const messages = await api("GET", "/api/admin/mail");
  if (!changed("mail", messages)) return;
  const list = $("mail");
  const open = new Set([...list.querySelectorAll("details[open]")].map((d) => d.dataset.n));
  const seen = new Set([...list.querySelectorAll("details")].map((d) => d.dataset.n));
  list.replaceChildren();
  if (!messages.length) {
    const p = document.createElement("p");
    p.className = "muted";
    p.textContent = "No e-mail sent yet.";
    list.append(p);
  }
  messages.forEach((m, index) => {
    const details = document.createElement("details");
    details.dataset.n = m.n;
    // The newest message opens by itself when it arrives; the others as the staff left them.
    details.open = open.has(String(m.n)) || (index === 0 && !seen.has(String(m.n)));
    const summary = document.createElement("summary");
    summary.textContent = `To ${m.to}: ${m.subject}`;
    const dl = document.createElement("dl");
    for (const [k, v] of [["From", m.from], ["To", m.to], ["Date", m.date ? new Date(m.date).toLocaleString(undefined, WHEN) : "—"],
                          ["Subject", m.subject]]) {
      const dt = document.createElement("dt");
      dt.textContent = k;
      const dd = document.createElement("dd");
      dd.textContent = v;
      dl.append(dt, dd);
    }
    const body = document.createElement("pre");
    body.className = "mail-body";
    body.append(...withLinks(m.text));
    details.append(summary, dl, body);
    list.append(details);
  });
}

// -- forms ---------------------------------------------------------------------------------------------
function formData(form) { return Object.fromEntries(new FormData(form).entries()); }

$("move-in").onsubmit = async (e) => {
  e.preventDefault();
  const form = e.target;
  clearNotice(form);
  try {
    const r = await api("POST", "/api/admin/residents", formData(form));
    formNotice(form, [`${r.name} moved in to ${r.unit}. `, link(r.app_link, "Their resident app")]);
    form.reset();
    loadResidents();
  } catch (err) { formNotice(form, err.message, true); }
};

$("invite").onsubmit = async (e) => {
  e.preventDefault();
  const form = e.target;
  clearNotice(form);
  try {
    const r = await api("POST", "/api/admin/invitations", formData(form));
    formNotice(form, r.message, !r.mailed);
    form.reset();
    loadInvitations();
    loadMail();
  } catch (err) { formNotice(form, err.message, true); }
};

$("settings").onsubmit = async (e) => {
  e.preventDefault();
  const form = e.target;
  clearNotice(form);
  try {
    await api("PUT", "/api/admin/settings", {
      allow_visitors: form.allow_visitors.checked,
      visitor_limit_hours: Number(form.visitor_limit_hours.value),
      contact: form.contact.value,
    });
    formNotice(form, "Settings saved.");
  } catch (err) { formNotice(form, err.message, true); }
};

async function refresh() {
  try {
    await Promise.all([loadResidents(), loadLog(), loadInvitations(), loadMail()]);
    $("page-notice").hidden = true;
  } catch (err) { pageNotice(err); }
}

loadProperty().then(loadSettings).then(refresh).catch(pageNotice);
setInterval(refresh, 2000);   // new log entries as the panel uploads them
