// tasknb GraphView: a Graphviz SVG that fits its cell, with zoom, pan, hover cards and a details pane.
// Synced traits: svg, details {key: {field: text}}, states {key: state}, title, selected, max_height.
// Node ids are "tasknb_task_" + hex(UTF-8 name key) (tasknb.graph.node_id); groups "tasknb_group_".

const TASK_PREFIX = "tasknb_task_";
const GROUP_PREFIX = "tasknb_group_";
const ZOOM_STEP = 1.25;
const MIN_SCALE = 0.05;
const HOVER_FIELDS = [
  ["state in run", "state in this run"],
  ["condition", "when"],
  ["schedule", "schedule"],
  ["warehouse", "warehouse"],
  ["definition", "definition"],
];
const DETAIL_FIELDS = [
  ["state in run", "state in this run"],
  ["error", "error"],
  ["condition", "condition (when)"],
  ["definition", "definition"],
  ["config", "config"],
  ["schedule", "schedule"],
  ["warehouse", "warehouse"],
  ["predecessors", "after"],
  ["task state", "task"],
  ["role", "role"],
];

function hexToKey(hex) {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.substr(i * 2, 2), 16);
  return new TextDecoder().decode(bytes);
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function parseSvg(text) {
  const start = text.indexOf("<svg");
  if (start < 0) return null;
  const doc = new DOMParser().parseFromString(text.slice(start), "image/svg+xml");
  const svg = doc.documentElement;
  if (!svg || svg.nodeName.toLowerCase() !== "svg") return null;
  // our own Graphviz output; still, nothing in it may run
  svg.querySelectorAll("script, foreignObject").forEach((n) => n.remove());
  svg.querySelectorAll("*").forEach((n) => {
    for (const attr of [...n.attributes]) {
      if (/^on/i.test(attr.name)) n.removeAttribute(attr.name);
    }
  });
  return document.importNode(svg, true);
}

function render({ model, el: host }) {
  const root = el("div", "tasknb-graphview");
  const main = el("div", "tgv-main");
  const toolbar = el("div", "tgv-toolbar");
  const stage = el("div", "tgv-stage");
  const hover = el("div", "tgv-hover");
  const details = el("aside", "tgv-details");
  const hint = el("span", "tgv-hint", "scroll to zoom · drag to pan · click a task for details");
  const buttons = {};
  for (const [name, label, title] of [
    ["out", "−", "zoom out"],
    ["in", "+", "zoom in"],
    ["fit", "Fit", "fit the whole graph"],
  ]) {
    const button = el("button", "tgv-button", label);
    button.type = "button";
    button.title = title;
    button.dataset.action = name;
    buttons[name] = button;
    toolbar.appendChild(button);
  }
  toolbar.appendChild(hint);
  const titleLine = el("div", "tgv-title");
  stage.appendChild(hover);
  main.append(titleLine, toolbar, stage);
  root.append(main, details);
  host.appendChild(root);

  let svg = null;
  let full = null; // the drawing's own viewBox
  let view = null; // the shown part of it
  let nodes = new Map(); // key -> <g>

  function applyView() {
    if (!svg || !view) return;
    svg.setAttribute("viewBox", `${view.x} ${view.y} ${view.w} ${view.h}`);
  }

  function sizeStage() {
    if (!full) return;
    const width = stage.clientWidth || main.clientWidth || 600;
    let height = (width * full.h) / full.w;
    stage.style.height = `${Math.max(80, height)}px`;
    const limit = stage.clientHeight;
    if (limit + 1 < height) height = limit; // max-height applied: the drawing fits both ways
    stage.style.height = `${Math.max(80, height)}px`;
  }

  function fit() {
    if (!full) return;
    view = { ...full };
    sizeStage();
    applyView();
  }

  function zoom(factor, cx, cy) {
    if (!view) return;
    const w = Math.min(full.w / MIN_SCALE, Math.max(full.w * 0.02, view.w / factor));
    const h = (w * view.h) / view.w;
    const px = cx === undefined ? 0.5 : cx;
    const py = cy === undefined ? 0.5 : cy;
    view = { x: view.x + (view.w - w) * px, y: view.y + (view.h - h) * py, w, h };
    applyView();
  }

  function stagePoint(event) {
    const box = stage.getBoundingClientRect();
    return [(event.clientX - box.left) / box.width, (event.clientY - box.top) / box.height];
  }

  stage.addEventListener(
    "wheel",
    (event) => {
      if (!svg) return;
      event.preventDefault();
      const [px, py] = stagePoint(event);
      zoom(event.deltaY < 0 ? ZOOM_STEP : 1 / ZOOM_STEP, px, py);
    },
    { passive: false }
  );
  buttons.in.addEventListener("click", () => zoom(ZOOM_STEP));
  buttons.out.addEventListener("click", () => zoom(1 / ZOOM_STEP));
  buttons.fit.addEventListener("click", fit);

  let drag = null;
  stage.addEventListener("pointerdown", (event) => {
    if (!view || event.button !== 0) return;
    drag = { x: event.clientX, y: event.clientY, view: { ...view }, moved: false };
  });
  const onPointerMove = (event) => {
    if (!drag) return;
    const dx = event.clientX - drag.x;
    const dy = event.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
    if (!drag.moved) return;
    const box = stage.getBoundingClientRect();
    const unit = Math.max(drag.view.w / box.width, drag.view.h / box.height);
    view = { ...drag.view, x: drag.view.x - dx * unit, y: drag.view.y - dy * unit };
    applyView();
    stage.classList.add("tgv-panning");
  };
  const onPointerUp = () => {
    if (drag && drag.moved) stage.dataset.justPanned = "1";
    drag = null;
    stage.classList.remove("tgv-panning");
  };
  window.addEventListener("pointermove", onPointerMove);
  window.addEventListener("pointerup", onPointerUp);

  function fieldRows(container, entry, fields, tag) {
    for (const [field, label] of fields) {
      const value = entry[field];
      if (value === undefined || value === null || value === "") continue;
      const row = el("div", `tgv-row tgv-field-${field.replace(/\s+/g, "-")}`);
      row.appendChild(el("span", "tgv-label", label));
      row.appendChild(el(tag, "tgv-value", String(value)));
      container.appendChild(row);
    }
  }

  function stateOf(key) {
    const states = model.get("states") || {};
    const entry = (model.get("details") || {})[key] || {};
    return states[key] || entry.state || "";
  }

  function showHover(key, event, fallback) {
    const entry = (model.get("details") || {})[key];
    hover.replaceChildren();
    if (entry) {
      const head = el("div", "tgv-hover-name", entry.name || key);
      const state = stateOf(key);
      if (state) head.appendChild(el("span", `tgv-state tgv-state-${state}`, state));
      hover.appendChild(head);
      fieldRows(hover, entry, HOVER_FIELDS, "div");
    } else if (fallback) {
      hover.appendChild(el("div", "tgv-value", fallback));
    } else {
      return;
    }
    hover.style.display = "block";
    moveHover(event);
  }

  function moveHover(event) {
    const box = stage.getBoundingClientRect();
    let x = event.clientX - box.left + 14;
    let y = event.clientY - box.top + 14;
    const w = hover.offsetWidth;
    const h = hover.offsetHeight;
    if (x + w > box.width) x = Math.max(0, event.clientX - box.left - w - 14);
    if (y + h > box.height) y = Math.max(0, box.height - h);
    hover.style.left = `${x}px`;
    hover.style.top = `${y}px`;
  }

  function showDetails() {
    const key = model.get("selected");
    const entry = (model.get("details") || {})[key];
    nodes.forEach((g, k) => g.classList.toggle("tgv-selected", k === key));
    details.replaceChildren();
    if (!key || !entry) {
      details.classList.remove("tgv-open");
      return;
    }
    details.classList.add("tgv-open");
    const head = el("div", "tgv-details-head");
    head.appendChild(el("strong", "tgv-details-name", entry.name || key));
    const close = el("button", "tgv-button tgv-close", "×");
    close.type = "button";
    close.title = "close the details";
    close.addEventListener("click", () => {
      model.set("selected", "");
      model.save_changes();
    });
    head.appendChild(close);
    details.appendChild(head);
    fieldRows(details, entry, DETAIL_FIELDS, "pre");
    const runs = entry["last runs"] || [];
    if (runs.length) {
      const row = el("div", "tgv-row tgv-field-last-runs");
      row.appendChild(el("span", "tgv-label", "last runs"));
      const list = el("ul", "tgv-runs");
      for (const line of runs) list.appendChild(el("li", "", line));
      row.appendChild(list);
      details.appendChild(row);
    }
  }

  function draw() {
    const text = model.get("svg") || "";
    stage.querySelectorAll("svg").forEach((n) => n.remove());
    nodes = new Map();
    svg = text ? parseSvg(text) : null;
    const title = model.get("title") || "";
    titleLine.textContent = title;
    titleLine.style.display = title ? "" : "none";
    if (!svg) {
      full = view = null;
      stage.style.height = "auto";
      return;
    }
    const box = (svg.getAttribute("viewBox") || "").trim().split(/[\s,]+/).map(Number);
    if (box.length === 4 && box.every((n) => Number.isFinite(n)) && box[2] > 0 && box[3] > 0) {
      full = { x: box[0], y: box[1], w: box[2], h: box[3] };
    } else {
      const w = parseFloat(svg.getAttribute("width")) || 600;
      const h = parseFloat(svg.getAttribute("height")) || 400;
      full = { x: 0, y: 0, w, h };
    }
    svg.removeAttribute("width");
    svg.removeAttribute("height");
    svg.removeAttribute("style");
    svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
    svg.classList.add("tgv-svg");
    // the view's own hover card replaces the browser's tooltips
    svg.querySelectorAll("g.node").forEach((g) => {
      const id = g.getAttribute("id") || "";
      let key = null;
      let fallback = "";
      if (id.startsWith(TASK_PREFIX)) key = hexToKey(id.slice(TASK_PREFIX.length));
      g.querySelectorAll("a").forEach((a) => {
        fallback = fallback || a.getAttribute("xlink:title") || a.getAttribute("title") || "";
        a.removeAttribute("xlink:title");
        a.removeAttribute("title");
        a.removeAttributeNS("http://www.w3.org/1999/xlink", "title");
      });
      g.querySelectorAll("title").forEach((t) => t.remove());
      if (!key && !id.startsWith(GROUP_PREFIX)) return;
      g.classList.add("tgv-node");
      if (key) {
        g.dataset.task = key;
        nodes.set(key, g);
      }
      g.addEventListener("pointerenter", (event) => showHover(key, event, fallback));
      g.addEventListener("pointermove", moveHover);
      g.addEventListener("pointerleave", () => (hover.style.display = "none"));
      if (key) {
        g.addEventListener("click", (event) => {
          if (stage.dataset.justPanned) return;
          event.stopPropagation();
          model.set("selected", model.get("selected") === key ? "" : key);
          model.save_changes();
        });
      }
    });
    svg.querySelectorAll("title").forEach((t) => t.remove());
    stage.insertBefore(svg, hover);
    fit();
    showDetails();
  }

  stage.addEventListener("pointerdown", () => delete stage.dataset.justPanned, true);
  stage.style.maxHeight = model.get("max_height") || "";
  const resize = new ResizeObserver(() => {
    if (!full || !view) return;
    const zoomed = view.w !== full.w || view.h !== full.h;
    sizeStage();
    if (!zoomed) fit();
  });
  resize.observe(main);

  model.on("change:svg", draw);
  model.on("change:title", draw);
  model.on("change:details", showDetails);
  model.on("change:selected", showDetails);
  model.on("change:max_height", () => {
    stage.style.maxHeight = model.get("max_height") || "";
    fit();
  });
  draw();
  return () => {
    resize.disconnect();
    window.removeEventListener("pointermove", onPointerMove);
    window.removeEventListener("pointerup", onPointerUp);
  };
}

export default { render };
