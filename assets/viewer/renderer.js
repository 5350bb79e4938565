// The viewer's WebGL2 renderer: one vertex array per chunk mesh, an orbit camera (z up, as in
// Goxel and voxeld's own renderer) and per-face shading baked into the vertex colours, so the
// shaders stay a few lines. Draws only when something changed (`requestDraw`).

const VERTEX_SHADER = `#version 300 es
layout(location = 0) in vec3 position;
layout(location = 1) in vec4 color;
uniform mat4 viewProjection;
out vec4 vColor;
void main() {
  vColor = color;
  gl_Position = viewProjection * vec4(position, 1.0);
}`;

const FRAGMENT_SHADER = `#version 300 es
precision mediump float;
in vec4 vColor;
out vec4 outColor;
void main() { outColor = vColor; }`;

function compile(gl, type, source) {
  const shader = gl.createShader(type);
  gl.shaderSource(shader, source);
  gl.compileShader(shader);
  if (!gl.getShaderParameter(shader, gl.COMPILE_STATUS)) {
    throw new Error(`shader: ${gl.getShaderInfoLog(shader)}`);
  }
  return shader;
}

// Column-major 4×4 matrices, as WebGL takes them.
function perspective(fovY, aspect, near, far) {
  const f = 1 / Math.tan(fovY / 2);
  const nf = 1 / (near - far);
  return [f / aspect, 0, 0, 0, 0, f, 0, 0, 0, 0, (far + near) * nf, -1, 0, 0, 2 * far * near * nf, 0];
}

function lookAt(eye, target, up) {
  const sub = (a, b) => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
  const cross = (a, b) => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
  const norm = (a) => { const l = Math.hypot(a[0], a[1], a[2]) || 1; return [a[0] / l, a[1] / l, a[2] / l]; };
  const dot = (a, b) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
  const z = norm(sub(eye, target));
  const x = norm(cross(up, z));
  const y = cross(z, x);
  return [x[0], y[0], z[0], 0, x[1], y[1], z[1], 0, x[2], y[2], z[2], 0, -dot(x, eye), -dot(y, eye), -dot(z, eye), 1];
}

function multiply(a, b) {
  const out = new Array(16).fill(0);
  for (let c = 0; c < 4; c++) {
    for (let r = 0; r < 4; r++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += a[k * 4 + r] * b[c * 4 + k];
      out[c * 4 + r] = s;
    }
  }
  return out;
}

/** An orbit camera around `target`: yaw and pitch in radians, distance in voxels. */
export class OrbitCamera {
  constructor() {
    this.target = [0, 0, 0];
    this.yaw = -Math.PI / 4;
    this.pitch = 0.6;
    this.distance = 64;
  }

  /** Frames a box of voxels [min, max) (world coordinates). */
  frame(min, max) {
    this.target = [0, 1, 2].map((i) => (min[i] + max[i]) / 2);
    const size = Math.max(max[0] - min[0], max[1] - min[1], max[2] - min[2], 1);
    this.distance = size * 1.9 + 4;
  }

  eye() {
    const c = Math.cos(this.pitch);
    return [
      this.target[0] + this.distance * c * Math.cos(this.yaw),
      this.target[1] + this.distance * c * Math.sin(this.yaw),
      this.target[2] + this.distance * Math.sin(this.pitch),
    ];
  }

  matrix(aspect) {
    const far = this.distance * 4 + 256;
    return multiply(perspective(0.8, aspect, Math.max(this.distance / 500, 0.05), far), lookAt(this.eye(), this.target, [0, 0, 1]));
  }

  orbit(dx, dy) {
    this.yaw -= dx * 0.008;
    this.pitch = Math.min(1.55, Math.max(-1.55, this.pitch + dy * 0.008));
  }

  zoom(factor) {
    this.distance = Math.min(1e5, Math.max(1, this.distance * factor));
  }

  pan(dx, dy) {
    const s = this.distance * 0.0015;
    const right = [-Math.sin(this.yaw), Math.cos(this.yaw), 0];
    this.target[0] -= right[0] * dx * s;
    this.target[1] -= right[1] * dx * s;
    this.target[2] += dy * s;
  }
}

export class Renderer {
  constructor(canvas) {
    const gl = canvas.getContext('webgl2', { antialias: true, preserveDrawingBuffer: true });
    if (!gl) throw new Error('this browser has no WebGL2');
    this.gl = gl;
    this.canvas = canvas;
    this.camera = new OrbitCamera();
    this.meshes = new Map(); // key -> { vao, buffers, count, layer }
    this.hiddenLayers = new Set();
    this.frames = 0;
    this.pending = false;
    const program = gl.createProgram();
    gl.attachShader(program, compile(gl, gl.VERTEX_SHADER, VERTEX_SHADER));
    gl.attachShader(program, compile(gl, gl.FRAGMENT_SHADER, FRAGMENT_SHADER));
    gl.linkProgram(program);
    if (!gl.getProgramParameter(program, gl.LINK_STATUS)) throw new Error(gl.getProgramInfoLog(program));
    this.program = program;
    this.viewProjection = gl.getUniformLocation(program, 'viewProjection');
    gl.enable(gl.DEPTH_TEST);
    gl.enable(gl.CULL_FACE);
    new ResizeObserver(() => this.requestDraw()).observe(canvas);
  }

  /** Replaces the mesh under `key` (a layer's chunk); an empty mesh removes it. */
  setMesh(key, layer, mesh) {
    const gl = this.gl;
    const old = this.meshes.get(key);
    if (old) {
      gl.deleteVertexArray(old.vao);
      old.buffers.forEach((b) => gl.deleteBuffer(b));
      this.meshes.delete(key);
    }
    if (mesh.indices.length === 0) { this.requestDraw(); return; }
    const vao = gl.createVertexArray();
    gl.bindVertexArray(vao);
    const positions = gl.createBuffer();
    gl.bindBuffer(gl.ARRAY_BUFFER, positions);
    gl.bufferData(gl.ARRAY_BUFFER, mesh.positions, gl.STATIC_DRAW);
    gl.enableVertexAttribArray(0);
    gl.vertexAttribPointer(0, 3, gl.FLOAT, false, 0, 0);
    const colors = gl.createBuffer();
    gl.bindBuffer(gl.ARRAY_BUFFER, colors);
    gl.bufferData(gl.ARRAY_BUFFER, mesh.colors, gl.STATIC_DRAW);
    gl.enableVertexAttribArray(1);
    gl.vertexAttribPointer(1, 4, gl.UNSIGNED_BYTE, true, 0, 0);
    const indices = gl.createBuffer();
    gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, indices);
    gl.bufferData(gl.ELEMENT_ARRAY_BUFFER, mesh.indices, gl.STATIC_DRAW);
    gl.bindVertexArray(null);
    this.meshes.set(key, { vao, buffers: [positions, colors, indices], count: mesh.indices.length, layer });
    this.requestDraw();
  }

  setLayerHidden(layer, hidden) {
    if (hidden) this.hiddenLayers.add(layer); else this.hiddenLayers.delete(layer);
    this.requestDraw();
  }

  requestDraw() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => { this.pending = false; this.draw(); });
  }

  draw() {
    const gl = this.gl;
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(this.canvas.clientWidth * dpr));
    const h = Math.max(1, Math.round(this.canvas.clientHeight * dpr));
    if (this.canvas.width !== w || this.canvas.height !== h) { this.canvas.width = w; this.canvas.height = h; }
    gl.viewport(0, 0, w, h);
    gl.clearColor(0.114, 0.125, 0.149, 1);
    gl.clear(gl.COLOR_BUFFER_BIT | gl.DEPTH_BUFFER_BIT);
    gl.useProgram(this.program);
    gl.uniformMatrix4fv(this.viewProjection, false, new Float32Array(this.camera.matrix(w / h)));
    for (const mesh of this.meshes.values()) {
      if (this.hiddenLayers.has(mesh.layer)) continue;
      gl.bindVertexArray(mesh.vao);
      gl.drawElements(gl.TRIANGLES, mesh.count, gl.UNSIGNED_INT, 0);
    }
    gl.bindVertexArray(null);
    this.frames += 1;
  }
}
