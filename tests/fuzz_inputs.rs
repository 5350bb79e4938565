//! Property tests of every input a client or a file controls: frame splitting, JSON-RPC
//! envelopes, every method's params (arbitrary JSON, by name and by position), journal
//! records and the file-format readers. Each must answer with an error or a value, never
//! panic. CI runs a bounded number of cases; `PROPTEST_CASES=100000 cargo test --release --test
//! fuzz_inputs` runs a longer search.

use proptest::prelude::*;
use serde_json::{Value, json};
use systems::{VoxelWorld, WorldSettings};
use voxeld::files::FileAccess;
use voxeld::formats::{Format, decode};
use voxeld::methods::{self, Ctx, METHODS, NoJournal, ServerFacts};
use voxeld::rpc::{Frame, Incoming, LineFramer, parse_frame};

fn cases() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(256),
        ..ProptestConfig::default()
    }
}

/// Arbitrary JSON, biased toward what the methods look at: small integers, coordinates,
/// colours, layer ids, names the params use.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (-3i64..300).prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-2.0f64..2.0).prop_map(|f| json!(f)),
        "[a-z_#0-9]{0,12}".prop_map(Value::from),
        Just(json!("#ff00ff80")),
        Just(json!("cube")),
        Just(json!("file_path")),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        let key = prop_oneof![
            Just("x".to_string()),
            Just("y".to_string()),
            Just("z".to_string()),
            Just("color".to_string()),
            Just("layer_id".to_string()),
            Just("r".to_string()),
            Just("a".to_string()),
            Just("size".to_string()),
            Just("shape_type".to_string()),
            Just("min".to_string()),
            Just("max".to_string()),
            Just("region".to_string()),
            Just("operations".to_string()),
            Just("voxels".to_string()),
            Just("type".to_string()),
            Just("tolerance".to_string()),
            Just("options".to_string()),
            Just("width".to_string()),
            Just("camera".to_string()),
            "[a-z_]{1,8}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((key, inner), 0..8)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(cases())]

    /// Any bytes, split anywhere: the framer yields frames and never holds more than its limit.
    #[test]
    fn framing_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048), cuts in prop::collection::vec(0usize..2048, 0..8)) {
        let mut framer = LineFramer::new(256);
        let mut at = 0;
        let mut cuts = cuts;
        cuts.sort_unstable();
        for cut in cuts.into_iter().chain([bytes.len()]) {
            let cut = cut.min(bytes.len()).max(at);
            framer.push(&bytes[at..cut]);
            at = cut;
            while let Some(frame) = framer.next_frame() {
                if let Frame::Line(line) = frame {
                    prop_assert!(line.len() <= 256);
                    for incoming in parse_frame(line) {
                        let _ = matches!(incoming, Incoming::Batch(_));
                    }
                }
            }
            prop_assert!(framer.buffered_len() <= 256 + 2048);
        }
    }

    /// Every method with arbitrary params, by name or by position, on a small world: a result
    /// or an error reply, never a panic; an error reply has a code from the code table.
    #[test]
    fn every_method_any_params(method in 0..METHODS.len(), params in json_value()) {
        let mut world = VoxelWorld::new(WorldSettings::default());
        let mut journal = NoJournal;
        let mut clock = voxeld::methods::simulation::SimClock::new(&voxeld::config::Config::default());
        let mut ctx = Ctx {
            clock: &mut clock,
            world: &mut world,
            journal: &mut journal,
            started: std::time::Instant::now(),
            facts: ServerFacts::default(),
            files: FileAccess::defaults(),
        };
        let name = METHODS[method].name;
        // Methods that touch files get only paths that cannot exist, so the search writes
        // nothing anywhere.
        let params = match name {
            "goxel.save_project" | "goxel.export_model" | "goxel.load_project" | "goxel.render_scene" => {
                json!({"path": "/nonexistent-voxeld-fuzz/x.gox", "output_path": "/nonexistent-voxeld-fuzz/x.png", "other": params})
            }
            _ => params,
        };
        let line = json!({"jsonrpc": "2.0", "method": name, "params": params, "id": 1}).to_string();
        for incoming in parse_frame(line.as_bytes()) {
            if let Incoming::Request(request) = incoming
                && let Err(e) = methods::call(&mut ctx, &request.method, &request.params)
            {
                prop_assert!(
                    voxeld::rpc::codes::TABLE.iter().any(|(c, _)| *c == e.code),
                    "{name}: code {} is not in the table", e.code
                );
                prop_assert!(!e.message.is_empty());
            }
        }
    }

    /// Journal buffer records and whole-world images from arbitrary bytes.
    #[test]
    fn codec_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = voxeld::codec::decode_buffer(&bytes);
        let _ = voxeld::codec::decode_world(&bytes);
    }

    /// Every readable format from arbitrary bytes behind its magic.
    #[test]
    fn formats_any_bytes(format in 0usize..3, bytes in prop::collection::vec(any::<u8>(), 0..1024)) {
        let (format, magic): (Format, &[u8]) = [
            (Format::Gox, b"GOX \x02\x00\x00\x00".as_slice()),
            (Format::Vox, b"VOX \x96\x00\x00\x00".as_slice()),
            (Format::Native, b"VOXSNAP\x00".as_slice()),
        ][format];
        let mut file = magic.to_vec();
        file.extend_from_slice(&bytes);
        let _ = decode(format, &file);
        let _ = decode(format, &bytes);
    }
}
