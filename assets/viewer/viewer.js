// voxeld's live viewer: connects back to the server that served this page over WebSocket,
// speaks the same JSON-RPC as every other client, loads the world with `goxel.get_chunks`,
// and follows it through `goxel.world_changed` notifications. No library, no CDN: the page,
// this module, `mesh.js` and `renderer.js` are embedded in the voxeld binary.
//
// The token (when the server has tokens configured) comes from `?token=` in the page's address
// and is passed on to the WebSocket, never stored.
//
// For tests and tools the page keeps `window.voxeldViewer`: the connection state, the last
// status, the `seq` whose chunks are on screen (`shownSeq`), and the frame count.

import { ChunkStore } from './mesh.js';
import { Renderer } from './renderer.js';
import { decodeChunk } from './chunks.js';

const $ = (id) => document.getElementById(id);

const state = {
  connection: 'connecting',
  error: null,
  status: null,
  shownSeq: -1,
  chunks: 0,
  frames: 0,
  framed: false,
};
window.voxeldViewer = state;

class Rpc {
  constructor(url) {
    this.next = 1;
    this.waiting = new Map();
    this.onNotification = () => {};
    this.onClose = () => {};
    this.socket = new WebSocket(url);
    this.opened = new Promise((resolve, reject) => {
      this.socket.onopen = resolve;
      this.socket.onerror = () => reject(new Error('the WebSocket connection failed'));
    });
    this.socket.onmessage = (event) => this.receive(event.data);
    this.socket.onclose = (event) => {
      for (const { reject } of this.waiting.values()) reject(new Error('connection closed'));
      this.waiting.clear();
      this.onClose(event);
    };
  }

  receive(text) {
    let message;
    try { message = JSON.parse(text); } catch { return; }
    for (const m of Array.isArray(message) ? message : [message]) {
      if (m.id === undefined || m.id === null) {
        if (m.method) this.onNotification(m.method, m.params || {});
        continue;
      }
      const waiter = this.waiting.get(m.id);
      if (!waiter) continue;
      this.waiting.delete(m.id);
      if (m.error) waiter.reject(Object.assign(new Error(m.error.message), { code: m.error.code, data: m.error.data }));
      else waiter.resolve(m.result);
    }
  }

  call(method, params) {
    const id = this.next++;
    const request = { jsonrpc: '2.0', id, method };
    if (params !== undefined) request.params = params;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.socket.send(JSON.stringify(request));
    });
  }
}

function socketUrl() {
  const page = new URL(window.location.href);
  const url = new URL('/rpc', page);
  url.protocol = page.protocol === 'https:' ? 'wss:' : 'ws:';
  const token = page.searchParams.get('token');
  if (token) url.searchParams.set('token', token);
  return url.toString();
}

function setConnection(text, kind) {
  state.connection = kind;
  const el = $('connection');
  el.textContent = text;
  el.className = `state ${kind}`;
}

const store = new ChunkStore();
let renderer;
let rpc;

function showStatus(status) {
  state.status = status;
  $('status-seq').textContent = status.seq;
  $('status-tick').textContent = status.tick;
  $('status-voxels').textContent = status.voxel_count;
  $('status-chunks').textContent = status.chunk_count;
}

function showLayers(layers) {
  const list = $('layers');
  list.replaceChildren();
  for (const layer of layers) {
    const item = document.createElement('li');
    const label = document.createElement('label');
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.checked = !renderer.hiddenLayers.has(layer.id);
    box.dataset.layer = layer.id;
    box.onchange = () => renderer.setLayerHidden(layer.id, !box.checked);
    label.append(box, ` ${layer.name} (${layer.voxel_count})`);
    item.append(label);
    list.append(item);
  }
}

/** Fetches chunks (with `positions` null: all, or those of `whole.region`) and re-meshes what they touch. */
async function fetchChunks(positions, whole = {}) {
  const params = positions === null ? whole : { chunks: positions };
  const reply = await rpc.call('goxel.get_chunks', params);
  const touched = new Set();
  for (const entry of reply.chunks) {
    const chunk = decodeChunk(entry);
    for (const key of store.set(chunk.layer, chunk.pos, chunk.rgba)) touched.add(key);
  }
  for (const key of touched) {
    const chunk = store.chunks.get(key);
    renderer.setMesh(key, chunk ? chunk.layer : null, store.mesh(key));
  }
  state.chunks = store.chunks.size;
  return reply;
}

async function refreshStatus() {
  const [status, layers] = await Promise.all([rpc.call('goxel.get_status'), rpc.call('goxel.list_layers')]);
  showStatus(status);
  showLayers(layers.layers);
  return status;
}

function frameWorld() {
  const extent = store.extent();
  if (!extent) return;
  renderer.camera.frame(extent.min, extent.max);
  state.framed = true;
  renderer.requestDraw();
}

/**
 * Fetches the whole world: in one call when it has at most 4096 chunks (the server's limit per
 * call), else region by region, halving a region along its longest side until it fits.
 */
async function fetchWorld() {
  try {
    return await fetchChunks(null);
  } catch (e) {
    if (e.code !== -32602) throw e;
  }
  const box = await rpc.call('goxel.get_bounding_box', { layer_id: -2, exact: false });
  if (box.empty) return fetchChunks(null);
  let seq = 0;
  const regions = [{ min: box.min, max: box.max_inclusive }];
  while (regions.length) {
    const region = regions.pop();
    try {
      const reply = await fetchRegion(region);
      seq = Math.max(seq, reply.seq);
    } catch (e) {
      const size = [0, 1, 2].map((a) => region.max[a] - region.min[a]);
      const axis = size.indexOf(Math.max(...size));
      // A chunk-aligned cut near the middle of the longest side.
      let cut = Math.floor((region.min[axis] + region.max[axis] + 1) / 32) * 16;
      if (cut <= region.min[axis]) cut = (Math.floor(region.min[axis] / 16) + 1) * 16;
      if (e.code !== -32602 || cut > region.max[axis]) throw e;
      const low = { min: [...region.min], max: [...region.max] };
      const high = { min: [...region.min], max: [...region.max] };
      low.max[axis] = cut - 1;
      high.min[axis] = cut;
      regions.push(low, high);
    }
  }
  return { seq };
}

async function fetchRegion(region) {
  return fetchChunks(null, { region });
}

/** Drops the page's copy of the world and fetches all of it again. */
async function reloadAll() {
  for (const key of [...store.chunks.keys()]) {
    store.chunks.delete(key);
    renderer.setMesh(key, null, store.mesh(key));
  }
  return fetchWorld();
}

// Notifications arrive in order; each change is applied after the previous one. A change too
// large to list (`chunks: null`), a change of layers and a `resync` (the server dropped
// notifications this page did not read in time) reload the whole world.
let queue = Promise.resolve();
function follow(method, params) {
  queue = queue.then(async () => {
    if (method === 'goxel.world_changed') {
      const whole = params.chunks === null || params.layers_changed;
      const reply = whole ? await reloadAll() : await fetchChunks(params.chunks);
      await refreshStatus();
      state.shownSeq = Math.max(state.shownSeq, reply.seq);
      if (!state.framed) frameWorld();
    } else if (method === 'goxel.resync') {
      const reply = await reloadAll();
      await refreshStatus();
      state.shownSeq = reply.seq;
    } else if (method === 'goxel.tick') {
      $('status-tick').textContent = params.tick;
    }
  }).catch((e) => { state.error = String(e.message || e); });
}

async function start() {
  renderer = new Renderer($('view'));
  const draw = renderer.draw.bind(renderer);
  renderer.draw = () => { draw(); state.frames = renderer.frames; };
  rpc = new Rpc(socketUrl());
  rpc.onClose = (event) => setConnection(`closed${event.reason ? `: ${event.reason}` : ''} (code ${event.code})`, 'failed');
  try {
    await rpc.opened;
  } catch (e) {
    state.error = e.message;
    setConnection('refused: check the token in the address (?token=…)', 'failed');
    return;
  }
  setConnection('live', 'open');
  rpc.onNotification = follow;
  await rpc.call('goxel.subscribe', { events: ['world_changed', 'tick'] });
  const reply = await fetchWorld();
  await refreshStatus();
  state.shownSeq = reply.seq;
  frameWorld();
}

function bindControls() {
  const canvas = $('view');
  let drag = null;
  canvas.addEventListener('pointerdown', (e) => { drag = { x: e.clientX, y: e.clientY, pan: e.shiftKey }; canvas.setPointerCapture(e.pointerId); });
  canvas.addEventListener('pointerup', () => { drag = null; });
  canvas.addEventListener('pointermove', (e) => {
    if (!drag) return;
    const dx = e.clientX - drag.x;
    const dy = e.clientY - drag.y;
    drag.x = e.clientX; drag.y = e.clientY;
    if (drag.pan) renderer.camera.pan(dx, dy); else renderer.camera.orbit(dx, dy);
    renderer.requestDraw();
  });
  canvas.addEventListener('wheel', (e) => { e.preventDefault(); renderer.camera.zoom(Math.exp(e.deltaY * 0.001)); renderer.requestDraw(); }, { passive: false });
  $('run').onclick = async () => {
    const out = $('script-result');
    out.textContent = 'running…';
    try {
      const result = await rpc.call('goxel.execute_script', { script: $('script').value });
      out.textContent = JSON.stringify(result, null, 1);
    } catch (e) {
      out.textContent = `error ${e.code}: ${e.message}`;
    }
  };
}

bindControls();
start().catch((e) => { state.error = String(e.message || e); setConnection(`error: ${state.error}`, 'failed'); });
