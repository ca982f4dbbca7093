// The ontap-sim job board: polls the control API twice a second and draws jobs, scripts,
// faults and the journal; its buttons and forms call the same control API. No dependencies.
"use strict";

(() => {
  const POLL_MS = 500;
  const JOURNAL_LIMIT = 100;
  const STATES = ["queued", "running", "paused", "success", "failure"];
  const TERMINAL = new Set(["success", "failure"]);
  const JOB_PATH = /^\/api\/cluster\/jobs\/([^/]+)\/?$/;
  // Shown beside each state's name, so a state never depends on colour alone.
  const SYMBOLS = { queued: "○", running: "▶", paused: "‖", success: "✓", failure: "✗" };
  const DONE = { pause: "Paused", resume: "Resumed", cancel: "Cancelled" };
  const EXAMPLES = {
    "script-json": {
      method: "POST",
      path: "/api/storage/volumes",
      steps: [
        { state: "running", seconds: 30 },
        { state: "failure", message: "There are not enough disks in Pool1.", code: 2432836 },
      ],
      times: 1,
    },
    "fault-json": { method: "GET", path: "/api/cluster/jobs/*", status: 503, retry_after: 5, times: 2 },
  };

  const $ = (id) => document.getElementById(id);
  const view = { offset: 0, limit: 50, state: "", match: "" };
  const last = {};  // the last text of each polled answer: unchanged answers are not redrawn
  const rows = new Map();  // job uuid -> its row's elements
  let clockNow = 0;
  let matched = 0;  // jobs the current filter matches
  let clockDate = "";
  let polling = null;
  let again = false;
  let timer = 0;
  let firstRender = true;
  let noticeTimer = 0;

  // -- small helpers --------------------------------------------------------------------
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("data-") || key.startsWith("aria-") || key === "role") node.setAttribute(key, value);
      else node[key] = value;
    }
    for (const child of children) if (child != null) node.append(child);
    return node;
  }

  function setText(node, text) {
    if (node.textContent !== text) node.textContent = text;
  }

  function setAttr(node, name, value) {
    if (node.getAttribute(name) !== value) node.setAttribute(name, value);
  }

  const number = new Intl.NumberFormat("en");

  function plural(n, word) {
    return `${number.format(n)} ${word}${n === 1 ? "" : "s"}`;
  }

  function isoParts(seconds) {
    const iso = new Date(seconds * 1000).toISOString();  // 2024-01-01T00:00:05.250Z
    return { date: iso.slice(0, 10), time: iso.slice(11, 19), ms: iso.slice(19, 23) };
  }

  function clockTime(seconds) {
    const parts = isoParts(seconds);
    return parts.date === clockDate ? parts.time : `${parts.date} ${parts.time}`;
  }

  function duration(seconds) {
    const s = Math.max(0, seconds);
    if (s < 10) return `${Number(s.toFixed(1))} s`;
    if (s < 60) return `${Math.round(s)} s`;
    const two = (big, bigUnit, small, smallUnit) => (small ? `${big} ${bigUnit} ${small} ${smallUnit}` : `${big} ${bigUnit}`);
    if (s < 3600) return two(Math.floor(s / 60), "min", Math.floor(s % 60), "s");
    if (s < 86400) return two(Math.floor(s / 3600), "h", Math.floor((s % 3600) / 60), "min");
    return two(Math.floor(s / 86400), "d", Math.floor((s % 86400) / 3600), "h");
  }

  // Text with a line-break opportunity after each "/", "?" and "&", for paths in narrow cells.
  function breakable(text) {
    const nodes = [];
    for (const part of String(text).split(/(?<=[/?&])/)) nodes.push(part, document.createElement("wbr"));
    nodes.pop();
    return nodes;
  }

  function shortId(uuid) {
    return String(uuid).slice(0, 8);
  }

  class ApiError extends Error {
    constructor(status, error) {
      super(error.message || `HTTP ${status}`);
      this.status = status;
      this.code = error.code == null ? "" : String(error.code);
      this.target = error.target || "";
    }

    // ONTAP's message and code; the target too where it names a field of the user's input.
    describe(withTarget) {
      const notes = [];
      if (withTarget && this.target) notes.push(`at ${this.target}`);
      if (this.code) notes.push(`code ${this.code}`);
      return notes.length ? `${this.message} (${notes.join(", ")})` : this.message;
    }
  }

  // Same-origin requests only: the browser adds the basic-auth credentials it holds.
  async function api(method, path, body) {
    const init = { method, cache: "no-store", credentials: "same-origin", headers: { Accept: "application/json" } };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers["Content-Type"] = "application/json";
    }
    const response = await fetch(new URL(path, window.location.origin), init);
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (_) {
      data = null;
    }
    if (!response.ok) {
      throw new ApiError(response.status, (data && data.error) || {});
    }
    return { data, text };
  }

  // -- notices --------------------------------------------------------------------------
  function notify(message, kind) {
    const box = $("notice");
    clearTimeout(noticeTimer);
    box.dataset.kind = kind || "ok";
    setText($("notice-text"), message);
    box.hidden = false;
    if (kind !== "error") noticeTimer = setTimeout(() => { box.hidden = true; }, 6000);
  }

  function showFieldError(id, input, message) {
    const node = $(id);
    node.textContent = message;
    node.hidden = !message;
    if (input) {
      if (message) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    }
  }

  // -- the view's state lives in the URL's fragment, so a reload keeps it -------------------
  function readHash() {
    const params = new URLSearchParams(window.location.hash.slice(1));
    const state = params.get("state") || "";
    view.state = STATES.includes(state) ? state : "";
    const size = Number(params.get("size"));
    view.limit = [25, 50, 100, 200].includes(size) ? size : 50;
    const page = Math.max(1, Math.floor(Number(params.get("page")) || 1));
    view.offset = (page - 1) * view.limit;
    view.match = params.get("q") || "";
  }

  function writeHash() {
    const params = new URLSearchParams();
    if (view.state) params.set("state", view.state);
    if (view.limit !== 50) params.set("size", String(view.limit));
    if (view.offset) params.set("page", String(Math.floor(view.offset / view.limit) + 1));
    if (view.match) params.set("q", view.match);
    const hash = params.toString();
    history.replaceState(null, "", hash ? `#${hash}` : window.location.pathname);
  }

  // -- polling ----------------------------------------------------------------------------
  function setLive(state, detail) {
    const node = $("live");
    node.dataset.live = state;
    const text = {
      live: "live",
      down: `reconnecting… (${detail})`,
      auth: "not signed in: reload the page",
    }[state];
    setText($("live-text"), text);
  }

  async function refresh() {
    if (polling) {
      again = true;
      return polling;
    }
    clearTimeout(timer);
    polling = (async () => {
      try {
        const jobsQuery = new URLSearchParams({ offset: view.offset, limit: view.limit });
        if (view.state) jobsQuery.set("state", view.state);
        const journalQuery = new URLSearchParams({ limit: JOURNAL_LIMIT });
        if (view.match) journalQuery.set("match", view.match);
        const [jobs, journal, scripts, faults] = await Promise.all([
          api("GET", `/simulator/jobs?${jobsQuery}`),
          api("GET", `/simulator/requests/latest?${journalQuery}`),
          api("GET", "/simulator/scripts"),
          api("GET", "/simulator/faults"),
        ]);
        const started = performance.now();
        let drawn = false;
        // What is drawn depends on the view as well as on the answer.
        const shown = JSON.stringify(view);
        if (changed("jobs", shown + jobs.text)) drawn = drawJobs(jobs.data) || true;
        if (changed("journal", shown + journal.text)) drawn = drawJournal(journal.data) || true;
        if (changed("scripts", scripts.text)) drawn = drawRules("script", scripts.data.records) || true;
        if (changed("faults", faults.text)) drawn = drawRules("fault", faults.data.records) || true;
        if (drawn) {
          performance.measure("board:draw", { start: started });
          if (performance.getEntriesByName("board:draw").length > 500) performance.clearMeasures("board:draw");
        }
        if (firstRender) {
          firstRender = false;
          performance.mark("board:first-draw");
          document.body.dataset.ready = "true";
        }
        setLive("live");
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) setLive("auth");
        else setLive("down", error instanceof ApiError ? error.describe() : "no answer");
      } finally {
        polling = null;
        timer = setTimeout(refresh, POLL_MS);
      }
    })();
    await polling;
    if (again) {
      again = false;
      await refresh();
    }
  }

  function changed(key, text) {
    if (last[key] === text) return false;
    last[key] = text;
    return true;
  }

  // -- jobs -------------------------------------------------------------------------------
  function drawJobs(data) {
    const { mode, now } = data.clock;
    clockNow = now;
    const parts = isoParts(now);
    clockDate = parts.date;
    setText($("clock-mode"), `${mode} clock`);
    setText($("clock-now"), `${parts.date} ${parts.time} UTC`);
    setAttr($("clock-now"), "datetime", new Date(now * 1000).toISOString());
    const real = mode !== "virtual";
    $("advance-fields").disabled = real;
    $("advance-real").hidden = !real;

    for (const node of document.querySelectorAll("[data-count]")) {
      const state = node.dataset.count;
      setText(node, number.format(state === "all" ? data.total : data.counts[state] || 0));
    }

    if (data.matched > 0 && data.offset >= data.matched) {
      // The page ran past the end (jobs expired or the filter changed): show the last one.
      view.offset = Math.floor((data.matched - 1) / view.limit) * view.limit;
      writeHash();
      again = true;
      return;
    }

    const tbody = $("job-rows");
    const wanted = new Set(data.records.map((job) => job.uuid));
    for (const [uuid, row] of rows) {
      if (wanted.has(uuid)) continue;
      if (row.tr.contains(document.activeElement)) $("jobs").focus();
      row.tr.remove();
      rows.delete(uuid);
    }
    data.records.forEach((job, index) => {
      let row = rows.get(job.uuid);
      if (!row) {
        row = makeRow(job);
        rows.set(job.uuid, row);
      }
      updateRow(row, job);
      const here = tbody.children[index];
      if (here !== row.tr) tbody.insertBefore(row.tr, here || null);
    });

    $("jobs-empty").hidden = data.total > 0;
    const first = data.records.length ? data.offset + 1 : 0;
    const lastShown = data.offset + data.records.length;
    matched = data.matched;
    const kind = view.state ? `${view.state} job` : "job";
    setText(
      $("page-info"),
      matched ? `${number.format(first)}–${number.format(lastShown)} of ${plural(matched, kind)}` : `no ${kind}s`,
    );
    const atStart = data.offset === 0;
    const atEnd = lastShown >= data.matched;
    $("page-first").disabled = atStart;
    $("page-prev").disabled = atStart;
    $("page-next").disabled = atEnd;
    $("page-last").disabled = atEnd;
  }

  function makeRow(job) {
    const short = shortId(job.uuid);
    const uuid = el("code", { class: "uuid", text: job.uuid, title: job.uuid });
    const desc = el("div", { class: "desc" });
    const badge = el("span", { class: "badge" });
    const message = el("div", { class: "message" });
    const code = el("div", { class: "code" });
    const start = el("time", { class: "start" });
    const end = el("time", { class: "end" });
    const bar = el("div", { class: "tl", role: "img" });
    const total = el("span", { class: "tl-total" });
    const meta = el(
      "div",
      { class: "tl-meta" },
      el("span", { class: "sr-only", text: "started " }),
      start,
      el("span", { "aria-hidden": "true", text: " → " }),
      el("span", { class: "sr-only", text: ", ended " }),
      end,
      el("span", { "aria-hidden": "true", text: " · " }),
      el("span", { class: "sr-only", text: ", lasted " }),
      total,
    );
    const buttons = {};
    const actions = el("div", { class: "actions" });
    for (const action of ["pause", "resume", "cancel"]) {
      buttons[action] = el("button", {
        type: "button",
        class: `act act-${action}`,
        text: action[0].toUpperCase() + action.slice(1),
        "aria-label": `${action[0].toUpperCase() + action.slice(1)} job ${short}`,
        "data-action": action,
      });
      buttons[action].addEventListener("click", () => act(job.uuid, action));
      actions.append(buttons[action]);
    }
    const over = el("span", { class: "over", text: "—", title: "The job is over: no action applies" });
    const tr = el(
      "tr",
      { "data-uuid": job.uuid, tabIndex: -1 },
      el("td", { class: "c-job", "data-label": "Job" }, uuid, desc),
      el("td", { class: "c-state", "data-label": "State" }, badge),
      el("td", { class: "c-msg", "data-label": "Message" }, message, code),
      el("td", { class: "c-tl", "data-label": "Timeline" }, bar, meta),
      el("td", { class: "c-actions", "data-label": "Actions" }, actions, over),
    );
    return { tr, desc, badge, message, code, start, end, bar, total, actions, over, buttons, key: "" };
  }

  function updateRow(row, job) {
    if (row.description !== job.description) {
      row.description = job.description;
      row.desc.replaceChildren(...breakable(job.description));
    }
    const state = job.state;
    if (row.state !== state) {
      row.state = state;
      row.tr.dataset.state = state;
      row.badge.className = `badge s-${state}`;
      row.badge.replaceChildren(el("span", { class: "sym", "aria-hidden": "true", text: SYMBOLS[state] }), ` ${state}`);
    }
    setText(row.message, job.message);
    setText(row.code, `code ${job.code}`);
    setText(row.start, clockTime(job.created));
    setAttr(row.start, "datetime", job.start_time);
    setText(row.end, job.ended == null ? "now" : clockTime(job.ended));
    if (job.end_time) setAttr(row.end, "datetime", job.end_time);
    drawTimeline(row, job);

    const over = TERMINAL.has(state);
    if (over && row.actions.contains(document.activeElement)) row.tr.focus();
    row.actions.hidden = over;
    row.over.hidden = !over;
    // Actions ONTAP would refuse in this state stay clickable (its refusal is shown) but muted.
    const likely = {
      pause: state === "running" && job.pausable,
      resume: state === "paused",
      cancel: job.cancellable,
    };
    for (const [action, button] of Object.entries(row.buttons)) {
      button.classList.toggle("unlikely", !likely[action]);
    }
  }

  function drawTimeline(row, job) {
    const spans = job.timeline;
    const running = spans.filter((span) => !TERMINAL.has(span.state));
    const lived = (job.ended == null ? clockNow : job.ended) - job.created;
    const sum = running.reduce((total, span) => total + (span.end - span.start), 0);
    const words = spans.map((span) =>
      TERMINAL.has(span.state) ? `then ${span.state}` : `${span.state} ${duration(span.end - span.start)}`,
    );
    const label = words.join(", ");
    const key = `${label}|${running.map((span) => (sum ? ((span.end - span.start) / sum).toFixed(3) : 1)).join(",")}`;
    setText(row.total, duration(lived));
    if (row.key === key) return;
    row.key = key;
    setAttr(row.bar, "aria-label", `Timeline: ${label}`);
    row.bar.title = label;
    const segments = spans.map((span) => {
      const segment = el("span", { class: `seg s-${span.state}` });
      if (TERMINAL.has(span.state)) {
        segment.classList.add("seg-end");
      } else {
        segment.style.flexGrow = String(sum > 0 ? (span.end - span.start) / sum : 1);
      }
      return segment;
    });
    row.bar.replaceChildren(...segments);
  }

  async function act(uuid, action) {
    const short = shortId(uuid);
    try {
      await api("PATCH", `/simulator/jobs/${encodeURIComponent(uuid)}?action=${action}`);
      notify(`${DONE[action]} job ${short}.`);
    } catch (error) {
      notify(`Cannot ${action} job ${short}: ${error instanceof ApiError ? error.describe() : error.message}`, "error");
    }
    refresh();
  }

  // -- scripts and faults -------------------------------------------------------------------
  function uses(rule) {
    if (rule.times === null || rule.times === undefined) return "unlimited uses";
    if (rule.times === 0) return "spent";
    return `${plural(rule.times, "use")} left`;
  }

  function stepText(step) {
    let text = step.state;
    if (step.seconds != null) text += ` ${duration(step.seconds)}`;
    if (step.polls != null) text += ` ${plural(step.polls, "poll")}`;
    if (step.message != null && TERMINAL.has(step.state)) text += ` “${step.message}”`;
    if (step.code != null && step.code !== 0) text += ` (${step.code})`;
    return text;
  }

  function scriptSummary(rule) {
    const flags = [];
    if (!rule.pausable) flags.push("no pause");
    if (!rule.cancellable) flags.push("no cancel");
    const steps = rule.steps.map(stepText).join(" → ");
    return flags.length ? `${steps} · ${flags.join(", ")}` : steps;
  }

  function faultSummary(rule) {
    const parts = [];
    if (rule.status != null) {
      parts.push(`HTTP ${rule.status}`);
      if (rule.retry_after != null) parts.push(`Retry-After ${rule.retry_after} s`);
      if (rule.message) parts.push(`“${rule.message}”`);
    } else if (rule.delay != null) parts.push(`delay ${duration(rule.delay)}`);
    else if (rule.drop) parts.push("drop the connection");
    else if (rule.malformed) parts.push(`malformed body (${rule.malformed === true ? "truncated" : rule.malformed})`);
    else if (rule.vanish) parts.push("vanish the job record");
    if (rule.probability != null) parts.push(`probability ${rule.probability}`);
    return parts.join(" · ");
  }

  function drawRules(kind, records) {
    const list = $(`${kind}-list`);
    const items = records.map((rule) => {
      const spent = rule.times === 0;
      return el(
        "li",
        { class: spent ? "rule spent" : "rule", "data-id": String(rule.id) },
        el(
          "div",
          { class: "rule-head" },
          el("span", { class: "rule-id", text: `#${rule.id}` }),
          el("code", { class: "rule-match", text: `${rule.method} ${rule.path}` }),
        ),
        el("div", { class: "rule-what", text: kind === "script" ? scriptSummary(rule) : faultSummary(rule) }),
        el(
          "div",
          { class: "rule-use" },
          el("span", { class: spent ? "armed no" : "armed", text: spent ? "spent" : `armed · ${uses(rule)}` }),
          el("span", { class: "hits", text: rule.hits ? `fired ${plural(rule.hits, "time")}` : "not fired yet" }),
        ),
      );
    });
    list.replaceChildren(...items);
    $(`${kind}s-empty`).hidden = records.length > 0;
  }

  async function submitJson(form, kind, path) {
    const input = form.querySelector("textarea");
    const errorId = `${kind}-error`;
    let body;
    try {
      body = JSON.parse(input.value);
    } catch (error) {
      showFieldError(errorId, input, `Not valid JSON: ${error.message}`);
      input.focus();
      return;
    }
    try {
      const { data } = await api("POST", path, body);
      showFieldError(errorId, input, "");
      notify(`Added ${kind} #${data.id}.`);
    } catch (error) {
      showFieldError(errorId, input, error instanceof ApiError ? error.describe(true) : error.message);
      input.focus();
    }
    refresh();
  }

  // -- the journal --------------------------------------------------------------------------
  function drawJournal(data) {
    const tbody = $("journal-rows");
    const rowsOut = data.records.map((entry) => {
      const parts = isoParts(entry.time);
      const query = new URLSearchParams(entry.query || {}).toString();
      const status = entry.status == null ? "dropped" : String(entry.status);
      // The job a write started, or the job a request reads or acts on.
      const job = entry.job || (JOB_PATH.exec(entry.path) || [])[1];
      const klass = entry.status == null || entry.status >= 500 ? "st-bad" : entry.status >= 400 ? "st-warn" : "st-ok";
      const statusCell = el("td", { class: "c-status", "data-label": "Status" }, el("span", { class: `status ${klass}`, text: status }));
      if (entry.fault) statusCell.append(el("span", { class: "fault", text: `fault: ${entry.fault}` }));
      return el(
        "tr",
        {},
        el("td", { class: "c-time", "data-label": "Time" }, el("time", { text: `${parts.time}${parts.ms}`, title: `${parts.date} ${parts.time}${parts.ms} UTC` })),
        el(
          "td",
          { class: "c-req", "data-label": "Request" },
          el("span", { class: "method", text: entry.method }),
          " ",
          el("span", { class: "path" }, ...breakable(query ? `${entry.path}?${query}` : entry.path)),
        ),
        statusCell,
        el("td", { class: "c-jobref", "data-label": "Job" }, job ? el("code", { text: shortId(job), title: job }) : "—"),
      );
    });
    tbody.replaceChildren(...rowsOut);
    let info;
    if (!data.total) info = "No requests yet.";
    else if (view.match) {
      const among = data.scanned < data.total ? `the latest ${number.format(data.scanned)} of ` : "";
      info = `${number.format(data.matched)} of ${among}${plural(data.total, "request")} match; the latest ${number.format(data.num_records)} shown.`;
    }
    else info = `The latest ${number.format(data.num_records)} of ${plural(data.total, "request")}.`;
    setText($("journal-info"), info);
  }

  // -- wiring -----------------------------------------------------------------------------
  function page(to) {
    view.offset = Math.max(0, to);
    writeHash();
    refresh();
  }

  function start() {
    readHash();
    document.querySelector(`#state-filter input[value="${view.state}"]`).checked = true;
    $("page-size").value = String(view.limit);
    $("journal-filter").value = view.match;
    for (const [id, example] of Object.entries(EXAMPLES)) $(id).placeholder = JSON.stringify(example, null, 2);

    $("state-filter").addEventListener("change", (event) => {
      view.state = event.target.value;
      page(0);
    });
    $("page-size").addEventListener("change", (event) => {
      view.limit = Number(event.target.value);
      page(0);
    });
    $("page-first").addEventListener("click", () => page(0));
    $("page-prev").addEventListener("click", () => page(view.offset - view.limit));
    $("page-next").addEventListener("click", () => page(view.offset + view.limit));
    $("page-last").addEventListener("click", () => page(Math.floor((matched - 1) / view.limit) * view.limit));

    let filterTimer = 0;
    $("journal-filter").addEventListener("input", (event) => {
      clearTimeout(filterTimer);
      filterTimer = setTimeout(() => {
        view.match = event.target.value.trim();
        writeHash();
        refresh();
      }, 200);
    });

    const advance = async (seconds) => {
      const input = $("advance-seconds");
      try {
        const { data } = await api("POST", "/simulator/clock", { advance: seconds });
        showFieldError("advance-error", input, "");
        notify(`Clock advanced by ${duration(seconds)} to ${isoParts(data.now).time}.`);
      } catch (error) {
        showFieldError("advance-error", input, error instanceof ApiError ? error.describe() : error.message);
      }
      refresh();
    };
    for (const button of document.querySelectorAll("[data-advance]")) {
      button.addEventListener("click", () => advance(Number(button.dataset.advance)));
    }
    $("advance-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const input = $("advance-seconds");
      const raw = input.value.trim();
      const seconds = Number(raw);
      if (!raw || !Number.isFinite(seconds) || seconds < 0) {
        showFieldError("advance-error", input, "Enter a number of seconds, 0 or more.");
        input.focus();
        return;
      }
      advance(seconds);
    });
    $("advance-seconds").addEventListener("input", () => showFieldError("advance-error", $("advance-seconds"), ""));

    $("script-form").addEventListener("submit", (event) => {
      event.preventDefault();
      submitJson(event.target, "script", "/simulator/scripts");
    });
    $("fault-form").addEventListener("submit", (event) => {
      event.preventDefault();
      submitJson(event.target, "fault", "/simulator/faults");
    });
    for (const [id, kind] of [["script-json", "script"], ["fault-json", "fault"]]) {
      $(id).addEventListener("input", () => showFieldError(`${kind}-error`, $(id), ""));
    }
    for (const button of document.querySelectorAll("[data-example]")) {
      button.addEventListener("click", () => {
        const input = $(button.dataset.example);
        input.value = JSON.stringify(EXAMPLES[button.dataset.example], null, 2);
        input.dispatchEvent(new Event("input"));
        input.focus();
      });
    }

    const clear = (path, what) => async () => {
      try {
        await api("DELETE", path);
        notify(`${what} cleared.`);
      } catch (error) {
        notify(`Cannot clear ${what.toLowerCase()}: ${error.describe ? error.describe() : error.message}`, "error");
      }
      refresh();
    };
    $("scripts-clear").addEventListener("click", clear("/simulator/scripts", "Scripts"));
    $("faults-clear").addEventListener("click", clear("/simulator/faults", "Faults"));
    $("journal-clear").addEventListener("click", clear("/simulator/requests", "Journal"));
    $("reset").addEventListener("click", async () => {
      const sure = window.confirm(
        "Reset the simulator? Jobs, objects, scripts, faults and the journal go back to the scenario's start, and a virtual clock to its epoch.",
      );
      if (!sure) return;
      try {
        await api("POST", "/simulator/reset");
        notify("Simulator reset.");
      } catch (error) {
        notify(`Cannot reset: ${error.describe ? error.describe() : error.message}`, "error");
      }
      refresh();
    });
    $("notice-close").addEventListener("click", () => { $("notice").hidden = true; });
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !$("notice").hidden) $("notice").hidden = true;
    });
    window.addEventListener("hashchange", () => {
      readHash();
      refresh();
    });
    refresh();
  }

  start();
})();
