/* Demand Insights dashboard: every number comes from this API's routes, asked with the user's bearer token.
   No build step: plain ES2020 and the vendored uPlot (window.uPlot). Views: #overview, #customer/ID,
   #product/ID, #quality, #cohorts (shown only when the API has that route). */
(function () {
  "use strict";
  const API = location.pathname.replace(/\/dashboard\/?$/, "");
  const KEY = "demand-insights-token";
  const BLUE = "#1d4f91", BAND = "rgba(29,79,145,0.16)", WIDE_BAND = "rgba(29,79,145,0.07)", ORANGE = "#b35900", GREEN = "#1e6b3a", RED = "#a4161a";
  const VIEWS = ["overview", "customer", "product", "quality", "cohorts"];
  let token = null, paths = new Set(), overview = null, figSeq = 0;
  const charts = [];
  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, ...kids) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "text") node.textContent = v; else if (k === "class") node.className = v; else node.setAttribute(k, v);
    }
    for (const kid of kids.flat(Infinity)) if (kid !== null && kid !== undefined) node.append(kid);
    return node;
  }
  const fmtNum = (v, d = 0) => v === null || v === undefined || Number.isNaN(v) ? "–"
    : Number(v).toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: 0 });
  let currency = "USD";
  const money = (v, d = 0) => v === null || v === undefined ? "–"
    : Number(v).toLocaleString("en-US", { style: "currency", currency, maximumFractionDigits: d });
  const pct = (v, d = 0) => v === null || v === undefined ? "–" : (100 * v).toFixed(d) + "%";
  const first = (...vals) => vals.find((v) => v !== undefined && v !== null);

  class ApiError extends Error {
    constructor(status, body) {
      const e = (body && body.error) || {};
      super(e.message || "HTTP " + status);
      this.status = status; this.code = e.code;
    }
  }

  async function api(path, body) {
    const opts = { headers: { Authorization: "Bearer " + token, Accept: "application/json" } };
    if (body !== undefined) {
      opts.method = "POST"; opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body);
    }
    const res = await fetch(API + path, opts);
    const data = await res.json().catch(() => null);
    if (res.status === 401 || res.status === 403) {
      const err = new ApiError(res.status, data);
      signOut(explain(err));
      throw err;
    }
    if (!res.ok) throw new ApiError(res.status, data);
    return data;
  }

  async function publicJson(path) {
    const res = await fetch(API + path, { headers: { Accept: "application/json" } });
    return res.ok ? res.json() : null;
  }

  function explain(err) {
    if (err.code === "invalid_token" && /expired/i.test(err.message))
      return "Your token has expired. Get a fresh one (python -m insights token) and sign in again.";
    if (err.code === "insufficient_scope") return "This token lacks the insights:read scope: " + err.message + ".";
    if (err.code === "missing_token") return "";
    if (err.code === "auth_not_configured") return "The API has no key material configured: ask its operator.";
    return "The API refused this token (" + (err.code || err.status) + "): " + err.message + ".";
  }

  // -- sign-in --
  function showSignIn(why) {
    for (const v of VIEWS) $("view-" + v).hidden = true;
    $("nav").hidden = true; $("signout").hidden = true;
    $("signin").hidden = false;
    $("signin-why").textContent = why || "";
    $("status").textContent = "Not signed in";
    $("token").focus();
  }
  function signOut(why) {
    token = null; sessionStorage.removeItem(KEY);
    showSignIn(why);
  }

  // -- charts: one helper draws a labelled figure, its canvas and the table alternative --
  function table(headers, rows, caption) {
    const head = el("tr", {}, headers.map((h) => el("th", { scope: "col", class: h.num ? "num" : null, text: h.label || h })));
    const body = rows.map((r) => el("tr", {}, r.map((c, i) => {
      const cls = headers[i] && headers[i].num ? "num" : null;
      return c instanceof Node ? el("td", { class: cls }, c) : el("td", { class: cls, text: c === null ? "–" : String(c) });
    })));
    // a region that may scroll sideways: focusable, so the keyboard can scroll it too
    return el("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": caption || "table" }, el("table", {}, caption ? el("caption", { text: caption }) : null,
      el("thead", {}, head), el("tbody", {}, body)));
  }

  function figure(box, title, summary, headers, rows) {
    const id = "fig" + (++figSeq);
    const plot = el("div", { class: "chart", role: "img", "aria-label": title + ". " + summary });
    box.replaceChildren(el("figure", { "aria-labelledby": id }, el("figcaption", { id, text: title }), plot,
      el("details", {}, el("summary", { text: "Show the numbers as a table" }), table(headers, rows))));
    return plot;
  }

  function draw(plot, opts, data) {
    if (!window.uPlot) { plot.append(el("p", { class: "error", text: "The chart library did not load." })); return null; }
    const width = Math.max(plot.clientWidth || plot.parentNode.clientWidth || 300, 260);
    const chart = new window.uPlot(Object.assign({ width, height: opts.height || 240 }, opts), data, plot);
    charts.push([chart, plot]);
    return chart;
  }

  function bars(box, { title, summary, labels, values, yLabel, color, fmt, headers }) {
    const plot = figure(box, title, summary, headers || ["", { label: yLabel, num: true }],
      labels.map((l, i) => [l, (fmt || fmtNum)(values[i])]));
    const xs = labels.map((_, i) => i);
    const tilt = labels.length * Math.max(...labels.map((l) => String(l).length)) > 48;
    return draw(plot, {
      legend: { show: false }, cursor: { drag: { x: false, y: false } },
      scales: { x: { time: false, range: [-0.6, labels.length - 0.4] }, y: { range: (u, lo, hi) => [0, hi * 1.08 || 1] } },
      axes: [{ splits: () => xs, values: (u, s) => s.map((i) => labels[i] ?? ""), rotate: tilt ? -35 : 0,
               size: tilt ? 70 : 40, gap: 4 },
             { label: yLabel, size: 60, values: (u, s) => s.map((v) => fmtNum(v)) }],
      series: [{}, { label: yLabel, stroke: color || BLUE, fill: color || BLUE, width: 0,
                     paths: window.uPlot && window.uPlot.paths.bars({ size: [0.75, 80] }), points: { show: false } }],
    }, [xs, values]);
  }

  function vline(u, x, color, dash, label, row = 0) {
    if (x === null || x === undefined || !Number.isFinite(x)) return;
    const ctx = u.ctx, px = u.valToPos(x, "x", true);
    if (px < u.bbox.left - 1 || px > u.bbox.left + u.bbox.width + 1) return;
    ctx.save(); ctx.strokeStyle = color; ctx.lineWidth = 2 * devicePixelRatio; ctx.setLineDash(dash);
    ctx.beginPath(); ctx.moveTo(px, u.bbox.top); ctx.lineTo(px, u.bbox.top + u.bbox.height); ctx.stroke();
    if (label) {
      ctx.fillStyle = color; ctx.font = `${12 * devicePixelRatio}px sans-serif`;
      ctx.fillText(label, px + 4 * devicePixelRatio, u.bbox.top + (14 + 14 * row) * devicePixelRatio);
    }
    ctx.restore();
  }

  function shade(u, lo, hi, color) {
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) return;
    const a = u.valToPos(lo, "x", true), b = u.valToPos(hi, "x", true);
    u.ctx.save(); u.ctx.fillStyle = color; u.ctx.fillRect(a, u.bbox.top, b - a, u.bbox.height); u.ctx.restore();
  }

  window.addEventListener("resize", () => {
    for (const [chart, plot] of charts) if (plot.isConnected) chart.setSize({ width: Math.max(plot.clientWidth, 260), height: chart.height });
  });
  function clearCharts(box) {
    for (let i = charts.length - 1; i >= 0; i--) if (box.contains(charts[i][1])) { charts[i][0].destroy(); charts.splice(i, 1); }
  }

  // -- views --
  const loaders = {
    overview: loadOverview,
    customer: async (id) => {  // no id asked: the customer with the most value at risk
      id = id || $("customer-id").value || ((await api("/at-risk-customers?limit=1")).at_risk_customers[0] || {}).customer_id;
      $("customer-id").value = id || "";
      return id ? loadCustomer(id) : null;
    },
    product: (id) => loadProduct(id),
    quality: loadQuality,
    cohorts: loadCohorts,
  };
  window.Dashboard = window.Dashboard || {};

  async function route() {
    const [name, ...rest] = location.hash.replace(/^#/, "").split("/");
    const view = VIEWS.includes(name) && !(name === "cohorts" && !hasCohorts()) ? name : "overview";
    const arg = rest.length ? decodeURIComponent(rest.join("/")) : "";
    for (const v of VIEWS) $("view-" + v).hidden = v !== view;
    for (const a of document.querySelectorAll("#nav a"))
      if (a.dataset.view === view) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
    $("status").textContent = "Loading " + view + "…";
    document.body.dataset.view = view; document.body.dataset.state = "loading";
    try {
      await loaders[view](arg);
      $("status").textContent = overview ? "Snapshot as of " + overview.as_of : "";
      document.body.dataset.state = "ready";
    } catch (err) {
      document.body.dataset.state = "error";
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) return;
      $("status").textContent = "";
      const out = $("view-" + view).querySelector("[id$='-out']") || $("view-" + view);
      out.append(el("p", { class: "error", role: "alert", text: "Could not load: " + err.message }));
    }
  }

  function kpi(label, value, sub) {
    return el("div", { class: "kpi" }, el("div", { class: "label", text: label }), el("div", { class: "value", text: value }),
      sub ? el("div", { class: "sub", text: sub }) : null);
  }

  async function loadOverview() {
    const [ov, seg, risk, health] = await Promise.all([api("/overview"), api("/segments"),
      api("/at-risk-customers?limit=20"), publicJson("/health")]);
    overview = ov; currency = ov.currency || "USD"; fillProducts(ov.products || []);
    $("kpis").replaceChildren(
      kpi("Customers", fmtNum(ov.customers)),
      kpi("Active customers", fmtNum(ov.active_customers), `ordered in the last ${ov.active_days} days`),
      kpi("Revenue, last 90 days", money(ov.revenue_90d), ov.revenue_90d === null ? "not in this snapshot" : "customers' orders"),
      kpi("Predicted revenue, next 30 days", money(ov.predicted_revenue_30d), "sum of customers' predicted spend"),
      kpi("Predicted CLV", money(ov.predicted_clv_total), `next ${ov.clv_horizon_days} days, all customers`),
      kpi("Value at risk", money(ov.value_at_risk_total), "churn probability × CLV"));
    const snap = (health && health.snapshot) || {};
    const age = snap.age_seconds === null || snap.age_seconds === undefined ? "" : ", published " + ago(snap.age_seconds);
    $("freshness").className = "fresh" + (health && health.status === "degraded" ? " degraded" : "");
    $("freshness").textContent = `Snapshot as of ${ov.as_of}${age}` + (snap.lake_last_order_date ? `; data up to ${snap.lake_last_order_date}` : "")
      + (health && health.status === "degraded" ? ". Degraded: " + (health.reasons || []).join(" ") : ".");
    for (const id of ["seg-chart", "risk-chart", "clv-chart"]) clearCharts($(id));
    const segs = seg.segments || [];
    bars($("seg-chart"), { title: "Customers per segment", yLabel: "customers", labels: segs.map((s) => s.segment),
      values: segs.map((s) => s.count), summary: segs.map((s) => `${s.segment} ${fmtNum(s.count)}`).join(", ") });
    const h = ov.churn_histogram, labels = h.counts.map((_, i) => `${fmtNum(100 * h.edges[i])}–${pct(h.edges[i + 1])}`);
    const levels = (ov.risk_levels || []).filter((r) => r.count > 0);
    bars($("risk-chart"), { title: "Churn risk: customers by probability of leaving", yLabel: "customers", labels,
      values: h.counts, color: RED, summary: levels.map((r) => `${r.risk_level} ${fmtNum(r.count)}`).join(", ") });
    $("risk-chart").append(el("p", { class: "note" }, levels.map((r) => el("span", {},
      el("span", { class: "badge " + r.risk_level, text: r.risk_level }), ` ${fmtNum(r.count)} (${money(r.value_at_risk)} at risk) `))));
    const c = ov.clv_histogram, clvLabels = c.counts.map((_, i) => `${fmtNum(c.edges[i])}–${fmtNum(c.edges[i + 1])}`);
    bars($("clv-chart"), { title: `Predicted CLV (${currency}, next ${ov.clv_horizon_days} days): customers per band`,
      yLabel: "customers", labels: clvLabels, values: c.counts, color: GREEN,
      summary: (ov.clv_segments || []).map((s) => `${s.clv_segment} value ${fmtNum(s.count)} customers`).join(", ") });
    $("seg-table").replaceChildren(el("h3", { text: `Segment profiles (k = ${seg.n_clusters})` }), table(
      ["Segment", { label: "Customers", num: true }, { label: "Share", num: true }, { label: "Days since order", num: true },
       { label: "Orders", num: true }, { label: "Spend", num: true }, "What it means"],
      segs.map((s) => [s.segment, fmtNum(s.count), fmtNum(s.percentage, 1) + "%", fmtNum(s.avg_recency),
                       fmtNum(s.avg_frequency, 1), money(s.avg_monetary), s.description])));
    const rows = (risk.at_risk_customers || []).map((r) => [
      el("a", { href: "#customer/" + encodeURIComponent(r.customer_id), text: r.customer_id }),
      el("span", { class: "badge " + r.risk_level, text: `${r.risk_level} ${pct(r.churn_probability)}` }),
      money(r.value_at_risk), money(r.predicted_clv), fmtNum(r.recency_days),
      el("ul", { class: "reasons" }, (r.reasons || []).slice(0, 3).map((x) => el("li", { text: x.description || x.feature })))]);
    $("at-risk").replaceChildren(el("h3", { text: `At-risk customers: the ${rows.length} with the most value at risk of ${fmtNum(risk.total_above_threshold)} above ${pct(risk.threshold)}` }),
      table(["Customer", "Risk", { label: "Value at risk", num: true }, { label: "CLV", num: true },
             { label: "Days since order", num: true }, "Why"], rows));
  }

  function ago(seconds) {
    if (seconds < 3600) return Math.round(seconds / 60) + " min ago";
    if (seconds < 172800) return Math.round(seconds / 3600) + " h ago";
    return Math.round(seconds / 86400) + " days ago";
  }

  function fillProducts(products) {
    $("product-list").replaceChildren(...products.map((p) => el("option", { value: p.product_id })));
  }

  window.Dashboard.api = api; window.Dashboard.el = el; window.Dashboard.fmt = { fmtNum, money, pct, first };
  window.Dashboard.parts = { table, figure, draw, bars, vline, shade, clearCharts, kpi, BLUE, BAND, WIDE_BAND, ORANGE, GREEN, RED };
  window.Dashboard.paths = () => paths;
  window.Dashboard.overview = async () => overview || (overview = await api("/overview"));
  window.Dashboard.setCurrency = (c) => { currency = c || currency; };

  function hasCohorts() { return [...paths].some((p) => /\/cohorts$/.test(p)); }
  const later = (name) => (arg) => window.Dashboard[name](arg);
  async function loadCustomer(id) { return later("customer")(id); }
  async function loadProduct(id) { return later("product")(id); }
  async function loadQuality() { return later("quality")(); }
  async function loadCohorts() { return later("cohorts")(); }

  // Which routes this API has (the customer profile, cohorts): asked once, after the first view has its data
  // (a local server answers one request at a time; the OpenAPI document is built on its first ask).
  let pathsReady = null;
  function knownPaths() {
    pathsReady = pathsReady || publicJson("/openapi.json").then((doc) => {
      paths = new Set(Object.keys((doc && doc.paths) || {}));
      document.querySelector('#nav a[data-view="cohorts"]').hidden = !hasCohorts();
    });
    return pathsReady;
  }
  async function start() {
    $("signin").hidden = true; $("nav").hidden = false; $("signout").hidden = false;
    if (/^#cohorts/.test(location.hash)) await knownPaths();
    await route();
    await knownPaths();
  }
  window.Dashboard.pathsReady = knownPaths;

  function boot() {
    const m = location.hash.match(/^#token=([^&]+)/);
    if (m) {  // the link `serve` prints: keep the token in this tab, drop it from the address bar and history
      sessionStorage.setItem(KEY, decodeURIComponent(m[1]));
      history.replaceState(null, "", location.pathname + location.search + "#overview");
    }
    token = sessionStorage.getItem(KEY);
    $("signin-form").addEventListener("submit", (e) => {
      e.preventDefault();
      token = $("token").value.trim().replace(/^Bearer\s+/i, "");
      $("token").value = "";
      sessionStorage.setItem(KEY, token);
      start();
    });
    $("signout").addEventListener("click", () => signOut("Signed out."));
    $("customer-form").addEventListener("submit", (e) => {
      e.preventDefault(); location.hash = "#customer/" + encodeURIComponent($("customer-id").value.trim());
    });
    $("product-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const target = "#product/" + encodeURIComponent($("product-id").value.trim());
      if (location.hash === target) route(); else location.hash = target;
    });
    window.addEventListener("hashchange", () => { if (token) route(); });
    if (token) start(); else showSignIn("");
  }
  document.addEventListener("DOMContentLoaded", boot);
})();
