//! Scenario tests of the world core: a `VoxelWorld` driven by command buffers, one update at a
//! time, checked against plain models and hand-computed cases.

use std::collections::HashMap;

use glam::IVec3;
use systems::apply::UndoHistory;
use systems::schedule::build_schedule;
use systems::{
    Color, CommandBuffer, Edit, EditError, EditLimits, LayerId, Shape, Source, VoxelBox,
    VoxelWorld, WorldSettings, WorldSnapshot,
};

/// A small deterministic PRNG (splitmix64), so the property tests replay exactly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E3779B97F4A7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
        z ^ (z >> 31)
    }
    fn range(&mut self, lo: i32, hi: i32) -> i32 {
        lo + (self.next() % (hi - lo + 1) as u64) as i32
    }
}

fn world() -> VoxelWorld {
    VoxelWorld::new(WorldSettings::default())
}

fn buffer(edits: Vec<Edit>) -> CommandBuffer {
    CommandBuffer {
        edits,
        ..CommandBuffer::new(Source::Rpc)
    }
}

fn set(x: i32, y: i32, z: i32, c: Color) -> Edit {
    Edit::Set {
        pos: IVec3::new(x, y, z),
        color: c,
    }
}

fn all_voxels(s: &WorldSnapshot, layer: LayerId) -> HashMap<IVec3, Color> {
    let mut out = HashMap::new();
    if let Some(l) = s.layer(layer) {
        let everything = VoxelBox {
            min: IVec3::splat(i32::MIN / 2),
            max: IVec3::splat(i32::MAX / 2),
        };
        l.for_each_voxel_in(&everything, |p, c| {
            out.insert(p, c);
        });
    }
    out
}

const RED: Color = Color::rgb(255, 0, 0);
const GREEN: Color = Color::rgb(0, 255, 0);
const BLUE: Color = Color::rgb(0, 0, 255);

#[test]
fn storage_matches_a_hashmap_model_through_random_edits() {
    let mut w = world();
    let mut model: HashMap<IVec3, Color> = HashMap::new();
    let mut rng = Rng(42);
    let palette: Vec<Color> = (0..400)
        .map(|i| Color::rgba(i as u8, (i / 256) as u8, 7, 255))
        .collect();
    for round in 0..60 {
        let mut edits = Vec::new();
        for _ in 0..rng.range(1, 400) {
            let p = IVec3::new(rng.range(-20, 20), rng.range(-20, 20), rng.range(-5, 5));
            let roll = rng.next() % 10;
            // Few colours in early rounds, many later: chunks go up and down the representations.
            let colours = if round % 3 == 0 { 3 } else { palette.len() };
            let c = if roll < 3 {
                Color::EMPTY
            } else {
                palette[rng.next() as usize % colours]
            };
            match roll {
                0..=7 => {
                    edits.push(Edit::Set { pos: p, color: c });
                    if c.is_empty() {
                        model.remove(&p);
                    } else {
                        model.insert(p, c);
                    }
                }
                8 => {
                    edits.push(Edit::Paint {
                        pos: p,
                        color: palette[1],
                    });
                    if let Some(v) = model.get_mut(&p) {
                        *v = palette[1];
                    }
                }
                _ => {
                    let q = p + IVec3::new(rng.range(0, 5), rng.range(0, 5), rng.range(0, 5));
                    let region = VoxelBox::from_corners(p, q);
                    edits.push(Edit::FillBox { region, color: c });
                    for z in region.min.z..=region.max.z {
                        for y in region.min.y..=region.max.y {
                            for x in region.min.x..=region.max.x {
                                if c.is_empty() {
                                    model.remove(&IVec3::new(x, y, z));
                                } else {
                                    model.insert(IVec3::new(x, y, z), c);
                                }
                            }
                        }
                    }
                }
            }
        }
        w.apply(buffer(edits)).result.unwrap();
        let s = w.snapshot();
        assert_eq!(all_voxels(&s, LayerId(1)), model, "round {round}");
        assert_eq!(s.voxel_count(), model.len() as u64);
    }
    // Every chunk that exists holds a voxel.
    let s = w.snapshot();
    for (_, data) in s.layer(LayerId(1)).unwrap().chunks_sorted() {
        assert!(!data.is_empty());
    }
}

#[test]
fn same_edits_same_hash_and_disjoint_edits_commute() {
    let mut rng = Rng(7);
    let edits: Vec<Edit> = (0..2000)
        .map(|i| {
            set(
                i % 50,
                (i / 50) % 40,
                i / 2000,
                Color::rgb(rng.next() as u8, 3, 4),
            )
        })
        .collect();
    let mut a = world();
    let mut b = world();
    let mut c = world();
    a.apply(buffer(edits.clone())).result.unwrap();
    b.apply(buffer(edits.clone())).result.unwrap();
    // The same disjoint edits, reversed and split across buffers.
    let mut rev = edits.clone();
    rev.reverse();
    for part in rev.chunks(333) {
        c.apply(buffer(part.to_vec())).result.unwrap();
    }
    assert_eq!(a.snapshot().hash(), b.snapshot().hash());
    assert_eq!(a.snapshot().hash(), c.snapshot().hash());
    // A different world has a different hash, and removing everything gives the empty hash.
    let empty = world().snapshot().hash();
    assert_ne!(a.snapshot().hash(), empty);
    a.apply(buffer(vec![Edit::FillBox {
        region: VoxelBox::from_corners(IVec3::ZERO, IVec3::new(60, 60, 5)),
        color: Color::EMPTY,
    }]))
    .result
    .unwrap();
    assert_eq!(a.snapshot().hash(), empty);
    assert_eq!(a.snapshot().chunk_count(), 0);
}

#[test]
fn hash_ignores_history_and_representation() {
    let mut a = world();
    let mut b = world();
    // a: box fill (uniform chunks); b: the same voxels one by one, with detours.
    let region = VoxelBox::from_corners(IVec3::new(-16, -16, 0), IVec3::new(15, 15, 15));
    a.apply(buffer(vec![Edit::FillBox { region, color: RED }]))
        .result
        .unwrap();
    let mut edits = Vec::new();
    for z in 0..16 {
        for y in -16..16 {
            for x in -16..16 {
                edits.push(set(x, y, z, BLUE));
                edits.push(set(x, y, z, RED));
            }
        }
    }
    b.apply(buffer(edits)).result.unwrap();
    assert_eq!(a.snapshot().hash_hex(), b.snapshot().hash_hex());
    assert_eq!(a.snapshot().hash_hex().len(), 64);
}

#[test]
fn shapes_match_hand_computed_cases() {
    let mut w = world();
    let region = VoxelBox::from_corners(IVec3::new(10, 10, 10), IVec3::new(12, 12, 12));
    let out = w.apply(buffer(vec![Edit::Shape {
        shape: Shape::Sphere,
        region,
        color: RED,
    }]));
    let outcome = out.result.unwrap();
    assert_eq!(outcome.changed_count, 19);
    assert_eq!(outcome.bounds, Some(region));
    let s = w.snapshot();
    assert_eq!(
        s.voxel(LayerId(1), IVec3::new(10, 10, 10)),
        Color::EMPTY,
        "corner is outside"
    );
    assert_eq!(
        s.voxel(LayerId(1), IVec3::new(11, 11, 10)),
        RED,
        "face centre is inside"
    );
    assert_eq!(
        s.voxel(LayerId(1), IVec3::new(10, 11, 10)),
        RED,
        "edge is inside"
    );
    let pyramid = VoxelBox::from_corners(IVec3::new(0, 0, 0), IVec3::new(2, 2, 2));
    let out = w.apply(buffer(vec![Edit::Shape {
        shape: Shape::Pyramid,
        region: pyramid,
        color: BLUE,
    }]));
    assert_eq!(out.result.unwrap().changed_count, 11);
    let cube = VoxelBox::from_corners(IVec3::new(100, 0, 0), IVec3::new(104, 4, 4));
    let out = w.apply(buffer(vec![Edit::Shape {
        shape: Shape::Cube,
        region: cube,
        color: GREEN,
    }]));
    assert_eq!(out.result.unwrap().changed_count, 125);
}

#[test]
fn flood_fill_recolours_the_connected_region_only() {
    let mut w = world();
    // Two red 3×3×1 plates joined by one voxel, and a separate red plate.
    let mut edits = vec![
        Edit::FillBox {
            region: VoxelBox::from_corners(IVec3::new(0, 0, 0), IVec3::new(2, 2, 0)),
            color: RED,
        },
        Edit::FillBox {
            region: VoxelBox::from_corners(IVec3::new(4, 0, 0), IVec3::new(6, 2, 0)),
            color: RED,
        },
        set(3, 1, 0, RED),
        Edit::FillBox {
            region: VoxelBox::from_corners(IVec3::new(10, 0, 0), IVec3::new(12, 2, 0)),
            color: RED,
        },
    ];
    // A diagonal neighbour is not 6-connected.
    edits.push(set(7, 3, 0, RED));
    w.apply(buffer(edits)).result.unwrap();
    let bounds = VoxelBox::from_corners(IVec3::splat(-50), IVec3::splat(50));
    let out = w.apply(buffer(vec![Edit::FloodFill {
        pos: IVec3::ZERO,
        color: BLUE,
        bounds: Box::new(bounds),
    }]));
    assert_eq!(out.result.unwrap().changed_count, 19);
    let s = w.snapshot();
    assert_eq!(s.voxel(LayerId(1), IVec3::new(6, 2, 0)), BLUE);
    assert_eq!(s.voxel(LayerId(1), IVec3::new(7, 3, 0)), RED);
    assert_eq!(s.voxel(LayerId(1), IVec3::new(10, 0, 0)), RED);
    // Bounded by the box given.
    let small = VoxelBox::from_corners(IVec3::new(10, 0, 0), IVec3::new(11, 2, 0));
    let out = w.apply(buffer(vec![Edit::FloodFill {
        pos: IVec3::new(10, 0, 0),
        color: GREEN,
        bounds: Box::new(small),
    }]));
    assert_eq!(out.result.unwrap().changed_count, 6);
}

#[test]
fn flood_fill_over_its_limit_is_refused_and_changes_nothing() {
    let limits = EditLimits {
        flood_fill_limit: 100,
        ..EditLimits::default()
    };
    let mut w = VoxelWorld::new(WorldSettings {
        limits,
        undo_depth: 8,
    });
    let region = VoxelBox::from_corners(IVec3::ZERO, IVec3::new(9, 9, 1));
    w.apply(buffer(vec![Edit::FillBox { region, color: RED }]))
        .result
        .unwrap();
    let before = w.snapshot().hash();
    let seq = w.seq();
    let out = w.apply(buffer(vec![
        set(50, 50, 50, GREEN),
        Edit::FloodFill {
            pos: IVec3::ZERO,
            color: BLUE,
            bounds: Box::new(region),
        },
    ]));
    assert_eq!(out.result, Err(EditError::FloodFillTooLarge { limit: 100 }));
    assert_eq!(w.snapshot().hash(), before);
    assert_eq!(w.seq(), seq, "a refused buffer gets no sequence number");
}

#[test]
fn over_limit_and_out_of_bounds_buffers_leave_the_world_unchanged() {
    let limits = EditLimits {
        bounds: VoxelBox::from_corners(IVec3::splat(-100), IVec3::splat(100)),
        max_voxels: 1000,
        flood_fill_limit: 1000,
    };
    let mut w = VoxelWorld::new(WorldSettings {
        limits,
        undo_depth: 8,
    });
    w.apply(buffer(vec![set(0, 0, 0, RED)])).result.unwrap();
    let before = w.snapshot().hash();
    let big = VoxelBox::from_corners(IVec3::ZERO, IVec3::splat(10));
    let out = w.apply(buffer(vec![
        set(1, 1, 1, RED),
        Edit::FillBox {
            region: big,
            color: RED,
        },
    ]));
    assert!(matches!(
        out.result,
        Err(EditError::TooManyVoxels {
            count: 1332,
            limit: 1000
        })
    ));
    let out = w.apply(buffer(vec![set(1, 1, 1, RED), set(101, 0, 0, RED)]));
    assert!(matches!(out.result, Err(EditError::OutOfBounds { .. })));
    let out = w.apply(buffer(vec![
        set(1, 1, 1, RED),
        Edit::TargetLayer(LayerId(99)),
        set(2, 2, 2, RED),
    ]));
    assert_eq!(out.result, Err(EditError::UnknownLayer(99)));
    assert_eq!(w.snapshot().hash(), before);
    assert_eq!(w.snapshot().voxel_count(), 1);
}

#[test]
fn inverse_buffers_restore_the_exact_prior_world() {
    let mut w = world();
    let mut rng = Rng(99);
    let mut hashes = vec![w.snapshot().hash()];
    let mut seq_edits = Vec::new();
    for round in 0..12 {
        let mut edits = Vec::new();
        for _ in 0..200 {
            let p = IVec3::new(rng.range(-30, 30), rng.range(-30, 30), rng.range(0, 8));
            edits.push(Edit::Set {
                pos: p,
                color: Color::rgb(rng.next() as u8, round, 1),
            });
        }
        if round == 3 {
            edits.push(Edit::CreateLayer {
                name: "extra".into(),
            });
            edits.push(set(1, 1, 1, RED));
        }
        if round == 5 {
            edits.push(Edit::SetLayerVisible {
                layer: LayerId(2),
                visible: false,
            });
            edits.push(Edit::Shape {
                shape: Shape::Sphere,
                region: VoxelBox::from_corners(IVec3::splat(-10), IVec3::splat(10)),
                color: BLUE,
            });
        }
        if round == 7 {
            edits.push(Edit::MergeLayers {
                source: LayerId(2),
                target: LayerId(1),
            });
        }
        if round == 9 {
            edits.push(Edit::FillBox {
                region: VoxelBox::from_corners(IVec3::splat(-40), IVec3::splat(40)),
                color: Color::EMPTY,
            });
        }
        seq_edits.push(edits.clone());
        w.apply(buffer(edits)).result.unwrap();
        hashes.push(w.snapshot().hash());
    }
    // Undo everything, checking each prior state; then redo everything.
    for i in (0..12).rev() {
        w.apply(CommandBuffer::undo()).result.unwrap();
        assert_eq!(w.snapshot().hash(), hashes[i], "undo to state {i}");
    }
    assert_eq!(
        w.apply(CommandBuffer::undo()).result,
        Err(EditError::NothingToUndo)
    );
    for (i, h) in hashes.iter().enumerate().skip(1) {
        w.apply(CommandBuffer::redo()).result.unwrap();
        assert_eq!(w.snapshot().hash(), *h, "redo to state {i}");
    }
    assert_eq!(
        w.apply(CommandBuffer::redo()).result,
        Err(EditError::NothingToRedo)
    );
    assert_eq!(w.world.resource::<UndoHistory>().undo.len(), 12);
}

#[test]
fn undo_of_an_undo_buffer_is_recorded_as_concrete_edits() {
    let mut w = world();
    w.apply(buffer(vec![set(0, 0, 0, RED)])).result.unwrap();
    let undo = w.apply(CommandBuffer::undo());
    let effective = undo.effective.expect("undo reports the edits it applied");
    // Replaying the effective edits on a copy of the pre-undo world gives the post-undo world.
    let mut replica = world();
    replica
        .apply(buffer(vec![set(0, 0, 0, RED)]))
        .result
        .unwrap();
    replica.apply(effective).result.unwrap();
    assert_eq!(replica.snapshot().hash(), w.snapshot().hash());
    assert_eq!(w.snapshot().voxel_count(), 0);
}

#[test]
fn layers_create_delete_merge_and_hide() {
    let mut w = world();
    let out = w.apply(buffer(vec![
        Edit::CreateLayer { name: "top".into() },
        set(0, 0, 0, RED),
    ]));
    assert_eq!(out.result.unwrap().created_layers, vec![LayerId(2)]);
    w.apply(buffer(vec![set(0, 0, 0, BLUE), set(1, 0, 0, BLUE)]))
        .result
        .unwrap();
    let s = w.snapshot();
    assert_eq!(s.voxel(LayerId(2), IVec3::ZERO), RED);
    assert_eq!(s.voxel(LayerId(1), IVec3::ZERO), BLUE);
    assert_eq!(
        s.merged_voxel(IVec3::ZERO),
        RED,
        "the higher layer is on top"
    );
    w.apply(buffer(vec![Edit::SetLayerVisible {
        layer: LayerId(2),
        visible: false,
    }]))
    .result
    .unwrap();
    assert_eq!(w.snapshot().merged_voxel(IVec3::ZERO), BLUE);
    w.apply(buffer(vec![Edit::MergeLayers {
        source: LayerId(2),
        target: LayerId(1),
    }]))
    .result
    .unwrap();
    let s = w.snapshot();
    assert!(s.layer(LayerId(2)).is_none());
    assert_eq!(s.voxel(LayerId(1), IVec3::ZERO), RED);
    assert_eq!(s.voxel(LayerId(1), IVec3::X), BLUE);
    assert_eq!(
        w.apply(buffer(vec![Edit::DeleteLayer(LayerId(1))])).result,
        Err(EditError::LastLayer)
    );
    // Ids are the lowest free one, as in Goxel: layer 2 was merged away, so "b" is layer 2.
    w.apply(buffer(vec![
        Edit::CreateLayer { name: "b".into() },
        Edit::SetActiveLayer(LayerId(2)),
    ]))
    .result
    .unwrap();
    w.apply(buffer(vec![Edit::DeleteLayer(LayerId(2))]))
        .result
        .unwrap();
    assert_eq!(w.snapshot().active_layer, LayerId(1));
    // A buffer may delete every layer if it leaves one: a new project's layer is layer 1 again.
    let before = w.snapshot().hash_hex();
    w.apply(buffer(vec![
        Edit::DeleteLayer(LayerId(1)),
        Edit::CreateLayer { name: "new".into() },
    ]))
    .result
    .unwrap();
    let s = w.snapshot();
    assert_eq!(s.layers().map(|l| l.id).collect::<Vec<_>>(), [LayerId(1)]);
    assert_eq!(s.layer(LayerId(1)).unwrap().name, "new");
    assert_eq!(s.active_layer, LayerId(1));
    assert_eq!(s.voxel_count(), 0);
    w.apply(CommandBuffer::undo()).result.unwrap();
    assert_eq!(
        w.snapshot().hash_hex(),
        before,
        "undo brings the old layer back"
    );
}

#[test]
fn the_schedule_has_no_ambiguities() {
    use bevy_ecs::schedule::{LogLevel, ScheduleBuildSettings};
    let mut w = world();
    let mut schedule = build_schedule();
    schedule.set_build_settings(ScheduleBuildSettings {
        ambiguity_detection: LogLevel::Error,
        ..Default::default()
    });
    schedule
        .initialize(&mut w.world)
        .expect("no ambiguous systems");
    schedule.run(&mut w.world);
}

#[test]
fn snapshots_are_immutable_while_the_world_moves_on() {
    let mut w = world();
    w.apply(buffer(vec![set(0, 0, 0, RED)])).result.unwrap();
    let old = w.snapshot();
    w.apply(buffer(vec![set(0, 0, 0, BLUE), set(40, 0, 0, GREEN)]))
        .result
        .unwrap();
    assert_eq!(old.voxel(LayerId(1), IVec3::ZERO), RED);
    assert_eq!(old.voxel_count(), 1);
    let new = w.snapshot();
    assert_eq!(new.voxel(LayerId(1), IVec3::ZERO), BLUE);
    assert_eq!(new.voxel_count(), 2);
    assert_eq!(new.seq, old.seq + 1);
    assert_eq!(
        new.bounding_box(),
        Some(VoxelBox::from_corners(IVec3::ZERO, IVec3::new(40, 0, 0)))
    );
}

#[test]
fn solid_and_random_worlds_stay_within_memory_targets() {
    let mut w = VoxelWorld::new(WorldSettings {
        limits: EditLimits {
            max_voxels: u64::MAX,
            ..EditLimits::default()
        },
        undo_depth: 0,
    });
    let region = VoxelBox::from_corners(IVec3::ZERO, IVec3::splat(255));
    w.apply(buffer(vec![Edit::FillBox { region, color: RED }]))
        .result
        .unwrap();
    assert!(
        w.storage_bytes() < 1 << 20,
        "solid 256³: {} bytes",
        w.storage_bytes()
    );
    let mut rng = Rng(5);
    let mut w = VoxelWorld::new(WorldSettings {
        undo_depth: 0,
        ..WorldSettings::default()
    });
    let edits: Vec<Edit> = (0..1_000_000)
        .map(|i| {
            set(
                i % 100,
                (i / 100) % 100,
                i / 10_000,
                Color::rgb(rng.next() as u8, rng.next() as u8, 9),
            )
        })
        .collect();
    w.apply(buffer(edits)).result.unwrap();
    assert_eq!(w.snapshot().voxel_count(), 1_000_000);
    assert!(
        w.storage_bytes() < 16 << 20,
        "1 M random colours: {} bytes",
        w.storage_bytes()
    );
}

#[test]
fn revert_last_takes_back_a_buffer_exactly() {
    let mut w = world();
    w.apply(buffer(vec![set(0, 0, 0, RED)])).result.unwrap();
    let (hash, seq) = (w.snapshot().hash(), w.seq());
    let applied = w.apply(buffer(vec![set(0, 0, 0, BLUE), set(5, 5, 5, GREEN)]));
    w.revert_last(applied);
    assert_eq!(
        (w.snapshot().hash(), w.seq(), w.snapshot().seq),
        (hash, seq, seq)
    );
    let applied = w.apply(CommandBuffer::undo());
    w.revert_last(applied);
    assert_eq!((w.snapshot().hash(), w.seq()), (hash, seq));
    // The undo step is still there to take.
    w.apply(CommandBuffer::undo()).result.unwrap();
    assert_eq!(w.snapshot().voxel_count(), 0);
}

#[test]
fn a_scratch_world_reads_its_own_edits_and_commits_what_it_saw() {
    use systems::ScratchWorld;
    let mut w = world();
    w.apply(buffer(vec![Edit::FillBox {
        region: VoxelBox::from_corners(IVec3::ZERO, IVec3::new(3, 3, 0)),
        color: RED,
    }]))
    .result
    .unwrap();
    let mut s = ScratchWorld::new(w.snapshot(), EditLimits::default(), 1000);
    assert_eq!(s.get(IVec3::ZERO), RED);
    s.set(IVec3::new(9, 9, 9), BLUE).unwrap();
    assert_eq!(s.get(IVec3::new(9, 9, 9)), BLUE);
    assert!(s.paint(IVec3::new(1, 1, 0), GREEN).unwrap());
    assert!(!s.paint(IVec3::new(50, 1, 0), GREEN).unwrap());
    let bounds = VoxelBox::from_corners(IVec3::splat(-5), IVec3::splat(5));
    assert_eq!(s.flood_fill(IVec3::ZERO, BLUE, bounds).unwrap(), 15);
    assert_eq!(s.voxel_count(), 17);
    assert_eq!(
        s.bounding_box(),
        Some(VoxelBox::from_corners(IVec3::ZERO, IVec3::new(9, 9, 9)))
    );
    // The world has not changed; committing the buffer gives exactly the scratch view.
    assert_eq!(w.snapshot().voxel_count(), 16);
    let mut expected = HashMap::new();
    for z in -1..10 {
        for y in -1..10 {
            for x in -1..10 {
                let c = s.get(IVec3::new(x, y, z));
                if !c.is_empty() {
                    expected.insert(IVec3::new(x, y, z), c);
                }
            }
        }
    }
    // Someone else edits meanwhile; the script's concrete edits still land as it saw them.
    w.apply(buffer(vec![set(2, 2, 0, Color::rgb(7, 7, 7))]))
        .result
        .unwrap();
    w.apply(s.into_buffer()).result.unwrap();
    assert_eq!(all_voxels(&w.snapshot(), LayerId(1)), expected);
}

#[test]
fn a_scratch_world_enforces_its_edit_limit_and_bounds() {
    use systems::ScratchWorld;
    let w = world();
    let mut s = ScratchWorld::new(w.snapshot(), EditLimits::default(), 10);
    for i in 0..10 {
        s.set(IVec3::new(i, 0, 0), RED).unwrap();
    }
    assert!(matches!(
        s.set(IVec3::new(11, 0, 0), RED),
        Err(EditError::TooManyVoxels { limit: 10, .. })
    ));
    let mut s = ScratchWorld::new(w.snapshot(), EditLimits::default(), 10);
    assert!(
        s.fill_box(VoxelBox::from_corners(IVec3::ZERO, IVec3::splat(3)), RED)
            .is_err()
    );
    assert!(matches!(
        s.set(IVec3::new(1 << 21, 0, 0), RED),
        Err(EditError::OutOfBounds { .. })
    ));
}

#[test]
fn revert_last_gives_back_the_layer_ids_it_used() {
    let mut w = world();
    let applied = w.apply(buffer(vec![Edit::CreateLayer { name: "a".into() }]));
    assert_eq!(
        applied.result.as_ref().unwrap().created_layers,
        vec![LayerId(2)]
    );
    w.revert_last(applied);
    let again = w.apply(buffer(vec![Edit::CreateLayer { name: "a".into() }]));
    assert_eq!(
        again.result.unwrap().created_layers,
        vec![LayerId(2)],
        "the reverted id is reused"
    );
}

/// The undo and redo stacks, as the hashes of the worlds their steps lead to are hard to get at:
/// their lengths and the edits of every step.
fn history(w: &VoxelWorld) -> (Vec<Vec<Edit>>, Vec<Vec<Edit>>) {
    let h = w.world.resource::<UndoHistory>();
    (
        h.undo.iter().map(|b| b.edits.clone()).collect(),
        h.redo.iter().map(|b| b.edits.clone()).collect(),
    )
}

/// Regression (#12): a group taken back after a failed fsync must restore the history too. A
/// recorded buffer clears the redo stack, so taking back `[undo, record]` one buffer at a time
/// used to find no redo step for the undo and leave its edit in the world.
#[test]
fn revert_all_takes_back_a_group_exactly_history_included() {
    let settings = WorldSettings {
        undo_depth: 3,
        ..WorldSettings::default()
    };
    let mut w = VoxelWorld::new(settings);
    for i in 0..4 {
        w.apply(buffer(vec![set(i, 0, 0, RED)])).result.unwrap();
    }
    w.apply(CommandBuffer::undo()).result.unwrap();
    let before = (w.snapshot().hash(), w.seq(), history(&w));
    assert_eq!((before.2.0.len(), before.2.1.len()), (2, 1));

    let group = vec![
        w.apply(CommandBuffer::undo()),
        w.apply(buffer(vec![set(9, 9, 9, BLUE)])),
        w.apply(buffer(vec![set(8, 8, 8, GREEN)])),
        w.apply(buffer(vec![set(7, 7, 7, GREEN)])),
        w.apply(CommandBuffer::undo()),
        w.apply(CommandBuffer::redo()),
        w.apply(CommandBuffer {
            history: systems::HistoryMode::Skip,
            ..buffer(vec![set(6, 6, 6, RED)])
        }),
    ];
    assert!(group.iter().all(|a| a.result.is_ok()));
    assert_eq!(history(&w).0.len(), 3, "the full history pushed steps out");
    w.revert_all(group);
    assert_eq!((w.snapshot().hash(), w.seq(), history(&w)), before);
    assert_eq!(
        w.snapshot().seq,
        before.1,
        "the reverted state is published"
    );
    // And the history works from there: redo, then two undos.
    w.apply(CommandBuffer::redo()).result.unwrap();
    w.apply(CommandBuffer::undo()).result.unwrap();
    w.apply(CommandBuffer::undo()).result.unwrap();
    assert_eq!(w.snapshot().voxel_count(), 2);
}

#[test]
fn revert_last_takes_back_a_buffer_without_history() {
    let mut w = VoxelWorld::new(WorldSettings {
        undo_depth: 0,
        ..WorldSettings::default()
    });
    let before = (w.snapshot().hash(), w.seq());
    let applied = w.apply(buffer(vec![set(1, 1, 1, RED)]));
    w.revert_last(applied);
    assert_eq!((w.snapshot().hash(), w.seq()), before);
}

/// Every voxel of `layer` in the scratch view, read through it (so the layer gets selected).
fn scratch_voxels(
    s: &mut systems::ScratchWorld,
    layer: LayerId,
    region: VoxelBox,
) -> HashMap<IVec3, Color> {
    s.select_layer(layer).unwrap();
    let mut out = HashMap::new();
    for z in region.min.z..=region.max.z {
        for y in region.min.y..=region.max.y {
            for x in region.min.x..=region.max.x {
                let c = s.get(IVec3::new(x, y, z));
                if !c.is_empty() {
                    out.insert(IVec3::new(x, y, z), c);
                }
            }
        }
    }
    out
}

#[test]
fn a_scratch_world_creates_and_selects_layers_and_commits_them_as_one_undoable_buffer() {
    use systems::ScratchWorld;
    let mut w = world();
    w.apply(buffer(vec![set(0, 0, 0, RED)])).result.unwrap();
    let before = w.snapshot();
    let mut s = ScratchWorld::new(w.snapshot(), EditLimits::default(), 1000);
    assert_eq!(s.layer(), LayerId(1));

    let a = s.create_layer("a").unwrap();
    assert_eq!((a, s.layer()), (LayerId(2), LayerId(2)));
    assert_eq!(s.get(IVec3::ZERO), Color::EMPTY, "a new layer is empty");
    assert_eq!(s.voxel_count(), 0);
    s.set(IVec3::new(1, 0, 0), BLUE).unwrap();
    let b = s.create_layer("b").unwrap();
    assert_eq!(b, LayerId(3));
    s.fill_box(
        VoxelBox::from_corners(IVec3::ZERO, IVec3::new(1, 1, 0)),
        GREEN,
    )
    .unwrap();
    assert_eq!((s.voxel_count(), s.get(IVec3::new(1, 0, 0))), (4, GREEN));
    // Back on `a`: its own voxel, not b's.
    s.select_layer(a).unwrap();
    assert_eq!(s.get(IVec3::new(1, 0, 0)), BLUE);
    assert_eq!(s.get(IVec3::new(0, 1, 0)), Color::EMPTY);
    assert_eq!(s.bounding_box(), Some(VoxelBox::point(IVec3::new(1, 0, 0))));
    // Back on layer 1: the snapshot's voxel plus a new one.
    s.select_layer(LayerId(1)).unwrap();
    assert_eq!(s.get(IVec3::ZERO), RED);
    s.set(IVec3::new(5, 5, 5), RED).unwrap();
    assert!(s.paint(IVec3::ZERO, BLUE).unwrap());
    assert_eq!(s.voxel_count(), 2);
    assert_eq!(s.select_layer(LayerId(9)), Err(EditError::UnknownLayer(9)));
    assert_eq!(s.layer(), LayerId(1), "a refused selection changes nothing");
    s.set_layer_visible(b, false).unwrap();
    let listed: Vec<_> = s
        .layers()
        .into_iter()
        .map(|l| (l.id.0, l.name, l.visible, l.voxel_count))
        .collect();
    assert_eq!(
        listed,
        [
            (1, "Layer 1".to_string(), true, 2),
            (2, "a".to_string(), true, 1),
            (3, "b".to_string(), false, 4),
        ]
    );
    // What the script sees on each layer; reading `b` last leaves it selected.
    let region = VoxelBox::from_corners(IVec3::splat(-1), IVec3::splat(6));
    let seen: Vec<_> = [LayerId(1), a, b]
        .into_iter()
        .map(|l| scratch_voxels(&mut s, l, region))
        .collect();
    assert_eq!(s.created_layers(), [a, b]);
    assert_eq!(w.next_layer_ids(2), [a, b], "the world gives the same ids");

    let buf = s.into_buffer();
    assert_eq!(buf.edits.last(), Some(&Edit::SetActiveLayer(b)));
    let applied = w.apply(buf.clone());
    assert_eq!(applied.result.as_ref().unwrap().created_layers, [a, b]);
    let after = w.snapshot();
    assert_eq!(after.active_layer, b);
    assert!(!after.layer(b).unwrap().visible);
    for (layer, seen) in [LayerId(1), a, b].into_iter().zip(&seen) {
        assert_eq!(&all_voxels(&after, layer), seen, "layer {layer:?}");
    }
    // One undo takes all of it back: layers, voxels, visibility, active layer.
    w.apply(CommandBuffer::undo()).result.unwrap();
    let undone = w.snapshot();
    assert_eq!(undone.hash(), before.hash());
    assert_eq!(undone.layers().count(), 1);
    assert_eq!(undone.active_layer, LayerId(1));
    w.apply(CommandBuffer::redo()).result.unwrap();
    assert_eq!(w.snapshot().hash(), after.hash());
    assert_eq!(w.snapshot().active_layer, b);
    // Replaying the same buffers on a fresh world gives the same world.
    let mut replay = world();
    replay
        .apply(buffer(vec![set(0, 0, 0, RED)]))
        .result
        .unwrap();
    replay.apply(buf).result.unwrap();
    assert_eq!(replay.snapshot().hash(), after.hash());
}

#[test]
fn a_scratch_world_predicts_layer_ids_and_the_world_says_when_they_no_longer_hold() {
    use systems::ScratchWorld;
    let mut w = world();
    // Layers 1, 2, 4: the free ids are 3, 5, 6...
    w.apply(buffer(vec![
        Edit::CreateLayer { name: "2".into() },
        Edit::RestoreLayer {
            layer: LayerId(4),
            name: "4".into(),
            visible: true,
            order: 7,
        },
    ]))
    .result
    .unwrap();
    let mut s = ScratchWorld::new(w.snapshot(), EditLimits::default(), 1000);
    assert_eq!(s.create_layer("x").unwrap(), LayerId(3));
    assert_eq!(s.create_layer("y").unwrap(), LayerId(5));
    let orders: Vec<_> = s.layers().iter().map(|l| (l.id.0, l.order)).collect();
    assert_eq!(orders, [(1, 0), (2, 1), (4, 7), (3, 8), (5, 9)]);
    // A change that leaves the free ids alone (a new layer 9) keeps the prediction...
    w.apply(buffer(vec![Edit::RestoreLayer {
        layer: LayerId(9),
        name: "9".into(),
        visible: true,
        order: 0,
    }]))
    .result
    .unwrap();
    assert_eq!(w.next_layer_ids(2), s.created_layers());
    // ...one that takes a predicted id does not.
    w.apply(buffer(vec![Edit::CreateLayer { name: "z".into() }]))
        .result
        .unwrap();
    assert_eq!(w.next_layer_ids(2), [LayerId(5), LayerId(6)]);
    assert_ne!(w.next_layer_ids(2), s.created_layers());
}

#[test]
fn a_scratch_world_bounds_new_layers_and_only_a_selection_activates() {
    use systems::ScratchWorld;
    use systems::scratch::MAX_NEW_LAYERS;
    let w = world();
    let s = ScratchWorld::new(w.snapshot(), EditLimits::default(), 10);
    assert!(
        s.into_buffer().is_empty(),
        "nothing done, nothing to commit"
    );
    // Selecting the active layer is a request to keep it active.
    let mut s = ScratchWorld::new(w.snapshot(), EditLimits::default(), 10);
    s.select_layer(LayerId(1)).unwrap();
    assert_eq!(s.into_buffer().edits, [Edit::SetActiveLayer(LayerId(1))]);
    let mut s = ScratchWorld::new(w.snapshot(), EditLimits::default(), 10);
    for i in 0..MAX_NEW_LAYERS {
        assert_eq!(s.create_layer("l").unwrap(), LayerId(i as u32 + 2));
    }
    assert_eq!(
        s.create_layer("one too many"),
        Err(EditError::TooManyLayers {
            limit: MAX_NEW_LAYERS as u64
        })
    );
    // Layer creations are not voxel edits.
    assert_eq!(s.edit_count(), 0);
}

/// Random scripts over several layers: what each layer looks like in the scratch view is what
/// the world has after the buffer, and one undo restores the world.
#[test]
fn scratch_layers_match_the_committed_world_through_random_scripts() {
    use systems::ScratchWorld;
    let mut rng = Rng(7);
    for round in 0..30 {
        let mut w = world();
        // Some voxels and a second layer to start from.
        w.apply(buffer(vec![
            Edit::FillBox {
                region: VoxelBox::from_corners(IVec3::ZERO, IVec3::new(3, 3, 1)),
                color: RED,
            },
            Edit::CreateLayer { name: "two".into() },
            set(2, 2, 2, BLUE),
        ]))
        .result
        .unwrap();
        let before = w.snapshot();
        let mut s = ScratchWorld::new(w.snapshot(), EditLimits::default(), 100_000);
        let mut layers = vec![LayerId(1), LayerId(2)];
        for _ in 0..rng.range(1, 60) {
            let p = IVec3::new(rng.range(-18, 18), rng.range(-3, 3), rng.range(-2, 4));
            let c = Color::rgb(rng.range(1, 3) as u8, round as u8, 9);
            match rng.next() % 8 {
                0 => layers.push(s.create_layer(&format!("r{round}")).unwrap()),
                1 => {
                    let l = layers[rng.range(0, layers.len() as i32 - 1) as usize];
                    s.select_layer(l).unwrap();
                }
                2 => {
                    let q = p + IVec3::new(rng.range(0, 20), rng.range(0, 2), 0);
                    s.fill_box(VoxelBox::from_corners(p, q), c).unwrap();
                }
                3 => s.set(p, Color::EMPTY).unwrap(),
                4 => {
                    s.paint(p, c).unwrap();
                }
                _ => s.set(p, c).unwrap(),
            }
        }
        let final_layer = s.layer();
        let region = VoxelBox::from_corners(IVec3::new(-19, -4, -3), IVec3::new(39, 6, 5));
        let seen: Vec<_> = layers
            .iter()
            .map(|&l| (l, scratch_voxels(&mut s, l, region)))
            .collect();
        s.select_layer(final_layer).unwrap();
        assert_eq!(w.next_layer_ids(layers.len() - 2), s.created_layers());
        let outcome = w.apply(s.into_buffer()).result.unwrap();
        assert_eq!(outcome.created_layers, layers[2..]);
        let after = w.snapshot();
        assert_eq!(after.active_layer, final_layer, "round {round}");
        for (l, seen) in &seen {
            assert_eq!(&all_voxels(&after, *l), seen, "round {round}, layer {l:?}");
        }
        w.apply(CommandBuffer::undo()).result.unwrap();
        assert_eq!(w.snapshot().hash(), before.hash(), "round {round}");
    }
}
