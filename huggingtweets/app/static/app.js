// The page of the huggingtweets web app: renders /api/state and sends the three steps' forms.
// Text from posts and models is only ever set with textContent, never parsed as HTML; the one exception
// is the model card, which the server renders from Markdown and sanitises (nh3) before it comes here.
// Every request that changes something carries the session's CSRF token (X-CSRF-Token), which the
// server checks.
"use strict";

const $ = (id) => document.getElementById(id);
let state = null;
let pollTimer = null;
let optionsShown = false;
let writing = false;
const BUSY_TRAINING = ["queued", "running", "cancelling"];

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "className") node.className = v;
    else node.setAttribute(k, v);
  }
  if (text !== undefined) node.textContent = text;
  return node;
}

function showError(id, message) {
  const node = $(id);
  node.textContent = message || "";
  node.hidden = !message;
}

async function call(method, url, body) {
  const init = { method, credentials: "same-origin", headers: {} };
  if (method !== "GET" && state && state.csrf) init.headers["X-CSRF-Token"] = state.csrf;
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (e) {
    throw new Error("the app's server does not answer: is it still running?");
  }
  let data = null;
  try { data = await response.json(); } catch (e) { /* not JSON */ }
  if (!response.ok) {
    throw new Error((data && data.error) || `the server answered ${response.status}`);
  }
  return data;
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "";
  const s = Math.max(0, Math.round(seconds));
  const m = Math.floor(s / 60);
  return m ? `${m} min ${String(s % 60).padStart(2, "0")} s` : `${s} s`;
}

// --- step 1 ---------------------------------------------------------------------------------------

function buildSourceRows(options) {
  const rows = $("source-rows");
  rows.replaceChildren();
  for (let i = 0; i < options.max_sources; i++) {
    const row = el("div", { className: "source-row", id: `source-row${i}` });
    const kind = el("select", { id: `kind${i}`, name: `kind${i}`, "aria-label": `Source ${i + 1}: network` });
    for (const [value, label] of Object.entries(options.networks)) {
      kind.append(el("option", { value }, label));
    }
    kind.value = i === 0 ? "upload" : "x";
    const value = el("input", { id: `value${i}`, name: `value${i}`, placeholder: "handle",
                                autocapitalize: "off", spellcheck: "false",
                                "aria-label": `Source ${i + 1}: handle` });
    const file = el("input", { id: `file${i}`, name: `file${i}`, type: "file",
                               accept: ".zip,.js,.json,.jsonl,.csv,.tsv,.txt",
                               "aria-label": `Source ${i + 1}: archive or file` });
    const sync = () => {
      const upload = kind.value === "upload";
      value.hidden = upload;
      file.hidden = !upload;
      value.placeholder = kind.value === "mastodon" ? "@user@server" :
        kind.value === "bsky" ? "name.bsky.social" : "handle";
    };
    kind.addEventListener("change", sync);
    sync();
    row.append(kind, value, file);
    rows.append(row);
  }
}

async function download(event) {
  event.preventDefault();
  showError("prepare-error", "");
  const form = new FormData();
  for (let i = 0; i < state.options.max_sources; i++) {
    const kind = $(`kind${i}`).value;
    form.append(`kind${i}`, kind);
    if (kind === "upload") {
      const file = $(`file${i}`).files[0];
      if (file) form.append(`file${i}`, file, file.name);
    } else {
      form.append(`value${i}`, $(`value${i}`).value);
    }
  }
  form.append("handle", $("handle").value);
  $("download").disabled = true;
  $("prepare-status").textContent = "Uploading…";
  try {
    render(await call("POST", "/api/prepare", form));
  } catch (e) {
    $("prepare-status").textContent = "";
    showError("prepare-error", e.message);
    $("download").disabled = false;
  }
}

function renderDataset(s) {
  const p = s.prepare || {};
  const running = p.status === "running";
  $("download").disabled = running;
  if (running) {
    const counts = Object.entries(p.progress || {}).map(([who, n]) => `${who}: ${n.toLocaleString()} posts`);
    $("prepare-status").textContent = "Downloading and cleaning… " + counts.join(", ");
  } else if (p.status === "done" && s.dataset) {
    $("prepare-status").textContent = `Ready: ${s.sources.join(", ")}`;
  } else if ($("prepare-status").textContent !== "Uploading…") {
    $("prepare-status").textContent = "";
  }
  showError("prepare-error", p.status === "error" ? p.error : "");
  const d = s.dataset;
  $("dataset").hidden = !d;
  if (!d) return;
  $("bot-name").textContent = d.bot;
  const head = el("tr");
  d.table.header.forEach((h) => head.append(el("th", { scope: "col" }, h)));
  $("data-table").tHead.replaceChildren(head);
  const body = $("data-table").tBodies[0];
  body.replaceChildren(...d.table.rows.map((row) => {
    const tr = el("tr");
    tr.append(el("th", { scope: "row" }, row[0]));
    row.slice(1).forEach((n) => tr.append(el("td", { className: "n" },
      typeof n === "number" ? n.toLocaleString() : String(n))));
    return tr;
  }));
  $("data-warnings").replaceChildren(...(d.warnings || []).map((w) => el("li", {}, w)));
  $("samples").replaceChildren(...d.samples.map((p) => el("li", {}, `@${p.handle}: ${p.text}`)));
  if (!$("repo-id").value) $("repo-id").placeholder = `your-name/huggingtweets-${d.bot}`;
}

// --- step 2 ---------------------------------------------------------------------------------------

async function train(resume) {
  showError("train-error", "");
  const body = resume ? { resume: true } : {
    base_model: $("base-model").value, recipe: $("recipe").value,
    epochs: $("epochs").value, max_steps: $("max-steps").value,
  };
  try {
    render(await call("POST", "/api/train", body));
  } catch (e) {
    showError("train-error", e.message);
  }
}

async function cancel() {
  try {
    render(await call("POST", "/api/cancel"));
  } catch (e) {
    showError("train-error", e.message);
  }
}

function trainingLine(t) {
  if (t.status === "queued") {
    // The server's own words first (with a queue: "Waiting for a free worker…", or why a run is tried
    // again), then the place in the line.
    const ahead = t.position > 1 ? `${t.position - 1} other training run(s) go first` : "";
    if (t.message) return ahead ? `${t.message} (${ahead}.)` : t.message;
    return ahead ? `Waiting: ${ahead}.` : "Waiting for the training run in progress to finish.";
  }
  if (t.status === "running" || t.status === "cancelling") {
    if (!t.step) return t.message || "Training…";
    return `Step ${t.step}` + (t.total ? ` of ${t.total}` : "") +
      (t.loss !== null && t.loss !== undefined ? ` · loss ${Number(t.loss).toFixed(3)}` : "") +
      (t.eta_s !== null && t.eta_s !== undefined ? ` · ${duration(t.eta_s)} left` : "") +
      (t.status === "cancelling" ? " · " + t.message : "");
  }
  return t.status === "done" || t.status === "cancelled" ? t.message || "" : "";
}

function renderTraining(s) {
  const t = s.training || { status: "idle" };
  const active = BUSY_TRAINING.includes(t.status);
  $("train").disabled = active || !s.dataset || (s.prepare || {}).status === "running";
  $("cancel").hidden = !["queued", "running"].includes(t.status);
  $("resume").hidden = !t.resumable;
  const bar = $("train-progress");
  bar.hidden = t.status === "idle";
  if (t.total) {
    bar.max = t.total;
    bar.value = Math.min(t.step || 0, t.total);
    bar.setAttribute("aria-valuetext", `step ${t.step || 0} of ${t.total}`);
  } else if (t.status === "done") {
    bar.max = 1; bar.value = 1;
    bar.setAttribute("aria-valuetext", "done");
  } else {
    bar.removeAttribute("value"); // indeterminate while the model loads
    bar.setAttribute("aria-valuetext", t.message || "starting");
  }
  $("train-status").textContent = trainingLine(t);
  showError("train-error", t.status === "error" ? t.message : "");
}

// --- step 3 ---------------------------------------------------------------------------------------

// While the server writes, /api/state's `writing.posts` holds the posts finished so far (when the
// generation workers hand them over one by one); they are shown as they arrive.
async function watchWriting() {
  while (writing) {
    await new Promise((done) => setTimeout(done, 400));
    if (!writing) break;
    try {
      const s = await call("GET", "/api/state");
      if (writing && s.writing) showWriting(s.writing);
    } catch (e) { /* the answer to the POST says what went wrong */ }
  }
}

function showWriting(w) {
  if (!w.posts.length) return;
  $("generate-status").textContent = `Writing… ${w.posts.length} of ${w.n} posts done`;
  $("predictions").replaceChildren(...w.posts.map((p, i) => predictionItem(p, i, -1, false)));
}

async function generate(event) {
  event.preventDefault();
  showError("generate-error", "");
  $("generate").disabled = true;
  $("generate-status").textContent = "Writing… (the first time, the model loads first)";
  writing = true;
  watchWriting();
  try {
    const s = await call("POST", "/api/generate", { prompt: $("prompt").value });
    writing = false;
    // The workers' note, when posts that copied a training post were left out and written again.
    $("generate-status").textContent = s.generate_note || `${s.predictions.length} posts written.`;
    render(s);
  } catch (e) {
    $("generate-status").textContent = "";
    showError("generate-error", e.message);
  } finally {
    writing = false;
    $("generate").disabled = !state || !state.model;
  }
}

async function choosePreview(index) {
  showError("generate-error", "");
  $("generate-status").textContent = "Drawing the preview…";
  try {
    render(await call("POST", "/api/preview", { index }));
    $("generate-status").textContent = "Preview drawn; the card is below.";
  } catch (e) {
    $("generate-status").textContent = "";
    showError("generate-error", e.message);
  }
}

async function publish(event) {
  event.preventDefault();
  showError("publish-error", "");
  const token = $("token");
  $("publish").disabled = true;
  $("publish-status").textContent = "Publishing…";
  try {
    render(await call("POST", "/api/publish", { repo_id: $("repo-id").value, token: token.value }));
  } catch (e) {
    $("publish-status").textContent = "";
    showError("publish-error", e.message);
  } finally {
    token.value = ""; // used once: the page keeps no copy either
    $("publish").disabled = false;
  }
}

// One post: its text, share links (never for a post that copies a training post) and the preview button.
function predictionItem(p, i, chosen, final) {
  const li = el("li", { className: "prediction" + (i === chosen ? " chosen" : "") + (p.copy ? " is-copy" : "") });
  li.append(el("p", { className: "text" }, p.text));
  const actions = el("div", { className: "actions" });
  if (p.copy) actions.append(el("span", { className: "copy" }, "Copies a training post: not for sharing"));
  for (const [net, link] of Object.entries(p.copy ? {} : p.share || {})) {
    actions.append(el("a", { className: `share share-${net}`, href: link.url, target: "_blank",
                             rel: "noopener noreferrer", "aria-label": `${link.label}: post ${i + 1}` },
                      link.label));
  }
  if (final && !p.copy) {
    const use = el("button", { type: "button", className: "use-preview",
                               "aria-label": i === chosen ? `Post ${i + 1} is in the preview` :
                                 `Use post ${i + 1} for the preview` },
                   i === chosen ? "In the preview" : "Use for the preview");
    use.addEventListener("click", () => choosePreview(i));
    actions.append(use);
  }
  li.append(actions);
  return li;
}

let shownPreview = null;

async function showCard() {
  try {
    const card = await call("GET", "/api/card");
    // Rendered from Markdown and sanitised by the server (nh3): no script, handler or style survives.
    $("card").innerHTML = card.html;
    $("card-markdown").textContent = card.markdown;
  } catch (e) {
    $("card").textContent = e.message;
  }
}

function renderPredictions(s) {
  $("generate").disabled = !s.model || writing;
  $("model-actions").hidden = !s.model;
  if (!s.model) {
    $("predictions").replaceChildren();
    $("preview").hidden = true;
    shownPreview = null;
    if (!$("generate-status").textContent) $("generate-status").textContent = "Train a model first.";
    return;
  }
  if ($("generate-status").textContent === "Train a model first.") $("generate-status").textContent = "";
  if (writing) return; // the posts being written are on show
  const chosen = s.preview ? s.preview.index : -1;
  $("predictions").replaceChildren(...s.predictions.map((p, i) => predictionItem(p, i, chosen, true)));
  $("preview").hidden = !s.preview;
  if (s.preview && shownPreview !== s.preview.version) {
    shownPreview = s.preview.version;
    $("preview-image").src = `/api/preview.png?v=${s.preview.version}`;
    showCard();
  }
  if (s.publish && s.publish.url) {
    $("publish-status").replaceChildren("Published: ", el("a", { href: s.publish.url, target: "_blank",
      rel: "noopener noreferrer", id: "published-link" }, s.publish.url));
  }
}

// --- your data ------------------------------------------------------------------------------------

async function deleteData() {
  $("delete-dialog").close();
  showError("delete-error", "");
  $("delete-data").disabled = true;
  $("delete-status").textContent = "Deleting…";
  try {
    await call("POST", "/api/delete");
    // A fresh session: the page starts again from step 1.
    optionsShown = false;
    shownPreview = null;
    ["handle", "repo-id", "token", "epochs", "max-steps"].forEach((id) => { $(id).value = ""; });
    $("card").replaceChildren();
    $("card-markdown").textContent = "";
    $("generate-status").textContent = "";
    $("publish-status").textContent = "";
    render(await call("GET", "/api/state"));
    $("delete-status").textContent = "Your data is deleted.";
  } catch (e) {
    $("delete-status").textContent = "";
    showError("delete-error", e.message);
  } finally {
    $("delete-data").disabled = false;
  }
}

// --- state ----------------------------------------------------------------------------------------

function render(s) {
  state = s;
  if (!optionsShown) {
    optionsShown = true;
    buildSourceRows(s.options);
    // Empty: the server's default, named in the placeholder (a folder on the server by its name only).
    $("base-model").value = "";
    $("base-model").placeholder = `default: ${s.options.base_model}`;
    $("recipe").replaceChildren(...s.options.recipes.map((r) => el("option", { value: r }, r)));
    $("recipe").value = s.options.default_recipe;
    $("prompt").value = s.prompt || s.options.default_prompt;
    $("generate").textContent = `Write ${s.options.n_predictions} posts`;
  }
  renderDataset(s);
  renderTraining(s);
  renderPredictions(s);
  const busy = (s.prepare || {}).status === "running" || BUSY_TRAINING.includes((s.training || {}).status);
  clearTimeout(pollTimer);
  if (busy) pollTimer = setTimeout(refresh, 700);
}

async function refresh() {
  try {
    render(await call("GET", "/api/state"));
  } catch (e) {
    clearTimeout(pollTimer);
    pollTimer = setTimeout(refresh, 3000);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("sources-form").addEventListener("submit", download);
  $("train-form").addEventListener("submit", (e) => { e.preventDefault(); train(false); });
  $("cancel").addEventListener("click", cancel);
  $("resume").addEventListener("click", () => train(true));
  $("generate-form").addEventListener("submit", generate);
  $("publish-form").addEventListener("submit", publish);
  $("delete-data").addEventListener("click", () => $("delete-dialog").showModal());
  $("delete-keep").addEventListener("click", () => $("delete-dialog").close());
  $("delete-confirm").addEventListener("click", deleteData);
  refresh();
});
