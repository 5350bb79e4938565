// The viewer's copy of the world: RGBA voxels per (layer, 16³ chunk), and the mesher that turns
// one chunk into triangles. Faces between two voxels of the same layer are culled, across chunk
// borders too, so a chunk is re-meshed with its six neighbours when it changes.

export const CHUNK = 16;
const VOXELS = CHUNK * CHUNK * CHUNK;

// Per face: the direction to the neighbour, the four corners (counter-clockwise seen from
// outside, so back faces are culled) and the shade baked into the colour (light from above).
const FACES = [
  { d: [1, 0, 0], c: [[1, 0, 0], [1, 1, 0], [1, 1, 1], [1, 0, 1]], shade: 0.80 },
  { d: [-1, 0, 0], c: [[0, 0, 0], [0, 0, 1], [0, 1, 1], [0, 1, 0]], shade: 0.72 },
  { d: [0, 1, 0], c: [[0, 1, 0], [0, 1, 1], [1, 1, 1], [1, 1, 0]], shade: 0.66 },
  { d: [0, -1, 0], c: [[0, 0, 0], [1, 0, 0], [1, 0, 1], [0, 0, 1]], shade: 0.88 },
  { d: [0, 0, 1], c: [[0, 0, 1], [1, 0, 1], [1, 1, 1], [0, 1, 1]], shade: 1.0 },
  { d: [0, 0, -1], c: [[0, 0, 0], [0, 1, 0], [1, 1, 0], [1, 0, 0]], shade: 0.5 },
];

export function chunkKey(layer, cx, cy, cz) {
  return `${layer}:${cx},${cy},${cz}`;
}

/** Chunks by layer and position; each is `VOXELS × 4` bytes, index `(x + 16 (y + 16 z)) × 4`. */
export class ChunkStore {
  constructor() {
    this.chunks = new Map(); // key -> { layer, pos: [cx, cy, cz], rgba: Uint8Array }
  }

  /** Stores (or, with `rgba` null, removes) a chunk; returns the keys whose mesh may change. */
  set(layer, pos, rgba) {
    const key = chunkKey(layer, ...pos);
    if (rgba) this.chunks.set(key, { layer, pos, rgba }); else this.chunks.delete(key);
    const touched = [key];
    for (const f of FACES) {
      const n = chunkKey(layer, pos[0] + f.d[0], pos[1] + f.d[1], pos[2] + f.d[2]);
      if (this.chunks.has(n)) touched.push(n);
    }
    return touched;
  }

  /** Removes every chunk of `layer`; returns their keys. */
  dropLayer(layer) {
    const gone = [];
    for (const [key, chunk] of this.chunks) if (chunk.layer === layer) gone.push(key);
    gone.forEach((k) => this.chunks.delete(k));
    return gone;
  }

  layers() {
    return new Set([...this.chunks.values()].map((c) => c.layer));
  }

  /** The voxel count and the box [min, max) of every stored voxel (null when empty). */
  extent() {
    let count = 0;
    const min = [Infinity, Infinity, Infinity];
    const max = [-Infinity, -Infinity, -Infinity];
    for (const { pos, rgba } of this.chunks.values()) {
      for (let i = 0; i < VOXELS; i++) {
        if (rgba[i * 4 + 3] === 0) continue;
        count += 1;
        const p = [i % CHUNK, (i >> 4) % CHUNK, i >> 8];
        for (let a = 0; a < 3; a++) {
          const v = pos[a] * CHUNK + p[a];
          if (v < min[a]) min[a] = v;
          if (v + 1 > max[a]) max[a] = v + 1;
        }
      }
    }
    return count ? { count, min, max } : null;
  }

  /** Triangles of the chunk under `key`: positions (f32 × 3), colours (u8 × 4), u32 indices. */
  mesh(key) {
    const chunk = this.chunks.get(key);
    if (!chunk) return { positions: new Float32Array(0), colors: new Uint8Array(0), indices: new Uint32Array(0) };
    const { layer, pos, rgba } = chunk;
    const neighbours = FACES.map((f) => this.chunks.get(chunkKey(layer, pos[0] + f.d[0], pos[1] + f.d[1], pos[2] + f.d[2])));
    const positions = [];
    const colors = [];
    const indices = [];
    const base = pos.map((p) => p * CHUNK);
    for (let z = 0; z < CHUNK; z++) {
      for (let y = 0; y < CHUNK; y++) {
        for (let x = 0; x < CHUNK; x++) {
          const i = (x + CHUNK * (y + CHUNK * z)) * 4;
          if (rgba[i + 3] === 0) continue;
          for (let f = 0; f < 6; f++) {
            const face = FACES[f];
            const nx = x + face.d[0];
            const ny = y + face.d[1];
            const nz = z + face.d[2];
            let solid;
            if (nx >= 0 && nx < CHUNK && ny >= 0 && ny < CHUNK && nz >= 0 && nz < CHUNK) {
              solid = rgba[(nx + CHUNK * (ny + CHUNK * nz)) * 4 + 3] !== 0;
            } else {
              const n = neighbours[f];
              const j = ((nx & 15) + CHUNK * ((ny & 15) + CHUNK * (nz & 15))) * 4;
              solid = n !== undefined && n.rgba[j + 3] !== 0;
            }
            if (solid) continue;
            const first = positions.length / 3;
            for (const c of face.c) {
              positions.push(base[0] + x + c[0], base[1] + y + c[1], base[2] + z + c[2]);
              colors.push(Math.round(rgba[i] * face.shade), Math.round(rgba[i + 1] * face.shade), Math.round(rgba[i + 2] * face.shade), 255);
            }
            indices.push(first, first + 1, first + 2, first, first + 2, first + 3);
          }
        }
      }
    }
    return { positions: new Float32Array(positions), colors: new Uint8Array(colors), indices: new Uint32Array(indices) };
  }
}
