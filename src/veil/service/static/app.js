// The veil web page: send photos to the API, follow the job, show before and after (or what a judge reads).
// Plain JavaScript, no build step. The API key stays in this tab's sessionStorage.
"use strict";

const KEY_NAME = "veil-api-key";
const POLL_MS = 500;
const ATTRIBUTES = ["gender", "age", "race"];
const $ = (selector) => document.querySelector(selector);

let chosen = [];   // File objects, in the order they were chosen
let job = null;    // the job JSON as last polled
const shown = new Set();  // indexes whose result is on the page

function apiKey() {
  return sessionStorage.getItem(KEY_NAME) || "";
}

async function api(path, options = {}) {
  const headers = { Authorization: `Bearer ${apiKey()}`, ...(options.headers || {}) };
  const response = await fetch(path, { ...options, headers });
  if (!response.ok) {
    let detail = response.statusText;
    try { detail = (await response.json()).detail || detail; } catch (_) { /* not JSON */ }
    throw new Error(`${response.status}: ${detail}`);
  }
  return response;
}

function setStatus(text, isError = false) {
  $("#status").textContent = text;
  $("#status").classList.toggle("error", isError);
}

function refreshStart() {
  $("#start").disabled = !(apiKey() && chosen.length);
}

function choose(files) {
  chosen = Array.from(files).filter((file) => file.type.startsWith("image/") || file.type === "");
  $("#chosen").textContent = chosen.length
    ? `${chosen.length} photo(s): ${chosen.map((file) => file.name).join(", ")}`
    : "";
  refreshStart();
}

function figure(caption, src) {
  const fig = document.createElement("figure");
  const img = document.createElement("img");
  img.alt = caption;
  img.className = caption === "before" ? "before" : "after";
  if (src) img.src = src;
  const text = document.createElement("figcaption");
  text.textContent = caption;
  fig.append(img, text);
  return fig;
}

function showPhotos(withAfter = true) {
  const list = $("#results");
  list.replaceChildren();
  shown.clear();
  chosen.forEach((file, index) => {
    const item = document.createElement("li");
    item.id = `photo-${index}`;
    const title = document.createElement("p");
    title.textContent = file.name;
    const pair = document.createElement("div");
    pair.className = "pair";
    pair.append(figure("before", URL.createObjectURL(file)));
    if (withAfter) pair.append(figure("after (working...)", null));
    const notes = document.createElement("p");
    notes.className = "notes";
    item.append(title, pair, notes);
    list.append(item);
  });
}

async function showResult(item) {
  const row = $(`#photo-${item.index}`);
  if (!row || shown.has(item.index)) return;
  shown.add(item.index);
  const notes = row.querySelector(".notes");
  const after = row.querySelector("img.after");
  const caption = row.querySelectorAll("figcaption")[1];
  if (item.status === "failed") {
    caption.textContent = "after: failed";
    notes.textContent = item.error;
    notes.classList.add("error");
    return;
  }
  const blob = await (await api(item.result_url)).blob();
  after.src = URL.createObjectURL(blob);
  caption.textContent = `after (${item.faces} face(s))`;
  if (job.kind === "hide") listLines(notes, hiddenLines(item.result));
  if (item.card_url) {
    const card = document.createElement("button");
    card.type = "button";
    card.className = "card";
    card.textContent = "Open the protection card";
    card.addEventListener("click", () => openCard(item.card_url));
    notes.append(card);
  }
}

// One line per face: for each hidden attribute, what it was pushed towards and what each white-box
// judge read before and after.
function hiddenLines(result) {
  return result.faces.map((face, n) => {
    if (!face.hidden) return `face ${n + 1}: too small to protect`;
    const attributes = result.hide.map((attribute) => {
      const reads = Object.keys(face.after).map((judge) =>
        `${judge}: ${face.before[judge][attribute]} \u2192 ${face.after[judge][attribute]}`);
      const target = face.targets[attribute];
      const goal = target === "chance" ? "pushed towards chance" : `shown as ${target}`;
      return `${attribute} ${goal} (${reads.join("; ")})`;
    });
    return `face ${n + 1}: ${attributes.join(", ")}`;
  });
}

// One line per face: the class the judge reads for each attribute, with its probability.
function readLines(faces) {
  if (!faces.length) return ["no face found"];
  return faces.map((face, n) => `face ${n + 1}: ` + ATTRIBUTES
    .map((attribute) => `${face[attribute].label} (${Math.round(100 * face[attribute].confidence)}%)`)
    .join(", "));
}

function listLines(parent, lines) {
  const list = document.createElement("ul");
  list.className = "reads";
  for (const line of lines) {
    const entry = document.createElement("li");
    entry.textContent = line;
    list.append(entry);
  }
  parent.append(list);
}

async function openCard(url) {
  const page = window.open("", "_blank");
  const blob = await (await api(url)).blob();
  const target = URL.createObjectURL(new Blob([blob], { type: "text/html" }));
  if (page) page.location.href = target; else window.location.href = target;
}

async function poll() {
  try {
    job = await (await api(job.url)).json();
  } catch (error) {
    setStatus(`Lost the job: ${error.message}`, true);
    return;
  }
  const { done, failed, total } = job.progress;
  $("#progress").max = total;
  $("#progress").value = done + failed;
  setStatus(`${job.kind}: ${job.status}, ${done + failed} of ${total} photo(s)` +
    (failed ? `, ${failed} failed` : ""));
  for (const item of job.items) {
    if (item.status !== "queued") await showResult(item);
  }
  if (job.status === "done" || job.status === "failed") {
    setStatus(`Finished: ${done} done, ${failed} failed. Results are deleted at ${job.expires_at}.`,
      job.status === "failed");
    $("#download-zip").disabled = done === 0;
    $("#delete-job").disabled = false;
    $("#start").disabled = false;
    return;
  }
  setTimeout(poll, POLL_MS);
}

// The job request of the chosen action, or an error message.
function jobRequest(action) {
  const form = new FormData();
  chosen.forEach((file) => form.append("file", file, file.name));
  if (action === "cloak") {
    form.append("mode", $("#mode").value);
    return { path: "/v1/cloak", form };
  }
  if (action === "hide") {
    const attributes = Array.from(document.querySelectorAll("input[name=attribute]:checked"))
      .map((box) => box.value);
    if (!attributes.length) return { error: "Choose at least one attribute to hide." };
    form.append("attributes", attributes.join(","));
    form.append("visible", $("#visible").checked);
    form.append("chance", $("#chance").checked);
    return { path: "/v1/hide", form };
  }
  form.append("method", $("#method").value);
  return { path: "/v1/anonymize/jobs", form };
}

async function start() {
  const action = document.querySelector("input[name=action]:checked").value;
  if (action === "read") {
    await readAttributes();
    return;
  }
  const request = jobRequest(action);
  if (request.error) {
    setStatus(request.error, true);
    return;
  }
  $("#start").disabled = true;
  $("#download-zip").disabled = true;
  $("#delete-job").disabled = true;
  $("#progress").value = 0;
  showPhotos();
  setStatus("Uploading...");
  try {
    job = await (await api(request.path, { method: "POST", body: request.form })).json();
  } catch (error) {
    setStatus(`Not accepted: ${error.message}`, true);
    refreshStart();
    return;
  }
  poll();
}

// Ask the judge what it reads from each photo, one request per photo; nothing is kept on the server.
async function readAttributes() {
  $("#start").disabled = true;
  $("#download-zip").disabled = true;
  $("#delete-job").disabled = true;
  $("#progress").max = chosen.length;
  $("#progress").value = 0;
  showPhotos(false);
  let failed = 0;
  for (const [index, file] of chosen.entries()) {
    setStatus(`Reading ${index + 1} of ${chosen.length}...`);
    const form = new FormData();
    form.append("file", file, file.name);
    form.append("judge", $("#judge").value);
    const notes = $(`#photo-${index} .notes`);
    try {
      const read = await (await api("/v1/attributes", { method: "POST", body: form })).json();
      listLines(notes, readLines(read.faces));
    } catch (error) {
      failed += 1;
      notes.textContent = error.message;
      notes.classList.add("error");
    }
    $("#progress").value = index + 1;
  }
  setStatus(`Read ${chosen.length - failed} photo(s) with the ${$("#judge").value} judge` +
    (failed ? `, ${failed} failed` : "") + ".", failed > 0);
  refreshStart();
}

async function downloadZip() {
  const blob = await (await api(job.results_url)).blob();
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = `veil-${job.kind}-${job.id.slice(0, 8)}.zip`;
  document.body.append(link);
  link.click();
  link.remove();
}

async function deleteJob() {
  await api(job.url, { method: "DELETE" });
  setStatus("Deleted from the server.");
  $("#download-zip").disabled = true;
  $("#delete-job").disabled = true;
}

document.addEventListener("DOMContentLoaded", () => {
  $("#api-key").value = apiKey();
  if (apiKey()) $("#key-status").textContent = "key set for this tab";
  $("#key-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY_NAME, $("#api-key").value.trim());
    try {
      await api("/v1/version");
      $("#key-status").textContent = "key accepted";
      $("#key-status").classList.remove("error");
    } catch (error) {
      $("#key-status").textContent = `key refused (${error.message})`;
      $("#key-status").classList.add("error");
    }
    refreshStart();
  });
  const drop = $("#drop");
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    choose(event.dataTransfer.files);
  });
  $("#files").addEventListener("change", (event) => choose(event.target.files));
  $("#start").addEventListener("click", start);
  $("#download-zip").addEventListener("click", () => downloadZip().catch((e) => setStatus(e.message, true)));
  $("#delete-job").addEventListener("click", () => deleteJob().catch((e) => setStatus(e.message, true)));
});
