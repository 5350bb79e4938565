//! Typed access to request parameters given by name (`{"x":1}`) or by position (`[1]`), as the
//! Goxel daemon accepts both, with `-32602` errors that name the offending field.
//!
//! Values stay raw JSON text until asked for, so a handler pays only for the fields it reads.
//!
//! ```
//! use serde_json::value::RawValue;
//! use voxeld::rpc::Params;
//! let raw: &RawValue = serde_json::from_str(r##"{"x":1,"y":-2,"z":3,"color":"#ff000080"}"##).unwrap();
//! let params = Params::parse(raw).unwrap();
//! assert_eq!(params.position().unwrap(), [1, -2, 3]);
//! assert_eq!(params.color("color", 3).unwrap(), Some([255, 0, 0, 128]));
//! let raw: &RawValue = serde_json::from_str("[1, 2, 3, 255, 0, 0]").unwrap();
//! let params = Params::parse(raw).unwrap();
//! assert_eq!(params.color("color", 3).unwrap(), Some([255, 0, 0, 255]));
//! ```

use std::borrow::Cow;

use serde::Deserialize;
use serde::de::{MapAccess, Visitor};
use serde_json::value::RawValue;

use super::RpcError;
use super::jsonrpc::raw_str;

/// What a malformed colour is told it should look like.
pub const COLOR_EXPECTED: &str =
    r##"expected [r,g,b], [r,g,b,a], "#RRGGBB", "#RRGGBBAA" or {r,g,b,a}"##;

/// The `params` member of a request: absent, by name, or by position.
#[derive(Debug, Clone, Default)]
pub struct Params<'a> {
    shape: Shape<'a>,
}

#[derive(Debug, Clone, Default)]
enum Shape<'a> {
    #[default]
    Absent,
    ByName(Vec<(Cow<'a, str>, &'a RawValue)>),
    ByPosition(Vec<&'a RawValue>),
}

impl<'a> Params<'a> {
    /// Pass as `position` for a parameter that has no positional form.
    pub const NAMED_ONLY: usize = usize::MAX;

    /// The params as a JSON value (`null` when absent), e.g. for `echo`.
    pub fn to_value(&self) -> serde_json::Value {
        let parse = |r: &RawValue| serde_json::from_str(r.get()).unwrap_or(serde_json::Value::Null);
        match &self.shape {
            Shape::Absent => serde_json::Value::Null,
            Shape::ByName(members) => serde_json::Value::Object(
                members
                    .iter()
                    .map(|(k, v)| (k.to_string(), parse(v)))
                    .collect(),
            ),
            Shape::ByPosition(items) => {
                serde_json::Value::Array(items.iter().map(|v| parse(v)).collect())
            }
        }
    }

    /// No `params` member.
    pub fn absent() -> Self {
        Self::default()
    }

    /// Splits a raw object or array into its members; anything else is `-32600`.
    pub fn parse(raw: &'a RawValue) -> Result<Self, RpcError> {
        let shape = match raw.get().as_bytes().first() {
            Some(b'{') => {
                let members = serde_json::from_str::<Members<'a>>(raw.get())
                    .map_err(|_| RpcError::invalid_request())?;
                Shape::ByName(members.0)
            }
            Some(b'[') => Shape::ByPosition(
                serde_json::from_str(raw.get()).map_err(|_| RpcError::invalid_request())?,
            ),
            _ => return Err(RpcError::invalid_request()),
        };
        Ok(Self { shape })
    }

    /// True when params were given as an object.
    pub fn is_by_name(&self) -> bool {
        matches!(self.shape, Shape::ByName(_))
    }

    /// True when params were given as an array.
    pub fn is_by_position(&self) -> bool {
        matches!(self.shape, Shape::ByPosition(_))
    }

    /// Number of members or elements (0 when absent).
    pub fn len(&self) -> usize {
        match &self.shape {
            Shape::Absent => 0,
            Shape::ByName(members) => members.len(),
            Shape::ByPosition(elements) => elements.len(),
        }
    }

    /// True when there are no members or elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The raw value of `name` (by-name params) or of element `position` (by-position params).
    /// A JSON `null` is returned as is.
    pub fn raw(&self, name: &str, position: usize) -> Option<&'a RawValue> {
        match &self.shape {
            Shape::Absent => None,
            Shape::ByName(_) => self.named(name),
            Shape::ByPosition(elements) => elements.get(position).copied(),
        }
    }

    /// The raw value of member `name`; the last one wins if a name repeats.
    pub fn named(&self, name: &str) -> Option<&'a RawValue> {
        match &self.shape {
            Shape::ByName(members) => members.iter().rev().find(|(k, _)| k == name).map(|m| m.1),
            _ => None,
        }
    }

    /// The raw value of positional element `index`.
    pub fn positional(&self, index: usize) -> Option<&'a RawValue> {
        match &self.shape {
            Shape::ByPosition(elements) => elements.get(index).copied(),
            _ => None,
        }
    }

    /// Deserialises parameter `name`/`position`; absent or `null` gives `None`.
    pub fn optional<T: Deserialize<'a>>(
        &self,
        name: &str,
        position: usize,
    ) -> Result<Option<T>, RpcError> {
        match self.present(name, position) {
            None => Ok(None),
            Some(raw) => serde_json::from_str(raw.get())
                .map(Some)
                .map_err(|e| RpcError::invalid_params(name, serde_message(&e))),
        }
    }

    /// Deserialises a parameter that must be present.
    pub fn required<T: Deserialize<'a>>(&self, name: &str, position: usize) -> Result<T, RpcError> {
        self.optional(name, position)?.ok_or_else(|| missing(name))
    }

    /// Same as [`Params::required`].
    pub fn get<T: Deserialize<'a>>(&self, name: &str, position: usize) -> Result<T, RpcError> {
        self.required(name, position)
    }

    /// Deserialises a parameter, using `default` when it is absent or `null`.
    pub fn or<T: Deserialize<'a>>(
        &self,
        name: &str,
        position: usize,
        default: T,
    ) -> Result<T, RpcError> {
        Ok(self.optional(name, position)?.unwrap_or(default))
    }

    /// A string parameter, borrowed from the frame when it holds no escapes.
    pub fn string(&self, name: &str, position: usize) -> Result<Option<Cow<'a, str>>, RpcError> {
        match self.present(name, position) {
            None => Ok(None),
            Some(raw) => raw_str(raw)
                .map(Some)
                .ok_or_else(|| RpcError::invalid_params(name, "expected a string")),
        }
    }

    /// An integer parameter that must fit `T` (`u32`, `i32`, `u64`, ...). Floats without a
    /// fraction (`3.0`) are accepted; fractions, strings and out-of-range values are not.
    pub fn integer<T: TryFrom<i64>>(
        &self,
        name: &str,
        position: usize,
    ) -> Result<Option<T>, RpcError> {
        match self.present(name, position) {
            None => Ok(None),
            Some(raw) => parse_integer(raw, name).map(Some),
        }
    }

    /// An integer parameter within `min..=max`.
    pub fn integer_in(
        &self,
        name: &str,
        position: usize,
        min: i64,
        max: i64,
    ) -> Result<Option<i64>, RpcError> {
        let Some(value) = self.integer::<i64>(name, position)? else {
            return Ok(None);
        };
        if value < min || value > max {
            return Err(RpcError::invalid_params(
                name,
                format!("{value} is out of range {min}..={max}"),
            ));
        }
        Ok(Some(value))
    }

    /// The optional `layer_id` (a `u32`; by name only, positional slot `position`).
    pub fn layer_id(&self, position: usize) -> Result<Option<u32>, RpcError> {
        self.integer("layer_id", position)
    }

    /// A voxel position: `{x,y,z}`, `{position:[x,y,z]}`, `{position:{x,y,z}}`, positional
    /// `[x,y,z,...]` or positional `[[x,y,z],...]`. As in the Goxel daemon, a missing
    /// coordinate is 0.
    pub fn position(&self) -> Result<[i32; 3], RpcError> {
        self.position_and_next().map(|(p, _)| p)
    }

    /// Like [`Params::position`], also returning the positional index of the next parameter
    /// (3 after `[x,y,z,...]`, 1 after `[[x,y,z],...]`).
    pub fn position_and_next(&self) -> Result<([i32; 3], usize), RpcError> {
        let coordinate = |raw: Option<&RawValue>, name: &str| -> Result<i32, RpcError> {
            match raw.filter(|r| r.get() != "null") {
                Some(raw) => parse_integer(raw, name),
                None => Ok(0),
            }
        };
        match &self.shape {
            Shape::Absent => Ok(([0; 3], 3)),
            Shape::ByName(_) => {
                if let Some(raw) = self.named("position") {
                    return parse_position(raw, "position").map(|p| (p, 1));
                }
                Ok((
                    [
                        coordinate(self.named("x"), "x")?,
                        coordinate(self.named("y"), "y")?,
                        coordinate(self.named("z"), "z")?,
                    ],
                    3,
                ))
            }
            Shape::ByPosition(elements) => {
                if let Some(first) = elements.first()
                    && matches!(first.get().as_bytes().first(), Some(b'[' | b'{'))
                {
                    return parse_position(first, "position").map(|p| (p, 1));
                }
                let mut position = [0; 3];
                for (i, name) in ["x", "y", "z"].into_iter().enumerate() {
                    position[i] = coordinate(elements.get(i).copied(), name)?;
                }
                Ok((position, 3))
            }
        }
    }

    /// A colour parameter (see [`parse_color`] for the accepted forms), as the Goxel daemon
    /// reads it.
    ///
    /// By name, `name` is looked up, then `rgba` (when `name` is `color`), then top-level
    /// `r`,`g`,`b`,`a` members, where a missing `r`, `g` or `b` is 0 and a missing `a` is 255. By
    /// position, element `position` is a colour value, or the first of flat `r,g,b,a` numbers
    /// (`[x,y,z,r,g,b,a]`) with the same defaults. `None` when no colour is given at all.
    pub fn color(&self, name: &str, position: usize) -> Result<Option<[u8; 4]>, RpcError> {
        match &self.shape {
            Shape::Absent => Ok(None),
            Shape::ByName(_) => {
                let raw = self
                    .present(name, position)
                    .or_else(|| (name == "color").then(|| self.named("rgba")).flatten());
                if let Some(raw) = raw {
                    return parse_color(raw, name).map(Some);
                }
                let channels =
                    ["r", "g", "b", "a"].map(|c| self.named(c).filter(|r| r.get() != "null"));
                if channels.iter().all(Option::is_none) {
                    return Ok(None);
                }
                let mut rgba = [0, 0, 0, 255];
                for ((slot, raw), channel) in
                    rgba.iter_mut().zip(channels).zip(["r", "g", "b", "a"])
                {
                    if let Some(raw) = raw {
                        *slot = parse_channel(raw, channel)?;
                    }
                }
                Ok(Some(rgba))
            }
            Shape::ByPosition(elements) => {
                let Some(first) = elements.get(position).filter(|r| r.get() != "null") else {
                    return Ok(None);
                };
                if !matches!(first.get().as_bytes().first(), Some(b'-' | b'0'..=b'9')) {
                    return parse_color(first, name).map(Some);
                }
                let mut rgba = [0, 0, 0, 255];
                for (i, slot) in rgba.iter_mut().enumerate() {
                    if let Some(raw) = elements.get(position + i).filter(|r| r.get() != "null") {
                        *slot = parse_channel(raw, name)?;
                    }
                }
                Ok(Some(rgba))
            }
        }
    }

    /// A colour that must be present.
    pub fn required_color(&self, name: &str, position: usize) -> Result<[u8; 4], RpcError> {
        self.color(name, position)?.ok_or_else(|| missing(name))
    }

    /// A list of positions, `[[x,y,z],...]` or `[{x,y,z},...]`; errors name `name[i]`.
    pub fn positions(
        &self,
        name: &str,
        position: usize,
    ) -> Result<Option<Vec<[i32; 3]>>, RpcError> {
        let Some(raw) = self.present(name, position) else {
            return Ok(None);
        };
        let elements: Vec<&RawValue> = serde_json::from_str(raw.get())
            .map_err(|_| RpcError::invalid_params(name, "expected a list of positions"))?;
        elements
            .iter()
            .enumerate()
            .map(|(i, raw)| parse_position(raw, &format!("{name}[{i}]")))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// The raw value, treating `null` as absent.
    fn present(&self, name: &str, position: usize) -> Option<&'a RawValue> {
        self.raw(name, position).filter(|raw| raw.get() != "null")
    }
}

/// Parses a colour: `[r,g,b]`, `[r,g,b,a]`, `"#RRGGBB"`, `"#RRGGBBAA"` or `{r,g,b,a}` (`a`
/// optional, default 255); errors name `field`.
pub fn parse_color(raw: &RawValue, field: &str) -> Result<[u8; 4], RpcError> {
    let malformed = || RpcError::invalid_params(field, COLOR_EXPECTED);
    match raw.get().as_bytes().first() {
        Some(b'[') => {
            let channels: Vec<&RawValue> =
                serde_json::from_str(raw.get()).map_err(|_| malformed())?;
            if !(3..=4).contains(&channels.len()) {
                return Err(malformed());
            }
            let mut rgba = [0, 0, 0, 255];
            for (slot, raw) in rgba.iter_mut().zip(&channels) {
                *slot = parse_channel(raw, field)?;
            }
            Ok(rgba)
        }
        Some(b'"') => {
            let text = raw_str(raw).ok_or_else(malformed)?;
            parse_hex_color(&text).ok_or_else(malformed)
        }
        Some(b'{') => {
            let object: ColorObject<'_> =
                serde_json::from_str(raw.get()).map_err(|_| malformed())?;
            let channel = |raw: Option<&RawValue>, default: Option<u8>| match raw {
                Some(raw) => parse_channel(raw, field),
                None => default.ok_or_else(malformed),
            };
            Ok([
                channel(object.r, None)?,
                channel(object.g, None)?,
                channel(object.b, None)?,
                channel(object.a, Some(255))?,
            ])
        }
        _ => Err(malformed()),
    }
}

/// Parses a position value `[x,y,z]` or `{x,y,z}`; errors name `field` (or `field.x`, ...).
pub fn parse_position(raw: &RawValue, field: &str) -> Result<[i32; 3], RpcError> {
    let malformed = || RpcError::invalid_params(field, "expected [x,y,z] or {x,y,z}");
    match raw.get().as_bytes().first() {
        Some(b'[') => {
            let coordinates: Vec<&RawValue> =
                serde_json::from_str(raw.get()).map_err(|_| malformed())?;
            let [x, y, z] = coordinates[..] else {
                return Err(malformed());
            };
            Ok([
                parse_integer(x, field)?,
                parse_integer(y, field)?,
                parse_integer(z, field)?,
            ])
        }
        Some(b'{') => {
            let object: PositionObject<'_> =
                serde_json::from_str(raw.get()).map_err(|_| malformed())?;
            let coordinate = |raw: Option<&RawValue>, axis: &str| {
                let name = format!("{field}.{axis}");
                raw.ok_or_else(|| missing(&name))
                    .and_then(|raw| parse_integer(raw, &name))
            };
            Ok([
                coordinate(object.x, "x")?,
                coordinate(object.y, "y")?,
                coordinate(object.z, "z")?,
            ])
        }
        _ => Err(malformed()),
    }
}

/// Parses an integer that must fit `T`; errors name `field`.
pub fn parse_integer<T: TryFrom<i64>>(raw: &RawValue, field: &str) -> Result<T, RpcError> {
    let text = raw.get();
    let value = match text.as_bytes().first() {
        Some(b'-' | b'0'..=b'9') => match text.parse::<i64>() {
            Ok(value) => value,
            Err(_) => {
                let float: f64 = text
                    .parse()
                    .map_err(|_| RpcError::invalid_params(field, "expected an integer"))?;
                if float.fract() != 0.0 {
                    return Err(RpcError::invalid_params(
                        field,
                        format!("expected an integer, got {text}"),
                    ));
                }
                // The cast saturates; the range check below rejects anything that saturated.
                if !(-9.0e18..=9.0e18).contains(&float) {
                    return Err(out_of_range::<T>(field, text));
                }
                float as i64
            }
        },
        Some(b'"') => {
            return Err(RpcError::invalid_params(
                field,
                "expected an integer, got a string",
            ));
        }
        _ => {
            return Err(RpcError::invalid_params(
                field,
                format!("expected an integer, got {}", json_kind(text)),
            ));
        }
    };
    T::try_from(value).map_err(|_| out_of_range::<T>(field, text))
}

fn out_of_range<T>(field: &str, text: &str) -> RpcError {
    let ty = std::any::type_name::<T>();
    RpcError::invalid_params(field, format!("{text} is out of range for {ty}"))
}

/// One colour channel, as the Goxel daemon reads it: an integer is clamped to 0..=255, a number
/// with a fraction or exponent (`0.5`, `1.0`) is a 0..1 intensity scaled by 255 (and clamped).
fn parse_channel(raw: &RawValue, field: &str) -> Result<u8, RpcError> {
    let text = raw.get();
    let bad = || {
        RpcError::invalid_params(
            field,
            format!("colour component {text} is not a number; {COLOR_EXPECTED}"),
        )
    };
    if !matches!(text.as_bytes().first(), Some(b'-' | b'0'..=b'9')) {
        return Err(bad());
    }
    if text.bytes().any(|b| matches!(b, b'.' | b'e' | b'E')) {
        let v: f64 = text.parse().map_err(|_| bad())?;
        return Ok((v * 255.0).round().clamp(0.0, 255.0) as u8);
    }
    match text.parse::<i64>() {
        Ok(v) => Ok(v.clamp(0, 255) as u8),
        // Integers beyond i64 saturate like any other out-of-range channel.
        Err(_) => Ok(if text.starts_with('-') { 0 } else { 255 }),
    }
}

fn parse_hex_color(text: &str) -> Option<[u8; 4]> {
    let hex = text.strip_prefix('#')?;
    if !(hex.len() == 6 || hex.len() == 8) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut rgba = [0, 0, 0, 255];
    for (i, slot) in rgba.iter_mut().enumerate().take(hex.len() / 2) {
        *slot = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(rgba)
}

fn missing(name: &str) -> RpcError {
    RpcError::invalid_params(name, "missing")
}

fn json_kind(text: &str) -> &'static str {
    match text.as_bytes().first() {
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a value of another type",
    }
}

/// A serde_json message without its " at line 1 column 5" suffix, which points into the
/// parameter text rather than the client's line and so would only mislead.
fn serde_message(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ColorObject<'a> {
    #[serde(borrow, default)]
    r: Option<&'a RawValue>,
    #[serde(borrow, default)]
    g: Option<&'a RawValue>,
    #[serde(borrow, default)]
    b: Option<&'a RawValue>,
    #[serde(borrow, default)]
    a: Option<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PositionObject<'a> {
    #[serde(borrow, default)]
    x: Option<&'a RawValue>,
    #[serde(borrow, default)]
    y: Option<&'a RawValue>,
    #[serde(borrow, default)]
    z: Option<&'a RawValue>,
}

/// An object's members in order, values kept raw.
struct Members<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct MembersVisitor;
        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'de>, A::Error> {
                let mut members = Vec::with_capacity(map.size_hint().unwrap_or(4));
                while let Some(key) = map.next_key::<Key<'de>>()? {
                    members.push((key.0, map.next_value::<&'de RawValue>()?));
                }
                Ok(Members(members))
            }
        }
        d.deserialize_map(MembersVisitor)
    }
}

/// A map key, borrowed when it has no escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}
