//! Binary encoding of command buffers and whole worlds, for the journal and snapshot files.
//!
//! The journal records every applied buffer and replay must rebuild the same world from them,
//! so the encoding is exact and stable. All integers are little-endian.
//!
//! Buffer: `source: u8`, `layer: u8 (0 = none, 1 = some) [+ u32]`, `edit count: u32`, edits.
//! Edit: `tag: u8` then its fields (see [`Tag`]); positions are 3 × i32, colours 4 × u8 RGBA,
//! boxes min then max, strings `u32` byte length + UTF-8.
//! Chunk: `present: u8`, then run-length voxels x-fastest: `runs: u32`, each run a
//! `len: u16` (1..=4096) and a colour.
//! World: `b"VXW1"`, `seq: u64`, `active: u32`, `reserved: u32` (written as the lowest free layer id, ignored on read), `layers: u32`, each layer
//! `id: u32`, `name`, `visible: u8`, `order: i32`, `chunks: u32`, each chunk `pos` + chunk;
//! then, only when the world has ticked or has rules, the simulation: `b"SIM1"`, `tick: u64`,
//! rule set; then, in snapshot files only and when some run, the `After` timers: `b"TIM1"`,
//! `chunks: u32`, each `rule: u32`, `layer: u32`, `pos`, `count: u32` and `count` times
//! `cell: u16`, `due: u64`.
//!
//! Step record payload: `ticks: u64` (an empty payload is one tick). Meta record payload: a
//! 4-byte tag, then its body; `b"SIM1"` + rule set is a rule change (other tags are skipped).
//! Rule set: `seed: u64`, `bounds: box`, `rules: u32`, each rule `layer: u8 (0/1) [+ u32]`, `region: u8 (0/1)
//! [+ box]`, `kind: u8` and its fields (see [`encode_rules`]); a matcher is `u8` 0 (any) or 1
//! + `count: u32` + colours; a timing is `u8` 0 + `per_2_32: u64` (chance) or 1 + `ticks: u32` (after).

use std::sync::Arc;

use glam::IVec3;
use systems::simulation::{Matcher, Neighbourhood, Rule, RuleKind, RuleSet, Timers, Timing};
use systems::{
    CHUNK_VOLUME, ChunkData, Color, CommandBuffer, Edit, HistoryMode, LayerId, Shape, Source,
    VoxelBox, WorldSnapshot,
};

/// Why bytes could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    /// The bytes end inside a value.
    #[error("truncated at byte {0}")]
    Truncated(usize),
    /// A tag or enum value that does not exist.
    #[error("invalid {what} {value} at byte {at}")]
    Invalid {
        what: &'static str,
        value: u32,
        at: usize,
    },
}

#[repr(u8)]
enum Tag {
    Set = 0,
    Paint = 1,
    FillBox = 2,
    Shape = 3,
    FloodFill = 4,
    TargetLayer = 5,
    CreateLayer = 6,
    DeleteLayer = 7,
    RenameLayer = 8,
    SetLayerVisible = 9,
    SetActiveLayer = 10,
    MergeLayers = 11,
    RestoreLayer = 12,
    RestoreChunk = 13,
}

fn source_code(s: Source) -> u8 {
    match s {
        Source::Rpc => 0,
        Source::Script => 1,
        Source::Undo => 2,
        Source::Redo => 3,
        Source::System => 4,
    }
}

fn shape_code(s: Shape) -> u8 {
    match s {
        Shape::Cube => 0,
        Shape::Sphere => 1,
        Shape::Cylinder => 2,
        Shape::Cone => 3,
        Shape::Pyramid => 4,
    }
}

struct W<'a>(&'a mut Vec<u8>);

impl W<'_> {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn i32(&mut self, v: i32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn pos(&mut self, p: IVec3) {
        self.i32(p.x);
        self.i32(p.y);
        self.i32(p.z);
    }
    fn color(&mut self, c: Color) {
        self.0.extend_from_slice(&c.0);
    }
    fn region(&mut self, b: &VoxelBox) {
        self.pos(b.min);
        self.pos(b.max);
    }
    fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.0.extend_from_slice(s.as_bytes());
    }
    fn chunk(&mut self, data: Option<&ChunkData>) {
        let Some(data) = data else {
            self.u8(0);
            return;
        };
        self.u8(1);
        let dense = data.to_dense();
        let count_at = self.0.len();
        self.u32(0);
        let mut runs = 0u32;
        let mut i = 0;
        while i < CHUNK_VOLUME {
            let c = dense[i];
            let mut j = i + 1;
            while j < CHUNK_VOLUME && dense[j] == c {
                j += 1;
            }
            self.0.extend_from_slice(&((j - i) as u16).to_le_bytes());
            self.color(c);
            runs += 1;
            i = j;
        }
        self.0[count_at..count_at + 4].copy_from_slice(&runs.to_le_bytes());
    }
}

/// Appends the encoding of `buffer` to `out`.
pub fn encode_buffer(buffer: &CommandBuffer, out: &mut Vec<u8>) {
    let mut w = W(out);
    w.u8(source_code(buffer.source));
    match buffer.layer {
        Some(l) => {
            w.u8(1);
            w.u32(l.0);
        }
        None => w.u8(0),
    }
    w.u32(buffer.edits.len() as u32);
    for e in &buffer.edits {
        match e {
            Edit::Set { pos, color } => {
                w.u8(Tag::Set as u8);
                w.pos(*pos);
                w.color(*color);
            }
            Edit::Paint { pos, color } => {
                w.u8(Tag::Paint as u8);
                w.pos(*pos);
                w.color(*color);
            }
            Edit::FillBox { region, color } => {
                w.u8(Tag::FillBox as u8);
                w.region(region);
                w.color(*color);
            }
            Edit::Shape {
                shape,
                region,
                color,
            } => {
                w.u8(Tag::Shape as u8);
                w.u8(shape_code(*shape));
                w.region(region);
                w.color(*color);
            }
            Edit::FloodFill { pos, color, bounds } => {
                w.u8(Tag::FloodFill as u8);
                w.pos(*pos);
                w.color(*color);
                w.region(bounds);
            }
            Edit::TargetLayer(l) => {
                w.u8(Tag::TargetLayer as u8);
                w.u32(l.0);
            }
            Edit::CreateLayer { name } => {
                w.u8(Tag::CreateLayer as u8);
                w.str(name);
            }
            Edit::DeleteLayer(l) => {
                w.u8(Tag::DeleteLayer as u8);
                w.u32(l.0);
            }
            Edit::RenameLayer { layer, name } => {
                w.u8(Tag::RenameLayer as u8);
                w.u32(layer.0);
                w.str(name);
            }
            Edit::SetLayerVisible { layer, visible } => {
                w.u8(Tag::SetLayerVisible as u8);
                w.u32(layer.0);
                w.u8(*visible as u8);
            }
            Edit::SetActiveLayer(l) => {
                w.u8(Tag::SetActiveLayer as u8);
                w.u32(l.0);
            }
            Edit::MergeLayers { source, target } => {
                w.u8(Tag::MergeLayers as u8);
                w.u32(source.0);
                w.u32(target.0);
            }
            Edit::RestoreLayer {
                layer,
                name,
                visible,
                order,
            } => {
                w.u8(Tag::RestoreLayer as u8);
                w.u32(layer.0);
                w.str(name);
                w.u8(*visible as u8);
                w.i32(*order);
            }
            Edit::RestoreChunk { layer, pos, data } => {
                w.u8(Tag::RestoreChunk as u8);
                w.u32(layer.0);
                w.pos(*pos);
                w.chunk(data.as_deref());
            }
        }
    }
}

struct R<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> R<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or(DecodeError::Truncated(self.at))?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(
            self.take(2)?.try_into().expect("2 bytes"),
        ))
    }
    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
    fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }
    fn i32(&mut self) -> Result<i32, DecodeError> {
        Ok(i32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
    fn pos(&mut self) -> Result<IVec3, DecodeError> {
        Ok(IVec3::new(self.i32()?, self.i32()?, self.i32()?))
    }
    fn color(&mut self) -> Result<Color, DecodeError> {
        let b = self.take(4)?;
        Ok(Color([b[0], b[1], b[2], b[3]]).canonical())
    }
    fn region(&mut self) -> Result<VoxelBox, DecodeError> {
        Ok(VoxelBox::from_corners(self.pos()?, self.pos()?))
    }
    fn str(&mut self) -> Result<String, DecodeError> {
        let at = self.at;
        let n = self.u32()? as usize;
        let b = self.take(n)?;
        String::from_utf8(b.to_vec()).map_err(|_| DecodeError::Invalid {
            what: "utf-8 string",
            value: n as u32,
            at,
        })
    }
    fn bool(&mut self) -> Result<bool, DecodeError> {
        let at = self.at;
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(DecodeError::Invalid {
                what: "bool",
                value: v as u32,
                at,
            }),
        }
    }
    fn chunk(&mut self) -> Result<Option<Arc<ChunkData>>, DecodeError> {
        if !self.bool()? {
            return Ok(None);
        }
        let runs = self.u32()?;
        let mut dense = Box::new([Color::EMPTY; CHUNK_VOLUME]);
        let mut i = 0usize;
        for _ in 0..runs {
            let at = self.at;
            let len = self.u16()? as usize;
            let c = self.color()?;
            if len == 0 || i + len > CHUNK_VOLUME {
                return Err(DecodeError::Invalid {
                    what: "run length",
                    value: len as u32,
                    at,
                });
            }
            dense[i..i + len].fill(c);
            i += len;
        }
        if i != CHUNK_VOLUME {
            return Err(DecodeError::Invalid {
                what: "chunk voxel count",
                value: i as u32,
                at: self.at,
            });
        }
        Ok(Some(Arc::new(ChunkData::from_dense(&dense))))
    }
}

/// Decodes a buffer written by [`encode_buffer`]. The result does not touch the undo history.
pub fn decode_buffer(bytes: &[u8]) -> Result<CommandBuffer, DecodeError> {
    let mut r = R { bytes, at: 0 };
    let at = r.at;
    let source = match r.u8()? {
        0 => Source::Rpc,
        1 => Source::Script,
        2 => Source::Undo,
        3 => Source::Redo,
        4 => Source::System,
        v => {
            return Err(DecodeError::Invalid {
                what: "source",
                value: v as u32,
                at,
            });
        }
    };
    let layer = if r.bool()? {
        Some(LayerId(r.u32()?))
    } else {
        None
    };
    let count = r.u32()? as usize;
    let mut edits = Vec::with_capacity(count.min(bytes.len() / 4));
    for _ in 0..count {
        let at = r.at;
        let tag = r.u8()?;
        edits.push(match tag {
            0 => Edit::Set {
                pos: r.pos()?,
                color: r.color()?,
            },
            1 => Edit::Paint {
                pos: r.pos()?,
                color: r.color()?,
            },
            2 => Edit::FillBox {
                region: r.region()?,
                color: r.color()?,
            },
            3 => {
                let sat = r.at;
                let shape = match r.u8()? {
                    0 => Shape::Cube,
                    1 => Shape::Sphere,
                    2 => Shape::Cylinder,
                    3 => Shape::Cone,
                    4 => Shape::Pyramid,
                    v => {
                        return Err(DecodeError::Invalid {
                            what: "shape",
                            value: v as u32,
                            at: sat,
                        });
                    }
                };
                Edit::Shape {
                    shape,
                    region: r.region()?,
                    color: r.color()?,
                }
            }
            4 => Edit::FloodFill {
                pos: r.pos()?,
                color: r.color()?,
                bounds: Box::new(r.region()?),
            },
            5 => Edit::TargetLayer(LayerId(r.u32()?)),
            6 => Edit::CreateLayer {
                name: r.str()?.into(),
            },
            7 => Edit::DeleteLayer(LayerId(r.u32()?)),
            8 => Edit::RenameLayer {
                layer: LayerId(r.u32()?),
                name: r.str()?.into(),
            },
            9 => Edit::SetLayerVisible {
                layer: LayerId(r.u32()?),
                visible: r.bool()?,
            },
            10 => Edit::SetActiveLayer(LayerId(r.u32()?)),
            11 => Edit::MergeLayers {
                source: LayerId(r.u32()?),
                target: LayerId(r.u32()?),
            },
            12 => Edit::RestoreLayer {
                layer: LayerId(r.u32()?),
                name: r.str()?.into(),
                visible: r.bool()?,
                order: r.i32()?,
            },
            13 => Edit::RestoreChunk {
                layer: LayerId(r.u32()?),
                pos: r.pos()?,
                data: r.chunk()?,
            },
            v => {
                return Err(DecodeError::Invalid {
                    what: "edit tag",
                    value: v as u32,
                    at,
                });
            }
        });
    }
    if r.at != bytes.len() {
        return Err(DecodeError::Invalid {
            what: "trailing bytes",
            value: (bytes.len() - r.at) as u32,
            at: r.at,
        });
    }
    Ok(CommandBuffer {
        edits,
        layer,
        source,
        history: HistoryMode::Skip,
    })
}

/// A whole world, decoded: what [`encode_world`] wrote.
#[derive(Debug)]
pub struct WorldImage {
    /// Sequence number the world was at.
    pub seq: u64,
    /// A buffer that rebuilds the world's layers and chunks onto a fresh world.
    pub restore: CommandBuffer,
    /// The simulation's tick counter and rules, when the world had ticked or had rules.
    pub simulation: Option<(u64, RuleSet)>,
    /// The running `After` timers (snapshot files only).
    pub timers: Timers,
}

/// The tag of the timers part of a snapshot's world image.
pub const TIMERS_TAG: [u8; 4] = *b"TIM1";

/// Encodes a snapshot file's payload: the world image and, when some run, the timers.
pub fn encode_snapshot_payload(s: &WorldSnapshot, timers: &Timers, out: &mut Vec<u8>) {
    encode_world(s, out);
    if timers.is_empty() {
        return;
    }
    out.extend_from_slice(&TIMERS_TAG);
    let mut w = W(out);
    w.u32(timers.chunks().count() as u32);
    for (rule, layer, pos, cells) in timers.chunks() {
        w.u32(rule);
        w.u32(layer.0);
        w.pos(pos);
        w.u32(cells.len() as u32);
        for &(cell, due) in cells {
            w.0.extend_from_slice(&cell.to_le_bytes());
            w.u64(due);
        }
    }
}

/// The tag of a rule-change Meta record, and of the simulation part of a world image.
pub const RULES_TAG: [u8; 4] = *b"SIM1";

/// The payload of a Step record for a run of `ticks` ticks.
pub fn encode_steps(ticks: u64) -> [u8; 8] {
    ticks.to_le_bytes()
}

/// The ticks of a Step record's payload.
pub fn decode_steps(bytes: &[u8]) -> Result<u64, DecodeError> {
    match bytes.len() {
        0 => Ok(1),
        8 => Ok(u64::from_le_bytes(bytes.try_into().expect("8 bytes"))),
        n => Err(DecodeError::Invalid {
            what: "step payload length",
            value: n as u32,
            at: 0,
        }),
    }
}

/// What a Meta record says.
#[derive(Debug, PartialEq, Eq)]
pub enum Meta {
    /// From this record on, these rules are in force.
    Rules(RuleSet),
    /// A tag this version does not know (replay skips it).
    Unknown,
}

/// The payload of a rule-change Meta record.
pub fn encode_rules_record(rules: &RuleSet) -> Vec<u8> {
    let mut out = RULES_TAG.to_vec();
    encode_rules(rules, &mut out);
    out
}

/// Decodes a Meta record's payload.
pub fn decode_meta(bytes: &[u8]) -> Result<Meta, DecodeError> {
    if bytes.len() < 4 || bytes[..4] != RULES_TAG {
        return Ok(Meta::Unknown);
    }
    let mut r = R { bytes, at: 4 };
    let rules = r.rules()?;
    r.end()?;
    Ok(Meta::Rules(rules))
}

/// Appends the encoding of a rule set (kinds: 0 Fall `matcher, slide: u8`; 1 Flow `matcher,
/// spread: u32`; 2 Life `alive, colour, birth: u32, survive: u32, neighbourhood: u8` (0 Moore,
/// 1 von Neumann); 3 Decay `matcher, into, timing`; 4 Grow `matcher, into, onto: u8 (0/1) [+
/// matcher], neighbourhood: u8, timing`).
pub fn encode_rules(rules: &RuleSet, out: &mut Vec<u8>) {
    let mut w = W(out);
    w.u64(rules.seed);
    w.region(&rules.bounds);
    w.u32(rules.rules.len() as u32);
    for rule in &rules.rules {
        w.rule(rule);
    }
}

impl W<'_> {
    fn matcher(&mut self, m: &Matcher) {
        match m {
            Matcher::Any => self.u8(0),
            Matcher::Colors(v) => {
                self.u8(1);
                self.u32(v.len() as u32);
                for &c in v.iter() {
                    self.color(c);
                }
            }
        }
    }
    fn neighbourhood(&mut self, n: Neighbourhood) {
        self.u8(match n {
            Neighbourhood::Moore => 0,
            Neighbourhood::VonNeumann => 1,
        });
    }
    fn timing(&mut self, t: Timing) {
        match t {
            Timing::Chance { per_2_32 } => {
                self.u8(0);
                self.u64(per_2_32);
            }
            Timing::After { ticks } => {
                self.u8(1);
                self.u32(ticks);
            }
        }
    }
    fn rule(&mut self, rule: &Rule) {
        match rule.layer {
            Some(l) => {
                self.u8(1);
                self.u32(l.0);
            }
            None => self.u8(0),
        }
        match &rule.region {
            Some(b) => {
                self.u8(1);
                self.region(b);
            }
            None => self.u8(0),
        }
        match &rule.kind {
            RuleKind::Fall { matches, slide } => {
                self.u8(0);
                self.matcher(matches);
                self.u8(*slide as u8);
            }
            RuleKind::Flow { matches, spread } => {
                self.u8(1);
                self.matcher(matches);
                self.u32(*spread);
            }
            RuleKind::Life {
                alive,
                color,
                birth,
                survive,
                neighbourhood,
            } => {
                self.u8(2);
                self.matcher(alive);
                self.color(*color);
                self.u32(*birth);
                self.u32(*survive);
                self.neighbourhood(*neighbourhood);
            }
            RuleKind::Decay {
                matches,
                into,
                timing,
            } => {
                self.u8(3);
                self.matcher(matches);
                self.color(*into);
                self.timing(*timing);
            }
            RuleKind::Grow {
                matches,
                into,
                onto,
                neighbourhood,
                timing,
            } => {
                self.u8(4);
                self.matcher(matches);
                self.color(*into);
                match onto {
                    Some(m) => {
                        self.u8(1);
                        self.matcher(m);
                    }
                    None => self.u8(0),
                }
                self.neighbourhood(*neighbourhood);
                self.timing(*timing);
            }
        }
    }
}

impl R<'_> {
    fn end(&self) -> Result<(), DecodeError> {
        if self.at != self.bytes.len() {
            return Err(DecodeError::Invalid {
                what: "trailing bytes",
                value: (self.bytes.len() - self.at) as u32,
                at: self.at,
            });
        }
        Ok(())
    }
    fn invalid<T>(&self, what: &'static str, value: u32, at: usize) -> Result<T, DecodeError> {
        Err(DecodeError::Invalid { what, value, at })
    }
    fn matcher(&mut self) -> Result<Matcher, DecodeError> {
        let at = self.at;
        match self.u8()? {
            0 => Ok(Matcher::Any),
            1 => {
                let n = self.u32()? as usize;
                let mut v = Vec::with_capacity(n.min(self.bytes.len() / 4));
                for _ in 0..n {
                    v.push(self.color()?);
                }
                Ok(Matcher::colors(v))
            }
            v => self.invalid("matcher", v as u32, at),
        }
    }
    fn neighbourhood(&mut self) -> Result<Neighbourhood, DecodeError> {
        let at = self.at;
        match self.u8()? {
            0 => Ok(Neighbourhood::Moore),
            1 => Ok(Neighbourhood::VonNeumann),
            v => self.invalid("neighbourhood", v as u32, at),
        }
    }
    fn timing(&mut self) -> Result<Timing, DecodeError> {
        let at = self.at;
        match self.u8()? {
            0 => Ok(Timing::Chance {
                per_2_32: self.u64()?,
            }),
            1 => Ok(Timing::After { ticks: self.u32()? }),
            v => self.invalid("timing", v as u32, at),
        }
    }
    fn rules(&mut self) -> Result<RuleSet, DecodeError> {
        let seed = self.u64()?;
        let bounds = self.region()?;
        let n = self.u32()? as usize;
        let mut rules = Vec::with_capacity(n.min(self.bytes.len()));
        for _ in 0..n {
            let layer = if self.bool()? {
                Some(LayerId(self.u32()?))
            } else {
                None
            };
            let region = if self.bool()? {
                Some(self.region()?)
            } else {
                None
            };
            let at = self.at;
            let kind = match self.u8()? {
                0 => RuleKind::Fall {
                    matches: self.matcher()?,
                    slide: self.bool()?,
                },
                1 => RuleKind::Flow {
                    matches: self.matcher()?,
                    spread: self.u32()?,
                },
                2 => RuleKind::Life {
                    alive: self.matcher()?,
                    color: self.color()?,
                    birth: self.u32()?,
                    survive: self.u32()?,
                    neighbourhood: self.neighbourhood()?,
                },
                3 => RuleKind::Decay {
                    matches: self.matcher()?,
                    into: self.color()?,
                    timing: self.timing()?,
                },
                4 => RuleKind::Grow {
                    matches: self.matcher()?,
                    into: self.color()?,
                    onto: if self.bool()? {
                        Some(self.matcher()?)
                    } else {
                        None
                    },
                    neighbourhood: self.neighbourhood()?,
                    timing: self.timing()?,
                },
                v => return self.invalid("rule kind", v as u32, at),
            };
            rules.push(Rule {
                layer,
                region,
                kind,
            });
        }
        Ok(RuleSet {
            seed,
            bounds,
            rules,
        })
    }
}

/// Encodes a whole snapshot (for snapshot files and `replay --out`).
pub fn encode_world(s: &WorldSnapshot, out: &mut Vec<u8>) {
    out.extend_from_slice(b"VXW1");
    out.extend_from_slice(&s.seq.to_le_bytes());
    let mut w = W(out);
    w.u32(s.active_layer.0);
    w.u32(lowest_free_layer_id(s));
    let layers: Vec<_> = s.layers().collect();
    w.u32(layers.len() as u32);
    for l in layers {
        w.u32(l.id.0);
        w.str(&l.name);
        w.u8(l.visible as u8);
        w.i32(l.order);
        let chunks = l.chunks_sorted();
        w.u32(chunks.len() as u32);
        for (pos, data) in chunks {
            w.pos(pos);
            w.chunk(Some(data));
        }
    }
    if s.tick > 0 || !s.rules.is_empty() {
        out.extend_from_slice(&RULES_TAG);
        out.extend_from_slice(&s.tick.to_le_bytes());
        encode_rules(&s.rules, out);
    }
}

/// The lowest layer id not in use (what older readers took as the next layer id).
fn lowest_free_layer_id(s: &WorldSnapshot) -> u32 {
    let mut id = 1;
    for l in s.layers() {
        if l.id.0 != id {
            break;
        }
        id += 1;
    }
    id
}

/// Decodes a world written by [`encode_world`] into a restore buffer for a fresh world
/// (whose only layer is layer 1).
pub fn decode_world(bytes: &[u8]) -> Result<WorldImage, DecodeError> {
    let mut r = R { bytes, at: 0 };
    if r.take(4)? != b"VXW1" {
        return Err(DecodeError::Invalid {
            what: "world magic",
            value: 0,
            at: 0,
        });
    }
    let seq = r.u64()?;
    let active = LayerId(r.u32()?);
    let _reserved = r.u32()?;
    let n = r.u32()?;
    let mut restore = CommandBuffer::new(Source::System);
    restore.history = HistoryMode::Skip;
    let mut has_default = false;
    for _ in 0..n {
        let id = LayerId(r.u32()?);
        has_default |= id == LayerId(1);
        restore.edits.push(Edit::RestoreLayer {
            layer: id,
            name: r.str()?.into(),
            visible: r.bool()?,
            order: r.i32()?,
        });
        let chunks = r.u32()?;
        for _ in 0..chunks {
            let pos = r.pos()?;
            restore.edits.push(Edit::RestoreChunk {
                layer: id,
                pos,
                data: r.chunk()?,
            });
        }
    }
    restore.edits.push(Edit::SetActiveLayer(active));
    if !has_default {
        restore.edits.push(Edit::DeleteLayer(LayerId(1)));
    }
    let tagged =
        |r: &R<'_>, tag: [u8; 4]| r.bytes.len() - r.at >= 4 && r.bytes[r.at..r.at + 4] == tag;
    let simulation = if tagged(&r, RULES_TAG) {
        r.at += 4;
        let tick = r.u64()?;
        Some((tick, r.rules()?))
    } else {
        None
    };
    let mut timers = Timers::default();
    if tagged(&r, TIMERS_TAG) {
        r.at += 4;
        for _ in 0..r.u32()? {
            let rule = r.u32()?;
            let layer = LayerId(r.u32()?);
            let pos = r.pos()?;
            let n = r.u32()? as usize;
            let mut cells = Vec::with_capacity(n.min(CHUNK_VOLUME));
            for _ in 0..n {
                let at = r.at;
                let cell = r.u16()?;
                if cell as usize >= CHUNK_VOLUME || cells.last().is_some_and(|&(c, _)| c >= cell) {
                    return r.invalid("timer cell", cell as u32, at);
                }
                cells.push((cell, r.u64()?));
            }
            timers.insert(rule, layer, pos, cells);
        }
    }
    Ok(WorldImage {
        seq,
        restore,
        simulation,
        timers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use systems::{VoxelWorld, WorldSettings};

    fn sample_buffer() -> CommandBuffer {
        let mut b = CommandBuffer::new(Source::Script);
        b.layer = Some(LayerId(1));
        let region = VoxelBox::from_corners(IVec3::new(-3, 0, 2), IVec3::new(4, 5, 6));
        let mut chunk = ChunkData::empty();
        chunk.set(7, Color::rgb(1, 2, 3));
        b.edits = vec![
            Edit::Set {
                pos: IVec3::new(-1, 2, -3),
                color: Color::rgba(1, 2, 3, 4),
            },
            Edit::Paint {
                pos: IVec3::ZERO,
                color: Color::rgb(9, 9, 9),
            },
            Edit::FillBox {
                region,
                color: Color::EMPTY,
            },
            Edit::Shape {
                shape: Shape::Cone,
                region,
                color: Color::rgb(5, 5, 5),
            },
            Edit::FloodFill {
                pos: IVec3::ONE,
                color: Color::rgb(1, 1, 1),
                bounds: Box::new(region),
            },
            Edit::TargetLayer(LayerId(3)),
            Edit::CreateLayer {
                name: "ü layer".into(),
            },
            Edit::DeleteLayer(LayerId(4)),
            Edit::RenameLayer {
                layer: LayerId(2),
                name: "x".into(),
            },
            Edit::SetLayerVisible {
                layer: LayerId(2),
                visible: false,
            },
            Edit::SetActiveLayer(LayerId(2)),
            Edit::MergeLayers {
                source: LayerId(2),
                target: LayerId(1),
            },
            Edit::RestoreLayer {
                layer: LayerId(9),
                name: "r".into(),
                visible: true,
                order: -2,
            },
            Edit::RestoreChunk {
                layer: LayerId(1),
                pos: IVec3::new(1, -1, 0),
                data: Some(Arc::new(chunk)),
            },
            Edit::RestoreChunk {
                layer: LayerId(1),
                pos: IVec3::ZERO,
                data: None,
            },
        ];
        b.history = HistoryMode::Skip;
        b
    }

    #[test]
    fn buffers_round_trip_exactly() {
        let b = sample_buffer();
        let mut bytes = Vec::new();
        encode_buffer(&b, &mut bytes);
        assert_eq!(decode_buffer(&bytes).unwrap(), b);
        for cut in 0..bytes.len() {
            assert!(
                decode_buffer(&bytes[..cut]).is_err(),
                "cut at {cut} must not decode"
            );
        }
    }

    #[test]
    fn worlds_round_trip_to_the_same_hash() {
        let mut w = VoxelWorld::new(WorldSettings::default());
        let mut b = CommandBuffer::new(Source::Rpc);
        b.edits = vec![
            Edit::Shape {
                shape: Shape::Sphere,
                region: VoxelBox::from_corners(IVec3::splat(-9), IVec3::splat(9)),
                color: Color::rgb(200, 10, 10),
            },
            Edit::CreateLayer {
                name: "second".into(),
            },
            Edit::Set {
                pos: IVec3::new(100, 0, 0),
                color: Color::rgb(1, 2, 3),
            },
            Edit::SetLayerVisible {
                layer: LayerId(2),
                visible: false,
            },
        ];
        w.apply(b).result.unwrap();
        let s = w.snapshot();
        let mut bytes = Vec::new();
        encode_world(&s, &mut bytes);
        let image = decode_world(&bytes).unwrap();
        let mut fresh = VoxelWorld::new(WorldSettings::default());
        fresh.apply(image.restore).result.unwrap();
        fresh.set_seq(image.seq);
        assert_eq!(fresh.snapshot().hash(), s.hash());
        assert_eq!(image.seq, s.seq);
        assert!(
            image.simulation.is_none(),
            "a world that never ticked has no simulation part"
        );
    }

    fn sample_rules() -> RuleSet {
        let m = Matcher::colors([Color::rgb(1, 2, 3), Color::rgba(4, 5, 6, 7)]);
        RuleSet {
            seed: 0xDEAD_BEEF,
            bounds: VoxelBox::from_corners(IVec3::splat(-100), IVec3::new(1, 2, 3)),
            rules: vec![
                Rule::new(RuleKind::Fall {
                    matches: m.clone(),
                    slide: true,
                }),
                Rule {
                    layer: Some(LayerId(3)),
                    region: Some(VoxelBox::from_corners(
                        IVec3::splat(-4),
                        IVec3::new(5, 6, 7),
                    )),
                    kind: RuleKind::Flow {
                        matches: Matcher::Any,
                        spread: 9,
                    },
                },
                Rule::new(RuleKind::Life {
                    alive: m.clone(),
                    color: Color::rgb(9, 9, 9),
                    birth: 1 << 3,
                    survive: 0b110,
                    neighbourhood: Neighbourhood::VonNeumann,
                }),
                Rule::new(RuleKind::Decay {
                    matches: m.clone(),
                    into: Color::EMPTY,
                    timing: Timing::chance(0.25),
                }),
                Rule::new(RuleKind::Grow {
                    matches: m.clone(),
                    into: Color::rgb(1, 1, 1),
                    onto: Some(m),
                    neighbourhood: Neighbourhood::Moore,
                    timing: Timing::After { ticks: 12 },
                }),
            ],
        }
    }

    #[test]
    fn rule_records_and_steps_round_trip_exactly() {
        let rules = sample_rules();
        let bytes = encode_rules_record(&rules);
        assert_eq!(decode_meta(&bytes).unwrap(), Meta::Rules(rules));
        for cut in 4..bytes.len() {
            assert!(decode_meta(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        assert_eq!(decode_meta(b"XYZW1234").unwrap(), Meta::Unknown);
        assert_eq!(decode_steps(&encode_steps(42)).unwrap(), 42);
        assert_eq!(decode_steps(&[]).unwrap(), 1);
        assert!(decode_steps(&[1, 2]).is_err());
    }

    #[test]
    fn a_world_image_carries_tick_rules_and_timers() {
        let mut w = VoxelWorld::new(WorldSettings::default());
        w.set_rules(sample_rules());
        let mut b = CommandBuffer::new(Source::Rpc);
        b.push(Edit::FillBox {
            region: VoxelBox::from_corners(IVec3::new(-20, 0, 0), IVec3::new(20, 0, 0)),
            color: Color::rgb(1, 2, 3),
        });
        b.push(Edit::Set {
            pos: IVec3::new(0, 1, 0),
            color: Color::rgba(4, 5, 6, 7),
        });
        w.apply(b).result.unwrap();
        w.step(3);
        assert!(!w.timers().is_empty(), "the Grow rule counts");
        let mut bytes = Vec::new();
        encode_snapshot_payload(&w.snapshot(), w.timers(), &mut bytes);
        let image = decode_world(&bytes).unwrap();
        assert_eq!(image.simulation, Some((3, sample_rules())));
        assert_eq!(&image.timers, w.timers());
        let mut plain = Vec::new();
        encode_world(&w.snapshot(), &mut plain);
        assert!(
            decode_world(&plain).unwrap().timers.is_empty(),
            "exports carry no timers"
        );
    }
}
