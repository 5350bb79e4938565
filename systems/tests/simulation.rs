//! Scenario tests of the simulation: a `VoxelWorld` with rules, one `step(1)` = one tick,
//! checked against hand-computed shapes and patterns, and against itself visiting every chunk.

use std::collections::BTreeSet;

use glam::IVec3;
use systems::simulation::{
    Matcher, Neighbourhood, Rule, RuleKind, RuleSet, SimulationSettings, Timing,
};
use systems::{Color, CommandBuffer, Edit, EditError, Source, VoxelBox, VoxelWorld, WorldSettings};

const SAND: Color = Color::rgb(194, 178, 128);
const STONE: Color = Color::rgb(90, 90, 90);
const WATER: Color = Color::rgb(40, 90, 220);
const CELL: Color = Color::rgb(60, 220, 60);
const MOSS: Color = Color::rgb(30, 120, 30);

fn world(rules: Vec<Rule>) -> VoxelWorld {
    let mut w = VoxelWorld::new(WorldSettings::default());
    w.set_rules(RuleSet {
        seed: 7,
        rules,
        ..RuleSet::default()
    });
    w
}

fn put(w: &mut VoxelWorld, voxels: impl IntoIterator<Item = (IVec3, Color)>) {
    let mut b = CommandBuffer::new(Source::Rpc);
    for (pos, color) in voxels {
        b.push(Edit::Set { pos, color });
    }
    w.apply(b).result.unwrap();
}

fn fill(w: &mut VoxelWorld, min: IVec3, max: IVec3, color: Color) {
    let mut b = CommandBuffer::new(Source::Rpc);
    b.push(Edit::FillBox {
        region: VoxelBox::from_corners(min, max),
        color,
    });
    w.apply(b).result.unwrap();
}

fn voxels_of(w: &VoxelWorld, color: Color) -> BTreeSet<(i32, i32, i32)> {
    let s = w.snapshot();
    let mut out = BTreeSet::new();
    let everything = VoxelBox::from_corners(IVec3::splat(-1 << 20), IVec3::splat((1 << 20) - 1));
    for l in s.layers() {
        l.for_each_voxel_in(&everything, |p, c| {
            if c == color {
                out.insert((p.x, p.y, p.z));
            }
        });
    }
    out
}

fn set(points: &[(i32, i32, i32)]) -> BTreeSet<(i32, i32, i32)> {
    points.iter().copied().collect()
}

/// Steps until a tick changes nothing and leaves nothing active (at most `limit` ticks).
fn settle(w: &mut VoxelWorld, limit: u32) -> u32 {
    for n in 1..=limit {
        let r = w.step(1);
        if r.changed_voxels == 0 && w.simulation_report().active_chunks == 0 {
            return n;
        }
    }
    panic!("the world did not settle in {limit} ticks");
}

fn sand(slide: bool) -> Rule {
    Rule::new(RuleKind::Fall {
        matches: Matcher::colors([SAND]),
        slide,
    })
}

#[test]
fn sand_dropped_grain_by_grain_settles_into_a_cross_with_one_on_top() {
    let mut w = world(vec![sand(true)]);
    fill(&mut w, IVec3::new(-8, -8, 0), IVec3::new(8, 8, 0), STONE);
    for _ in 0..6 {
        put(&mut w, [(IVec3::new(0, 0, 9), SAND)]);
        settle(&mut w, 200);
    }
    // Hand-checked: the first grain lands on the stone; the next four slide off it, one to
    // each side (a grain slides only into an empty cell under an empty cell); the sixth finds
    // every way down blocked and stays on top, whatever the random choices were.
    assert_eq!(
        voxels_of(&w, SAND),
        set(&[
            (0, 0, 1),
            (1, 0, 1),
            (-1, 0, 1),
            (0, 1, 1),
            (0, -1, 1),
            (0, 0, 2)
        ])
    );
}

#[test]
fn sand_in_a_one_cell_trench_settles_into_a_triangle() {
    // The region is one cell thick in y: everything outside is wall, so the pile is 2D.
    let mut rule = sand(true);
    rule.region = Some(VoxelBox::from_corners(
        IVec3::new(-50, 0, -50),
        IVec3::new(50, 0, 50),
    ));
    let mut w = world(vec![rule]);
    fill(&mut w, IVec3::new(-8, -2, 0), IVec3::new(8, 2, 0), STONE);
    for _ in 0..4 {
        put(&mut w, [(IVec3::new(0, 0, 20), SAND)]);
        settle(&mut w, 200);
    }
    assert_eq!(
        voxels_of(&w, SAND),
        set(&[(-1, 0, 1), (0, 0, 1), (1, 0, 1), (0, 0, 2)])
    );
}

#[test]
fn a_column_falls_as_a_whole_through_chunks() {
    let mut w = world(vec![sand(false)]);
    fill(&mut w, IVec3::new(0, 0, 0), IVec3::new(0, 0, 0), STONE);
    // Forty grains from z = 20 to 59: across three chunk boundaries.
    fill(&mut w, IVec3::new(0, 0, 20), IVec3::new(0, 0, 59), SAND);
    let column = |lo: i32| (lo..lo + 40).map(|z| (0, 0, z)).collect::<BTreeSet<_>>();
    w.step(1);
    assert_eq!(voxels_of(&w, SAND), column(19), "every grain fell one cell");
    w.step(5);
    assert_eq!(voxels_of(&w, SAND), column(14));
    let ticks = settle(&mut w, 100);
    assert_eq!(voxels_of(&w, SAND), column(1), "it rests on the stone");
    assert_eq!(w.tick(), 6 + ticks as u64);
}

#[test]
fn region_and_layer_limit_a_rule() {
    let mut rule = sand(false);
    rule.region = Some(VoxelBox::from_corners(
        IVec3::new(0, 0, 10),
        IVec3::new(3, 3, 30),
    ));
    let mut w = world(vec![rule]);
    put(
        &mut w,
        [
            (IVec3::new(1, 1, 20), SAND),  // inside: falls to the region's floor
            (IVec3::new(10, 1, 20), SAND), // outside: stays
        ],
    );
    settle(&mut w, 50);
    assert_eq!(voxels_of(&w, SAND), set(&[(1, 1, 10), (10, 1, 20)]));

    let mut rule = sand(false);
    rule.layer = Some(systems::LayerId(2));
    let mut w = world(vec![rule]);
    let mut b = CommandBuffer::new(Source::Rpc);
    b.push(Edit::CreateLayer { name: "two".into() });
    b.push(Edit::Set {
        pos: IVec3::new(0, 0, 5),
        color: SAND,
    });
    b.push(Edit::TargetLayer(systems::LayerId(1)));
    b.push(Edit::Set {
        pos: IVec3::new(0, 0, 5),
        color: SAND,
    });
    w.apply(b).result.unwrap();
    w.step(3);
    let s = w.snapshot();
    assert_eq!(s.voxel(systems::LayerId(1), IVec3::new(0, 0, 5)), SAND);
    assert_eq!(s.voxel(systems::LayerId(2), IVec3::new(0, 0, 2)), SAND);
}

#[test]
fn settled_sand_has_no_open_slide_and_keeps_every_grain() {
    let mut w = world(vec![sand(true)]);
    fill(
        &mut w,
        IVec3::new(-20, -20, 0),
        IVec3::new(20, 20, 0),
        STONE,
    );
    fill(&mut w, IVec3::new(-2, -3, 10), IVec3::new(3, 2, 30), SAND);
    let before = voxels_of(&w, SAND).len();
    settle(&mut w, 500);
    let grains = voxels_of(&w, SAND);
    assert_eq!(grains.len(), before);
    let s = w.snapshot();
    let at = |x: i32, y: i32, z: i32| s.voxel(s.active_layer, IVec3::new(x, y, z));
    for &(x, y, z) in &grains {
        assert!(!at(x, y, z - 1).is_empty(), "grain at {x},{y},{z} floats");
        for (dx, dy) in [(1, 0), (-1, 0), (0, 1), (0, -1)] {
            assert!(
                !at(x + dx, y + dy, z).is_empty() || !at(x + dx, y + dy, z - 1).is_empty(),
                "grain at {x},{y},{z} could still slide"
            );
        }
    }
}

fn life(birth: &[u32], survive: &[u32]) -> RuleKind {
    RuleKind::Life {
        alive: Matcher::colors([CELL]),
        color: CELL,
        birth: birth.iter().map(|n| 1 << n).sum(),
        survive: survive.iter().map(|n| 1 << n).sum(),
        neighbourhood: Neighbourhood::Moore,
    }
}

#[test]
fn a_diagonal_blinker_oscillates_with_period_two() {
    // B3/S1, 26 neighbours. Three cells on a diagonal, across a chunk corner (15 | 16). The ends
    // have one live neighbour each (the middle) and survive; the middle has two and dies; the
    // one cell next to all three, directly above the middle, has three and is born. Then the
    // same with up and down swapped: the middle cell blinks between z = 15 and z = 16.
    let mut w = world(vec![Rule::new(life(&[3], &[1]))]);
    let a = set(&[(15, 15, 15), (16, 16, 15), (17, 17, 16)]);
    let b = set(&[(15, 15, 15), (16, 16, 16), (17, 17, 16)]);
    put(
        &mut w,
        a.iter().map(|&(x, y, z)| (IVec3::new(x, y, z), CELL)),
    );
    for generation in 1..=6 {
        w.step(1);
        let expected = if generation % 2 == 1 { &b } else { &a };
        assert_eq!(&voxels_of(&w, CELL), expected, "generation {generation}");
    }
}

#[test]
fn a_cube_is_a_still_life() {
    // B6/S567 (Bays' 5766): each cell of a 2×2×2 cube has 7 live neighbours and survives; a
    // cell outside has at most 4 (a face neighbour) and is not born. The first tick visits
    // every chunk and changes nothing; after it the world is quiet.
    let mut w = world(vec![Rule::new(life(&[6], &[5, 6, 7]))]);
    fill(&mut w, IVec3::new(-1, -1, -1), IVec3::new(0, 0, 0), CELL);
    let cube = voxels_of(&w, CELL);
    let r = w.step(1);
    assert_eq!(r.changed_voxels, 0);
    assert!(r.active_chunks > 0);
    let r = w.step(10);
    assert_eq!(voxels_of(&w, CELL), cube);
    assert_eq!(r.active_chunks, 0, "a still life costs nothing");
}

#[test]
fn conways_blinker_lives_in_a_one_cell_thick_region() {
    // With the region one layer thick, the 26-cell neighbourhood is the 8-cell one of the
    // plane: B3/S23 is Conway's Life, and the blinker turns between a row and a column.
    let mut rule = Rule::new(life(&[3], &[2, 3]));
    rule.region = Some(VoxelBox::from_corners(
        IVec3::new(-100, -100, 4),
        IVec3::new(100, 100, 4),
    ));
    let mut w = world(vec![rule]);
    let row = set(&[(-1, 0, 4), (0, 0, 4), (1, 0, 4)]);
    let column = set(&[(0, -1, 4), (0, 0, 4), (0, 1, 4)]);
    put(
        &mut w,
        row.iter().map(|&(x, y, z)| (IVec3::new(x, y, z), CELL)),
    );
    w.step(1);
    assert_eq!(voxels_of(&w, CELL), column);
    w.step(1);
    assert_eq!(voxels_of(&w, CELL), row);
}

#[test]
fn life_leaves_obstacles_alone() {
    let mut w = world(vec![Rule::new(life(&[1], &[]))]);
    put(
        &mut w,
        [(IVec3::new(0, 0, 0), CELL), (IVec3::new(1, 0, 0), STONE)],
    );
    w.step(1);
    let cells = voxels_of(&w, CELL);
    // The lone cell dies (no survival counts); the 25 empty cells around it are born.
    assert_eq!(cells.len(), 25);
    assert!(!cells.contains(&(0, 0, 0)));
    assert_eq!(voxels_of(&w, STONE), set(&[(1, 0, 0)]));
}

#[test]
fn water_levels_out_in_a_basin() {
    let mut w = world(vec![Rule::new(RuleKind::Flow {
        matches: Matcher::colors([WATER]),
        spread: 16,
    })]);
    // An 8 × 8 basin: floor at z = 0, walls higher than the poured column.
    fill(&mut w, IVec3::new(-1, -1, 0), IVec3::new(8, 8, 170), STONE);
    fill(
        &mut w,
        IVec3::new(0, 0, 1),
        IVec3::new(7, 7, 170),
        Color::EMPTY,
    );
    // 150 voxels poured as a column in one corner: two full layers (128) and 22 more.
    fill(&mut w, IVec3::new(0, 0, 10), IVec3::new(0, 0, 159), WATER);
    settle(&mut w, 2000);
    let water = voxels_of(&w, WATER);
    assert_eq!(water.len(), 150);
    for x in 0..8 {
        for y in 0..8 {
            let h = water.iter().filter(|p| p.0 == x && p.1 == y).count();
            assert!((2..=3).contains(&h), "column {x},{y} holds {h}");
            for z in 1..=h as i32 {
                assert!(water.contains(&(x, y, z)), "a gap in column {x},{y}");
            }
        }
    }
}

#[test]
fn water_runs_off_an_edge() {
    let mut w = world(vec![Rule::new(RuleKind::Flow {
        matches: Matcher::colors([WATER]),
        spread: 4,
    })]);
    // A ledge at z = 10, x from 0 to 3, y from -6 to 6; the floor at z = 0. The nearest
    // edge of the drop at (1, 0, 11) is the one at x = -1, two cells away.
    fill(
        &mut w,
        IVec3::new(-10, -10, 0),
        IVec3::new(10, 10, 0),
        STONE,
    );
    fill(&mut w, IVec3::new(0, -6, 10), IVec3::new(3, 6, 10), STONE);
    put(&mut w, [(IVec3::new(1, 0, 11), WATER)]);
    settle(&mut w, 200);
    assert_eq!(voxels_of(&w, WATER), set(&[(-1, 0, 1)]));
}

#[test]
fn decay_after_n_ticks_counts_from_when_each_voxel_appeared() {
    let mut w = world(vec![Rule::new(RuleKind::Decay {
        matches: Matcher::colors([MOSS]),
        into: STONE,
        timing: Timing::After { ticks: 5 },
    })]);
    fill(&mut w, IVec3::new(0, 0, 0), IVec3::new(9, 9, 0), MOSS);
    w.step(2);
    // Added between ticks 2 and 3: it turns on tick 7, the first ones on tick 5.
    put(&mut w, [(IVec3::new(20, 0, 0), MOSS)]);
    w.step(2);
    assert_eq!(voxels_of(&w, MOSS).len(), 101, "tick 4: nothing yet");
    assert!(!w.timers().is_empty());
    w.step(1);
    assert_eq!(
        voxels_of(&w, MOSS),
        set(&[(20, 0, 0)]),
        "tick 5: the first hundred"
    );
    w.step(1);
    assert_eq!(voxels_of(&w, MOSS).len(), 1, "tick 6");
    w.step(1);
    assert!(voxels_of(&w, MOSS).is_empty(), "tick 7");
    assert_eq!(voxels_of(&w, STONE).len(), 101);
    assert!(w.timers().is_empty(), "no voxel left to count");
    assert_eq!(w.step(3).active_chunks, 0);
    // A voxel that stops matching loses its timer; one that comes back starts again.
    put(&mut w, [(IVec3::new(30, 0, 0), MOSS)]);
    w.step(3);
    put(&mut w, [(IVec3::new(30, 0, 0), CELL)]);
    w.step(1);
    put(&mut w, [(IVec3::new(30, 0, 0), MOSS)]);
    w.step(4);
    assert_eq!(voxels_of(&w, MOSS).len(), 1, "counting from its return");
    w.step(1);
    assert!(voxels_of(&w, MOSS).is_empty());
}

#[test]
fn grow_after_n_ticks_spreads_at_that_pace() {
    let mut w = world(vec![Rule::new(RuleKind::Grow {
        matches: Matcher::colors([MOSS]),
        into: MOSS,
        onto: Some(Matcher::colors([STONE])),
        neighbourhood: Neighbourhood::VonNeumann,
        timing: Timing::After { ticks: 3 },
    })]);
    fill(&mut w, IVec3::new(0, 0, 0), IVec3::new(30, 0, 0), STONE);
    put(&mut w, [(IVec3::new(0, 0, 0), MOSS)]);
    // Each new cell waits three ticks (counting the one it is first seen on) before it grows.
    w.step(3);
    assert_eq!(voxels_of(&w, MOSS).len(), 2);
    w.step(3);
    assert_eq!(voxels_of(&w, MOSS).len(), 3);
    w.step(30);
    assert_eq!(voxels_of(&w, MOSS).len(), 13);
}

#[test]
fn decay_by_chance_vanishes_about_as_often_as_asked() {
    let mut w = world(vec![Rule::new(RuleKind::Decay {
        matches: Matcher::colors([MOSS]),
        into: Color::EMPTY,
        timing: Timing::chance(0.25),
    })]);
    fill(&mut w, IVec3::new(0, 0, 0), IVec3::new(39, 39, 0), MOSS);
    w.step(1);
    let left = voxels_of(&w, MOSS).len();
    assert!((1100..1300).contains(&left), "{left} of 1600 left");
    settle(&mut w, 200);
    assert!(voxels_of(&w, MOSS).is_empty());
    assert_eq!(w.snapshot().chunk_count(), 0, "empty chunks are dropped");
}

#[test]
fn grow_spreads_onto_matching_neighbours_only() {
    let mut w = world(vec![Rule::new(RuleKind::Grow {
        matches: Matcher::colors([MOSS]),
        into: MOSS,
        onto: Some(Matcher::colors([STONE])),
        neighbourhood: Neighbourhood::VonNeumann,
        timing: Timing::chance(1.0),
    })]);
    fill(&mut w, IVec3::new(0, 0, 0), IVec3::new(20, 0, 0), STONE);
    put(&mut w, [(IVec3::new(0, 0, 0), MOSS)]);
    w.step(5);
    assert_eq!(
        voxels_of(&w, MOSS),
        (0..=5).map(|x| (x, 0, 0)).collect::<BTreeSet<_>>(),
        "one cell per tick along the stone, never into the air"
    );
    settle(&mut w, 100);
    assert_eq!(voxels_of(&w, MOSS).len(), 21);
}

#[test]
fn a_rule_that_matches_nothing_costs_no_active_chunks() {
    let mut w = world(vec![sand(true), Rule::new(life(&[3], &[2, 3]))]);
    fill(&mut w, IVec3::new(0, 0, 0), IVec3::new(63, 63, 63), STONE);
    let r = w.step(1);
    assert_eq!(r.active_chunks, 0);
    assert_eq!(r.visited_chunks, 0);
    put(&mut w, [(IVec3::new(5, 5, 70), STONE)]);
    assert_eq!(
        w.step(1).active_chunks,
        0,
        "edits of unmatched colours cost nothing"
    );
}

#[test]
fn a_settled_world_is_quiet_until_an_edit_wakes_it() {
    let mut w = world(vec![sand(true)]);
    fill(
        &mut w,
        IVec3::new(-40, -40, 0),
        IVec3::new(40, 40, 0),
        STONE,
    );
    fill(&mut w, IVec3::new(0, 0, 5), IVec3::new(3, 3, 8), SAND);
    settle(&mut w, 300);
    let r = w.step(10);
    assert_eq!(
        (r.active_chunks, r.visited_chunks, r.changed_voxels),
        (0, 0, 0)
    );
    put(&mut w, [(IVec3::new(1, 1, 30), SAND)]);
    let r = w.step(1);
    assert!(r.active_chunks > 0 && r.active_chunks <= 27, "{r:?}");
}

/// A mixed scenario with every rule kind and edits between ticks; returns the hash after
/// every tick.
fn scenario(full_scan: bool, seed: u64) -> Vec<String> {
    let mut w = world(vec![
        sand(true),
        Rule::new(RuleKind::Flow {
            matches: Matcher::colors([WATER]),
            spread: 5,
        }),
        Rule::new(life(&[3], &[1])),
        Rule::new(RuleKind::Decay {
            matches: Matcher::colors([MOSS]),
            into: Color::EMPTY,
            timing: Timing::chance(0.05),
        }),
        Rule::new(RuleKind::Grow {
            matches: Matcher::colors([MOSS]),
            into: MOSS,
            onto: Some(Matcher::colors([STONE])),
            neighbourhood: Neighbourhood::Moore,
            timing: Timing::After { ticks: 3 },
        }),
    ]);
    w.world.resource_mut::<SimulationSettings>().full_scan = full_scan;
    let mut rng = seed;
    let mut next = move || {
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (rng >> 33) as i32
    };
    fill(
        &mut w,
        IVec3::new(-30, -30, 0),
        IVec3::new(30, 30, 0),
        STONE,
    );
    fill(
        &mut w,
        IVec3::new(-30, -30, 1),
        IVec3::new(-28, 30, 12),
        STONE,
    );
    let mut hashes = Vec::new();
    for tick in 0..90 {
        if tick % 7 == 0 {
            let mut edits = Vec::new();
            for _ in 0..12 {
                let p = IVec3::new(next() % 40 - 20, next() % 40 - 20, next() % 40 + 1);
                let c = [SAND, WATER, CELL, MOSS, STONE, Color::EMPTY][(next() % 6) as usize];
                edits.push((p, c));
            }
            put(&mut w, edits);
        }
        if tick % 40 == 5 {
            let x = next() % 20 - 10;
            fill(
                &mut w,
                IVec3::new(x, x, 20),
                IVec3::new(x + 4, x + 5, 26),
                SAND,
            );
        }
        w.step(1);
        hashes.push(w.snapshot().hash_hex());
    }
    hashes
}

#[test]
fn the_active_set_gives_the_same_world_as_visiting_every_chunk() {
    for seed in [1, 2, 3] {
        let fast = scenario(false, seed);
        let full = scenario(true, seed);
        for (tick, (a, b)) in fast.iter().zip(&full).enumerate() {
            assert_eq!(a, b, "seed {seed}: worlds part at tick {}", tick + 1);
        }
        assert!(
            fast.windows(2).filter(|w| w[0] != w[1]).count() > 60,
            "the world moves"
        );
    }
}

#[test]
fn two_runs_give_the_same_hash_at_every_tick() {
    assert_eq!(scenario(false, 9), scenario(false, 9));
    assert_ne!(scenario(false, 9), scenario(false, 10));
}

#[test]
fn a_step_changes_the_world_copy_on_write_and_without_a_seq() {
    let mut w = world(vec![sand(false)]);
    put(&mut w, [(IVec3::new(0, 0, 5), SAND)]);
    let before = w.snapshot();
    let seq = w.seq();
    w.step(2);
    let after = w.snapshot();
    assert_eq!(before.voxel(before.active_layer, IVec3::new(0, 0, 5)), SAND);
    assert_eq!(after.voxel(after.active_layer, IVec3::new(0, 0, 3)), SAND);
    assert_ne!(before.hash_hex(), after.hash_hex());
    assert_eq!((after.tick, after.seq), (2, seq));
    assert_eq!(w.unstamped_ticks(), 2);
    let stamp = w.stamp_steps().unwrap();
    assert_eq!((stamp.seq, stamp.ticks), (seq + 1, 2));
    assert_eq!(w.snapshot().seq, seq + 1);
    assert_eq!(w.stamp_steps(), None);
    w.step(1);
    let stamp = w.stamp_steps().unwrap();
    w.unstamp_steps(stamp);
    assert_eq!((w.seq(), w.unstamped_ticks()), (seq + 1, 1));
}

#[test]
fn undo_never_takes_back_the_simulation() {
    let mut w = world(vec![sand(false)]);
    put(&mut w, [(IVec3::new(100, 100, 100), STONE)]);
    put(&mut w, [(IVec3::new(0, 0, 5), SAND)]);
    w.step(1);
    // The sand's chunk changed: its undo step is gone, and every older one with it.
    assert_eq!(
        w.apply(CommandBuffer::undo()).result.unwrap_err(),
        EditError::NothingToUndo
    );
    assert_eq!(voxels_of(&w, SAND), set(&[(0, 0, 4)]));
    // An edit the simulation does not touch stays undoable.
    put(&mut w, [(IVec3::new(200, 0, 0), STONE)]);
    w.step(1);
    w.apply(CommandBuffer::undo()).result.unwrap();
    assert_eq!(voxels_of(&w, STONE), set(&[(100, 100, 100)]));
}

#[test]
fn new_rules_visit_every_chunk_once() {
    let mut w = world(vec![]);
    fill(&mut w, IVec3::new(0, 0, 10), IVec3::new(31, 31, 10), SAND);
    w.step(3);
    assert_eq!(voxels_of(&w, SAND).len(), 1024);
    assert!(
        voxels_of(&w, SAND).iter().all(|p| p.2 == 10),
        "no rules, no change"
    );
    w.set_rules(RuleSet {
        seed: 1,
        rules: vec![sand(false)],
        ..RuleSet::default()
    });
    let r = w.step(1);
    assert_eq!(r.active_chunks, 4);
    assert!(voxels_of(&w, SAND).iter().all(|p| p.2 == 9));
}

/// Regions, a second layer, overlapping matchers and timers, with edits on both layers.
fn scoped_scenario(full_scan: bool, seed: u64) -> Vec<String> {
    let region = VoxelBox::from_corners(IVec3::new(-12, -12, -5), IVec3::new(12, 12, 30));
    let mut fall = sand(true);
    fall.region = Some(region);
    let mut flow = Rule::new(RuleKind::Flow {
        matches: Matcher::colors([WATER, SAND]),
        spread: 9,
    });
    flow.layer = Some(systems::LayerId(2));
    let mut life_rule = Rule::new(life(&[2, 3], &[1, 2]));
    life_rule.region = Some(VoxelBox::from_corners(
        IVec3::new(-20, -20, 0),
        IVec3::new(20, 20, 3),
    ));
    let mut w = world(vec![
        fall,
        flow,
        life_rule,
        Rule::new(RuleKind::Decay {
            matches: Matcher::colors([MOSS, CELL]),
            into: STONE,
            timing: Timing::After { ticks: 7 },
        }),
    ]);
    w.world.resource_mut::<SimulationSettings>().full_scan = full_scan;
    let mut b = CommandBuffer::new(Source::Rpc);
    b.push(Edit::CreateLayer { name: "two".into() });
    w.apply(b).result.unwrap();
    let mut rng = seed;
    let mut next = move || {
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (rng >> 33) as i32
    };
    for layer in [1, 2] {
        let mut b = CommandBuffer::new(Source::Rpc).on_layer(Some(systems::LayerId(layer)));
        b.push(Edit::FillBox {
            region: VoxelBox::from_corners(IVec3::new(-25, -25, -1), IVec3::new(25, 25, -1)),
            color: STONE,
        });
        w.apply(b).result.unwrap();
    }
    let mut hashes = Vec::new();
    for tick in 0..80 {
        if tick % 5 == 0 {
            let layer = 1 + (next() % 2) as u32;
            let mut b = CommandBuffer::new(Source::Rpc).on_layer(Some(systems::LayerId(layer)));
            for _ in 0..15 {
                let p = IVec3::new(next() % 34 - 17, next() % 34 - 17, next() % 20);
                let c = [SAND, WATER, CELL, MOSS, STONE][(next() % 5) as usize];
                b.push(Edit::Set { pos: p, color: c });
            }
            w.apply(b).result.unwrap();
        }
        w.step(1);
        hashes.push(w.snapshot().hash_hex());
    }
    hashes
}

#[test]
fn the_active_set_is_exact_with_regions_layers_and_timers() {
    for seed in [4, 5] {
        let fast = scoped_scenario(false, seed);
        let full = scoped_scenario(true, seed);
        for (tick, (a, b)) in fast.iter().zip(&full).enumerate() {
            assert_eq!(a, b, "seed {seed}: worlds part at tick {}", tick + 1);
        }
        assert!(
            fast.windows(2).filter(|w| w[0] != w[1]).count() > 40,
            "the world moves"
        );
    }
}
