// Voxline's operator dashboard: polls /v1/admin/overview with the admin
// token and draws it. Every value goes into the page as text (never as
// markup): error messages and tenant names come from outside.
"use strict";

const TOKEN_KEY = "voxline.adminToken";
const POLL_MS = 5000;
const HOURS = 24;
const STATES = ["completed", "failed", "cancelled", "running", "queued"];
const SVG = "http://www.w3.org/2000/svg";

const state = {
  token: sessionStorage.getItem(TOKEN_KEY) || "",
  timer: null,
  lastOk: null,
  // The newest overview, redrawn at once when a button changes state.
  overview: null,
  // Each poll is numbered: an answer that an earlier poll overtook is dropped.
  poll: 0,
  // A message about the operator's last action, shown for a few seconds.
  message: null,
  // The job whose Cancel button was pressed once and awaits a second press.
  confirming: null,
  busy: new Set(),
};

function svg(tag, attrs = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  return node;
}

// ---- formatting -----------------------------------------------------------

const integer = new Intl.NumberFormat("en");
const money = new Intl.NumberFormat("en", { minimumFractionDigits: 2, maximumFractionDigits: 4 });

function duration(seconds) {
  if (!seconds || seconds < 0.5) return "–";
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

function ago(iso) {
  const seconds = (Date.now() - Date.parse(iso)) / 1000;
  if (seconds < 60) return "just now";
  return `${duration(seconds).split(" ").slice(0, 2).join(" ")} ago`;
}

function clock(iso) {
  return new Date(iso).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

function timeCell(iso) {
  return el("td", {}, el("time", { datetime: iso, title: new Date(iso).toString(), text: clock(iso) }),
    el("span", { class: "sub", text: ago(iso) }));
}

function jobCell(id) {
  return el("td", { class: "id" }, el("code", { title: id, text: id }));
}

function count(value, cls) {
  return el("td", { class: `num ${value === 0 ? "zero" : cls || ""}`, text: value === null ? "?" : integer.format(value) });
}

// ---- the API ---------------------------------------------------------------

async function api(method, path) {
  const response = await fetch(path, {
    method,
    headers: { Authorization: `Bearer ${state.token}`, Accept: "application/json" },
    cache: "no-store",
  });
  let body = null;
  try { body = await response.json(); } catch { body = null; }
  if (!response.ok) {
    const error = new Error(body && body.error ? body.error.message : `${response.status} ${response.statusText}`);
    error.status = response.status;
    error.code = body && body.error ? body.error.code : "";
    throw error;
  }
  return body;
}

function setStatus(text, kind) {
  const status = $("status");
  status.textContent = text;
  status.className = `status ${kind || ""}`;
}

function say(text, good) {
  state.message = { text, good, until: Date.now() + 8000 };
  showNotice();
}

// Problems reading the system come first; then the last action's message.
function showNotice() {
  const box = $("notice");
  const problems = state.overview && state.overview.problems ? state.overview.problems : [];
  const message = state.message && state.message.until > Date.now() ? state.message : null;
  if (problems.length) {
    box.textContent = `Partly read: ${problems.join("; ")}`;
    box.className = "notice";
  } else if (message) {
    box.textContent = message.text;
    box.className = message.good ? "notice good" : "notice";
  }
  box.hidden = !problems.length && !message;
}

function showLogin(message) {
  clearTimeout(state.timer);
  state.timer = null;
  $("app").hidden = true;
  $("sign-out").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message || "";
  setStatus("Not connected");
  $("token").focus();
}

async function refresh() {
  clearTimeout(state.timer);
  const poll = ++state.poll;
  try {
    const overview = await api("GET", `/v1/admin/overview?hours=${HOURS}`);
    if (poll !== state.poll) return;
    state.lastOk = Date.now();
    state.overview = overview;
    $("login").hidden = true;
    $("app").hidden = false;
    $("sign-out").hidden = false;
    render(overview);
    const problems = overview.problems || [];
    setStatus(problems.length ? `Live, partly: ${problems.length} problem(s)` : `Live · updated ${clock(overview.generated_at)}`,
      problems.length ? "stale" : "live");
  } catch (error) {
    if (poll !== state.poll) return;
    if (error.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      showLogin("The gateway refused this token. Enter its admin token (auth.admin_token).");
      return;
    }
    if (error.status === 404) {
      sessionStorage.removeItem(TOKEN_KEY);
      showLogin("The admin API is off on this gateway: set auth.admin_token to turn it on.");
      return;
    }
    const since = state.lastOk ? `; last update ${clock(new Date(state.lastOk).toISOString())}` : "";
    setStatus(`Cannot reach the gateway${since}`, "down");
    say(`Could not refresh: ${error.message}`);
  }
  state.timer = setTimeout(refresh, POLL_MS);
}

// ---- drawing ----------------------------------------------------------------

// Re-rendering replaces the rows; keep the keyboard focus on the same button.
function keepFocus(draw) {
  const focused = document.activeElement;
  const key = focused && focused.dataset ? focused.dataset.key : null;
  draw();
  if (key) {
    const again = document.querySelector(`[data-key="${CSS.escape(key)}"]`);
    if (again) again.focus();
  }
}

function render(o) {
  keepFocus(() => {
    renderSummary(o);
    renderQueues(o.queues);
    renderChart(o.jobs.history);
    renderFailed(o.failed_tasks);
    renderActive(o.jobs.active);
    renderTenants(o.tenants);
  });
  showNotice();
}

function redraw() {
  if (state.overview) render(state.overview);
}

function renderSummary(o) {
  const period = `last ${o.hours} h`;
  $("m-queued").textContent = integer.format(o.jobs.queued);
  $("m-running").textContent = integer.format(o.jobs.running);
  $("m-completed").textContent = integer.format(o.jobs.totals.completed);
  $("m-failed").textContent = integer.format(o.jobs.totals.failed);
  $("m-period-completed").textContent = `Completed, ${period}`;
  $("m-period-failed").textContent = `Failed, ${period}`;
  $("m-period-cost").textContent = `Engine cost, ${period}`;
  const alive = o.queues.map((q) => q.workers_alive).filter((n) => n !== null);
  $("m-workers").textContent = alive.length ? integer.format(alive.reduce((a, b) => a + b, 0)) : "?";
  const cost = o.tenants.reduce((sum, t) => sum + t.cost_usd, 0);
  $("m-cost").textContent = `$${money.format(cost)}`;
}

function renderQueues(queues) {
  const body = $("queues").tBodies[0];
  body.replaceChildren(...queues.map((q) => {
    const stranded = q.queued_due > 0 && q.workers_alive === 0;
    const oldest = el("td", {
      class: `num ${q.oldest_due_seconds >= 300 ? "alert" : q.oldest_due_seconds >= 60 ? "warn" : ""}`,
      text: duration(q.oldest_due_seconds),
    });
    const workers = el("td", {
      class: `num ${stranded ? "alert" : q.workers_alive === 0 ? "zero" : ""}`,
      text: q.workers_alive === null ? "?" : integer.format(q.workers_alive),
      title: stranded ? "Runs are due and no worker of this stage is alive" : null,
    });
    return el("tr", { "data-stage": q.stage },
      el("th", { scope: "row", class: "stage", text: q.stage }),
      count(q.queued_due), oldest, count(q.scheduled), count(q.running), count(q.redis_pending), workers);
  }));
}

function renderChart(hours) {
  const legend = $("legend");
  const totals = Object.fromEntries(STATES.map((s) => [s, hours.reduce((sum, h) => sum + h.counts[s], 0)]));
  legend.replaceChildren(...STATES.map((s) => el("li", { class: s, text: `${s} ${integer.format(totals[s])}` })));

  // Drawn at the size it is shown, so its text keeps the page's size.
  const width = Math.max(320, Math.round($("chart").clientWidth || 640));
  const height = 220, left = 34, right = 8, bottom = 22, top = 8;
  const peak = Math.max(1, ...hours.map((h) => STATES.reduce((sum, s) => sum + h.counts[s], 0)));
  const step = niceStep(peak);
  const max = Math.ceil(peak / step) * step;
  const plotH = height - top - bottom;
  const slot = (width - left - right) / Math.max(1, hours.length);
  const all = STATES.reduce((sum, s) => sum + totals[s], 0);
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img",
    "aria-label": `Jobs created per hour over the last ${hours.length} hours: ${all} in all, ` +
      STATES.map((s) => `${totals[s]} ${s}`).join(", ") });
  for (let v = 0; v <= max; v += step) {
    const y = top + plotH - (v / max) * plotH;
    chart.append(svg("line", { class: "grid", x1: left, x2: width - right, y1: y, y2: y }));
    const label = svg("text", { class: "axis", x: left - 6, y: y + 4, "text-anchor": "end" });
    label.textContent = integer.format(v);
    chart.append(label);
  }
  hours.forEach((h, i) => {
    const x = left + i * slot + slot * 0.15;
    const w = slot * 0.7;
    let y = top + plotH;
    const start = new Date(h.hour);
    const hourText = start.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" });
    const group = svg("g");
    const title = svg("title");
    title.textContent = `${hourText}: ` + STATES.map((s) => `${h.counts[s]} ${s}`).join(", ");
    group.append(title);
    for (const s of STATES) {
      const n = h.counts[s];
      if (!n) continue;
      const barH = (n / max) * plotH;
      y -= barH;
      group.append(svg("rect", { class: s, x, y, width: w, height: Math.max(barH, 1), rx: 2 }));
    }
    // A transparent full-height target, so the hour's tooltip shows anywhere in its column.
    group.append(svg("rect", { x: left + i * slot, y: top, width: slot, height: plotH, fill: "transparent" }));
    chart.append(group);
    const every = Math.max(1, Math.ceil(hours.length / Math.floor(width / 70)));
    if ((hours.length - 1 - i) % every === 0) {
      // The last label ends at the edge rather than being cut by it.
      const last = i === hours.length - 1;
      const label = svg("text", { class: "axis", x: last ? width - right : x + w / 2, y: height - 6,
        "text-anchor": last ? "end" : "middle" });
      label.textContent = hourText;
      chart.append(label);
    }
  });
  $("chart").replaceChildren(chart);
}

function niceStep(peak) {
  const rough = peak / 4;
  const magnitude = 10 ** Math.floor(Math.log10(Math.max(rough, 1)));
  for (const m of [1, 2, 5, 10]) if (m * magnitude >= rough) return Math.max(1, m * magnitude);
  return 10 * magnitude;
}

function renderFailed(tasks) {
  const body = $("failed").tBodies[0];
  $("failed-empty").hidden = tasks.length > 0;
  body.replaceChildren(...tasks.map((t) => {
    const key = `retry:${t.job_id}:${t.language}`;
    const busy = state.busy.has(`retry:${t.job_id}`);
    return el("tr", { "data-job": t.job_id },
      timeCell(t.failed_at),
      jobCell(t.job_id),
      el("td", { class: "nowrap", text: t.tenant }),
      el("td", { text: t.language }),
      el("td", { class: "stage", text: t.stage }),
      el("td", { class: "error-cell" },
        el("span", { class: "code mono", text: t.error_code || "error" }),
        el("span", { class: "sub", text: t.error_message || "" })),
      el("td", {}, el("button", {
        type: "button", class: "primary retry", "data-key": key, disabled: busy,
        "aria-label": `Retry job ${t.job_id}`, text: busy ? "Retrying…" : "Retry",
        onclick: () => act("retry", t.job_id),
      })));
  }));
}

function renderActive(jobs) {
  const body = $("active").tBodies[0];
  $("active-empty").hidden = jobs.length > 0;
  if (state.confirming && state.confirming.until < Date.now()) state.confirming = null;
  body.replaceChildren(...jobs.map((j) => {
    const confirming = state.confirming && state.confirming.id === j.id;
    const busy = state.busy.has(`cancel:${j.id}`);
    const bar = el("span");
    bar.style.width = `${Math.max(0, Math.min(100, j.progress))}%`;
    return el("tr", { "data-job": j.id },
      timeCell(j.created_at),
      jobCell(j.id),
      el("td", { class: "nowrap", text: j.tenant }),
      el("td", { text: j.kind }),
      el("td", { text: j.target_languages.join(", ") }),
      el("td", {}, el("span", { class: `pill ${j.status}`, text: j.status })),
      el("td", {}, el("span", { text: `${Math.round(j.progress)} %` }),
        el("div", { class: "progress", role: "progressbar", "aria-label": `Progress of job ${j.id}`,
          "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": Math.round(j.progress) }, bar)),
      el("td", {}, el("button", {
        type: "button", class: `danger cancel${confirming ? " confirm" : ""}`, "data-key": `cancel:${j.id}`,
        disabled: busy, "aria-label": confirming ? `Confirm: cancel job ${j.id}` : `Cancel job ${j.id}`,
        text: busy ? "Cancelling…" : confirming ? "Confirm cancel" : "Cancel",
        onclick: () => cancelPressed(j.id),
      })));
  }));
}

function renderTenants(tenants) {
  const body = $("tenants").tBodies[0];
  $("tenants-empty").hidden = tenants.length > 0;
  body.replaceChildren(...tenants.map((t) => el("tr", {},
    el("th", { scope: "row", text: t.tenant }),
    count(t.jobs),
    el("td", { class: "num", text: duration(t.media_seconds) }),
    count(t.engine_calls),
    count(t.failed_calls, "warn"),
    el("td", { class: "num", text: `$${money.format(t.cost_usd)}` }))));
}

// ---- actions -------------------------------------------------------------

// Cancelling cannot be undone: the first press asks, a second within a few
// seconds does it.
function cancelPressed(id) {
  if (state.confirming && state.confirming.id === id && state.confirming.until >= Date.now()) {
    state.confirming = null;
    act("cancel", id);
    return;
  }
  state.confirming = { id, until: Date.now() + 6000 };
  say(`Press “Confirm cancel” to cancel job ${id}; it stops within seconds and cannot be resumed.`);
  redraw();
}

async function act(action, id) {
  const key = `${action}:${id}`;
  if (state.busy.has(key)) return;
  state.busy.add(key);
  redraw();
  try {
    const job = await api("POST", `/v1/admin/jobs/${encodeURIComponent(id)}/${action}`);
    say(action === "retry" ? `Job ${id} is retrying (now ${job.status}).` : `Job ${id} is ${job.status}.`, true);
  } catch (error) {
    say(`Could not ${action} job ${id}: ${error.message}`);
  } finally {
    state.busy.delete(key);
    refresh();
  }
}

// ---- start -----------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = $("token").value.trim();
    if (!token) return;
    state.token = token;
    sessionStorage.setItem(TOKEN_KEY, token);
    $("token").value = "";
    setStatus("Connecting…");
    refresh();
  });
  $("sign-out").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    state.token = "";
    state.message = null;
    state.overview = null;
    $("notice").hidden = true;
    showLogin("");
  });
  if (state.token) refresh();
  else showLogin("");
});
