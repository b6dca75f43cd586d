// The a2e dashboard: reads /api/v1/dashboard/metrics with an admin key kept in
// sessionStorage (never in the URL) and draws its charts as SVG. No library, no CDN.
"use strict";

(() => {
  const KEY = "a2e.dashboard.key";
  const REFRESH_MS = 30000;
  const SVG = "http://www.w3.org/2000/svg";
  const $ = (id) => document.getElementById(id);
  let timer = null;

  // -- small DOM helpers ---------------------------------------------------------------
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value !== null && value !== undefined) node.setAttribute(name, value);
    }
    for (const child of children.flat()) {
      if (child !== null && child !== undefined) {
        node.append(child instanceof Node ? child : document.createTextNode(String(child)));
      }
    }
    return node;
  }

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
    for (const child of children) {
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  const number = (value) => (value === null || value === undefined ? "–" : Number(value).toLocaleString("en"));
  const percent = (value) => (value === null || value === undefined ? "–" : `${(value * 100).toFixed(1)} %`);
  function duration(ms) {
    if (ms === null || ms === undefined) return "–";
    return ms >= 1000 ? `${(ms / 1000).toFixed(ms >= 10000 ? 0 : 1)} s` : `${Math.round(ms)} ms`;
  }
  function bytes(value) {
    if (value < 1024) return `${value} B`;
    if (value < 1048576) return `${(value / 1024).toFixed(1)} KiB`;
    return `${(value / 1048576).toFixed(1)} MiB`;
  }
  const when = (iso) => (iso ? iso.replace("T", " ").slice(0, 19) : "–");

  function table(headers, rows, empty) {
    if (!rows.length) return el("p", { class: "muted" }, empty);
    return el("table", {},
      el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, rows.map((cells) => el("tr", {}, cells.map((c) => el("td", {}, c))))));
  }

  const badge = (status) => el("span", { class: `badge ${status}` }, status);
  const stats = (pairs) => el("dl", { class: "stats" },
    pairs.map(([label, value, name]) => el("div", { "data-figure": name },
      el("dt", {}, label), el("dd", {}, value))));

  // -- charts ---------------------------------------------------------------------------
  // Charts are drawn at their container's width in pixels, so text stays 12 px on any screen.
  const widthOf = (id, fallback) => Math.max(280, Math.floor($(id).clientWidth) || fallback);

  function timelineChart(days) {
    const width = widthOf("timeline", 1000), height = 220, left = 36, bottom = 22, top = 10;
    const max = Math.max(1, ...days.map((d) => d.total));
    const step = (width - left) / Math.max(1, days.length);
    const bar = Math.max(2, step * 0.7);
    const y = (value) => top + (height - top - bottom) * (1 - value / max);
    const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img",
      "aria-label": "Runs per day: succeeded, failed and other" });
    for (const tick of [0, max / 2, max]) {
      chart.append(svg("line", { x1: left, x2: width, y1: y(tick), y2: y(tick), class: "grid" }));
      chart.append(svg("text", { x: left - 6, y: y(tick) + 4, class: "axis end" }, Math.round(tick)));
    }
    days.forEach((day, i) => {
      const x = left + i * step + (step - bar) / 2;
      let base = 0;
      for (const [part, count] of [["ok", day.success], ["failed", day.failed],
        ["other", day.total - day.success - day.failed]]) {
        if (count > 0) {
          chart.append(svg("rect", { x, width: bar, y: y(base + count), height: y(base) - y(base + count),
            class: `bar ${part}` }, svg("title", {}, `${day.date}: ${count} ${part === "ok" ? "succeeded" : part}`)));
        }
        base += count;
      }
      const every = Math.ceil(days.length / 7);
      if (i % every === 0 || i === days.length - 1) {
        chart.append(svg("text", { x: x + bar / 2, y: height - 6, class: "axis middle" }, day.date.slice(5)));
      }
    });
    return el("div", {}, chart, legend([["ok", "succeeded"], ["failed", "failed"], ["other", "other"]]));
  }

  function legend(items) {
    return el("p", { class: "legend" }, items.map(([cls, label]) =>
      el("span", {}, el("i", { class: `swatch ${cls}` }), label)));
  }

  function barChart(container, rows, label, value, title) {
    if (!rows.length) return el("p", { class: "muted" }, "Nothing in this period.");
    const width = widthOf(container, 360), row = 24, labelWidth = 136, valueWidth = 44;
    const max = Math.max(1, ...rows.map(value));
    const chart = svg("svg", { viewBox: `0 0 ${width} ${rows.length * row + 4}`, role: "img", "aria-label": title });
    rows.forEach((item, i) => {
      const y = i * row + 4;
      const length = (width - labelWidth - valueWidth) * value(item) / max;
      chart.append(svg("text", { x: labelWidth - 8, y: y + 15, class: "label end" }, label(item)));
      chart.append(svg("rect", { x: labelWidth, y, width: Math.max(1, length), height: row - 8, class: "bar ok" },
        svg("title", {}, `${label(item)}: ${number(value(item))}`)));
      if (item.failures) {
        chart.append(svg("rect", { x: labelWidth, y, width: Math.max(1, (width - labelWidth - valueWidth) * item.failures / max),
          height: row - 8, class: "bar failed" }, svg("title", {}, `${label(item)}: ${item.failures} failed`)));
      }
      chart.append(svg("text", { x: labelWidth + length + 6, y: y + 15, class: "label" }, number(value(item))));
    });
    return chart;
  }

  // -- panels ---------------------------------------------------------------------------
  let shown = null;

  function render(data) {
    shown = data;
    const o = data.overview;
    $("overview").replaceChildren(...[
      ["Executions", number(o.total_executions), "total_executions"],
      ["Succeeded", number(o.successful_executions), "successful_executions"],
      ["Failed", number(o.failed_executions), "failed_executions"],
      ["Success rate", percent(o.success_rate), "success_rate"],
      ["Average duration", duration(o.average_duration_ms), "average_duration_ms"],
      ["Agents", number(o.total_agents), "total_agents"],
      ["Interrupted / cancelled", `${number(o.interrupted)} / ${number(o.cancelled)}`, "interrupted"],
      ["Running / queued", `${number(o.running)} / ${number(o.queued)}`, "running"],
    ].map(([label, value, name]) => el("div", { class: "figure", "data-figure": name },
      el("span", { class: "value" }, value), el("span", { class: "label" }, label))));

    $("timeline").replaceChildren(timelineChart(data.timeline));
    $("operations").replaceChildren(
      barChart("operations", data.operations, (r) => r.operation_type, (r) => r.count, "Steps per operation type"),
      el("div", { class: "scroll" }, table(["Type", "Steps", "Failures", "Average", "Total"],
        data.operations.map((r) => [r.operation_type, number(r.count), number(r.failures),
          duration(r.average_duration_ms), duration(r.total_duration_ms)]), "")));
    const dist = data.duration_distribution;
    $("durations").replaceChildren(
      barChart("durations", dist.buckets, (b) => b.label, (b) => b.count, "Finished runs per duration"),
      stats([["Min", duration(dist.min_ms), "min_ms"], ["Median", duration(dist.median_ms), "median_ms"],
        ["Max", duration(dist.max_ms), "max_ms"]]));
    $("agents").replaceChildren(table(["Agent", "Runs", "Succeeded", "Failed", "Success rate", "Average"],
      data.success_rate_by_agent.map((a) => [a.agent, number(a.total), number(a.succeeded), number(a.failed),
        percent(a.success_rate), duration(a.average_duration_ms)]), "No runs in this period."));

    const limits = data.rate_limiting;
    $("rate-limiting").replaceChildren(
      stats([["Rejections", number(limits.total_rejections), "total_rejections"]]),
      table(["Limit", "Agent", "Rejections"], limits.rejections.map((r) => [r.limit, r.agent, number(r.rejections)]),
        "No request was refused in this period."),
      el("h3", {}, "Near their limits now"),
      table(["Agent", "Limit", "Used"], limits.near_limits.map((n) => [n.agent, n.limit,
        `${number(n.used)} of ${number(n.quota)} (${percent(n.usage)})`]), "No agent is near a limit."));
    const retry = data.retry;
    $("retry").replaceChildren(stats([
      ["Retries", number(retry.retries), "retries"], ["Retried steps", number(retry.retried_steps), "retried_steps"],
      ["Runs recovered", number(retry.recovered_runs), "recovered_runs"], ["Give-ups", number(retry.give_ups), "give_ups"]]));
    const cache = data.cache;
    $("cache").replaceChildren(stats([
      ["Hit rate", percent(cache.hit_rate), "hit_rate"], ["Hits", number(cache.hits), "hits"],
      ["Misses", number(cache.misses), "misses"], ["Entries", number(cache.entries), "entries"],
      ["Size", bytes(cache.bytes), "bytes"], ["Evictions", number(cache.evictions), "evictions"],
      ["Cached steps (period)", number(cache.cached_steps), "cached_steps"]]),
    el("p", { class: "muted" }, "Counters since the start; cached steps count this period."));

    $("recent").replaceChildren(table(["Run", "Execution", "Agent", "Status", "Started (UTC)", "Duration", "Error"],
      data.recent_executions.map((r) => [el("a", { href: `#run/${r.run_id}` }, `#${r.run_id}`), r.execution_id,
        r.agent, badge(r.status), when(r.started_at), duration(r.duration_ms), r.error || ""]),
    "No runs in this period."));
    $("updated").textContent = `updated ${new Date().toLocaleTimeString("en-GB")}`;
  }

  function renderRun(run) {
    $("run-title").textContent = `Run #${run.run_id} · ${run.execution_id}`;
    $("run").replaceChildren(
      stats([["Status", badge(run.status), "status"], ["Started (UTC)", when(run.started_at), "started_at"],
        ["Duration", duration(run.duration_ms), "duration_ms"],
        ["Error", run.error ? `${run.error.type}: ${run.error.message}` : "–", "error"]]),
      table(["#", "Operation", "Type", "Status", "Attempts", "Duration", "Cached", "Error"],
        run.steps.map((s) => [s.position, s.operationId, s.type, badge(s.status),
          s.attempts.map((a) => a.status ?? a.error ?? "·").join(" → "), duration(s.duration_ms),
          s.cached ? "yes" : "", s.error ? s.error.message : ""]), "No steps recorded."));
    $("run-panel").hidden = false;
  }

  // -- data -----------------------------------------------------------------------------
  async function get(path) {
    const response = await fetch(path, { headers: { Authorization: `Bearer ${sessionStorage.getItem(KEY)}` },
      cache: "no-store" });
    if (response.status === 401 || response.status === 403) {
      signOut(response.status === 401 ? "That key is not valid." : "That key is not an admin key.");
      throw new Error("not allowed");
    }
    const body = await response.json();
    if (!response.ok) throw new Error(body.error ? body.error.message : `HTTP ${response.status}`);
    return body;
  }

  function query() {
    const form = $("filters");
    const params = new URLSearchParams({ days: form.days.value });
    if (form.agent.value) params.set("agent", form.agent.value);
    return params.toString();
  }

  async function load() {
    try {
      render(await get(`/api/v1/dashboard/metrics?${query()}`));
      $("board-error").textContent = "";
    } catch (error) {
      if (sessionStorage.getItem(KEY)) $("board-error").textContent = `Could not refresh: ${error.message}`;
    }
  }

  async function loadAgents() {
    try {
      const agents = await get("/api/v1/admin/agents");
      const select = $("filters").agent;
      const chosen = select.value;
      select.replaceChildren(el("option", { value: "" }, "all agents"),
        ...agents.map((a) => el("option", { value: a.name }, a.name)));
      select.value = chosen;
    } catch (error) { /* the filter keeps its options */ }
  }

  async function showRunFromHash() {
    const match = /^#run\/(\d+)$/.exec(location.hash);
    if (!match || !sessionStorage.getItem(KEY)) return;
    try {
      renderRun(await get(`/api/v1/admin/runs/${match[1]}`));
      $("run-panel").scrollIntoView({ block: "nearest" });
    } catch (error) {
      $("board-error").textContent = `Could not read run ${match[1]}: ${error.message}`;
    }
  }

  // -- signing in and out ---------------------------------------------------------------
  function signIn() {
    $("login").hidden = true;
    $("board").hidden = false;
    $("filters").hidden = false;
    loadAgents();
    load().then(showRunFromHash);
    clearInterval(timer);
    timer = setInterval(load, REFRESH_MS);
  }

  function signOut(message) {
    sessionStorage.removeItem(KEY);
    clearInterval(timer);
    $("board").hidden = true;
    $("filters").hidden = true;
    $("login").hidden = false;
    $("login-error").textContent = message || "";
    $("key").value = "";
    $("key").focus();
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("login-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const key = $("key").value.trim();
      if (!key) return;
      sessionStorage.setItem(KEY, key);
      $("key").value = "";
      signIn();
    });
    $("filters").addEventListener("change", load);
    $("filters").addEventListener("submit", (event) => event.preventDefault());
    $("sign-out").addEventListener("click", () => signOut());
    window.addEventListener("hashchange", showRunFromHash);
    let resizing = null;
    window.addEventListener("resize", () => {
      clearTimeout(resizing);
      resizing = setTimeout(() => { if (shown && !$("board").hidden) render(shown); }, 150);
    });
    if (sessionStorage.getItem(KEY)) signIn(); else $("key").focus();
  });
})();
