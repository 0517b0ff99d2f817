/* The floor-plan annotation editor: plain JavaScript + SVG, no build step, no external assets.
 *
 * The plan image is an SVG <image> drawn once; walls, openings and rooms are SVG shapes in image
 * pixels inside one group whose transform is the zoom/pan, so zooming changes one attribute and a
 * CSS variable (handle size), never the image.  Every edit is undoable, saved to the server within
 * a second (optimistic concurrency with revisions) and kept in localStorage until confirmed.
 */
"use strict";

(() => {
  const SVGNS = "http://www.w3.org/2000/svg";
  const PLAN_ID = document.body.dataset.planId;
  const API = `/api/plans/${encodeURIComponent(PLAN_ID)}`;
  const BACKUP_KEY = `floorplan-annotate:${PLAN_ID}`;
  // The per-session token the server put in this page; every write must carry it (with a JSON
  // Content-Type), so that other web pages open in this browser cannot write to the tool.
  const TOKEN = document.querySelector('meta[name="annotate-token"]')?.content || "";
  const TOKEN_HEADER = "X-Annotate-Token";
  const SNAP_PX = 10; // snap distance on screen
  const AXIS_SNAP_DEG = 6; // lines within this angle of horizontal/vertical are straightened
  const HANDLE_PX = 5;
  const DRAG_START_PX = 4; // a press that moves further than this pans instead of clicking
  const AUTOSAVE_MS = 700;
  const RETRY_MS = 3000;
  const UNDO_LIMIT = 300;
  const MAX_SCALE = 40;
  const OPENING_TYPES = ["door", "window", "opening"];
  const DRAW_TOOLS = new Set(["wall", "door", "window", "opening", "rect", "polygon"]);
  const TOOL_HINTS = {
    select: "Click to select (click again for what lies beneath); drag a handle to move an endpoint; drag to pan.",
    wall: "Click the start, then the end. Snaps to endpoints and to horizontal/vertical (Shift: free). Esc ends.",
    door: "Click the two ends of the door on a wall.",
    window: "Click the two ends of the window on a wall.",
    opening: "Click the two ends of the opening on a wall.",
    rect: "Click two opposite corners of the room, then type its name.",
    polygon: "Click the corners; Enter, double-click or the first corner closes the room.",
  };
  const STATE_LABELS = {
    not_started: "not started",
    pre_annotated: "pre-annotated",
    edited: "edited",
    validated: "validated",
  };

  const $ = (id) => document.getElementById(id);
  const svg = $("canvas");
  const world = $("world");
  const layers = {
    rooms: $("layer-rooms"),
    walls: $("layer-walls"),
    openings: $("layer-openings"),
    labels: $("layer-labels"),
    handles: $("layer-handles"),
    problems: $("layer-problems"),
    draft: $("layer-draft"),
  };

  const ed = {
    doc: null,
    width: 0,
    height: 0,
    revision: 0,
    planState: "not_started",
    view: { scale: 1, tx: 0, ty: 0 },
    tool: "select",
    selection: null, // {kind: "walls"|"openings"|"rooms", index}
    draft: null, // drawing in progress
    gesture: null, // pointer interaction in progress
    hover: null, // last pointer position in image pixels
    undo: [],
    redo: [],
    problems: [],
    dirty: false,
    conflict: false,
    editVersion: 0,
    session: Math.random().toString(36).slice(2, 10),
    savePromise: null,
    saveTimer: null,
    retryTimer: null,
    fieldSnapshot: false,
    spaceDown: false,
    viewQueued: false,
    handleNodes: new Map(),
    segmentNodes: { walls: [], openings: [] },
    roomNodes: [],
  };

  // ---------------------------------------------------------------- small helpers

  function el(tag, attrs, parent) {
    const node = document.createElementNS(SVGNS, tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
    if (parent) parent.appendChild(node);
    return node;
  }

  const dist = (a, b) => Math.hypot(a[0] - b[0], a[1] - b[1]);
  const round2 = (v) => Math.round(v * 100) / 100;
  const pt = (p) => [round2(p[0]), round2(p[1])];
  const clone = (value) => JSON.parse(JSON.stringify(value));

  function polygonOf(room) {
    if (room.polygon && room.polygon.length >= 3) return room.polygon;
    const [x0, y0, x1, y1] = room.bounding_box;
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]];
  }

  function boxOf(points) {
    const xs = points.map((p) => p[0]);
    const ys = points.map((p) => p[1]);
    return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)].map(round2);
  }

  function area(points) {
    let sum = 0;
    for (let i = 0; i < points.length; i++) {
      const [x1, y1] = points[i];
      const [x2, y2] = points[(i + 1) % points.length];
      sum += x1 * y2 - x2 * y1;
    }
    return Math.abs(sum) / 2;
  }

  function centroid(points) {
    const n = points.length;
    return [points.reduce((s, p) => s + p[0], 0) / n, points.reduce((s, p) => s + p[1], 0) / n];
  }

  function nextId(prefix, items) {
    let top = 0;
    for (const item of items) {
      const match = /^(?:[a-z]+)?(\d+)$/i.exec(String(item.id ?? ""));
      if (match) top = Math.max(top, Number(match[1]));
    }
    return `${prefix}${top + 1}`;
  }

  function ensureIds(doc) {
    for (const [kind, prefix] of [["walls", "w"], ["openings", "o"], ["rooms", "r"]]) {
      const seen = new Set();
      for (const item of doc[kind]) {
        if (item.id === undefined || item.id === null || seen.has(String(item.id))) item.id = nextId(prefix, doc[kind]);
        seen.add(String(item.id));
      }
    }
  }

  function normaliseDoc(data) {
    const doc = data ? clone(data) : {};
    doc.image_id = doc.image_id || PLAN_ID;
    doc.image = { width: ed.width, height: ed.height };
    for (const kind of ["walls", "openings", "rooms"]) doc[kind] = Array.isArray(doc[kind]) ? doc[kind] : [];
    ensureIds(doc);
    return doc;
  }

  function defaultThickness() {
    const values = ed.doc.walls.map((w) => w.thickness).filter((t) => t > 0).sort((a, b) => a - b);
    if (values.length) return values[Math.floor(values.length / 2)];
    return Math.max(2, Math.round(Math.min(ed.width, ed.height) / 200));
  }

  // ---------------------------------------------------------------- status, banner, state

  function setStatus(text) {
    $("save-status").textContent = text;
  }

  function showBanner(text, kind = "error", actions = []) {
    const banner = $("banner");
    banner.className = kind === "info" ? "info" : "";
    banner.dataset.kind = kind;
    $("banner-text").textContent = text;
    const box = $("banner-actions");
    box.replaceChildren();
    for (const [label, handler] of actions) {
      const button = document.createElement("button");
      button.textContent = label;
      button.addEventListener("click", handler);
      box.appendChild(button);
    }
    banner.hidden = false;
  }

  function hideBanner(kind) {
    if (!kind || $("banner").dataset.kind === kind) $("banner").hidden = true;
  }

  function setPlanState(state) {
    ed.planState = state;
    const badge = $("plan-state");
    badge.textContent = STATE_LABELS[state] || state;
    badge.className = `badge state-${state}`;
  }

  function setBusy(on, text = "working...") {
    $("busy").hidden = !on;
    $("busy").textContent = text;
    for (const id of ["btn-preannotate", "btn-validate", "btn-save"]) $(id).disabled = on;
  }

  // ---------------------------------------------------------------- view (zoom and pan)

  function applyView() {
    ed.viewQueued = false;
    const { scale, tx, ty } = ed.view;
    world.setAttribute("transform", `translate(${tx} ${ty}) scale(${scale})`);
    svg.style.setProperty("--handle-r", `${HANDLE_PX / scale}px`);
    svg.style.setProperty("--label-size", `${13 / scale}px`);
    svg.style.setProperty("--marker-r", `${11 / scale}px`);
    svg.classList.toggle("pixelated", scale >= 2);
    showCursor();
  }

  function requestView() {
    if (!ed.viewQueued) {
      ed.viewQueued = true;
      requestAnimationFrame(applyView);
    }
  }

  function fit() {
    const rect = svg.getBoundingClientRect();
    const scale = Math.min(rect.width / ed.width, rect.height / ed.height) * 0.96;
    ed.view = { scale, tx: (rect.width - ed.width * scale) / 2, ty: (rect.height - ed.height * scale) / 2 };
    applyView();
  }

  function zoomAt(factor, sx, sy) {
    const rect = svg.getBoundingClientRect();
    const fitScale = Math.min(rect.width / ed.width, rect.height / ed.height);
    const old = ed.view.scale;
    const scale = Math.min(MAX_SCALE, Math.max(fitScale / 4, old * factor));
    ed.view.tx = sx - ((sx - ed.view.tx) * scale) / old;
    ed.view.ty = sy - ((sy - ed.view.ty) * scale) / old;
    ed.view.scale = scale;
    requestView();
  }

  function centreOn(point) {
    const rect = svg.getBoundingClientRect();
    ed.view.scale = Math.max(ed.view.scale, 1);
    ed.view.tx = rect.width / 2 - point[0] * ed.view.scale;
    ed.view.ty = rect.height / 2 - point[1] * ed.view.scale;
    applyView();
  }

  function toImage(event) {
    const rect = svg.getBoundingClientRect();
    return [
      (event.clientX - rect.left - ed.view.tx) / ed.view.scale,
      (event.clientY - rect.top - ed.view.ty) / ed.view.scale,
    ];
  }

  function toClient(x, y) {
    const rect = svg.getBoundingClientRect();
    return [rect.left + ed.view.tx + x * ed.view.scale, rect.top + ed.view.ty + y * ed.view.scale];
  }

  function showCursor() {
    const zoom = `${Math.round(ed.view.scale * 100)}%`;
    const where = ed.hover ? `x ${Math.round(ed.hover[0])}, y ${Math.round(ed.hover[1])} · ` : "";
    $("cursor").textContent = `${where}zoom ${zoom} · ${ed.width}×${ed.height} px`;
  }

  // ---------------------------------------------------------------- rendering

  const badPaths = () => new Set(ed.problems.map((p) => p.path).filter(Boolean));
  const isSelected = (kind, index) => ed.selection && ed.selection.kind === kind && ed.selection.index === index;

  function renderRooms(bad) {
    const shapes = document.createDocumentFragment();
    const labels = document.createDocumentFragment();
    ed.roomNodes = [];
    ed.doc.rooms.forEach((room, index) => {
      const points = polygonOf(room);
      const classes = ["room-shape", "ns"];
      if (isSelected("rooms", index)) classes.push("selected");
      if (bad.has(`rooms/${index}`)) classes.push("bad");
      const shape = el("polygon", {
        points: points.map((p) => p.join(",")).join(" "),
        class: classes.join(" "),
        "data-kind": "rooms",
        "data-index": index,
      }, shapes);
      const [cx, cy] = centroid(points);
      const label = el("text", { x: cx, y: cy, class: "room-label" }, labels);
      label.style.fontSize = "var(--label-size)";
      label.style.strokeWidth = "calc(var(--label-size) / 4)";
      label.textContent = room.name_hint || `${room.id}?`;
      if (!room.name_hint) label.classList.add("unnamed");
      ed.roomNodes.push({ shape, label });
    });
    layers.rooms.replaceChildren(shapes);
    layers.labels.replaceChildren(labels);
  }

  function segmentNode(kind, item, index, bad, fallback, parent) {
    const classes = [kind === "walls" ? "wall" : `opening type-${item.type}`];
    if (kind === "walls" && item.is_load_bearing) classes.push("load-bearing");
    if (isSelected(kind, index)) classes.push("selected");
    if (bad.has(`${kind}/${index}`)) classes.push("bad");
    const group = el("g", { class: classes.join(" "), "data-kind": kind, "data-index": index }, parent);
    const prefix = kind === "walls" ? "wall" : "opening";
    const width = item.thickness > 0 ? item.thickness : fallback;
    const line = (cls, extra) => el("line", { class: cls, ...extra }, group);
    const nodes = {
      group,
      body: line(`${prefix}-body`, { "stroke-width": kind === "walls" ? width : width * 1.3 }),
      centre: kind === "walls" ? line("wall-centre ns") : null,
      hit: line("hit ns"),
    };
    placeSegment(nodes, item);
    return nodes;
  }

  function placeSegment(nodes, item) {
    for (const node of [nodes.body, nodes.centre, nodes.hit]) {
      if (!node) continue;
      node.setAttribute("x1", item.start[0]);
      node.setAttribute("y1", item.start[1]);
      node.setAttribute("x2", item.end[0]);
      node.setAttribute("y2", item.end[1]);
    }
  }

  function renderSegments(kind, bad) {
    const fragment = document.createDocumentFragment();
    const fallback = defaultThickness(); // drawn width of walls whose JSON gives no thickness
    ed.segmentNodes[kind] = ed.doc[kind].map((item, index) => segmentNode(kind, item, index, bad, fallback, fragment));
    layers[kind].replaceChildren(fragment);
  }

  function handle(ref, point, parent) {
    const [kind, index] = ref.split(":");
    const on = ed.selection && ed.selection.kind === kind && ed.selection.index === Number(index);
    const attrs = { class: on ? "handle ns on" : "handle ns", cx: point[0], cy: point[1], "data-kind": "handle", "data-ref": ref };
    const circle = el("circle", attrs, parent);
    circle.style.r = "var(--handle-r)";
    ed.handleNodes.set(ref, circle);
  }

  function renderHandles() {
    const fragment = document.createDocumentFragment();
    ed.handleNodes = new Map();
    if (ed.tool === "select") {
      for (const kind of ["openings", "walls"]) { // wall handles on top: junctions matter most
        ed.doc[kind].forEach((item, index) => {
          handle(`${kind}:${index}:start`, item.start, fragment);
          handle(`${kind}:${index}:end`, item.end, fragment);
        });
      }
      if (ed.selection && ed.selection.kind === "rooms") {
        const room = ed.doc.rooms[ed.selection.index];
        polygonOf(room).forEach((p, vertex) => handle(`rooms:${ed.selection.index}:${vertex}`, p, fragment));
      }
    }
    layers.handles.replaceChildren(fragment);
  }

  function renderProblems() {
    const fragment = document.createDocumentFragment();
    const list = $("problems");
    list.replaceChildren();
    for (const problem of ed.problems) {
      if (problem.point) {
        const marker = el("circle", { class: "problem-marker ns", cx: problem.point[0], cy: problem.point[1] }, fragment);
        marker.style.r = "var(--marker-r)";
      }
      const item = document.createElement("li");
      item.textContent = problem.path ? `${problem.path}: ${problem.message}` : problem.message;
      item.addEventListener("click", () => focusProblem(problem));
      list.appendChild(item);
    }
    layers.problems.replaceChildren(fragment);
    const count = $("problem-count");
    count.textContent = String(ed.problems.length);
    count.classList.toggle("bad", ed.problems.length > 0);
  }

  function renderProps() {
    const sel = ed.selection;
    $("props-empty").hidden = Boolean(sel);
    $("props-wall").hidden = !sel || sel.kind !== "walls";
    $("props-opening").hidden = !sel || sel.kind !== "openings";
    $("props-room").hidden = !sel || sel.kind !== "rooms";
    $("btn-delete").hidden = !sel;
    if (!sel) return;
    const item = ed.doc[sel.kind][sel.index];
    const setValue = (id, value) => {
      if (document.activeElement !== $(id)) $(id).value = value;
    };
    if (sel.kind === "walls") {
      $("wall-id").textContent = `wall ${item.id}`;
      $("wall-length").textContent = dist(item.start, item.end).toFixed(1);
      setValue("wall-thickness", item.thickness ?? "");
      $("wall-loadbearing").checked = Boolean(item.is_load_bearing);
    } else if (sel.kind === "openings") {
      $("opening-id").textContent = `${item.type} ${item.id}`;
      $("opening-length").textContent = dist(item.start, item.end).toFixed(1);
      $("opening-wall").textContent = item.wall_id ?? "none";
      $("opening-type").value = item.type;
    } else {
      $("room-id").textContent = `room ${item.id}`;
      $("room-area").textContent = Math.round(area(polygonOf(item)));
      setValue("room-name", item.name_hint ?? "");
    }
  }

  function updateButtons() {
    $("btn-undo").disabled = ed.undo.length === 0;
    $("btn-redo").disabled = ed.redo.length === 0;
    for (const button of document.querySelectorAll("#tools button")) {
      button.classList.toggle("active", button.dataset.tool === ed.tool);
    }
    svg.classList.toggle("tool-select", ed.tool === "select");
    svg.classList.toggle("tool-draw", DRAW_TOOLS.has(ed.tool));
    $("tool-hint").textContent = TOOL_HINTS[ed.tool];
  }

  function renderAll() {
    fixSelection();
    const bad = badPaths();
    renderRooms(bad);
    renderSegments("walls", bad);
    renderSegments("openings", bad);
    renderHandles();
    renderProblems();
    renderDraft();
    renderProps();
    updateButtons();
  }

  // ---------------------------------------------------------------- edits, undo, redo

  function snapshot() {
    return JSON.stringify(ed.doc);
  }

  function pushUndo(snap) {
    ed.undo.push(snap);
    if (ed.undo.length > UNDO_LIMIT) ed.undo.shift();
    ed.redo = [];
  }

  function changed(rerender = true) {
    ed.editVersion += 1;
    ed.dirty = true;
    writeBackup();
    scheduleSave();
    setStatus("unsaved changes");
    if (rerender) renderAll();
    else updateButtons();
  }

  function edit(mutate) {
    pushUndo(snapshot());
    mutate(ed.doc);
    changed();
  }

  function fieldEdit(mutate) {
    if (!ed.fieldSnapshot) {
      pushUndo(snapshot());
      ed.fieldSnapshot = true;
    }
    mutate(ed.doc);
    changed(false);
  }

  function fixSelection() {
    if (ed.selection && !ed.doc[ed.selection.kind][ed.selection.index]) ed.selection = null;
  }

  function undo() {
    if (!ed.undo.length) return;
    ed.redo.push(snapshot());
    ed.doc = JSON.parse(ed.undo.pop());
    ed.draft = null;
    fixSelection();
    changed();
  }

  function redo() {
    if (!ed.redo.length) return;
    ed.undo.push(snapshot());
    ed.doc = JSON.parse(ed.redo.pop());
    fixSelection();
    changed();
  }

  function deleteSelection() {
    const sel = ed.selection;
    if (!sel) return;
    ed.selection = null;
    edit((doc) => {
      const [removed] = doc[sel.kind].splice(sel.index, 1);
      if (sel.kind === "walls") {
        for (const opening of doc.openings) if (String(opening.wall_id) === String(removed.id)) opening.wall_id = null;
      }
    });
  }

  function select(selection) {
    ed.selection = selection;
    renderAll();
  }

  // ---------------------------------------------------------------- snapping

  function endpointRefs(point, except) {
    const refs = [];
    ed.doc.walls.forEach((wall, index) => {
      for (const end of ["start", "end"]) {
        const ref = `walls:${index}:${end}`;
        if (!except.has(ref) && dist(wall[end], point) < 0.5) refs.push(ref);
      }
    });
    return refs;
  }

  function snapPoint(point, { from = null, exclude = new Set(), free = false } = {}) {
    if (free) return { point, how: null };
    const tolerance = SNAP_PX / ed.view.scale;
    let best = null;
    let bestDistance = tolerance;
    ed.doc.walls.forEach((wall, index) => {
      for (const end of ["start", "end"]) {
        if (exclude.has(`walls:${index}:${end}`)) continue;
        const d = dist(wall[end], point);
        if (d < bestDistance) {
          best = wall[end];
          bestDistance = d;
        }
      }
    });
    if (best) return { point: [best[0], best[1]], how: "endpoint" };
    if (from) {
      const dx = Math.abs(point[0] - from[0]);
      const dy = Math.abs(point[1] - from[1]);
      const tan = Math.tan((AXIS_SNAP_DEG * Math.PI) / 180);
      if (dy <= dx * tan) return { point: [point[0], from[1]], how: "horizontal" };
      if (dx <= dy * tan) return { point: [from[0], point[1]], how: "vertical" };
    }
    return { point, how: null };
  }

  // Foot of the perpendicular from point onto the wall's segment (clamped) or its whole line:
  // a door's second end may lie past the wall piece where the drawing leaves a gap.
  function projectOnWall(point, wall, clamp = true) {
    const [ax, ay] = wall.start;
    const [bx, by] = wall.end;
    const length2 = (bx - ax) ** 2 + (by - ay) ** 2;
    let t = length2 ? ((point[0] - ax) * (bx - ax) + (point[1] - ay) * (by - ay)) / length2 : 0;
    if (clamp) t = Math.max(0, Math.min(1, t));
    return [ax + t * (bx - ax), ay + t * (by - ay)];
  }

  function nearestWall(point) {
    let best = null;
    ed.doc.walls.forEach((wall, index) => {
      const q = projectOnWall(point, wall);
      const d = dist(q, point);
      const reach = Math.max(SNAP_PX / ed.view.scale, (wall.thickness || 0) / 2 + 2);
      if (d <= reach && (!best || d < best.distance)) best = { index, point: q, distance: d };
    });
    return best;
  }

  // ---------------------------------------------------------------- drawing tools

  function setTool(tool) {
    ed.tool = tool;
    ed.draft = null;
    if (tool !== "select") ed.selection = null;
    renderAll();
  }

  function renderDraft() {
    const fragment = document.createDocumentFragment();
    const draft = ed.draft;
    const hover = ed.hover;
    if (draft && hover) {
      const target = draftTarget(hover, false);
      if (draft.kind === "wall" || draft.kind === "opening") {
        el("line", { class: "draft-line ns", x1: draft.start[0], y1: draft.start[1], x2: target.point[0], y2: target.point[1] }, fragment);
      } else if (draft.kind === "rect") {
        const [x0, y0] = draft.start;
        const [x1, y1] = target.point;
        el("polygon", { class: "draft-line ns", points: `${x0},${y0} ${x1},${y0} ${x1},${y1} ${x0},${y1}` }, fragment);
      } else if (draft.kind === "polygon") {
        const points = [...draft.points, target.point];
        el("polyline", { class: "draft-line ns", points: points.map((p) => p.join(",")).join(" ") }, fragment);
      }
      if (target.how) {
        const size = 6 / ed.view.scale;
        el("rect", {
          class: "snap-mark ns",
          x: target.point[0] - size,
          y: target.point[1] - size,
          width: 2 * size,
          height: 2 * size,
        }, fragment);
      }
    }
    layers.draft.replaceChildren(fragment);
  }

  function draftTarget(point, free) {
    const draft = ed.draft;
    if (!draft) return snapPoint(point, { free });
    if (draft.kind === "opening" && draft.wall !== null) {
      return { point: projectOnWall(point, ed.doc.walls[draft.wall], false), how: "wall" };
    }
    const from = draft.kind === "polygon" ? draft.points[draft.points.length - 1] : draft.kind === "wall" ? draft.start : null;
    return snapPoint(point, { from, free });
  }

  function placeWall(point, free) {
    if (!ed.draft) {
      ed.draft = { kind: "wall", start: snapPoint(point, { free }).point };
      renderDraft();
      return;
    }
    const end = draftTarget(point, free).point;
    if (dist(end, ed.draft.start) < 1) return;
    const wall = {
      id: nextId("w", ed.doc.walls),
      start: pt(ed.draft.start),
      end: pt(end),
      thickness: defaultThickness(),
      is_load_bearing: false,
    };
    edit((doc) => doc.walls.push(wall));
    ed.draft = { kind: "wall", start: end };
    select({ kind: "walls", index: ed.doc.walls.length - 1 });
  }

  function placeOpening(point, free) {
    if (!ed.draft) {
      const hit = free ? null : nearestWall(point);
      ed.draft = { kind: "opening", wall: hit ? hit.index : null, start: hit ? hit.point : point };
      renderDraft();
      return;
    }
    const end = draftTarget(point, free).point;
    if (dist(end, ed.draft.start) < 1) return;
    const wall = ed.draft.wall === null ? null : ed.doc.walls[ed.draft.wall];
    const opening = {
      id: nextId("o", ed.doc.openings),
      type: ed.tool,
      start: pt(ed.draft.start),
      end: pt(end),
      wall_id: wall ? String(wall.id) : null,
    };
    if (wall && wall.thickness > 0) opening.thickness = wall.thickness;
    edit((doc) => doc.openings.push(opening));
    ed.draft = null;
    select({ kind: "openings", index: ed.doc.openings.length - 1 });
  }

  function addRoom(points) {
    const room = { id: nextId("r", ed.doc.rooms), polygon: points.map(pt), bounding_box: boxOf(points), name_hint: null };
    edit((doc) => doc.rooms.push(room));
    ed.draft = null;
    select({ kind: "rooms", index: ed.doc.rooms.length - 1 });
    $("room-name").focus();
  }

  function placeRect(point, free) {
    const corner = draftTarget(point, free).point;
    if (!ed.draft) {
      ed.draft = { kind: "rect", start: corner };
      renderDraft();
      return;
    }
    const [x0, y0] = ed.draft.start;
    const [x1, y1] = corner;
    if (Math.abs(x1 - x0) < 1 || Math.abs(y1 - y0) < 1) return;
    addRoom([[x0, y0], [x1, y0], [x1, y1], [x0, y1]]);
  }

  function closePolygon() {
    if (!ed.draft || ed.draft.kind !== "polygon") return;
    const points = ed.draft.points.filter((p, i, all) => i === 0 || dist(p, all[i - 1]) >= 1);
    if (points.length >= 3 && area(points) >= 1) addRoom(points);
  }

  function placePolygon(point, free) {
    const target = draftTarget(point, free).point;
    if (!ed.draft) {
      ed.draft = { kind: "polygon", points: [target] };
    } else if (ed.draft.points.length >= 3 && dist(point, ed.draft.points[0]) < SNAP_PX / ed.view.scale) {
      closePolygon();
      return;
    } else {
      ed.draft.points.push(target);
    }
    renderDraft();
  }

  function clickCanvas(event, target) {
    const point = toImage(event);
    const free = event.shiftKey;
    switch (ed.tool) {
      case "wall":
        return placeWall(point, free);
      case "door":
      case "window":
      case "opening":
        return placeOpening(point, free);
      case "rect":
        return placeRect(point, free);
      case "polygon":
        return placePolygon(point, free);
      default:
        return select(pickAt(event));
    }
  }

  // Everything under the pointer, topmost first (after the owners of a clicked handle).
  function stackAt(event, first = []) {
    const stack = [...first];
    for (const node of document.elementsFromPoint(event.clientX, event.clientY)) {
      const owner = node.closest && node.closest("[data-kind]");
      if (!owner || !svg.contains(owner)) continue;
      const refs = owner.dataset.kind === "handle" ? [owner.dataset.ref] : [`${owner.dataset.kind}:${owner.dataset.index}`];
      for (const ref of refs) {
        const [kind, index] = ref.split(":");
        if (!stack.some((s) => s.kind === kind && s.index === Number(index))) stack.push({ kind, index: Number(index) });
      }
    }
    return stack;
  }

  // Clicking again on the same spot selects the next element down, so a wall under a door or
  // a room under its walls is reachable without zooming.
  function pickAt(event, first = []) {
    const stack = stackAt(event, first);
    if (!stack.length) return null;
    const current = stack.findIndex((s) => isSelected(s.kind, s.index));
    return stack[(current + 1) % stack.length];
  }

  // ---------------------------------------------------------------- dragging handles

  function startDrag(ref, event) {
    const [kind, indexText, which] = ref.split(":");
    const index = Number(indexText);
    let refs = [ref];
    if (kind === "walls" && !event.altKey) {
      refs = [ref, ...endpointRefs(ed.doc.walls[index][which], new Set([ref]))];
    }
    if (kind === "rooms" && !ed.doc.rooms[index].polygon) ed.doc.rooms[index].polygon = polygonOf(ed.doc.rooms[index]);
    ed.gesture = { type: "drag", refs, kind, index, which, snap: snapshot(), moved: false };
    for (const moving of refs) ed.handleNodes.get(moving)?.classList.add("on");
  }

  function dragTo(event) {
    const gesture = ed.gesture;
    const raw = toImage(event);
    let from = null;
    if (gesture.kind !== "rooms" && gesture.refs.length === 1) {
      const item = ed.doc[gesture.kind][gesture.index];
      from = item[gesture.which === "start" ? "end" : "start"];
    }
    let point = snapPoint(raw, { from, exclude: new Set(gesture.refs), free: event.shiftKey }).point;
    if (gesture.kind === "openings") {
      const opening = ed.doc.openings[gesture.index];
      const host = ed.doc.walls.find((w) => String(w.id) === String(opening.wall_id));
      if (host && !event.shiftKey) point = projectOnWall(raw, host, false);
    }
    point = pt(point);
    gesture.moved = true;
    for (const ref of gesture.refs) moveRef(ref, point);
  }

  function moveRef(ref, point) {
    const [kind, indexText, which] = ref.split(":");
    const index = Number(indexText);
    if (kind === "rooms") {
      const room = ed.doc.rooms[index];
      room.polygon[Number(which)] = point;
      room.bounding_box = boxOf(room.polygon);
      const nodes = ed.roomNodes[index];
      nodes.shape.setAttribute("points", room.polygon.map((p) => p.join(",")).join(" "));
      const [cx, cy] = centroid(room.polygon);
      nodes.label.setAttribute("x", cx);
      nodes.label.setAttribute("y", cy);
    } else {
      const item = ed.doc[kind][index];
      item[which] = point;
      placeSegment(ed.segmentNodes[kind][index], item);
    }
    const circle = ed.handleNodes.get(ref);
    if (circle) {
      circle.setAttribute("cx", point[0]);
      circle.setAttribute("cy", point[1]);
    }
  }

  // ---------------------------------------------------------------- pointer and keyboard

  function onPointerDown(event) {
    if (event.button === 2) return;
    $("viewport").focus({ preventScroll: true });
    svg.setPointerCapture(event.pointerId);
    const target = event.target;
    if (event.button === 1 || ed.spaceDown) {
      ed.gesture = { type: "pan", x: event.clientX, y: event.clientY, tx: ed.view.tx, ty: ed.view.ty };
      svg.classList.add("panning");
      event.preventDefault();
      return;
    }
    if (ed.tool === "select" && target.dataset.kind === "handle") {
      startDrag(target.dataset.ref, event);
      return;
    }
    ed.gesture = { type: "press", x: event.clientX, y: event.clientY, tx: ed.view.tx, ty: ed.view.ty, target };
  }

  function onPointerMove(event) {
    ed.hover = toImage(event);
    const gesture = ed.gesture;
    if (gesture && gesture.type === "press") {
      if (Math.hypot(event.clientX - gesture.x, event.clientY - gesture.y) > DRAG_START_PX) {
        gesture.type = "pan";
        svg.classList.add("panning");
      }
    }
    if (gesture && gesture.type === "pan") {
      ed.view.tx = gesture.tx + event.clientX - gesture.x;
      ed.view.ty = gesture.ty + event.clientY - gesture.y;
      requestView();
    } else if (gesture && gesture.type === "drag") {
      dragTo(event);
    }
    if (ed.draft) renderDraft();
    showCursor();
  }

  function onPointerUp(event) {
    const gesture = ed.gesture;
    ed.gesture = null;
    svg.classList.remove("panning");
    if (svg.hasPointerCapture(event.pointerId)) svg.releasePointerCapture(event.pointerId);
    if (!gesture) return;
    if (gesture.type === "press") clickCanvas(event, gesture.target);
    else if (gesture.type === "drag" && gesture.moved) {
      pushUndo(gesture.snap);
      changed();
    } else if (gesture.type === "drag") {
      // a click on a handle without dragging selects its element (then what lies beneath)
      const owners = gesture.refs.map((ref) => ({ kind: ref.split(":")[0], index: Number(ref.split(":")[1]) }));
      select(pickAt(event, owners));
    }
  }

  function onWheel(event) {
    event.preventDefault();
    const rect = svg.getBoundingClientRect();
    const factor = Math.exp(-Math.max(-100, Math.min(100, event.deltaY)) * 0.002);
    zoomAt(factor, event.clientX - rect.left, event.clientY - rect.top);
  }

  function cancel() {
    if (ed.draft) {
      ed.draft = null;
      renderDraft();
    } else if (ed.tool !== "select") setTool("select");
    else select(null);
  }

  // A person's decision replaces the heuristic's, so its confidence no longer applies.
  function setLoadBearing(wall, on) {
    wall.is_load_bearing = on;
    delete wall.confidence;
  }

  function adjustSelected(kind, mutate) {
    const sel = ed.selection;
    if (sel && sel.kind === kind) edit((doc) => mutate(doc[kind][sel.index]));
  }

  const KEYS = {
    v: () => setTool("select"),
    w: () => setTool("wall"),
    d: () => setTool("door"),
    n: () => setTool("window"),
    o: () => setTool("opening"),
    r: () => setTool("rect"),
    p: () => setTool("polygon"),
    escape: cancel,
    enter: closePolygon,
    delete: deleteSelection,
    backspace: deleteSelection,
    l: () => adjustSelected("walls", (w) => setLoadBearing(w, !w.is_load_bearing)),
    "[": () => adjustSelected("walls", (w) => (w.thickness = Math.max(0.5, (w.thickness || defaultThickness()) - 1))),
    "]": () => adjustSelected("walls", (w) => (w.thickness = (w.thickness || defaultThickness()) + 1)),
    t: () => adjustSelected("openings", (o) => (o.type = OPENING_TYPES[(OPENING_TYPES.indexOf(o.type) + 1) % 3])),
    f: fit,
    b: () => toggleLayer("image"),
    "+": () => zoomCentre(1.25),
    "=": () => zoomCentre(1.25),
    "-": () => zoomCentre(0.8),
    "?": () => toggleHelp(),
    h: () => toggleHelp(),
  };

  function zoomCentre(factor) {
    const rect = svg.getBoundingClientRect();
    zoomAt(factor, rect.width / 2, rect.height / 2);
  }

  function onKeyDown(event) {
    const key = event.key.toLowerCase();
    const typing = /^(INPUT|SELECT|TEXTAREA)$/.test(event.target.tagName);
    if (event.ctrlKey || event.metaKey) {
      if (key === "z" && !typing) {
        event.preventDefault();
        return event.shiftKey ? redo() : undo();
      }
      if (key === "y" && !typing) {
        event.preventDefault();
        return redo();
      }
      if (key === "s") {
        event.preventDefault();
        return save();
      }
      return;
    }
    if (typing) {
      if (key === "escape" || (key === "enter" && event.target.tagName === "INPUT")) event.target.blur();
      return;
    }
    if (!$("help").hidden && (key === "escape" || key === "?" || key === "h")) return toggleHelp();
    if (key === " ") {
      ed.spaceDown = true;
      event.preventDefault();
      return;
    }
    const action = KEYS[key];
    if (action) {
      event.preventDefault();
      action();
    }
  }

  function toggleHelp() {
    $("help").hidden = !$("help").hidden;
  }

  function toggleLayer(name, on) {
    const box = document.querySelector(`[data-layer="${name}"]`);
    box.checked = on === undefined ? !box.checked : on;
    const node = name === "image" ? $("plan-image") : layers[name];
    node.style.display = box.checked ? "" : "none";
    if (name === "rooms") layers.labels.style.display = box.checked ? "" : "none";
  }

  function focusProblem(problem) {
    const match = /^(walls|openings|rooms)\/(\d+)/.exec(problem.path || "");
    if (match && ed.doc[match[1]][Number(match[2])]) select({ kind: match[1], index: Number(match[2]) });
    if (problem.point) centreOn(problem.point);
  }

  // ---------------------------------------------------------------- saving

  const token = () => `${ed.session}:${ed.editVersion}`;

  function writeBackup() {
    try {
      localStorage.setItem(
        BACKUP_KEY,
        JSON.stringify({ doc: ed.doc, base_revision: ed.revision, token: token(), saved_at: Date.now() }),
      );
    } catch (error) {
      setStatus(`cannot keep a copy in this browser: ${error.message}`);
    }
  }

  function readBackup() {
    try {
      return JSON.parse(localStorage.getItem(BACKUP_KEY) || "null");
    } catch {
      return null;
    }
  }

  function clearBackup() {
    localStorage.removeItem(BACKUP_KEY);
  }

  function scheduleSave() {
    clearTimeout(ed.saveTimer);
    ed.saveTimer = setTimeout(save, AUTOSAVE_MS);
  }

  function retryLater() {
    clearTimeout(ed.retryTimer);
    ed.retryTimer = setTimeout(() => ed.dirty && save(), RETRY_MS);
  }

  function writeHeaders() {
    return { "Content-Type": "application/json", [TOKEN_HEADER]: TOKEN };
  }

  // The message of a JSON error body {"error": {"code", "message"}}.
  function errorText(data) {
    const error = data && data.error;
    if (!error) return "unknown error";
    return typeof error === "string" ? error : error.message || error.code;
  }

  async function postJSON(url, body, method = "POST") {
    const response = await fetch(url, { method, headers: writeHeaders(), body: JSON.stringify(body) });
    const data = await response
      .json()
      .catch(() => ({ error: { code: "http_error", message: `${response.status} ${response.statusText}` } }));
    return { response, data };
  }

  async function doSave(force) {
    if (!ed.dirty && !force) return true;
    if (ed.conflict && !force) return false;
    const version = ed.editVersion;
    setStatus("saving...");
    let result;
    try {
      result = await postJSON(
        `${API}/annotation`,
        { annotation: ed.doc, base_revision: ed.revision, client_token: token(), force: Boolean(force) },
        "PUT",
      );
    } catch (error) {
      setStatus("offline: edits are kept in this browser; retrying");
      retryLater();
      return false;
    }
    const { response, data } = result;
    if (response.ok) {
      ed.revision = data.revision;
      ed.conflict = false;
      setPlanState(data.state);
      ed.problems = data.problems;
      if (ed.editVersion === version) {
        ed.dirty = false;
        clearBackup();
      } else {
        writeBackup();
      }
      renderAll();
      hideBanner("save");
      setStatus(ed.dirty ? "unsaved changes" : `saved · revision ${data.revision}`);
      return !ed.dirty;
    }
    if (response.status === 409) {
      ed.conflict = true;
      setStatus("not saved: conflict");
      showBanner(
        `This plan was saved elsewhere (now revision ${data.current_revision}, you started from ${ed.revision}). ` +
          "Your edits are kept in this browser.",
        "save",
        [
          ["Overwrite with mine", () => save(true)],
          ["Load the saved version", () => { clearBackup(); location.reload(); }],
        ],
      );
      return false;
    }
    if (response.status === 422) {
      ed.problems = data.problems || [];
      renderAll();
      setStatus("not saved: invalid annotation");
      showBanner(`Not saved: ${errorText(data)} (listed under Problems).`, "save");
      return false;
    }
    setStatus("not saved");
    showBanner(`Save failed: ${errorText(data)}`, "save");
    retryLater();
    return false;
  }

  function save(force = false) {
    clearTimeout(ed.saveTimer);
    if (ed.savePromise) {
      return ed.savePromise.then(() => (ed.dirty || force === true ? save(force) : true));
    }
    ed.savePromise = doSave(force === true).finally(() => {
      ed.savePromise = null;
    });
    return ed.savePromise;
  }

  // The tab is closing: a keepalive fetch outlives the page (a beacon cannot carry the token
  // header). Bodies over the browser's keepalive quota (64 KB) are refused; the localStorage
  // copy is then restored and saved when the plan is opened again.
  function saveOnExit() {
    if (!ed.dirty || ed.conflict) return;
    const body = JSON.stringify({ annotation: ed.doc, base_revision: ed.revision, client_token: token() });
    try {
      fetch(`${API}/annotation`, { method: "PUT", keepalive: true, headers: writeHeaders(), body }).catch(() => {});
    } catch (error) {
      // nothing more can be done while the page unloads; the backup stays in localStorage
    }
  }

  function restoreBackup(server) {
    const backup = readBackup();
    if (!backup || !backup.doc) return;
    if ((backup.token && backup.token === server.client_token) || JSON.stringify(backup.doc) === JSON.stringify(ed.doc)) {
      clearBackup();
      return;
    }
    const apply = () => {
      pushUndo(snapshot());
      ed.doc = normaliseDoc(backup.doc);
      changed();
    };
    if (backup.base_revision === server.revision) {
      apply();
      showBanner("Restored unsaved edits kept in this browser; saving them now.", "info");
      return;
    }
    showBanner(
      `This browser holds unsaved edits made on revision ${backup.base_revision}, ` +
        `but the plan is now at revision ${server.revision}.`,
      "restore",
      [
        ["Restore mine (overwrite)", () => { apply(); save(true); hideBanner(); }],
        ["Discard mine", () => { clearBackup(); hideBanner(); }],
      ],
    );
  }

  // ---------------------------------------------------------------- server actions

  async function preannotate() {
    const backend = $("backend").value;
    const count = ed.doc.walls.length + ed.doc.openings.length + ed.doc.rooms.length;
    if (count && !window.confirm(`Replace the ${count} current elements with the ${backend} result? Undo brings them back.`)) return;
    if (ed.dirty && !(await save())) {
      showBanner("Save (or resolve the conflict) before pre-annotating.", "save");
      return;
    }
    setBusy(true, `pre-annotating with ${backend}...`);
    try {
      const { response, data } = await postJSON(`${API}/preannotate`, { backend, base_revision: ed.revision });
      if (!response.ok) {
        showBanner(`Pre-annotation with ${backend} failed: ${errorText(data)}`, "preannotate");
        return;
      }
      pushUndo(snapshot());
      ed.doc = normaliseDoc(data.annotation);
      ed.revision = data.revision;
      ed.editVersion += 1;
      ed.dirty = false;
      ed.selection = null;
      clearBackup();
      setPlanState(data.state);
      ed.problems = data.problems;
      renderAll();
      hideBanner();
      const total = Object.values(data.timing_ms || {}).reduce((a, b) => a + b, 0);
      setStatus(`pre-annotated by ${data.model.name} in ${Math.round(total)} ms · revision ${data.revision}`);
    } catch (error) {
      showBanner(`Pre-annotation failed: ${error.message}`, "preannotate");
    } finally {
      setBusy(false);
    }
  }

  async function validate() {
    if (!(await save())) {
      showBanner("Save (or resolve the conflict) before validating.", "save");
      return;
    }
    setBusy(true, "validating...");
    try {
      const { response, data } = await postJSON(`${API}/validate`, { base_revision: ed.revision });
      if (response.ok) {
        ed.problems = [];
        setPlanState(data.state);
        showBanner("Validated: no problems found.", "info");
      } else if (response.status === 422) {
        ed.problems = data.problems;
        showBanner(`${data.problems.length} problem(s) to fix: they are marked in red on the plan.`, "validate");
      } else {
        showBanner(`Validation failed: ${errorText(data)}`, "validate");
      }
      renderAll();
    } finally {
      setBusy(false);
    }
  }

  // ---------------------------------------------------------------- start

  function bindUi() {
    svg.addEventListener("pointerdown", onPointerDown);
    svg.addEventListener("pointermove", onPointerMove);
    svg.addEventListener("pointerup", onPointerUp);
    svg.addEventListener("pointercancel", onPointerUp);
    svg.addEventListener("pointerleave", () => {
      ed.hover = null;
      renderDraft();
    });
    svg.addEventListener("wheel", onWheel, { passive: false });
    svg.addEventListener("dblclick", closePolygon);
    svg.addEventListener("contextmenu", (event) => {
      event.preventDefault();
      cancel();
    });
    document.addEventListener("keydown", onKeyDown);
    document.addEventListener("keyup", (event) => {
      if (event.key === " ") ed.spaceDown = false;
    });
    window.addEventListener("resize", requestView);
    window.addEventListener("pagehide", saveOnExit);
    document.addEventListener("visibilitychange", () => document.visibilityState === "hidden" && saveOnExit());
    for (const button of document.querySelectorAll("#tools button")) {
      button.addEventListener("click", () => setTool(button.dataset.tool));
    }
    for (const box of document.querySelectorAll("[data-layer]")) {
      box.addEventListener("change", () => toggleLayer(box.dataset.layer, box.checked));
    }
    $("btn-undo").addEventListener("click", undo);
    $("btn-redo").addEventListener("click", redo);
    $("btn-save").addEventListener("click", () => save());
    $("btn-validate").addEventListener("click", validate);
    $("btn-preannotate").addEventListener("click", preannotate);
    $("btn-help").addEventListener("click", toggleHelp);
    $("help-close").addEventListener("click", toggleHelp);
    $("banner-close").addEventListener("click", () => hideBanner());
    $("btn-delete").addEventListener("click", deleteSelection);
    bindFields();
  }

  function bindFields() {
    const current = () => ed.doc[ed.selection.kind][ed.selection.index];
    for (const id of ["wall-thickness", "room-name"]) {
      $(id).addEventListener("focus", () => (ed.fieldSnapshot = false));
      $(id).addEventListener("blur", () => {
        ed.fieldSnapshot = false;
        renderAll();
      });
    }
    $("wall-thickness").addEventListener("input", () => {
      const value = Number($("wall-thickness").value);
      if (value > 0) {
        fieldEdit(() => (current().thickness = value));
        ed.segmentNodes.walls[ed.selection.index].body.setAttribute("stroke-width", value);
      }
    });
    $("room-name").addEventListener("input", () => {
      const value = $("room-name").value.trim();
      fieldEdit(() => (current().name_hint = value || null));
      const label = ed.roomNodes[ed.selection.index].label;
      label.textContent = value || `${current().id}?`;
      label.classList.toggle("unnamed", !value);
    });
    $("wall-loadbearing").addEventListener("change", () => {
      const on = $("wall-loadbearing").checked;
      edit(() => setLoadBearing(current(), on));
    });
    $("opening-type").addEventListener("change", () => {
      const type = $("opening-type").value;
      edit(() => (current().type = type));
    });
  }

  async function start() {
    bindUi();
    let response;
    let data;
    try {
      response = await fetch(API);
      data = await response.json();
    } catch (error) {
      showBanner(`Cannot load the plan: ${error.message}`);
      return;
    }
    if (!response.ok) {
      const problems = (data.problems || []).map((p) => p.message);
      const more = problems.length > 1 ? ` (${problems.join("; ")})` : "";
      showBanner(`Cannot open the plan: ${errorText(data)}${more}`);
      return;
    }
    ed.width = data.width;
    ed.height = data.height;
    ed.revision = data.revision;
    ed.doc = normaliseDoc(data.data);
    ed.problems = data.problems || [];
    setPlanState(data.state);
    const image = $("plan-image");
    image.setAttribute("width", ed.width);
    image.setAttribute("height", ed.height);
    image.setAttribute("href", data.image_url);
    fit();
    renderAll();
    setStatus(data.revision ? `revision ${data.revision}` : "not saved yet");
    restoreBackup(data);
    document.body.dataset.ready = "true";
  }

  // A small read-only hook for debugging and the browser tests.
  window.annotate = {
    get doc() {
      return ed.doc;
    },
    get revision() {
      return ed.revision;
    },
    get dirty() {
      return ed.dirty;
    },
    get view() {
      return { ...ed.view };
    },
    get selection() {
      const sel = ed.selection;
      return sel ? { kind: sel.kind, index: sel.index, id: ed.doc[sel.kind][sel.index].id } : null;
    },
    toClient,
    save: () => save(),
  };

  start();
})();
