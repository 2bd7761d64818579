// pytest-llm-mock's web page: the requests the server received (live), their
// conversations, the misses beside the closest examples, and the collection with hits.
// Everything shown is put in the page as text (textContent), never as markup; every URL
// is relative to the page, so that it works under a test's /_t/N prefix too.
"use strict";

(() => {
  const MAX_ROWS = 500; // rows the table keeps; older ones are a click away
  const KEY_STORE = "pytest-llm-mock:key";
  const state = {
    key: sessionStorage.getItem(KEY_STORE),
    info: null,
    rows: new Map(), // id -> row JSON, for the rows in the table
    trs: new Map(), // id -> <tr>
    more: false,
    started: false,
    misses: new Set(), // ids of misses seen live, for the tab's count
    requests: 0,
  };
  const $ = (id) => document.getElementById(id);

  // -- building the page: text only ------------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else if (name === "on") for (const [event, fn] of Object.entries(value)) node.addEventListener(event, fn);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    node.append(...nodes(children));
    return node;
  }

  // Children as nodes: strings become text nodes, lists are flattened, null and false skipped.
  function nodes(children) {
    return children
      .flat(Infinity)
      .filter((child) => child !== null && child !== undefined && child !== false)
      .map((child) => (child instanceof Node ? child : document.createTextNode(String(child))));
  }

  const fill = (node, ...children) => node.replaceChildren(...nodes(children));

  const roleClass = (role) => "role-" + String(role).toLowerCase().replace(/[^a-z]/g, "");

  function clock(ms) {
    const d = new Date(ms);
    const two = (n) => String(n).padStart(2, "0");
    return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, "0")}`;
  }

  const statusClass = (status) => (status < 300 ? "ok" : status < 500 ? "warn" : "err");
  const collectionLink = (name) => "#/collection/" + encodeURIComponent(name);

  // -- talking to the server --------------------------------------------------------------

  class Locked extends Error {}

  function headers(extra) {
    const out = Object.assign({ Accept: "application/json" }, extra || {});
    if (state.key) out.Authorization = "Bearer " + state.key;
    return out;
  }

  async function api(path, options) {
    const init = Object.assign({ cache: "no-store" }, options || {});
    init.headers = headers(init.headers);
    const response = await fetch(path, init);
    if (response.status === 401) {
      askForKey(state.key ? "That key was refused: try again." : null);
      throw new Locked();
    }
    const body = await response.json().catch(() => null);
    if (!response.ok) {
      const message = body && body.error ? body.error.message : `HTTP ${response.status}`;
      const error = new Error(message);
      error.status = response.status;
      throw error;
    }
    return body;
  }

  function askForKey(problem) {
    for (const view of document.querySelectorAll("main > section")) view.hidden = view.id !== "key-view";
    $("key-error").hidden = !problem;
    $("key-error").textContent = problem || "";
    $("key-input").focus();
  }

  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.key = $("key-input").value;
    sessionStorage.setItem(KEY_STORE, state.key);
    $("key-view").hidden = true;
    start();
  });

  // -- the header ---------------------------------------------------------------------------

  function showInfo() {
    const info = state.info;
    if (!info) return;
    const where = info.test ? ` · test ${info.test}` : "";
    $("summary").textContent = `${info.collection} · ${info.examples} examples · match: ${info.match}${where}`;
    $("count-requests").textContent = String(state.requests);
    $("count-misses").textContent = String(info.misses + state.misses.size);
  }

  function setLive(on) {
    $("live").textContent = on ? "live" : "reconnecting…";
    $("live").className = "live " + (on ? "on" : "off");
  }

  // -- requests table -----------------------------------------------------------------------

  function requestRow(row) {
    const example = row.miss
      ? el("a", { href: "#/misses/" + encodeURIComponent(row.id), class: "miss-link" }, "not answered")
      : row.example && row.from_collection
        ? el("a", { href: collectionLink(row.example) }, row.example)
        : row.example || "";
    const latency = row.in_flight ? "in flight" : row.latency_ms === null ? "" : `${row.latency_ms} ms`;
    const tr = el(
      "tr",
      { class: row.miss ? "miss" : "", "data-id": row.id },
      el("td", { class: "time" }, clock(row.time)),
      el("td", { class: "door" }, row.door, row.stream ? [" ", el("span", { class: "badge stream" }, "stream")] : null),
      el("td", { class: "model" }, row.model || ""),
      el("td", { class: "user" }, row.user === null ? `${row.method} ${row.path}` : row.user),
      el("td", { class: "status " + statusClass(row.status) }, String(row.status)),
      el("td", { class: "latency" }, latency),
      el("td", { class: "example" }, example),
    );
    tr.addEventListener("click", (event) => {
      if (event.target.closest("a")) return;
      location.hash = "#/requests/" + encodeURIComponent(row.id);
    });
    return tr;
  }

  function upsert(row, { live }) {
    const old = state.trs.get(row.id);
    const tr = requestRow(row);
    state.rows.set(row.id, row);
    state.trs.set(row.id, tr);
    if (old) {
      old.replaceWith(tr);
      return;
    }
    if (live) {
      state.requests += 1;
      if (row.miss) state.misses.add(row.id);
    }
    const body = $("rows");
    const at = Number(row.id);
    let next = body.firstElementChild;
    while (next && Number(next.dataset.id) > at) next = next.nextElementSibling;
    body.insertBefore(tr, next);
    while (body.children.length > MAX_ROWS) {
      const last = body.lastElementChild;
      state.rows.delete(last.dataset.id);
      state.trs.delete(last.dataset.id);
      last.remove();
      state.more = true;
    }
  }

  function showTableState() {
    $("no-requests").hidden = $("rows").children.length > 0;
    $("older").hidden = !state.more;
  }

  async function loadNewest() {
    const page = await api("api/requests?limit=100");
    for (const row of page.rows.slice().reverse()) upsert(row, { live: false });
    if (!state.started) state.more = page.more;
    state.requests = Math.max(state.requests, page.kept + page.dropped);
    showTableState();
    showInfo();
  }

  $("older").addEventListener("click", async () => {
    const last = $("rows").lastElementChild;
    const page = await api("api/requests?limit=100&before=" + encodeURIComponent(last.dataset.id));
    for (const row of page.rows) upsert(row, { live: false });
    state.more = page.more;
    showTableState();
  });

  // -- the live feed: server-sent events, read with fetch so that they carry the key -------

  const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  async function listen() {
    let failures = 0;
    for (;;) {
      try {
        const response = await fetch("api/events", { headers: headers({ Accept: "text/event-stream" }), cache: "no-store" });
        if (response.status === 401) {
          askForKey(null);
          return;
        }
        if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
        setLive(true);
        if (failures) await loadNewest(); // what arrived while the feed was down
        failures = 0;
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let cut;
          while ((cut = buffer.indexOf("\n\n")) >= 0) {
            heard(buffer.slice(0, cut));
            buffer = buffer.slice(cut + 2);
          }
        }
      } catch (error) {
        if (error instanceof Locked) return;
      }
      setLive(false);
      failures += 1;
      await wait(Math.min(500 * 2 ** failures, 10000));
    }
  }

  function heard(block) {
    let event = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event: ")) event = line.slice(7);
      else if (line.startsWith("data: ")) data.push(line.slice(6));
    }
    if (event === "reset") {
      loadNewest();
      return;
    }
    if (event !== "entry") return;
    const row = JSON.parse(data.join("\n"));
    upsert(row, { live: true });
    showTableState();
    showInfo();
    if (row.miss && currentRoute().view === "misses") renderMisses();
    if (currentRoute().view === "collection") refreshCollectionSoon();
  }

  // -- one request: its conversation, the answer sent, headers; for a miss, why --------------

  function bubble(message, extraClass) {
    const calls = (message.tool_calls || []).map((call) =>
      el(
        "div",
        { class: "tool-call" },
        el("div", { class: "tool-name" }, "tool call ", el("strong", {}, call.name), call.id ? ` · ${call.id}` : ""),
        el("pre", { class: "arguments" }, call.arguments),
      ),
    );
    return el(
      "div",
      { class: `bubble ${roleClass(message.role)} ${extraClass || ""}` },
      el("div", { class: "role" }, el("span", { class: "role-name" }, message.role), message.tool_call_id ? ` · result of ${message.tool_call_id}` : ""),
      message.text ? el("div", { class: "text" }, message.text) : null,
      calls,
    );
  }

  function answerBlock(answer) {
    if (answer.kind === "miss") return el("p", { class: "muted" }, `Status ${answer.status}: nothing answered (see above).`);
    if (answer.kind === "status") return el("p", { class: "muted" }, `Status ${answer.status}${answer.source ? ` from ${answer.source}` : ""}.`);
    const from = el("p", { class: "muted" }, `Status ${answer.status} from example `, el("a", { href: collectionLink(answer.example) }, answer.example));
    if (answer.bubble) return [from, el("div", { class: "answer-sent" }, bubble(answer.bubble, "answer"))];
    if (answer.kind === "stream") return [from, el("pre", { class: "json" }, answer.raw)];
    return [from, el("pre", { class: "json" }, JSON.stringify(answer.json, null, 2))];
  }

  async function renderDetail(id, fromMisses) {
    const view = $("detail-view");
    fill(view, el("p", { class: "muted" }, "Loading…"));
    let entry;
    try {
      entry = await api("api/requests/" + encodeURIComponent(id));
    } catch (error) {
      if (!(error instanceof Locked)) fill(view, el("p", { class: "error" }, error.message));
      return;
    }
    const back = fromMisses ? el("a", { href: "#/misses" }, "← misses") : el("a", { href: "#/requests" }, "← requests");
    const example = entry.example
      ? entry.from_collection
        ? el("a", { href: collectionLink(entry.example) }, entry.example)
        : entry.example
      : "not answered";
    const headerRows = Object.entries(entry.headers).map(([name, value]) => el("tr", {}, el("th", {}, name), el("td", {}, value)));
    fill(
      view,
      back,
      el("h2", {}, `${entry.method} ${entry.path}`),
      el(
        "dl",
        { class: "meta" },
        el("dt", {}, "Door"), el("dd", {}, entry.door),
        el("dt", {}, "Model"), el("dd", {}, entry.model || "—"),
        el("dt", {}, "Status"), el("dd", { class: statusClass(entry.status) }, String(entry.status)),
        el("dt", {}, "Latency"), el("dd", {}, entry.in_flight ? "in flight" : entry.latency_ms === null ? "—" : `${entry.latency_ms} ms`),
        el("dt", {}, "Time"), el("dd", {}, clock(entry.time)),
        el("dt", {}, "Stream"), el("dd", {}, entry.stream ? "yes" : "no"),
        el("dt", {}, "Example"), el("dd", { class: "answered-by" }, example),
      ),
      entry.explanation === null ? null : missBlock(entry),
      el("h3", {}, "Conversation"),
      entry.conversation.length
        ? el("div", { class: "conversation" }, entry.conversation.map((m) => bubble(m)))
        : el("p", { class: "muted" }, "No chat messages in this request."),
      el("h3", {}, "Answer sent"),
      answerBlock(entry.answer),
      el("h3", {}, "Headers"),
      el("p", { class: "muted" }, "Credentials are redacted."),
      el("table", { class: "headers" }, el("tbody", {}, headerRows)),
      el("details", {}, el("summary", {}, "Request body (JSON)"), el("pre", { class: "json" }, JSON.stringify(entry.body, null, 2))),
    );
  }

  function marked(text, at) {
    if (text === null) return el("em", { class: "muted" }, "(nothing)");
    if (at === null || at === undefined) return text;
    const rest = text.slice(at);
    return [text.slice(0, at), rest ? el("mark", {}, rest) : el("mark", { class: "end", title: "the text ends here" })];
  }

  function comparisonTable(comparison) {
    const rows = comparison.rows.map((r) =>
      el(
        "tr",
        { class: (r.differs ? "differs" : "") + (r.at !== null ? " first-difference" : "") },
        el("td", { class: "label" }, r.expected_label || r.received_label || ""),
        el("td", { class: "expected" }, marked(r.expected, r.at)),
        el("td", { class: "received" }, marked(r.received, r.at)),
      ),
    );
    return el(
      "table",
      { class: "comparison" },
      el("thead", {}, el("tr", {}, el("th", {}, ""), el("th", {}, "Closest example: ", el("a", { href: collectionLink(comparison.example) }, comparison.example)), el("th", {}, "This request"))),
      el("tbody", {}, rows),
    );
  }

  function missBlock(entry) {
    const block = el("div", { class: "miss-block" });
    if (entry.comparisons.length) {
      const holder = el("div", { class: "comparison-holder" }, comparisonTable(entry.comparisons[0]));
      const picks = entry.comparisons.map((c, i) =>
        el("button", { type: "button", class: i === 0 ? "pick chosen" : "pick", on: { click: (event) => {
          fill(holder, comparisonTable(c));
          for (const b of event.target.parentElement.children) b.classList.toggle("chosen", b === event.target);
        } } }, `${i + 1}. ${c.example}`),
      );
      block.append(el("h3", {}, `Side by side with the closest examples (strategy: ${entry.comparisons[0].strategy})`), el("div", { class: "picks" }, picks), holder);
    }
    block.append(el("h3", {}, "Why nothing answered"), el("pre", { class: "explanation" }, entry.explanation));
    if (entry.answerable) block.append(answerForm(entry));
    return block;
  }

  function answerForm(entry) {
    const edits = state.info ? state.info.edits : { allowed: false, reason: "Unknown" };
    const text = el("textarea", { id: "answer-text", rows: 5, placeholder: "The assistant's answer" });
    const kind = (value, label, checked) =>
      el("label", {}, el("input", { type: "radio", name: "answer-kind", value, checked, on: { change: () => {
        text.placeholder = value === "tools" ? '[{"name": "get_weather", "arguments": {"city": "Paris"}}]' : "The assistant's answer";
      } } }), ` ${label}`);
    const message = el("p", { id: "answer-message", role: "status" });
    const save = el("button", { type: "submit", id: "answer-save" }, "Save into the collection");
    const fields = el(
      "fieldset",
      { disabled: !edits.allowed },
      el("legend", {}, "Answer this request"),
      el("div", { class: "kinds" }, kind("text", "Text", true), entry.tool_calls_allowed ? kind("tools", "Tool calls (JSON)", false) : null),
      text,
      save,
    );
    const form = el("form", { class: "answer-form", id: "answer-form" }, fields, message);
    if (!edits.allowed) message.textContent = edits.reason;
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const payload = { request: entry.id };
      const chosen = form.querySelector("input[name=answer-kind]:checked").value;
      if (chosen === "tools") {
        try {
          payload.tool_calls = JSON.parse(text.value);
        } catch (error) {
          message.className = "error";
          message.textContent = "The tool calls are not JSON: " + error.message;
          return;
        }
      } else {
        payload.text = text.value;
      }
      save.disabled = true;
      try {
        const result = await api("api/answers", {
          method: "POST",
          headers: { "Content-Type": "application/json", "X-LLM-Mock-CSRF": edits.token },
          body: JSON.stringify(payload),
        });
        message.className = "saved";
        message.textContent = result.message;
      } catch (error) {
        message.className = "error";
        message.textContent = error.message;
      } finally {
        save.disabled = false;
      }
    });
    return form;
  }

  // -- misses --------------------------------------------------------------------------------

  async function renderMisses() {
    const view = $("misses-view");
    let page;
    try {
      page = await api("api/misses");
    } catch (error) {
      if (!(error instanceof Locked)) fill(view, el("p", { class: "error" }, error.message));
      return;
    }
    if (!page.rows.length) {
      fill(view, el("p", { class: "empty" }, "No misses: every request was answered."));
      return;
    }
    const items = page.rows.map((row) =>
      el(
        "li",
        { class: "miss-item", "data-id": row.id },
        el("a", { href: "#/misses/" + encodeURIComponent(row.id) }, el("span", { class: "time" }, clock(row.time)), " ", el("span", { class: "door" }, row.door), " ", el("span", { class: "user" }, row.user === null ? row.path : row.user), el("span", { class: "outcome" }, row.outcome || "")),
      ),
    );
    fill(view, el("p", { class: "muted" }, `${page.count} request(s) nothing answered, newest first.`), el("ul", { class: "misses" }, items));
  }

  // -- the collection --------------------------------------------------------------------------

  function exampleNode(example) {
    const seq = example.sequence ? el("span", { class: "badge seq", title: "examples with the same match key answer in turn" }, `sequence ${example.sequence.position}/${example.sequence.length}`) : null;
    return el(
      "li",
      { class: "example" + (example.hits ? "" : " unreached"), "data-name": example.full_name },
      el("span", { class: "name" }, example.name),
      el("span", { class: "badge hits", title: "requests it answered in this run" }, `${example.hits} hit${example.hits === 1 ? "" : "s"}`),
      seq,
      el("span", { class: "muted" }, ` ${example.door} · ${example.status}${example.model ? " · " + example.model : ""}`),
    );
  }

  function treeNode(node) {
    if (node.kind === "folder") {
      return el("li", { class: "folder" }, el("span", { class: "folder-name" }, node.name), el("ul", {}, node.children.map(treeNode)));
    }
    return el(
      "li",
      { class: "item" },
      el("span", { class: "item-name" }, node.name),
      node.note ? el("span", { class: "note" }, ` (${node.note})`) : null,
      el("ul", {}, node.examples.map(exampleNode)),
    );
  }

  let collectionTimer = null;
  function refreshCollectionSoon() {
    if (collectionTimer !== null) return;
    collectionTimer = setTimeout(() => {
      collectionTimer = null;
      if (currentRoute().view === "collection") renderCollection(currentRoute().arg);
    }, 500);
  }

  async function renderCollection(target) {
    const view = $("collection-view");
    let data;
    try {
      data = await api("api/collection");
    } catch (error) {
      if (!(error instanceof Locked)) fill(view, el("p", { class: "error" }, error.message));
      return;
    }
    const dropped = data.dropped ? ` (${data.dropped} older ones were dropped by the journal limit)` : "";
    const sequences = data.sequences.map((group) => el("li", {}, el("ol", {}, group.map((name) => el("li", {}, el("a", { href: collectionLink(name) }, name))))));
    fill(
      view,
      el("h2", {}, data.name),
      el("p", { class: "muted" }, `${data.path || "not from a file"} · match: ${data.match} · ${data.reached} of ${data.examples} examples reached by the ${data.counted} requests kept${dropped}.`),
      el("ul", { class: "tree" }, data.tree.map(treeNode)),
      sequences.length ? [el("h3", {}, "Sequences (the n-th matching request gets the n-th example)"), el("ul", { class: "sequences" }, sequences)] : null,
    );
    if (target) {
      for (const node of view.querySelectorAll("li.example")) {
        if (node.dataset.name === target) {
          node.classList.add("target");
          node.scrollIntoView({ block: "center" });
        }
      }
    }
  }

  // -- routes: #/requests, #/requests/ID, #/misses, #/misses/ID, #/collection[/NAME] ----------

  function currentRoute() {
    const [view, ...rest] = location.hash.replace(/^#\/?/, "").split("/");
    return { view: view || "requests", arg: rest.length ? decodeURIComponent(rest.join("/")) : null };
  }

  function route() {
    const { view, arg } = currentRoute();
    const shown = arg !== null && view !== "collection" ? "detail" : view;
    for (const section of document.querySelectorAll("main > section")) section.hidden = section.id !== `${shown}-view`;
    for (const tab of document.querySelectorAll("nav a")) tab.classList.toggle("active", tab.id === `tab-${view}`);
    if (shown === "detail") renderDetail(arg, view === "misses");
    else if (view === "misses") renderMisses();
    else if (view === "collection") renderCollection(arg);
  }

  window.addEventListener("hashchange", route);

  async function start() {
    try {
      const [info] = await Promise.all([api("api/info"), loadNewest()]);
      state.info = info;
      state.requests = Math.max(state.requests, info.requests);
      showInfo();
    } catch (error) {
      if (!(error instanceof Locked)) $("summary").textContent = "Cannot reach the server: " + error.message;
      return;
    }
    requestAnimationFrame(() => {
      document.documentElement.dataset.firstPaintMs = String(Math.round(performance.now()));
    });
    if (!state.started) {
      state.started = true;
      listen();
    }
    route();
  }

  start();
})();
