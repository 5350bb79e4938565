//! [`RuleKind::Fall`]: matching voxels move down into empty space; blocked ones may slide.
//!
//! Two phases per tick. **Fall**: a voxel falls one cell when the cell below is empty or its
//! voxel falls too, so a column falls as a whole; chunks are visited bottom-up (ascending z) so
//! that chain is known, and a chunk whose top layer falls pulls the chunk above into the phase.
//! **Slide** (with `slide`): a voxel that did not move and rests on something picks one of the
//! four sides at random; it moves diagonally down that way if the side cell and the cell below
//! it are empty, and if it wins that target against the other voxels that picked it (a random
//! order per target). Both phases read the state at their start, so the result does not
//! depend on the order chunks are visited in. A voxel that could slide but did not keeps its
//! chunk pending: it tries again next tick.

use std::collections::BTreeSet;

use bevy_ecs::world::World;
use glam::IVec3;
use rustc_hash::{FxHashMap, FxHashSet};

use super::active::{ActiveQuery, RuleCtx, run_rules};
use super::grid::{Grid, local};
use super::random::roll;
use super::{Matcher, RuleKind, Timers};
use crate::color::Color;
use crate::coords::{CHUNK_SIZE, zyx_key};

/// The four horizontal directions, in the order random choices index them.
pub(crate) const SIDES: [IVec3; 4] = [
    IVec3::new(1, 0, 0),
    IVec3::new(-1, 0, 0),
    IVec3::new(0, 1, 0),
    IVec3::new(0, -1, 0),
];

/// Salt bit for the order in which a target hears its claimants.
pub(crate) const TARGET_SALT: u64 = 1 << 31;

/// The `Fall` rules' system.
pub(crate) fn fall_voxels(world: &mut World, active: &mut ActiveQuery<'_, '_>) {
    run_rules(world, active, |k| matches!(k, RuleKind::Fall { .. }), run);
}

fn run(grid: &mut Grid<'_>, ctx: &RuleCtx<'_>, worklist: Vec<IVec3>, _: &mut Timers) {
    let RuleKind::Fall { matches, slide } = &ctx.rule.kind else {
        return;
    };
    let fell = fall_phase(grid, matches, worklist);
    if *slide {
        let chunks = second_phase_chunks(grid, matches, &fell);
        grid.begin_phase();
        for cpos in chunks {
            let resting = fell.resting.get(&cpos).map(|r| &**r);
            slide_chunk(grid, ctx, matches, cpos, resting);
        }
        grid.end_phase();
    }
}

/// What the fall phase did.
pub(crate) struct Fell {
    /// The chunks it visited.
    pub visited: Vec<IVec3>,
    /// The chunks it wrote.
    pub written: Vec<IVec3>,
    /// For each visited chunk, its matching voxels that did not fall (they rest on something):
    /// the only ones there a second phase needs to look at.
    pub resting: FxHashMap<IVec3, Box<[u64; 64]>>,
}

/// The fall phase (shared with `Flow`).
pub(crate) fn fall_phase(grid: &mut Grid<'_>, matches: &Matcher, worklist: Vec<IVec3>) -> Fell {
    grid.begin_phase();
    let mut queue: BTreeSet<(i32, i32, i32)> = worklist.iter().map(|&p| zyx_key(p)).collect();
    // Voxels of each visited chunk's top layer that fall (bit x + 16 y): the chunk above
    // needs them for its chain.
    let mut tops: FxHashMap<IVec3, [u64; 4]> = FxHashMap::default();
    let mut visited = Vec::new();
    let mut resting = FxHashMap::default();
    while let Some((z, y, x)) = queue.pop_first() {
        let cpos = IVec3::new(x, y, z);
        visited.push(cpos);
        grid.visits += 1;
        let below = tops.get(&(cpos - IVec3::Z)).copied().unwrap_or([0; 4]);
        let (top, rest) = fall_chunk(grid, matches, cpos, &below);
        if let Some(rest) = rest {
            resting.insert(cpos, rest);
        }
        if top != [0; 4] {
            tops.insert(cpos, top);
            let above = cpos + IVec3::Z;
            if grid.exists(above) {
                // Above the current key: it is visited later in this loop.
                queue.insert(zyx_key(above));
            }
        }
    }
    let written = grid.end_phase();
    Fell {
        visited,
        written,
        resting,
    }
}

/// The chunks a second phase visits: those the first visited, and the neighbours of those it
/// changed (a cell emptied there may open a move), if they hold a matching voxel.
pub(crate) fn second_phase_chunks(grid: &Grid<'_>, matches: &Matcher, fell: &Fell) -> Vec<IVec3> {
    let mut set: FxHashSet<IVec3> = fell.visited.iter().copied().collect();
    for &p in &fell.written {
        for z in -1..=1 {
            for y in -1..=1 {
                for x in -1..=1 {
                    set.insert(p + IVec3::new(x, y, z));
                }
            }
        }
    }
    let visited: FxHashSet<IVec3> = fell.visited.iter().copied().collect();
    let mut out: Vec<IVec3> = set
        .into_iter()
        .filter(|p| match fell.resting.get(p) {
            // A visited chunk: its voxels fell (and are marked moved) or rest.
            Some(_) => true,
            None if visited.contains(p) => false,
            None => grid.chunk_overlaps(*p) && holds(grid, matches, *p),
        })
        .collect();
    out.sort_unstable_by_key(|p| zyx_key(*p));
    out
}

/// Whether chunk `cpos` holds a matching voxel in the current state.
fn holds(grid: &Grid<'_>, matches: &Matcher, cpos: IVec3) -> bool {
    match grid.existing_slot(cpos) {
        Some(s) => grid.cur(s).iter().any(|&c| matches.matches(c)),
        None => grid
            .world_chunk(cpos)
            .is_some_and(|d| d.any_color(|c| matches.matches(c))),
    }
}

/// The top layer of chunk `cpos` (bit `x + 16 y`): whether each cell is empty, as the phase
/// began; [`WALL`](super::grid::WALL) outside the bounds counts as full.
fn top_layer_free(grid: &Grid<'_>, cpos: IVec3, inside: bool) -> [bool; 256] {
    let mut free = [false; 256];
    const TOP: usize = 15 * 256;
    if inside {
        if let Some(b) = grid.existing_slot(cpos) {
            let cur = grid.cur(b);
            for (j, f) in free.iter_mut().enumerate() {
                *f = cur[TOP + j] == Color::EMPTY;
            }
        } else if let Some(d) = grid.world_chunk(cpos) {
            if let Some(u) = d.uniform_color() {
                free = [u == Color::EMPTY; 256];
            } else {
                for (j, f) in free.iter_mut().enumerate() {
                    *f = d.get(TOP + j) == Color::EMPTY;
                }
            }
        } else {
            free = [true; 256];
        }
        return free;
    }
    let origin = cpos * CHUNK_SIZE;
    for (j, f) in free.iter_mut().enumerate() {
        let j = j as i32;
        *f = grid.get(origin + IVec3::new(j & 15, j >> 4, 15)) == Color::EMPTY;
    }
    free
}

/// Bits (x-fastest, 64 cells a word) of a chunk's cells that `matches` accepts, and of its
/// empty cells, both limited to the grid's bounds.
fn masks(grid: &Grid<'_>, s: usize, matches: &Matcher, inside: bool) -> ([u64; 64], [u64; 64]) {
    let cur = grid.cur(s);
    let mut mat = [0u64; 64];
    let mut emp = [0u64; 64];
    for (w, cells) in cur.chunks_exact(64).enumerate() {
        let (mut m, mut e) = (0u64, 0u64);
        match matches {
            Matcher::Colors(v) if v.len() == 1 => {
                let one = v[0];
                for (b, &c) in cells.iter().enumerate() {
                    m |= ((c == one) as u64) << b;
                    e |= ((c == Color::EMPTY) as u64) << b;
                }
            }
            _ => {
                for (b, &c) in cells.iter().enumerate() {
                    m |= (matches.matches(c) as u64) << b;
                    e |= ((c == Color::EMPTY) as u64) << b;
                }
            }
        }
        mat[w] = m;
        emp[w] = e;
    }
    if !inside {
        let origin = grid.slot_pos(s) * CHUNK_SIZE;
        for w in 0..64 {
            let mut within = 0u64;
            for b in 0..64 {
                within |= (grid.bounds.contains(origin + local(w * 64 + b)) as u64) << b;
            }
            mat[w] &= within;
            emp[w] &= within;
        }
    }
    (mat, emp)
}

/// Moves the falling voxels of one chunk; returns which voxels of its top layer fell, and
/// which matching voxels did not fall (`None`: none).
///
/// A layer is 256 cells, four words of bits: a voxel falls when it matches and the cell
/// under it is empty or falls too, so the chain is two bit operations per word, bottom-up.
fn fall_chunk(
    grid: &mut Grid<'_>,
    matches: &Matcher,
    cpos: IVec3,
    below: &[u64; 4],
) -> ([u64; 4], Option<Box<[u64; 64]>>) {
    let s = grid.slot(cpos);
    let inside = grid.chunk_inside(cpos);
    // The layer under the chunk, as the phase began (inside the bounds when this chunk and
    // its neighbours are).
    let under_free = top_layer_free(grid, cpos - IVec3::Z, inside);
    let mut under = [0u64; 4];
    for (j, &f) in under_free.iter().enumerate() {
        under[j >> 6] |= (f as u64) << (j & 63);
    }
    let (mat, emp) = masks(grid, s, matches, inside);
    let mut falls = [0u64; 64];
    let mut rest = [0u64; 64];
    let (mut free, mut falling) = (under, *below);
    for z in 0..16 {
        for k in 0..4 {
            let w = z * 4 + k;
            falls[w] = mat[w] & (free[k] | falling[k]);
            rest[w] = mat[w] & !falls[w];
        }
        free.copy_from_slice(&emp[z * 4..z * 4 + 4]);
        falling.copy_from_slice(&falls[z * 4..z * 4 + 4]);
    }
    let rest = rest.iter().any(|&w| w != 0).then(|| Box::new(rest));
    if falls.iter().all(|&w| w == 0) {
        return ([0; 4], rest);
    }
    // A cell takes the voxel above it if that one falls, else empties if its own falls.
    let mut bottom = [Color::EMPTY; 256];
    {
        let (cur, next, moved) = grid.next_mut(s);
        bottom.copy_from_slice(&cur[..256]);
        for w in 0..64 {
            let arrive = if w + 4 < 64 { falls[w + 4] } else { 0 };
            let mut bits = falls[w] | arrive;
            while bits != 0 {
                let b = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let i = w * 64 + b;
                next[i] = if arrive >> b & 1 == 1 {
                    cur[i + 256]
                } else {
                    Color::EMPTY
                };
            }
            moved[w] |= arrive;
        }
    }
    // The bottom layer's voxels fall into the top layer of the chunk below (visited before
    // this one, so these writes come after its own).
    if falls[..4].iter().any(|&w| w != 0) {
        let b = grid.slot(cpos - IVec3::Z);
        let (_, next, moved) = grid.next_mut(b);
        for k in 0..4 {
            let mut bits = falls[k];
            moved[60 + k] |= bits;
            while bits != 0 {
                let j = k * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                next[15 * 256 + j] = bottom[j];
            }
        }
    }
    ([falls[60], falls[61], falls[62], falls[63]], rest)
}

/// Whether the voxel at `q` rests on something and has not moved this tick.
fn rests(grid: &Grid<'_>, matches: &Matcher, q: IVec3) -> bool {
    matches.matches(grid.get(q)) && !grid.moved(q) && grid.get(q - IVec3::Z) != Color::EMPTY
}

/// The side a voxel at `q` would slide to this tick.
fn preferred(ctx: &RuleCtx<'_>, q: IVec3) -> IVec3 {
    SIDES[(roll(ctx.seed, ctx.tick, q, ctx.salt) % 4) as usize]
}

/// The cells a second phase looks at in chunk `cpos`: the resting voxels the fall phase found
/// there, or (a chunk it did not visit) every cell.
pub(crate) fn candidates(resting: Option<&[u64; 64]>) -> impl Iterator<Item = usize> + '_ {
    (0..64usize).flat_map(move |w| {
        let mut bits = resting.map_or(u64::MAX, |r| r[w]);
        std::iter::from_fn(move || {
            if bits == 0 {
                return None;
            }
            let b = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            Some(w * 64 + b)
        })
    })
}

/// Slides the voxels of one chunk (`resting`: the candidates the fall phase found there).
fn slide_chunk(
    grid: &mut Grid<'_>,
    ctx: &RuleCtx<'_>,
    matches: &Matcher,
    cpos: IVec3,
    resting: Option<&[u64; 64]>,
) {
    grid.visits += 1;
    let s = grid.slot(cpos);
    let origin = cpos * CHUNK_SIZE;
    let mut moves: Vec<(usize, IVec3, Color)> = Vec::new();
    let mut pending = false;
    for i in candidates(resting) {
        let c = grid.cur(s)[i];
        if !matches.matches(c) || grid.moved_local(s, i) {
            continue;
        }
        let p = origin + local(i);
        if !grid.bounds.contains(p) || grid.get(p - IVec3::Z) == Color::EMPTY {
            continue;
        }
        let open = |d: IVec3| {
            grid.get(p + d) == Color::EMPTY && grid.get(p + d - IVec3::Z) == Color::EMPTY
        };
        if !SIDES.iter().any(|&d| open(d)) {
            continue;
        }
        let d = preferred(ctx, p);
        if !open(d) {
            pending = true;
            continue;
        }
        let side = p + d;
        let target = side - IVec3::Z;
        let start = roll(ctx.seed, ctx.tick, target, ctx.salt | TARGET_SALT) as usize;
        let winner = (0..4).map(|k| SIDES[(start + k) % 4]).find(|&from| {
            let q = side - from;
            rests(grid, matches, q) && preferred(ctx, q) == from
        });
        if winner == Some(d) {
            moves.push((i, target, c));
        } else {
            pending = true;
        }
    }
    grid.commit_moves(s, cpos, moves, pending);
}
