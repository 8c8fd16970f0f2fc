/* The dashboard's customer, product, model-quality and cohort views (dashboard.js holds the shell and the overview).
   Answers are read defensively: a field a newer or older API lacks is left out, never guessed. */
(function () {
  "use strict";
  const D = window.Dashboard, el = D.el, { fmtNum, money, pct, first } = D.fmt;
  const { table, figure, draw, vline, shade, clearCharts, kpi, BLUE, BAND, WIDE_BAND, ORANGE, GREEN, RED } = D.parts;
  const $ = (id) => document.getElementById(id);
  const isNum = (v) => typeof v === "number" && Number.isFinite(v);

  function facts(pairs) {
    return el("dl", { class: "facts" }, pairs.filter((p) => p[1] !== undefined && p[1] !== null && p[1] !== "–")
      .map(([k, v]) => [el("dt", { text: k }), el("dd", {}, v instanceof Node ? v : String(v))]));
  }
  const reasonsList = (rs) => el("ul", { class: "reasons" }, (rs || []).map((r) =>
    el("li", { text: (r.description || r.feature || r.reason || JSON.stringify(r)) + (r.strength ? ` (${r.strength})` : "") })));

  // -- customer: the profile route when the API has it, else the churn and CLV answers --
  D.customer = async function (id) {
    const out = $("customer-out");
    out.replaceChildren(el("p", { class: "muted", text: "Loading " + id + "…" }));
    await D.pathsReady();
    const profileRoute = [...D.paths()].find((p) => /\/customers\/\{[^}]+\}$/.test(p));
    let profile = null;
    if (profileRoute) {
      try { profile = await D.api("/customers/" + encodeURIComponent(id)); } catch (err) {
        if (err.status !== 404) throw err;
        out.replaceChildren(el("p", { class: "error", role: "alert", text: `No customer ${id} in this snapshot.` }));
        return;
      }
    }
    const [churnAns, clvAns] = profile ? [null, null] : await Promise.all([
      D.api("/churn", { customer_ids: [id] }), D.api("/clv", { customer_ids: [id] })]);
    const churn = profile ? (profile.churn || profile) : (churnAns.predictions || [])[0];
    const clv = profile ? (profile.clv || profile) : (clvAns.predictions || [])[0];
    if (!churn && !clv) {
      out.replaceChildren(el("p", { class: "error", role: "alert", text: `No customer ${id} in this snapshot.` }));
      return;
    }
    // the profile keeps its next purchases apart from its CLV (GET customers/{id}: `purchases`)
    const p = profile || {}, c = churn || {}, v = Object.assign({}, clv || {}, p.purchases || {});
    const interval = v.clv_interval || {};
    const risk = first(c.risk_level, p.risk_level);
    const action = p.next_best_action || p.recommended_action;
    const recs = p.recommended_products || p.recommendations || [];
    out.replaceChildren(
      el("div", { class: "kpis" },
        kpi("Churn probability", pct(first(c.churn_probability, p.churn_probability)), risk ? "risk: " + risk : null),
        kpi("Predicted CLV", money(first(v.predicted_clv, p.predicted_clv)),
            isNum(interval.lower) ? `${pct(interval.level)} interval ${money(interval.lower)}–${money(interval.upper)}` : null),
        kpi("Next 30 days", money(first(v.predicted_spend_30d, p.predicted_spend_30d)),
            "purchase probability " + pct(first(v.purchase_probability_30d, p.purchase_probability_30d)))),
      el("div", { class: "grid" },
        el("div", { class: "card" }, el("h3", { text: "Customer " + id }), facts([
          ["Segment", p.segment && typeof p.segment === "object" ? p.segment.name : p.segment], ["Risk level", risk ? el("span", { class: "badge " + risk, text: risk }) : null],
          ["CLV segment", first(v.clv_segment, p.clv_segment)], ["CLV method", first(v.clv_method, p.clv_method)],
          ["Predicted orders", isNum(first(v.predicted_orders, p.predicted_orders)) ? fmtNum(first(v.predicted_orders, p.predicted_orders), 1) : null],
          ["Next order", first(v.next_order_date, p.next_order_date, "none expected")],
          ["Recommended action", action ? (action.action || action.label || action.name || String(action)) : null],
          ["Why", action && action.reason ? action.reason : null]])),
        el("div", { class: "card" }, el("h3", { text: "Why this churn risk" }), reasonsList(c.churn_factors || c.reasons || p.reasons),
          recs.length ? el("h3", { text: "Recommended products" }) : null,
          recs.length ? el("ul", {}, recs.map((r) => el("li", { text: r.product_id || String(r) }))) : null)));
  };

  // -- product: forecast with its band (and the what-if), elasticity with its interval, the price curve --
  D.product = async function (id) {
    const out = $("product-out");
    const ov = await D.overview();
    if (!id) {
      const pick = (ov.products || []).find((p) => p.elasticity_status === "ok") || (ov.products || [])[0];
      if (!pick) { out.replaceChildren(el("p", { class: "muted", text: "This snapshot forecasts no product." })); return; }
      id = pick.product_id;
    }
    $("product-id").value = id;
    const known = (ov.products || []).find((p) => p.product_id === id) || {};
    const planned = parseFloat($("planned-price").value), cost = parseFloat($("unit-cost").value);
    clearCharts(out);
    out.replaceChildren(el("p", { class: "muted", text: "Loading " + id + "…" }));
    const days = 30;
    const [fc, what, el_] = await Promise.all([
      D.api("/forecast", { product_id: id, forecast_days: days }),
      isNum(planned) && planned > 0 ? D.api("/forecast", { product_id: id, forecast_days: days, planned_price: planned }) : null,
      D.api("/price-elasticity", { product_id: id }).catch((e) => ({ error: e }))]);
    D.setCurrency(fc.currency);
    const fBox = el("div", { class: "card" }), eBox = el("div", { class: "card" }), pBox = el("div", { class: "card" });
    out.replaceChildren(el("div", { class: "grid" }, fBox, eBox), pBox);
    forecastChart(fBox, fc, what);
    elasticityView(eBox, el_);
    const price = first(known.last_price, el_.price_range && el_.price_range.mean);
    const qty = Math.max(first(known.predicted_quantity_30d, fc.total_predicted_quantity, 1), 0.01);
    if (el_.error || !isNum(price)) {
      pBox.replaceChildren(el("h3", { text: "Price and profit" }), el("p", { class: "muted",
        text: "No price recommendation: " + (el_.error ? el_.error.message : "no observed price") }));
      return;
    }
    const body = { product_id: id, current_price: price, current_quantity: qty };
    if (isNum(cost) && cost >= 0) body.cost_per_unit = cost;
    let opt;
    try { opt = await D.api("/price-optimization", body); } catch (err) {
      if (err.status === 401 || err.status === 403) throw err;
      pBox.replaceChildren(el("h3", { text: "Price and profit" }), el("p", { class: "muted", text: "No price recommendation: " + err.message }));
      return;
    }
    priceChart(pBox, opt);
  };

  function forecastChart(box, fc, what) {
    const pts = fc.forecast || [], alt = what ? what.forecast || [] : [];
    const xs = pts.map((p) => Date.parse(p.date) / 1000);
    const level = fc.interval_level ? pct(fc.interval_level) : "";
    const wide = pts.length > 0 && pts[0].confidence_lower_wide != null && fc.wide_interval_level;
    const title = `Forecast for ${fc.product_id}: units a day, ${level} band` + (wide ? ` (lighter: ${pct(fc.wide_interval_level)})` : "") +
      (what ? `, and at ${money(what.what_if.planned_price, 2)}` : "");
    const headers = ["Date", { label: "Units", num: true }, { label: "Low", num: true }, { label: "High", num: true }];
    if (wide) headers.push({ label: `Low ${pct(fc.wide_interval_level)}`, num: true }, { label: `High ${pct(fc.wide_interval_level)}`, num: true });
    if (what) headers.push({ label: "At planned price", num: true });
    const plot = figure(box, title, `${fmtNum(fc.total_predicted_quantity)} units over ${fc.forecast_days} days (${fc.method}, ${fc.status})` +
      (what ? `; ${fmtNum(what.total_predicted_quantity)} at the planned price` : ""), headers,
      pts.map((p, i) => [p.date, fmtNum(p.predicted_quantity, 1), fmtNum(p.confidence_lower, 1), fmtNum(p.confidence_upper, 1)]
        .concat(wide ? [fmtNum(p.confidence_lower_wide, 1), fmtNum(p.confidence_upper_wide, 1)] : [])
        .concat(what ? [fmtNum(alt[i] && alt[i].predicted_quantity, 1)] : [])));
    const series = [{}, { label: "forecast", stroke: BLUE, width: 2 }, { label: "low", stroke: BAND, width: 1 },
      { label: "high", stroke: BAND, width: 1 }];
    const data = [xs, pts.map((p) => p.predicted_quantity), pts.map((p) => p.confidence_lower), pts.map((p) => p.confidence_upper)];
    const bands = [{ series: [3, 2], fill: BAND }];
    if (wide) {
      series.push({ label: "low (wide)", stroke: BAND, width: 1, dash: [2, 3] }, { label: "high (wide)", stroke: BAND, width: 1, dash: [2, 3] });
      data.push(pts.map((p) => p.confidence_lower_wide), pts.map((p) => p.confidence_upper_wide));
      bands.push({ series: [5, 4], fill: WIDE_BAND });
    }
    if (what) { series.push({ label: "at planned price", stroke: ORANGE, width: 2, dash: [6, 4] }); data.push(alt.map((p) => p.predicted_quantity)); }
    draw(plot, { series, bands, scales: { y: { range: (u, lo, hi) => [0, hi * 1.1 || 1] } },
      axes: [{}, { label: "units", size: 55 }] }, data);
    box.append(el("p", { class: "note", text: `Total ${fmtNum(fc.total_predicted_quantity)} units in ${fc.forecast_days} days` +
      (fc.method_note ? `: ${fc.method_note}` : `; method ${fc.method}` + (fc.model ? ` (${fc.model})` : "")) +
      (fc.grain_note ? `; ${fc.grain_note}` : "") +
      (what && what.what_if ? `. What-if: ${fmtNum(what.total_predicted_quantity)} units at ${money(what.what_if.planned_price, 2)} ` +
        `(base ${money(what.what_if.base_price, 2)}, ${what.what_if.method})` : "") }));
  }

  function elasticityView(box, e) {
    box.replaceChildren(el("h3", { text: "Price elasticity" }));
    if (e.error) { box.append(el("p", { class: "muted", text: e.error.message })); return; }
    const ci = e.confidence_interval || {}, coef = e.elasticity_coefficient;
    box.append(el("p", { text: e.interpretation || "" }), facts([
      ["Elasticity", isNum(coef) ? fmtNum(coef, 2) : "–"],
      [`${pct(ci.level || 0.95)} interval`, isNum(ci.lower) ? `${fmtNum(ci.lower, 2)} to ${fmtNum(ci.upper, 2)}` : "–"],
      ["Type", e.elasticity_type], ["p-value", isNum(e.p_value) ? (e.p_value < 0.001 ? "< 0.001" : fmtNum(e.p_value, 3)) : null],
      ["Days in the fit", fmtNum(e.n_observations)],
      ["Prices seen", e.price_range && isNum(e.price_range.min) ? `${money(e.price_range.min, 2)}–${money(e.price_range.max, 2)}` : null]]));
    if (!isNum(coef) || !isNum(ci.lower) || !isNum(ci.upper)) return;
    const lo = Math.min(ci.lower, coef, -1) - 0.25, hi = Math.max(ci.upper, coef, 0) + 0.25, at = (v) => `${(100 * (v - lo)) / (hi - lo)}%`;
    const w = el("div", { class: "whisker", role: "img",
      "aria-label": `Elasticity ${fmtNum(coef, 2)}, interval ${fmtNum(ci.lower, 2)} to ${fmtNum(ci.upper, 2)}; -1 marks unit elasticity, 0 no effect` });
    const bar = el("div", { class: "ci" }), pt = el("div", { class: "pt" });
    bar.style.left = at(ci.lower); bar.style.width = `${(100 * (ci.upper - ci.lower)) / (hi - lo)}%`; pt.style.left = at(coef);
    w.append(bar, pt);
    box.append(w, el("p", { class: "note", text: `Scale ${fmtNum(lo, 1)} to ${fmtNum(hi, 1)}: left of -1 demand is elastic, between -1 and 0 inelastic.` }));
  }

  function priceChart(box, r) {
    const curve = r.profit_curve || r.curve || [];
    const metric = curve.some((p) => isNum(p.profit)) ? "profit" : "revenue";
    const g = r.guardrails || {}, rec = first(r.recommended_price, r.optimal_price), cur = r.current_price;
    const title = `Price and ${metric}: current ${money(cur, 2)}, recommended ${money(rec, 2)}`;
    const headers = [{ label: "Price", num: true }, { label: metric, num: true }, { label: "Low", num: true }, { label: "High", num: true }];
    box.replaceChildren();
    const chartBox = el("div");
    box.append(chartBox);
    const plot = figure(chartBox, title, `${r.recommendation || r.action || ""}. Allowed ${money(g.lower, 2)}–${money(g.upper, 2)}.`, headers,
      curve.map((p) => [money(p.price, 2), money(p[metric]), money(p[metric + "_low"]), money(p[metric + "_high"])]));
    if (curve.length) {
      const same = isNum(cur) && isNum(rec) && Math.abs(cur - rec) < 1e-9;
      const lines = [[cur, "#4a5360", [4, 4], same ? "" : "current", 0], [rec, GREEN, [], same ? "current = recommended" : "recommended", 1],
        [g.cost_floor, RED, [2, 3], "cost", 2], [g.observed_min, "#4a5360", [1, 3], "lowest sold", 2],
        [g.observed_max, "#4a5360", [1, 3], "highest sold", 2]];
      const xs = curve.map((p) => p.price).concat([g.observed_min, g.observed_max, g.cost_floor > 0.5 * cur ? g.cost_floor : null]).filter(isNum);
      const lo = Math.min(...xs), hi = Math.max(...xs), pad = 0.04 * (hi - lo || 1);
      draw(plot, {
        series: [{ label: "price" }, { label: metric, stroke: BLUE, width: 2 }, { label: "low", stroke: BAND }, { label: "high", stroke: BAND }],
        bands: [{ series: [3, 2], fill: BAND }], scales: { x: { time: false, range: () => [lo - pad, hi + pad] } },
        axes: [{ label: "unit price" }, { label: metric, size: 60 }],
        hooks: { drawClear: [(u) => shade(u, g.lower, g.upper, "rgba(30,107,58,0.08)")],
                 draw: [(u) => lines.forEach(([x, c, d, l, row]) => vline(u, x, c, d, l, row))] },
      }, [curve.map((p) => p.price), curve.map((p) => p[metric]), curve.map((p) => first(p[metric + "_low"], null)),
          curve.map((p) => first(p[metric + "_high"], null))]);
    } else chartBox.append(el("p", { class: "muted", text: "No curve in this answer." }));
    box.append(el("p", { class: "note", text: "Shaded: the prices the guardrails allow (cost floor, observed range with its margin, " +
      "maximum step). Dashed grey: current price; green: recommended; red: unit cost; dotted: the lowest and highest price sold at." }),
      facts([["Recommendation", r.recommendation], ["Why hold", r.hold_reason], ["Objective", r.objective],
        ["Change", isNum(r.price_change_pct) ? fmtNum(r.price_change_pct, 1) + "%" : null],
        ["Binding guardrail", r.binding_constraint],
        ["Guardrails", [["cost floor", g.cost_floor], ["observed", isNum(g.observed_min) ? `${money(g.observed_min, 2)}–${money(g.observed_max, 2)}` : null],
          ["max step", isNum(g.step_min) ? `${money(g.step_min, 2)}–${money(g.step_max, 2)}` : null]]
          .filter((x) => x[1] !== null && x[1] !== undefined).map((x) => `${x[0]} ${isNum(x[1]) ? money(x[1], 2) : x[1]}`).join("; ") || null],
        ["Note", r.note]]));
  }

  // -- model quality: one card per family --
  D.quality = async function () {
    const q = await D.api("/quality"), out = $("quality-out");
    clearCharts(out);
    if (!q.available) { out.replaceChildren(el("p", { class: "muted", text: q.note || "No model card in this snapshot." })); return; }
    out.replaceChildren(...Object.entries(q.families || {}).map(([name, card]) => {
      const box = el("div", { class: "card" }, el("h3", { text: `${name.toUpperCase()}: ${card.describes || ""}` }));
      const h = card.headline || {};
      box.append(facts(Object.entries(h).map(([k, v]) => [k.replace(/_/g, " "), isNum(v) ? fmtNum(v, 4) : typeof v === "object" ? JSON.stringify(v) : v])));
      const m = card.metrics || {};
      const cols = Object.keys(m).filter((k) => m[k] && typeof m[k] === "object");
      const names = [...new Set(cols.flatMap((c) => Object.keys(m[c]).filter((k) => isNum(m[c][k]))))];
      if (names.length) box.append(table(["Metric", ...cols.map((c) => ({ label: c, num: true }))],
        names.map((n) => [n, ...cols.map((c) => isNum(m[c][n]) ? fmtNum(m[c][n], 4) : "–")]), "Holdout metrics"));
      const cal = card.calibration_by_decile || {};
      const ours = Array.isArray(cal) ? cal : cal.model || [], theirs = Array.isArray(cal) ? [] : cal.baseline || [];
      if (ours.length) {
        const actual = (d) => first(d.observed_rate, d.mean_actual, d.actual, null);
        const predicted = (d) => first(d.mean_predicted, d.predicted, null);
        const xs = ours.map((d, i) => first(d.group, i + 1));
        const chartBox = el("div");
        box.append(chartBox);
        const plot = figure(chartBox, `${name}: predicted vs actual by decile of the prediction`,
          "calibration: the model's line lies on the actual one when it is calibrated",
          ["Decile", { label: "Actual", num: true }, { label: "Model", num: true }, { label: "Baseline", num: true }],
          ours.map((d, i) => [xs[i], fmtNum(actual(d), 3), fmtNum(predicted(d), 3), fmtNum(theirs[i] && predicted(theirs[i]), 3)]));
        draw(plot, { height: 220, scales: { x: { time: false } }, axes: [{ label: "decile of the prediction", incrs: [1, 2, 5] }, { size: 55 }],
          series: [{ label: "decile" }, { label: "actual", stroke: "#1b1f24", width: 2 }, { label: "model", stroke: BLUE, width: 2 },
                   { label: "baseline", stroke: ORANGE, width: 2, dash: [6, 4] }] },
          [xs, ours.map(actual), ours.map(predicted), ours.map((_, i) => (theirs[i] ? predicted(theirs[i]) : null))]);
      }
      const iv = card.interval;
      if (iv && isNum(iv.level)) box.append(el("p", { class: "note",
        text: `Prediction interval: nominal ${pct(iv.level)}, measured coverage ${isNum(iv.coverage) ? pct(iv.coverage, 1) : "–"}.` }));
      box.append(el("p", { class: "note", text: `Gates ${card.gates_passed ? "passed" : "not all passed"}.` }));
      return box;
    }));
  };

  // -- cohorts: shown only when the API has the route (it answers a matrix of periods by cohort) --
  D.cohorts = async function () {
    const c = await D.api("/cohorts?period=month&metric=retention"), out = $("cohorts-out");
    const rows = first(c.cohorts, c.matrix, c.rows, []);
    if (!Array.isArray(rows) || !rows.length) { out.replaceChildren(el("p", { class: "muted", text: "No cohorts in this answer." })); return; }
    const keyed = rows.map((r) => (Array.isArray(r) ? { values: r } : r));
    const width = Math.max(...keyed.map((r) => (first(r.values, r.retention, r.curve, []) || []).length));
    const cell = (v) => { const td = el("span", { text: isNum(v) ? (v <= 1 ? pct(v, 0) : fmtNum(v, 1)) : "" }); return td; };
    out.replaceChildren(el("div", { class: "card heat" }, table(["Cohort", { label: "Customers", num: true },
      ...Array.from({ length: width }, (_, i) => ({ label: "+" + i, num: true }))],
      keyed.map((r) => [first(r.cohort, r.period, r.label, ""), fmtNum(first(r.size, r.customers, r.count)),
        ...Array.from({ length: width }, (_, i) => cell((first(r.values, r.retention, r.curve, []) || [])[i]))]),
      "Retention by cohort (share of the cohort ordering in each period after the first)")));
  };
})();
