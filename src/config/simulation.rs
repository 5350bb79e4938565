//! The simulation's configuration: rules as RON (in `server.ron` under `simulation`, or in a
//! file it names) or as JSON (`goxel.set_simulation`), the same serde types for both, checked
//! and turned into the world's [`systems::simulation::RuleSet`].
//!
//! ```
//! use voxeld::config::{Config, RuleConfig};
//! let text = r##"(simulation: (seed: 3, rules: [
//!     Fall(matches: ["#C2B280", [120, 110, 90]], slide: true),
//!     Life(alive: ["#40FF40"], birth: [3], survive: [2, 3], region: Some((min: (0, 0, 0), max: (63, 63, 0)))),
//! ]))"##;
//! let config = Config::parse(text, "inline.ron".as_ref()).unwrap();
//! assert!(matches!(config.simulation.rules[0], RuleConfig::Fall { slide: true, .. }));
//! let rules = config.simulation.rule_set();
//! assert_eq!((rules.seed, rules.rules.len()), (3, 2));
//! ```

use std::fmt;
use std::path::PathBuf;

use glam::IVec3;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use systems::simulation::{Matcher, Neighbourhood, Rule, RuleKind, RuleSet, Timing};
use systems::{Color, LayerId, VoxelBox};

use super::ConfigError;

/// Simulation settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimulationConfig {
    /// Whether the server ticks on its own from start-up (at `tick_rate_hz`); with `false` it
    /// waits for `goxel.set_simulation {running: true}` or `goxel.step`.
    pub running: bool,
    /// Seed of the rules' randomness: the same seed, world and inputs give the same run.
    pub seed: u64,
    /// A RON file `(seed: .., rules: [..])` to read `seed` and `rules` from instead (relative to
    /// the directory of the config file); `seed` and `rules` must then be left out.
    pub file: Option<PathBuf>,
    /// The rules. Rules of one kind apply in this order; kinds apply as Fall, Flow, Life,
    /// Decay, Grow.
    pub rules: Vec<RuleConfig>,
}

impl Default for SimulationConfig {
    fn default() -> Self {
        Self {
            running: true,
            seed: 0,
            file: None,
            rules: Vec::new(),
        }
    }
}

/// The contents of a file named by `simulation.file`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimulationFile {
    /// Seed of the rules' randomness.
    pub seed: u64,
    /// The rules.
    pub rules: Vec<RuleConfig>,
}

/// One rule, as RON or JSON spells it. Every kind takes an optional `layer` (id; default: every
/// layer, each on its own) and `region` (`(min: (x, y, z), max: (x, y, z))`, inclusive; cells
/// outside are walls to the rule). Colours take the RPC forms: `"#RRGGBB"`, `"#RRGGBBAA"`,
/// `[r, g, b]`, `[r, g, b, a]`, `(r: .., g: .., b: .., a: ..)`; a matcher list may also hold
/// `"any"` (every non-empty voxel).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum RuleConfig {
    /// Matching voxels fall into empty space; with `slide`, blocked ones slide diagonally down.
    Fall {
        /// The material.
        matches: Vec<ColorMatch>,
        /// Slide off piles (sand).
        #[serde(default)]
        slide: bool,
        /// Only this layer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        layer: Option<u32>,
        /// Only inside this box.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        region: Option<RegionConfig>,
    },
    /// A fluid: falls, then runs towards the nearest drop within `spread` cells.
    Flow {
        /// The fluid.
        matches: Vec<ColorMatch>,
        /// How far a voxel looks for a drop (1..=64).
        #[serde(default = "default_spread")]
        spread: u32,
        /// Only this layer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        layer: Option<u32>,
        /// Only inside this box.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        region: Option<RegionConfig>,
    },
    /// A 3D outer-totalistic cellular automaton.
    Life {
        /// The live cells.
        alive: Vec<ColorMatch>,
        /// Colour of newborn cells; default: the first colour of `alive`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        color: Option<ColorValue>,
        /// Live-neighbour counts at which an empty cell is born (1..=26, or 1..=6).
        birth: Vec<u32>,
        /// Live-neighbour counts at which a live cell survives (0..=26, or 0..=6).
        survive: Vec<u32>,
        /// `Moore` (26 neighbours, default) or `VonNeumann` (6).
        #[serde(default = "moore")]
        neighbourhood: NeighbourhoodConfig,
        /// Only this layer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        layer: Option<u32>,
        /// Only inside this box.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        region: Option<RegionConfig>,
    },
    /// Matching voxels turn into `into` (`None`: vanish), by `chance` per tick or `after` so
    /// many ticks (exactly one of the two).
    Decay {
        /// What decays.
        matches: Vec<ColorMatch>,
        /// What it becomes; `None`: nothing.
        #[serde(default)]
        into: Option<ColorValue>,
        /// Probability per tick, in (0, 1].
        #[serde(default, skip_serializing_if = "Option::is_none")]
        chance: Option<f64>,
        /// Ticks from when the rule first sees a voxel to when it decays (≥ 1; 1: at once).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<u32>,
        /// Only this layer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        layer: Option<u32>,
        /// Only inside this box.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        region: Option<RegionConfig>,
    },
    /// Matching voxels spawn `into` in a neighbour cell that `onto` matches (`None`: an empty
    /// cell), by `chance` per tick or every `after` ticks.
    Grow {
        /// What grows.
        matches: Vec<ColorMatch>,
        /// What it spawns.
        into: ColorValue,
        /// Which neighbours it may spawn into; `None`: empty cells.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        onto: Option<Vec<ColorMatch>>,
        /// `VonNeumann` (6 neighbours, default) or `Moore` (26).
        #[serde(default = "von_neumann")]
        neighbourhood: NeighbourhoodConfig,
        /// Probability per tick, in (0, 1].
        #[serde(default, skip_serializing_if = "Option::is_none")]
        chance: Option<f64>,
        /// Ticks a voxel waits before it grows, and between two growths (≥ 1); it counts only
        /// while it has a cell to grow into.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<u32>,
        /// Only this layer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        layer: Option<u32>,
        /// Only inside this box.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        region: Option<RegionConfig>,
    },
}

fn default_spread() -> u32 {
    8
}

fn moore() -> NeighbourhoodConfig {
    NeighbourhoodConfig::Moore
}

fn von_neumann() -> NeighbourhoodConfig {
    NeighbourhoodConfig::VonNeumann
}

/// Which cells are neighbours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NeighbourhoodConfig {
    /// The 26 cells of the 3×3×3 cube.
    Moore,
    /// The 6 face neighbours.
    VonNeumann,
}

/// An inclusive box.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionConfig {
    /// Smallest corner.
    pub min: (i32, i32, i32),
    /// Largest corner.
    pub max: (i32, i32, i32),
}

/// A colour in any RPC form; serialised as `"#rrggbb"` (opaque) or `"#rrggbbaa"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColorValue(pub [u8; 4]);

/// An entry of a matcher list: a colour, or `"any"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorMatch {
    /// Every non-empty voxel.
    Any,
    /// Exactly this colour.
    Color(ColorValue),
}

impl RuleConfig {
    fn kind_name(&self) -> &'static str {
        match self {
            RuleConfig::Fall { .. } => "Fall",
            RuleConfig::Flow { .. } => "Flow",
            RuleConfig::Life { .. } => "Life",
            RuleConfig::Decay { .. } => "Decay",
            RuleConfig::Grow { .. } => "Grow",
        }
    }

    fn scope(&self) -> (Option<u32>, Option<RegionConfig>) {
        match self {
            RuleConfig::Fall { layer, region, .. }
            | RuleConfig::Flow { layer, region, .. }
            | RuleConfig::Life { layer, region, .. }
            | RuleConfig::Decay { layer, region, .. }
            | RuleConfig::Grow { layer, region, .. } => (*layer, *region),
        }
    }

    /// Checks value ranges; `field` is the rule's dotted path, e.g. `simulation.rules[2]`.
    pub fn validate(&self, field: &str) -> Result<(), ConfigError> {
        let fail = |name: &str, reason: String| {
            Err(ConfigError::Invalid {
                path: None,
                field: format!("{field}.{name}"),
                reason,
            })
        };
        let (layer, region) = self.scope();
        if layer == Some(0) {
            return fail("layer", "must be ≥ 1 (layer ids start at 1)".into());
        }
        if let Some(r) = region
            && !(r.min.0 <= r.max.0 && r.min.1 <= r.max.1 && r.min.2 <= r.max.2)
        {
            return fail("region", "min must be ≤ max on every axis".into());
        }
        let nonempty = |name: &str, list: &[ColorMatch]| {
            if list.is_empty() {
                fail(name, "must list at least one colour".into())
            } else {
                Ok(())
            }
        };
        let timing = |chance: Option<f64>, after: Option<u32>| match (chance, after) {
            (Some(p), None) if !(p > 0.0 && p <= 1.0) => fail("chance", "must be in (0, 1]".into()),
            (None, Some(0)) => fail("after", "must be ≥ 1".into()),
            (Some(_), Some(_)) | (None, None) => {
                fail("chance", "give exactly one of chance and after".into())
            }
            _ => Ok(()),
        };
        match self {
            RuleConfig::Fall { matches, .. } => nonempty("matches", matches),
            RuleConfig::Flow {
                matches, spread, ..
            } => {
                nonempty("matches", matches)?;
                if !(1..=64).contains(spread) {
                    return fail("spread", "must be in 1..=64".into());
                }
                Ok(())
            }
            RuleConfig::Life {
                alive,
                color,
                birth,
                survive,
                neighbourhood,
                ..
            } => {
                nonempty("alive", alive)?;
                let size = neighbourhood.kind().size();
                if let Some(n) = birth.iter().find(|&&n| n == 0 || n > size) {
                    return fail(
                        "birth",
                        format!("{n} is not in 1..={size} (the {neighbourhood:?} neighbourhood)"),
                    );
                }
                if let Some(n) = survive.iter().find(|&&n| n > size) {
                    return fail(
                        "survive",
                        format!("{n} is not in 0..={size} (the {neighbourhood:?} neighbourhood)"),
                    );
                }
                if color.is_none() && !alive.iter().any(|m| matches!(m, ColorMatch::Color(_))) {
                    return fail("color", "is required when alive names no colour".into());
                }
                Ok(())
            }
            RuleConfig::Decay {
                matches,
                chance,
                after,
                ..
            } => {
                nonempty("matches", matches)?;
                timing(*chance, *after)
            }
            RuleConfig::Grow {
                matches,
                onto,
                chance,
                after,
                into,
                ..
            } => {
                nonempty("matches", matches)?;
                if let Some(onto) = onto {
                    nonempty("onto", onto)?;
                }
                if into.0[3] == 0 {
                    return fail("into", "must not be empty (alpha 0)".into());
                }
                timing(*chance, *after)
            }
        }
    }

    /// The world's rule.
    pub fn rule(&self) -> Rule {
        let (layer, region) = self.scope();
        let timing = |chance: Option<f64>, after: Option<u32>| match (chance, after) {
            (Some(p), _) => Timing::chance(p),
            (None, a) => Timing::After {
                ticks: a.unwrap_or(1),
            },
        };
        let kind = match self {
            RuleConfig::Fall { matches, slide, .. } => RuleKind::Fall {
                matches: matcher(matches),
                slide: *slide,
            },
            RuleConfig::Flow {
                matches, spread, ..
            } => RuleKind::Flow {
                matches: matcher(matches),
                spread: *spread,
            },
            RuleConfig::Life {
                alive,
                color,
                birth,
                survive,
                neighbourhood,
                ..
            } => RuleKind::Life {
                color: color.map(ColorValue::color).unwrap_or_else(|| {
                    alive
                        .iter()
                        .find_map(|m| match m {
                            ColorMatch::Color(c) => Some(c.color()),
                            ColorMatch::Any => None,
                        })
                        .unwrap_or(Color::EMPTY)
                }),
                alive: matcher(alive),
                birth: bits(birth),
                survive: bits(survive),
                neighbourhood: neighbourhood.kind(),
            },
            RuleConfig::Decay {
                matches,
                into,
                chance,
                after,
                ..
            } => RuleKind::Decay {
                matches: matcher(matches),
                into: into.map_or(Color::EMPTY, ColorValue::color),
                timing: timing(*chance, *after),
            },
            RuleConfig::Grow {
                matches,
                into,
                onto,
                neighbourhood,
                chance,
                after,
                ..
            } => RuleKind::Grow {
                matches: matcher(matches),
                into: into.color(),
                onto: onto.as_deref().map(matcher),
                neighbourhood: neighbourhood.kind(),
                timing: timing(*chance, *after),
            },
        };
        Rule {
            layer: layer.map(LayerId),
            region: region.map(|r| {
                VoxelBox::from_corners(
                    IVec3::new(r.min.0, r.min.1, r.min.2),
                    IVec3::new(r.max.0, r.max.1, r.max.2),
                )
            }),
            kind,
        }
    }

    /// The configuration of a world rule (for replies: colours in hex).
    pub fn of(rule: &Rule) -> RuleConfig {
        let layer = rule.layer.map(|l| l.0);
        let region = rule.region.map(|b| RegionConfig {
            min: (b.min.x, b.min.y, b.min.z),
            max: (b.max.x, b.max.y, b.max.z),
        });
        let timing = |t: &Timing| match *t {
            Timing::Chance { per_2_32 } => (Some(per_2_32 as f64 / (1u64 << 32) as f64), None),
            Timing::After { ticks } => (None, Some(ticks)),
        };
        match &rule.kind {
            RuleKind::Fall { matches, slide } => RuleConfig::Fall {
                matches: matches_of(matches),
                slide: *slide,
                layer,
                region,
            },
            RuleKind::Flow { matches, spread } => RuleConfig::Flow {
                matches: matches_of(matches),
                spread: *spread,
                layer,
                region,
            },
            RuleKind::Life {
                alive,
                color,
                birth,
                survive,
                neighbourhood,
            } => RuleConfig::Life {
                alive: matches_of(alive),
                color: Some(ColorValue(color.0)),
                birth: counts(*birth),
                survive: counts(*survive),
                neighbourhood: NeighbourhoodConfig::of(*neighbourhood),
                layer,
                region,
            },
            RuleKind::Decay {
                matches,
                into,
                timing: t,
            } => {
                let (chance, after) = timing(t);
                RuleConfig::Decay {
                    matches: matches_of(matches),
                    into: (!into.is_empty()).then_some(ColorValue(into.0)),
                    chance,
                    after,
                    layer,
                    region,
                }
            }
            RuleKind::Grow {
                matches,
                into,
                onto,
                neighbourhood,
                timing: t,
            } => {
                let (chance, after) = timing(t);
                RuleConfig::Grow {
                    matches: matches_of(matches),
                    into: ColorValue(into.0),
                    onto: onto.as_ref().map(matches_of),
                    neighbourhood: NeighbourhoodConfig::of(*neighbourhood),
                    chance,
                    after,
                    layer,
                    region,
                }
            }
        }
    }
}

impl SimulationConfig {
    /// Checks every rule.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.file.is_some() && (!self.rules.is_empty() || self.seed != 0) {
            return Err(ConfigError::Invalid {
                path: None,
                field: "simulation.file".into(),
                reason: "cannot be given with simulation.rules or simulation.seed".into(),
            });
        }
        validate_rules(&self.rules, "simulation.rules")
    }

    /// The world's rule set, with the default world bounds as walls (the server uses
    /// [`crate::config::Config::rule_set`], which takes the configured bounds).
    pub fn rule_set(&self) -> RuleSet {
        rule_set(self.seed, &self.rules)
    }
}

/// Checks a list of rules; errors name `field[i].name`.
pub fn validate_rules(rules: &[RuleConfig], field: &str) -> Result<(), ConfigError> {
    for (i, r) in rules.iter().enumerate() {
        r.validate(&format!("{field}[{i}]")).map_err(|e| match e {
            ConfigError::Invalid {
                path,
                field,
                reason,
            } => ConfigError::Invalid {
                path,
                field,
                reason: format!("({}) {reason}", r.kind_name()),
            },
            other => other,
        })?;
    }
    Ok(())
}

/// The world's rule set for these (checked) rules, with the default world bounds as walls.
pub fn rule_set(seed: u64, rules: &[RuleConfig]) -> RuleSet {
    RuleSet {
        seed,
        rules: rules.iter().map(RuleConfig::rule).collect(),
        ..RuleSet::default()
    }
}

impl NeighbourhoodConfig {
    fn kind(self) -> Neighbourhood {
        match self {
            NeighbourhoodConfig::Moore => Neighbourhood::Moore,
            NeighbourhoodConfig::VonNeumann => Neighbourhood::VonNeumann,
        }
    }

    fn of(n: Neighbourhood) -> NeighbourhoodConfig {
        match n {
            Neighbourhood::Moore => NeighbourhoodConfig::Moore,
            Neighbourhood::VonNeumann => NeighbourhoodConfig::VonNeumann,
        }
    }
}

impl ColorValue {
    fn color(self) -> Color {
        Color::from(self.0)
    }
}

fn matcher(list: &[ColorMatch]) -> Matcher {
    if list.contains(&ColorMatch::Any) {
        return Matcher::Any;
    }
    Matcher::colors(list.iter().filter_map(|m| match m {
        ColorMatch::Color(c) => Some(c.color()),
        ColorMatch::Any => None,
    }))
}

fn matches_of(m: &Matcher) -> Vec<ColorMatch> {
    match m {
        Matcher::Any => vec![ColorMatch::Any],
        Matcher::Colors(v) => v
            .iter()
            .map(|c| ColorMatch::Color(ColorValue(c.0)))
            .collect(),
    }
}

fn bits(counts: &[u32]) -> u32 {
    counts
        .iter()
        .filter(|&&n| n < 32)
        .fold(0, |b, &n| b | 1 << n)
}

fn counts(bits: u32) -> Vec<u32> {
    (0..32).filter(|n| bits >> n & 1 == 1).collect()
}

fn hex(c: [u8; 4]) -> String {
    if c[3] == 255 {
        format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2])
    } else {
        format!("#{:02x}{:02x}{:02x}{:02x}", c[0], c[1], c[2], c[3])
    }
}

fn parse_hex(s: &str) -> Option<[u8; 4]> {
    let h = s.strip_prefix('#')?;
    if !(h.len() == 6 || h.len() == 8) || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let byte = |i: usize| u8::from_str_radix(&h[i..i + 2], 16).ok();
    Some([
        byte(0)?,
        byte(2)?,
        byte(4)?,
        if h.len() == 8 { byte(6)? } else { 255 },
    ])
}

const COLOR_FORMS: &str =
    "a colour: \"#RRGGBB\", \"#RRGGBBAA\", [r, g, b], [r, g, b, a] or (r: .., g: .., b: .., a: ..)";

impl Serialize for ColorValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex(self.0))
    }
}

impl Serialize for ColorMatch {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ColorMatch::Any => s.serialize_str("any"),
            ColorMatch::Color(c) => c.serialize(s),
        }
    }
}

struct ColorVisitor {
    any: bool,
}

impl<'de> Visitor<'de> for ColorVisitor {
    type Value = ColorMatch;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(COLOR_FORMS)?;
        if self.any {
            f.write_str(", or \"any\"")?;
        }
        Ok(())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<ColorMatch, E> {
        if self.any && v == "any" {
            return Ok(ColorMatch::Any);
        }
        parse_hex(v)
            .map(|c| ColorMatch::Color(ColorValue(c)))
            .ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ColorMatch, A::Error> {
        let mut c = [0u8, 0, 0, 255];
        let mut n = 0;
        while let Some(v) = seq.next_element::<u8>()? {
            if n == 4 {
                return Err(de::Error::invalid_length(5, &self));
            }
            c[n] = v;
            n += 1;
        }
        if n < 3 {
            return Err(de::Error::invalid_length(n, &self));
        }
        Ok(ColorMatch::Color(ColorValue(c)))
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<ColorMatch, A::Error> {
        let mut c = [None, None, None, Some(255u8)];
        while let Some(key) = map.next_key::<String>()? {
            let i = match key.as_str() {
                "r" => 0,
                "g" => 1,
                "b" => 2,
                "a" => 3,
                other => return Err(de::Error::unknown_field(other, &["r", "g", "b", "a"])),
            };
            c[i] = Some(map.next_value::<u8>()?);
        }
        let get = |i: usize, name: &'static str| c[i].ok_or_else(|| de::Error::missing_field(name));
        Ok(ColorMatch::Color(ColorValue([
            get(0, "r")?,
            get(1, "g")?,
            get(2, "b")?,
            get(3, "a")?,
        ])))
    }
}

impl<'de> Deserialize<'de> for ColorMatch {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ColorMatch, D::Error> {
        d.deserialize_any(ColorVisitor { any: true })
    }
}

impl<'de> Deserialize<'de> for ColorValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ColorValue, D::Error> {
        match d.deserialize_any(ColorVisitor { any: false })? {
            ColorMatch::Color(c) => Ok(c),
            ColorMatch::Any => Err(de::Error::custom("\"any\" is not a colour")),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::Config;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("test.ron"))
    }

    #[test]
    fn every_colour_form_parses_in_ron_and_json() {
        let c = parse(
            r##"(simulation: (rules: [Fall(matches: ["#010203", "#01020304", [1, 2, 3], [1, 2, 3, 4], (r: 1, g: 2, b: 3), "any"])]))"##,
        )
        .unwrap();
        let RuleConfig::Fall { matches, .. } = &c.simulation.rules[0] else {
            panic!()
        };
        let opaque = ColorMatch::Color(ColorValue([1, 2, 3, 255]));
        let half = ColorMatch::Color(ColorValue([1, 2, 3, 4]));
        assert_eq!(
            matches,
            &[opaque, half, opaque, half, opaque, ColorMatch::Any]
        );
        let json: Vec<RuleConfig> = serde_json::from_str(
            r##"[{"Fall": {"matches": ["#010203", [1, 2, 3, 4], {"r": 1, "g": 2, "b": 3}], "slide": true}}]"##,
        )
        .unwrap();
        assert_eq!(
            json[0],
            RuleConfig::Fall {
                matches: vec![opaque, half, opaque],
                slide: true,
                layer: None,
                region: None
            }
        );
    }

    #[test]
    fn a_bad_rule_names_file_line_and_field() {
        let msg = parse("(simulation: (rules: [\n  Fall(matches: [\"#ffffff\"], slid: true),\n]))")
            .unwrap_err()
            .to_string();
        assert!(msg.starts_with("test.ron:2:"), "{msg}");
        assert!(msg.contains("unknown field 'slid'"), "{msg}");
        let msg = parse("(simulation: (rules: [\n  Fall(matches: [\"#ffff\"]),\n]))")
            .unwrap_err()
            .to_string();
        assert!(msg.starts_with("test.ron:2:"), "{msg}");
        assert!(msg.contains("#RRGGBB"), "{msg}");
        let msg = parse("(simulation: (rules: [Melt(matches: [])]))")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("Melt"), "{msg}");
    }

    #[test]
    fn rules_round_trip_through_the_world_types() {
        let c = parse(
            r##"(simulation: (seed: 5, rules: [
                Fall(matches: ["#c2b280"], slide: true, layer: Some(2)),
                Flow(matches: ["#3366ff"], spread: 12, region: Some((min: (0, 0, 0), max: (9, 9, 9)))),
                Life(alive: ["#40ff40"], birth: [3], survive: [2, 3], neighbourhood: VonNeumann),
                Decay(matches: ["any"], into: Some("#000000"), after: Some(4)),
                Grow(matches: ["#226622"], into: "#226622", onto: Some(["#555555"]), chance: Some(0.5)),
            ]))"##,
        )
        .unwrap();
        let set = c.simulation.rule_set();
        let back: Vec<RuleConfig> = set.rules.iter().map(RuleConfig::of).collect();
        assert_eq!(rule_set(5, &back), set);
    }

    #[test]
    fn a_simulation_file_is_read_next_to_the_config() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("sand.ron"),
            "(seed: 9, rules: [Fall(matches: [\"#c2b280\"])])",
        )
        .unwrap();
        let config = dir.path().join("server.ron");
        std::fs::write(&config, "(simulation: (file: Some(\"sand.ron\")))").unwrap();
        let c = Config::load(&config).unwrap();
        assert_eq!(c.simulation.seed, 9);
        assert_eq!(c.simulation.rules.len(), 1);

        std::fs::write(
            dir.path().join("sand.ron"),
            "(rules: [\n Flow(matches: [\"#c2b280\"], spread: 100)])",
        )
        .unwrap();
        let msg = Config::load(&config).unwrap_err().to_string();
        let expected = format!(
            "{}: rules[0].spread (Flow) must be in 1..=64",
            dir.path().join("sand.ron").display()
        );
        assert_eq!(msg, expected);
        std::fs::write(&config, "(simulation: (file: Some(\"sand.ron\"), seed: 2))").unwrap();
        let msg = Config::load(&config).unwrap_err().to_string();
        assert!(msg.contains("simulation.file cannot be given"), "{msg}");
    }
}
