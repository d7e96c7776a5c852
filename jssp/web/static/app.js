// The jssp page: send an instance to /api/solve, show the schedule as an SVG Gantt chart, offer downloads.
// Plain DOM code, no libraries: the page must work with no network beyond this server.
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";
// Keys the API adds to the schedule documents; the JSON download (the document of jssp solve --output) leaves
// them out.
const WEB_ONLY_KEYS = ["gap_pct", "benchmark", "problem"];
const CSV_COLUMNS = ["job", "op", "machine", "start", "duration", "end"];
const MAX_LEGEND_JOBS = 40;
const MAX_GANTT_MACHINES = 100;  // as jssp.gantt.MAX_GANTT_MACHINES: beyond it, the busiest machines get a lane
const FILE_HINT = "or drop it here · standard, Taillard, OR-Library, jssp or JSPLib JSON, gzip too";

// Same colours as jssp.gantt.job_colors: tab10 / tab20, then golden-ratio hues.
const TAB10 = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
  "#17becf"];
const TAB20 = ["#1f77b4", "#aec7e8", "#ff7f0e", "#ffbb78", "#2ca02c", "#98df8a", "#d62728", "#ff9896", "#9467bd",
  "#c5b0d5", "#8c564b", "#c49c94", "#e377c2", "#f7b6d2", "#7f7f7f", "#c7c7c7", "#bcbd22", "#dbdb8d", "#17becf",
  "#9edae5"];

const $ = (id) => document.getElementById(id);
const state = { limits: null, result: null, solving: false };

// ------------------------------------------------------------------ start-up

async function init() {
  $("solve-form").addEventListener("submit", onSolve);
  $("problem").addEventListener("change", onProblemChosen);
  $("method").addEventListener("change", onMethodChosen);
  $("file").addEventListener("change", onFileChosen);
  $("text").addEventListener("input", () => {
    if ($("text").value) clearFile();
    hideInstanceChoice();
  });
  const drop = $("drop");
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("dragging"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("dragging"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("dragging");
    if (event.dataTransfer.files.length) {
      $("file").files = event.dataTransfer.files;
      onFileChosen();
    }
  });
  $("download-json").addEventListener("click", () => downloadJson(state.result));
  $("download-csv").addEventListener("click", () => downloadCsv(state.result));
  $("download-png").addEventListener("click", () => downloadPng(state.result));
  window.addEventListener("resize", debounce(() => { if (state.result) drawGantt(state.result); }, 150));

  try {
    const info = await getJson("/api/methods");
    state.limits = info;
    const problems = Object.entries(info.problems);
    $("problem").replaceChildren(...problems.map(([name, problem]) => new Option(
      `${name}: ${problem.description}`, name, name === info.default_problem, name === info.default_problem)));
    onProblemChosen();
    const limit = $("time-limit");
    limit.max = String(info.time_limit.max);
    limit.value = String(info.time_limit.default);
    $("limits").textContent = `Files up to ${formatBytes(info.max_upload_bytes)}, instances up to `
      + `${info.max_operations.toLocaleString("en")} operations, time limit up to ${info.time_limit.max} s `
      + "(used by the searches: tabu-pr, the default, tabu, cpsat; the rules finish in milliseconds).";
  } catch (error) {
    showError(`cannot load the list of methods: ${error.message}`);
  }
}

// The problem decides the methods offered and the option fields shown, both as the server lists
// them per problem (GET /api/methods); the chosen method stays when the other problem has it too.
function onProblemChosen() {
  if (!state.limits) return;
  const problem = state.limits.problems[$("problem").value];
  const select = $("method");
  const chosen = problem.methods.includes(select.value) ? select.value : problem.default_method;
  select.replaceChildren(...problem.methods.map((name) => new Option(name, name, false, name === chosen)));
  $("problem-options").replaceChildren(...problem.options.map(optionField));
  onMethodChosen();
}

// The re-planning methods read a budget per plan; the field shows only for them.
const REPLANNING_METHODS = ["reschedule", "right-shift", "gnn-replan"];
function onMethodChosen() {
  $("event-budget-field").hidden = !REPLANNING_METHODS.includes($("method").value);
}

// One problem option as a labelled input: a select for a choice, a number input otherwise; the
// field's docstring is its tooltip, and an empty optional field takes the server's default rule.
function optionField(option) {
  const label = document.createElement("label");
  label.title = option.help;
  const words = option.name.replace(/_/g, " ");
  label.append(words.charAt(0).toUpperCase() + words.slice(1));
  let input;
  if (option.kind === "choice") {
    input = document.createElement("select");
    input.append(...option.choices.map((value) => new Option(value, value, value === option.default,
      value === option.default)));
  } else {
    input = document.createElement("input");
    input.type = option.kind === "text" ? "text" : "number";
    if (option.kind === "integer") input.step = "1";
    if (option.kind === "number") input.step = "any";
    if (option.default === null) input.placeholder = "default";
    else input.value = String(option.default);
  }
  input.id = option.name.replace(/_/g, "-");
  input.name = option.name;
  input.className = "problem-option";
  label.append(input);
  return label;
}

function onFileChosen() {
  const file = $("file").files[0];
  $("drop").classList.toggle("chosen", Boolean(file));
  $("file-label").textContent = file ? file.name : "Choose an instance file";
  $("file-hint").textContent = file ? `${formatBytes(file.size)} · click to choose another` : FILE_HINT;
  if (file) $("text").value = "";
  hideInstanceChoice();
}

// A file holding several instances (an OR-Library collection): the server answers 422 with their
// names, and the page offers them in a select that goes with the next request.
function showInstanceChoice(names) {
  const select = $("instance");
  select.replaceChildren(...names.map((name, index) => new Option(name, name, index === 0, index === 0)));
  $("instance-field").hidden = false;
}

function hideInstanceChoice() {
  $("instance-field").hidden = true;
  $("instance").replaceChildren();
}

function clearFile() {
  $("file").value = "";
  onFileChosen();
}

// ------------------------------------------------------------------ solving

async function onSolve(event) {
  event.preventDefault();
  if (state.solving) return;
  hideError();
  const file = $("file").files[0];
  const text = $("text").value;
  if (!file && !text.trim()) {
    showError("choose an instance file or paste its content first");
    return;
  }
  if (file && state.limits && file.size > state.limits.max_upload_bytes) {
    showError(`${file.name}: ${file.size} bytes, more than the ${state.limits.max_upload_bytes} this server accepts`);
    return;
  }
  const form = new FormData();
  if (file) form.append("file", file, file.name);
  else form.append("text", text);
  const method = $("method").value;
  form.append("method", method);
  form.append("time_limit", $("time-limit").value);
  if (!$("event-budget-field").hidden) form.append("event_budget", $("event-budget").value);
  form.append("seed", $("seed").value);
  form.append("problem", $("problem").value);
  for (const input of $("problem-options").querySelectorAll(".problem-option")) {
    if (input.value) form.append(input.name, input.value);
  }
  if (!$("instance-field").hidden && $("instance").value) form.append("instance", $("instance").value);

  setSolving(true, method);
  const began = performance.now();
  try {
    const response = await fetch("/api/solve", { method: "POST", body: form });
    const body = await readJson(response);
    if (response.status === 422 && body && Array.isArray(body.instances)) {
      showInstanceChoice(body.instances);
      throw new Error(`This file holds ${body.instances.length} instances: pick one under Instance and solve again.`);
    }
    if (!response.ok) throw new Error(errorDetail(response, body));
    const seconds = (performance.now() - began) / 1000;
    showResult(body, seconds);
  } catch (error) {
    $("result").hidden = true;
    state.result = null;
    showError(error.message);
  } finally {
    setSolving(false);
  }
}

function setSolving(solving, method) {
  state.solving = solving;
  $("solve").disabled = solving;
  $("solve").textContent = solving ? "Solving…" : "Solve";
  clearInterval(state.timer);
  if (solving) {
    const began = performance.now();
    const tick = () => {
      $("status").textContent = `Solving with ${method}… ${((performance.now() - began) / 1000).toFixed(1)} s`;
    };
    tick();
    state.timer = setInterval(tick, 100);
  } else if (!state.result) {
    $("status").textContent = "";
  }
}

// A schedule whose machines go down: its operations hold processing segments (enter, segments, leave) and
// its document the down intervals of every machine; it is drawn with blocked time and down bands.
function hasDowntime(result) {
  return Array.isArray(result.down_intervals);
}

function showResult(result, roundTripSeconds) {
  state.result = result;
  const instance = result.instance;
  const downtime = hasDowntime(result);
  $("result-title").textContent = `${instance.name} · ${result.method}`;
  const known = result.benchmark ? ` · known benchmark ${result.benchmark}` : " · not a known benchmark";
  const status = result.status ? ` · ${result.status.toLowerCase()}` : "";
  const settings = result.problem.settings ? ` · ${result.problem.settings}` : "";
  $("result-subtitle").textContent = `${instance.num_jobs} jobs × ${instance.num_machines} machines`
    + `${settings}${known}${status}`;
  const label = result.problem.best_known_label;
  $("best-known-label").textContent = label.charAt(0).toUpperCase() + label.slice(1);
  // the CSV has the columns of a schedule whose operations run in one piece (job, op, machine, start, duration, end)
  $("download-csv").hidden = result.operations.some((op) => op.duration === undefined);
  $("makespan").textContent = String(result.makespan);
  $("lower-bound").textContent = result.lower_bound === null ? "—" : String(result.lower_bound);
  if (result.lower_bound === result.makespan) $("lower-bound").append(small("optimal"));
  $("best-known").textContent = result.best_known === null ? "—" : String(result.best_known);
  $("gap").textContent = result.gap_pct === null ? "—" : `${result.gap_pct.toFixed(2)} %`;
  $("seconds").textContent = `${result.seconds.toFixed(3)} s`;
  $("status").textContent = `Solved in ${roundTripSeconds.toFixed(2)} s (request and solve). `
    + "Hover a bar for its operation.";
  $("result").hidden = false;
  drawGantt(result);
  drawLegend(result.instance.num_jobs, downtime);
}

// ------------------------------------------------------------------ Gantt chart (SVG)

// The machines that get a lane, in index order: all of them, or the busiest MAX_GANTT_MACHINES
// (most processing time, ties to the lower index) as in the PNG of jssp.gantt.
function shownMachines(result) {
  const count = result.instance.num_machines;
  const machines = Array.from({ length: count }, (_, machine) => machine);
  if (count <= MAX_GANTT_MACHINES) return machines;
  const loads = new Array(count).fill(0);
  for (const op of result.operations) loads[op.machine] += operationDuration(op);
  return machines.sort((a, b) => loads[b] - loads[a] || a - b).slice(0, MAX_GANTT_MACHINES).sort((a, b) => a - b);
}

// An operation that runs in one piece has its duration; one that shutdowns split, the total of its segments.
function operationDuration(op) {
  return op.duration !== undefined ? op.duration : op.segments.reduce((total, [start, end]) => total + end - start, 0);
}

function drawGantt(result) {
  const container = $("gantt");
  const shown = shownMachines(result);
  const laneOf = new Map(shown.map((machine, lane) => [machine, lane]));
  const numMachines = shown.length;
  const numJobs = result.instance.num_jobs;
  const note = $("gantt-note");
  note.hidden = numMachines === result.instance.num_machines;
  note.textContent = note.hidden ? "" : `Only the ${numMachines} busiest of ${result.instance.num_machines} machines `
    + "are shown (most processing time); the downloads hold every operation.";
  const colors = jobColors(numJobs);
  const horizon = Math.max(result.makespan, result.best_known || 0, 1);

  const margin = { left: 44, right: 96, top: 26, bottom: 30 };  // right: room for the later line's label
  const laneHeight = numMachines > 40 ? 14 : 26;
  const barHeight = Math.round(laneHeight * 0.78);
  const width = Math.max(container.clientWidth, 640);
  const plotWidth = width - margin.left - margin.right;
  const height = margin.top + numMachines * laneHeight + margin.bottom;
  const scale = plotWidth / (horizon * 1.02);
  const x = (time) => margin.left + time * scale;

  const svg = svgElement("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img" });
  svg.append(svgElement("title", {}, `Gantt chart: ${result.instance.name}, ${result.method}, makespan ${result.makespan}`));

  // Lanes and machine labels.
  for (let lane = 0; lane < numMachines; lane++) {
    const top = margin.top + lane * laneHeight;
    if (lane % 2 === 0) svg.append(svgElement("rect", { class: "lane", x: margin.left, y: top, width: plotWidth, height: laneHeight }));
    svg.append(svgElement("text", { class: "machine", x: margin.left - 8, y: top + laneHeight / 2, "text-anchor": "end",
      "dominant-baseline": "central" }, `M${shown[lane]}`));
  }

  // Time axis with gridlines.
  const axis = svgElement("g", { class: "axis" });
  const bottom = margin.top + numMachines * laneHeight;
  for (const tick of niceTicks(horizon * 1.02)) {
    axis.append(svgElement("line", { class: "grid", x1: x(tick), x2: x(tick), y1: margin.top, y2: bottom }));
    axis.append(svgElement("text", { x: x(tick), y: bottom + 16, "text-anchor": "middle" }, String(tick)));
  }
  svg.append(axis);

  const frame = { svg, laneOf, margin, laneHeight, barHeight, scale, x, colors, horizon };
  if (hasDowntime(result)) drawSegmentBars(result, frame);
  else drawBars(result, frame);

  // Makespan (solid) and best known (dashed); the later line's label goes right, the other's left.
  const makespanIsLater = result.best_known === null || result.makespan >= result.best_known;
  svg.append(marker(x(result.makespan), margin.top, bottom, `Cmax = ${result.makespan}`, makespanIsLater, "#c0392b", false));
  if (result.best_known !== null) {
    const label = result.problem.best_known_label;
    svg.append(marker(x(result.best_known), margin.top, bottom, `${label} = ${result.best_known}`, !makespanIsLater,
      "#2c3e50", true));
  }

  // Hovering a bar highlights every operation of its job.
  svg.addEventListener("mouseover", (event) => {
    const job = event.target.getAttribute && event.target.getAttribute("data-job");
    if (job === null || job === undefined) return;
    container.classList.add("focus");
    for (const rect of svg.querySelectorAll("[data-job]")) {
      rect.classList.toggle("hi", rect.getAttribute("data-job") === job);
    }
  });
  svg.addEventListener("mouseleave", () => {
    container.classList.remove("focus");
    for (const rect of svg.querySelectorAll(".hi")) rect.classList.remove("hi");
  });
  container.replaceChildren(svg);
}

// One bar per operation, coloured by job; the <title> is the hover text.
function drawBars(result, frame) {
  const { svg, laneOf, margin, laneHeight, barHeight, scale, x, colors } = frame;
  const bars = svgElement("g", { class: "bars" });
  const labelWidth = String(result.instance.num_jobs - 1).length * 6.5 + 4;
  for (const op of result.operations) {
    const lane = laneOf.get(op.machine);
    if (lane === undefined) continue;
    const top = margin.top + lane * laneHeight + (laneHeight - barHeight) / 2;
    const rect = svgElement("rect", {
      class: "op", x: x(op.start), y: top, width: Math.max(op.duration * scale, 0.75), height: barHeight,
      fill: colors[op.job], "data-job": op.job,
    });
    rect.append(svgElement("title", {}, `Job ${op.job}, operation ${op.op} (machine ${op.machine})\n`
      + `start ${op.start}, end ${op.end}, duration ${op.duration}`));
    bars.append(rect);
    if (op.duration * scale >= labelWidth && barHeight >= 12) {
      bars.append(jobLabel(x(op.start + op.duration / 2), top + barHeight / 2, op.job, colors[op.job]));
    }
  }
  svg.append(bars);
}

// A schedule with down intervals: each machine's down intervals as grey hatched bands behind the lane;
// each operation's processing segments as solid bars (class "op"), and the time its job then holds the
// machine after processing (leave later than the last segment's end) as a pale hatched bar of the same
// colour (class "blocked"), as the PNG chart of that problem draws them.
function drawSegmentBars(result, frame) {
  const { svg, laneOf, margin, laneHeight, barHeight, scale, x, colors, horizon } = frame;
  const defs = svgElement("defs", {});
  defs.append(hatchPattern("down-hatch", 45, "#e6e8eb", "#9aa3ad"));
  defs.append(hatchPattern("blocked-hatch", 135, "none", "rgba(20, 30, 40, 0.45)"));
  svg.append(defs);

  const down = svgElement("g", { class: "downtime" });
  result.down_intervals.forEach((rows, machine) => {
    const lane = laneOf.get(machine);
    if (lane === undefined) return;
    for (const [start, end] of rows) {
      const clipped = Math.min(end, horizon * 1.02);
      if (clipped <= start) continue;
      down.append(svgElement("rect", { class: "down", x: x(start), y: margin.top + lane * laneHeight,
        width: Math.max((clipped - start) * scale, 0.75), height: laneHeight, fill: "url(#down-hatch)" }));
    }
  });
  svg.append(down);

  const bars = svgElement("g", { class: "bars" });
  const labelWidth = String(result.instance.num_jobs - 1).length * 6.5 + 4;
  for (const op of result.operations) {
    const lane = laneOf.get(op.machine);
    if (lane === undefined) continue;
    const top = margin.top + lane * laneHeight + (laneHeight - barHeight) / 2;
    const processed = op.segments.length ? op.segments[op.segments.length - 1][1] : op.enter;
    const segments = op.segments.map(([start, end]) => `${start}–${end}`).join(", ") || "none (zero duration)";
    const hover = `Job ${op.job}, operation ${op.op} (machine ${op.machine})\nenter ${op.enter}, leave ${op.leave}\n`
      + `processing ${segments}, duration ${operationDuration(op)}`
      + (op.leave > processed ? `\nblocked ${processed}–${op.leave}, waiting for its next machine` : "");
    if (op.leave > processed) {
      const attributes = { x: x(processed), y: top, width: Math.max((op.leave - processed) * scale, 0.75),
        height: barHeight };
      const blocked = svgElement("rect", { ...attributes, class: "blocked", fill: colors[op.job],
        stroke: colors[op.job], "data-job": op.job });
      blocked.append(svgElement("title", {}, hover));
      bars.append(blocked, svgElement("rect", { ...attributes, class: "hatch", fill: "url(#blocked-hatch)" }));
    }
    let longest = null;
    for (const [start, end] of op.segments) {
      const rect = svgElement("rect", { class: "op", x: x(start), y: top, width: Math.max((end - start) * scale, 0.75),
        height: barHeight, fill: colors[op.job], "data-job": op.job });
      rect.append(svgElement("title", {}, hover));
      bars.append(rect);
      if (longest === null || end - start > longest[1] - longest[0]) longest = [start, end];
    }
    if (longest !== null && (longest[1] - longest[0]) * scale >= labelWidth && barHeight >= 12) {
      bars.append(jobLabel(x((longest[0] + longest[1]) / 2), top + barHeight / 2, op.job, colors[op.job]));
    }
  }
  svg.append(bars);
}

function hatchPattern(id, angle, background, stroke) {
  const pattern = svgElement("pattern", { id, width: 5, height: 5, patternUnits: "userSpaceOnUse",
    patternTransform: `rotate(${angle})` });
  if (background !== "none") pattern.append(svgElement("rect", { width: 5, height: 5, fill: background }));
  pattern.append(svgElement("line", { x1: 0, y1: 0, x2: 0, y2: 5, stroke, "stroke-width": 1.4 }));
  return pattern;
}

function jobLabel(xCenter, yCenter, job, color) {
  return svgElement("text", { class: "label", x: xCenter, y: yCenter, "text-anchor": "middle",
    "dominant-baseline": "central", fill: textColor(color) }, String(job));
}

function marker(xPosition, top, bottom, label, labelRight, color, dashed) {
  const group = svgElement("g", { class: "marker" });
  group.append(svgElement("line", { x1: xPosition, x2: xPosition, y1: top - 4, y2: bottom, stroke: color,
    "stroke-width": dashed ? 1.3 : 1.8, "stroke-dasharray": dashed ? "5 4" : "none" }));
  group.append(svgElement("text", { x: xPosition + (labelRight ? 5 : -5), y: top - 8, fill: color,
    "text-anchor": labelRight ? "start" : "end", "font-weight": dashed ? "normal" : "bold" }, label));
  return group;
}

function drawLegend(numJobs, downtime) {
  const legend = $("legend");
  legend.replaceChildren();
  if (downtime) {
    for (const [kind, text] of [["processing", "processing"], ["blocked", "blocked (holds the machine)"],
      ["down", "machine down"]]) {
      const swatch = document.createElement("i");
      swatch.className = kind;
      const entry = document.createElement("span");
      entry.append(swatch, text);
      legend.append(entry);
    }
  }
  if (numJobs > MAX_LEGEND_JOBS) return;
  const colors = jobColors(numJobs);
  for (let job = 0; job < numJobs; job++) {
    const swatch = document.createElement("i");
    swatch.style.background = colors[job];
    const entry = document.createElement("span");
    entry.append(swatch, `Job ${job}`);
    legend.append(entry);
  }
}

function jobColors(numJobs) {
  if (numJobs <= 10) return TAB10.slice(0, numJobs);
  if (numJobs <= 20) return TAB20.slice(0, numJobs);
  const saturation = [0.55, 0.8, 0.4];
  const value = [0.95, 0.8, 0.88];
  const colors = [];
  for (let job = 0; job < numJobs; job++) {
    colors.push(hsvToHex((job * 0.618033988749895) % 1, saturation[job % 3], value[job % 3]));
  }
  return colors;
}

function hsvToHex(h, s, v) {
  const i = Math.floor(h * 6);
  const f = h * 6 - i;
  const p = v * (1 - s), q = v * (1 - f * s), t = v * (1 - (1 - f) * s);
  const [r, g, b] = [[v, t, p], [q, v, p], [p, v, t], [p, q, v], [t, p, v], [v, p, q]][i % 6];
  return "#" + [r, g, b].map((c) => Math.round(c * 255).toString(16).padStart(2, "0")).join("");
}

function textColor(hex) {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255);
  return 0.299 * r + 0.587 * g + 0.114 * b < 0.5 ? "#fff" : "#111";
}

function niceTicks(maximum) {
  const rough = maximum / 8;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough);
  const ticks = [];
  for (let tick = 0; tick <= maximum; tick += step) ticks.push(Math.round(tick));
  return ticks;
}

function svgElement(name, attributes, text) {
  const element = document.createElementNS(SVG_NS, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

// ------------------------------------------------------------------ downloads

function scheduleDocument(result) {
  const document_ = {};
  for (const [key, value] of Object.entries(result)) if (!WEB_ONLY_KEYS.includes(key)) document_[key] = value;
  return document_;
}

// The layout of jssp.schedule.format_json: one line per top-level field, list item and operation.
function formatScheduleJson(document_) {
  const lines = Object.entries(document_).map(([key, value]) => {
    if (Array.isArray(value) && value.length) {
      return ` ${JSON.stringify(key)}: [\n  ${value.map(pythonJson).join(",\n  ")}\n ]`;
    }
    return ` ${JSON.stringify(key)}: ${pythonJson(value)}`;
  });
  return `{\n${lines.join(",\n")}\n}\n`;
}

// JSON with Python's json.dumps separators (", " and ": ").
function pythonJson(value) {
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(", ")}]`;
  if (value !== null && typeof value === "object") {
    return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${pythonJson(v)}`).join(", ")}}`;
  }
  return JSON.stringify(value);
}

function baseName(result) {
  return `${result.instance.name}-${result.method}`.replace(/[^\w.+-]/g, "_");
}

function downloadJson(result) {
  saveBlob(new Blob([formatScheduleJson(scheduleDocument(result))], { type: "application/json" }),
    `${baseName(result)}.json`);
}

// The rows of Schedule.write_csv (csv module: CRLF line ends).
function downloadCsv(result) {
  const rows = [CSV_COLUMNS.join(",")];
  for (const op of result.operations) rows.push(CSV_COLUMNS.map((column) => op[column]).join(","));
  saveBlob(new Blob([rows.join("\r\n") + "\r\n"], { type: "text/csv" }), `${baseName(result)}.csv`);
}

async function downloadPng(result) {
  hideError();
  const button = $("download-png");
  button.disabled = true;
  try {
    const response = await fetch("/api/gantt.png", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(scheduleDocument(result)),
    });
    if (!response.ok) throw new Error(errorDetail(response, await readJson(response)));
    saveBlob(await response.blob(), `${baseName(result)}-gantt.png`);
  } catch (error) {
    showError(`Gantt PNG: ${error.message}`);
  } finally {
    button.disabled = false;
  }
}

function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// ------------------------------------------------------------------ helpers

async function getJson(url) {
  const response = await fetch(url);
  const body = await readJson(response);
  if (!response.ok) throw new Error(errorDetail(response, body));
  return body;
}

async function readJson(response) {
  try {
    return await response.json();
  } catch {
    return null;
  }
}

function errorDetail(response, body) {
  if (body && typeof body.detail === "string") return body.detail;
  return `HTTP ${response.status} ${response.statusText || ""}`.trim();
}

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = false;
}

function hideError() {
  $("error").hidden = true;
  $("error").textContent = "";
}

function small(text) {
  const element = document.createElement("small");
  element.textContent = text;
  return element;
}

function formatBytes(bytes) {
  if (bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(bytes % (1024 * 1024) ? 1 : 0)} MiB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KiB`;
  return `${bytes} bytes`;
}

function debounce(callback, milliseconds) {
  let timer;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(callback, milliseconds);
  };
}

init();
