//! The example simulation files in `assets/` load through a server config that names them, and
//! do what their comments say.

use std::collections::BTreeSet;
use std::path::Path;

use glam::IVec3;
use systems::{Color, CommandBuffer, Edit, Source, VoxelBox, VoxelWorld};
use voxeld::config::Config;
use voxeld::server::world_settings;

/// A world with the rules of `assets/<name>`, loaded the way the server loads them.
fn world_with(name: &str) -> VoxelWorld {
    let dir = tempfile::tempdir().unwrap();
    let asset = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets")
        .join(name);
    let config = dir.path().join("server.ron");
    std::fs::write(
        &config,
        format!(
            "(simulation: (file: Some({:?})))",
            asset.display().to_string()
        ),
    )
    .unwrap();
    let config = Config::load(&config).unwrap();
    assert!(!config.simulation.rules.is_empty());
    let mut world = VoxelWorld::new(world_settings(&config));
    world.set_rules(config.rule_set());
    world
}

fn hex(s: &str) -> Color {
    let v = u32::from_str_radix(s.trim_start_matches('#'), 16).unwrap();
    Color::rgb((v >> 16) as u8, (v >> 8) as u8, v as u8)
}

fn fill(w: &mut VoxelWorld, min: [i32; 3], max: [i32; 3], color: Color) {
    let mut b = CommandBuffer::new(Source::Rpc);
    b.push(Edit::FillBox {
        region: VoxelBox::from_corners(IVec3::from(min), IVec3::from(max)),
        color,
    });
    w.apply(b).result.unwrap();
}

fn cells(w: &VoxelWorld, color: Color) -> BTreeSet<[i32; 3]> {
    let s = w.snapshot();
    let mut out = BTreeSet::new();
    let all = VoxelBox::from_corners(IVec3::splat(-4096), IVec3::splat(4096));
    s.layer(s.active_layer)
        .unwrap()
        .for_each_voxel_in(&all, |p, c| {
            if c == color {
                out.insert(p.to_array());
            }
        });
    out
}

fn settle(w: &mut VoxelWorld) {
    for _ in 0..3000 {
        if w.step(1).changed_voxels == 0 && w.simulation_report().active_chunks == 0 {
            return;
        }
    }
    panic!("did not settle");
}

#[test]
fn sand_ron_piles_grains_into_a_cross_with_one_on_top() {
    let mut w = world_with("sand.ron");
    let (sand, gravel) = (hex("#C2B280"), hex("#8A8070"));
    fill(&mut w, [-6, -6, 0], [6, 6, 0], hex("#808080"));
    for i in 0..6 {
        fill(
            &mut w,
            [0, 0, 12],
            [0, 0, 12],
            if i % 2 == 0 { sand } else { gravel },
        );
        settle(&mut w);
    }
    let pile: BTreeSet<[i32; 3]> = cells(&w, sand).union(&cells(&w, gravel)).copied().collect();
    let expected: BTreeSet<[i32; 3]> = [
        [0, 0, 1],
        [1, 0, 1],
        [-1, 0, 1],
        [0, 1, 1],
        [0, -1, 1],
        [0, 0, 2],
    ]
    .into();
    assert_eq!(pile, expected);
}

#[test]
fn water_ron_levels_water_out_in_a_basin() {
    let mut w = world_with("water.ron");
    let water = hex("#3070FF");
    fill(&mut w, [-1, -1, 0], [10, 10, 80], hex("#808080"));
    fill(&mut w, [0, 0, 1], [9, 9, 80], Color::EMPTY);
    fill(&mut w, [9, 9, 5], [9, 9, 74], water); // 70 voxels: 100 cells per layer
    settle(&mut w);
    let cells = cells(&w, water);
    assert_eq!(cells.len(), 70);
    assert!(cells.iter().all(|p| p[2] == 1), "one level, the bottom one");
}

#[test]
fn life_ron_blinks_burns_out_and_grows_moss() {
    let mut w = world_with("life.ron");
    let (green, ember, ash, moss, stone) = (
        hex("#40FF40"),
        hex("#FF6020"),
        hex("#404040"),
        hex("#2A7A2A"),
        hex("#808080"),
    );
    let a: BTreeSet<[i32; 3]> = [[0, 0, 0], [1, 1, 0], [2, 2, 1]].into();
    let b: BTreeSet<[i32; 3]> = [[0, 0, 0], [1, 1, 1], [2, 2, 1]].into();
    for p in &a {
        fill(&mut w, *p, *p, green);
    }
    fill(&mut w, [20, 0, 0], [29, 9, 0], ember);
    fill(&mut w, [40, 0, 0], [49, 0, 0], stone);
    fill(&mut w, [40, 0, 0], [40, 0, 0], moss);
    for generation in 1..=200u32 {
        w.step(1);
        let expected = if generation % 2 == 1 { &b } else { &a };
        assert_eq!(&cells(&w, green), expected, "generation {generation}");
    }
    assert!(cells(&w, ember).is_empty(), "every ember burnt out");
    assert_eq!(cells(&w, ash).len(), 100);
    assert_eq!(cells(&w, moss).len(), 10, "the moss covered the stone");
    assert!(cells(&w, stone).is_empty());
}
